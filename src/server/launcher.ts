// Starts the workflow runs of an event on a hosted repository: the commit is
// cloned into a checkout of its own under `<dataDir>/checkouts/`, and this
// same Slipway runs it there as a child process (`slipway run EVENT -C
// CHECKOUT --data-dir DATA --json`), writing to the server's store. A child
// process per event keeps a crashing job from taking the server down, and a
// run's jobs keep running (and finish) when the server itself is restarted.
//
// At most `limit` events run at once; later ones wait in order. Cancelling a
// run sends SIGTERM to the child that runs it: `slipway run` then cancels,
// still running always() and post steps.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { git } from "../git/index.js";
import type { HostedRepositories } from "../git/index.js";
import type { Logger } from "./log.js";

export interface LaunchRequest {
  repository: string;
  event: "push" | "workflow_dispatch" | "pull_request";
  /** refs/heads/…, refs/tags/…; pull_request: the head branch (refs/heads/…). */
  ref: string;
  sha: string;
  /** pull_request: the base branch name. */
  baseRef?: string;
  /** A webhook's payload, merged over the event payload Slipway builds (`github.event`). */
  payload?: Record<string, unknown>;
  /** A pull request from a fork: the run gets no secrets. */
  noSecrets?: boolean;
  /** push: the commit the ref pointed to before (all zeros for a new ref). */
  before?: string;
  /** workflow_dispatch: the workflow file name in .github/workflows. */
  workflow?: string;
  inputs?: Record<string, string>;
  /** Who caused it (token name), for the logs. */
  actor: string;
}

export interface Launch extends LaunchRequest {
  id: number;
  state: "waiting" | "running" | "done";
  /** Run ids the child reported, when done. */
  runIds: number[];
  exitCode: number | null;
  /** What the child printed last on failure, or which workflows were skipped and why. */
  detail: string | null;
}

export interface LauncherOptions {
  dataDir: string;
  repos: HostedRepositories;
  /** The server's base URL; checkouts' origin points there (owner/name come from it). */
  baseUrl: () => string;
  log: Logger;
  /** Events run at once (default 4). */
  limit?: number;
  /** The slipway CLI script (default: the one running). */
  cli?: string;
  /** Called when a launch finishes. */
  onDone?: (launch: Launch) => void;
}

export class Launcher {
  private readonly launches: Launch[] = [];
  private readonly children = new Map<number, ChildProcess>();
  private readonly waiting: Launch[] = [];
  private running = 0;
  private nextId = 1;
  private idle: Array<() => void> = [];

  constructor(private readonly o: LauncherOptions) {}

  launch(request: LaunchRequest): Launch {
    const launch: Launch = { ...request, id: this.nextId++, state: "waiting", runIds: [], exitCode: null, detail: null };
    this.launches.push(launch);
    if (this.launches.length > 1000) this.launches.splice(0, this.launches.length - 1000);
    this.waiting.push(launch);
    this.pump();
    return launch;
  }

  get(id: number): Launch | undefined {
    return this.launches.find((l) => l.id === id);
  }

  stats(): { waiting: number; running: number } {
    return { waiting: this.waiting.length, running: this.running };
  }

  /** The child process ids running launches (a run's owner names one of them). */
  ownsPid(pid: number): boolean {
    for (const c of this.children.values()) if (c.pid === pid) return true;
    return false;
  }

  /** Asks the child with this pid to cancel its runs (SIGTERM); false when it is not ours. */
  cancelPid(pid: number): boolean {
    for (const c of this.children.values()) {
      if (c.pid === pid) {
        c.kill("SIGTERM");
        return true;
      }
    }
    return false;
  }

  /** Resolves when nothing runs or waits. */
  whenIdle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Drops waiting launches and cancels running ones. */
  cancelAll(): void {
    this.waiting.splice(0);
    for (const c of this.children.values()) c.kill("SIGTERM");
  }

  private pump(): void {
    const limit = this.o.limit ?? 4;
    while (this.running < limit && this.waiting.length > 0) {
      const launch = this.waiting.shift() as Launch;
      this.running++;
      launch.state = "running";
      void this.start(launch)
        .catch((err: unknown) => {
          launch.detail = (err as Error).message;
          this.o.log.error("launch failed", { launch: launch.id, repository: launch.repository, error: launch.detail });
        })
        .finally(() => {
          launch.state = "done";
          this.running--;
          this.o.onDone?.(launch);
          this.pump();
          if (this.running === 0 && this.waiting.length === 0) for (const f of this.idle.splice(0)) f();
        });
    }
  }

  private async start(launch: Launch): Promise<void> {
    const parent = join(this.o.dataDir, "checkouts");
    mkdirSync(parent, { recursive: true });
    const checkout = mkdtempSync(join(parent, `${launch.repository.replace("/", "-")}-`));
    try {
      await git(parent, ["clone", "--quiet", "--no-checkout", this.o.repos.path(launch.repository), checkout]);
      const branch = launch.ref.startsWith("refs/heads/") ? launch.ref.slice("refs/heads/".length) : undefined;
      if (branch) await git(checkout, ["checkout", "--quiet", "-B", branch, launch.sha]);
      else await git(checkout, ["checkout", "--quiet", "--detach", launch.sha]);
      // A pull request's base branch, as a local branch, for the diff base...head.
      if (launch.baseRef && launch.baseRef !== branch) await git(checkout, ["branch", "--quiet", "-f", launch.baseRef, `origin/${launch.baseRef}`]);
      await git(checkout, ["remote", "set-url", "origin", `${this.o.baseUrl()}/git/${launch.repository}.git`]);
      let payloadFile: string | undefined;
      if (launch.payload) {
        payloadFile = `${checkout}.event.json`;
        writeFileSync(payloadFile, JSON.stringify(launch.payload));
      }
      await this.runChild(launch, checkout, payloadFile);
    } finally {
      rmSync(checkout, { recursive: true, force: true });
      rmSync(`${checkout}.event.json`, { force: true });
    }
  }

  private runChild(launch: Launch, checkout: string, payloadFile: string | undefined): Promise<void> {
    const cli = this.o.cli ?? process.argv[1] ?? "";
    const args = [cli, "run", launch.event, "-C", checkout, "--data-dir", this.o.dataDir, "--ref", launch.ref, "--json"];
    if (launch.event === "push" && launch.before) args.push("--before", launch.before);
    if (launch.baseRef) args.push("--base", launch.baseRef);
    if (payloadFile) args.push("--event-path", payloadFile);
    if (launch.noSecrets) args.push("--no-secrets");
    if (launch.workflow) args.push("-W", join(checkout, ".github", "workflows", launch.workflow));
    for (const [k, v] of Object.entries(launch.inputs ?? {})) args.push("--input", `${k}=${v}`);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "SLIPWAY_DATA_DIR") env[k] = v;
    return new Promise((resolve) => {
      const child = spawn(process.execPath, args, { cwd: checkout, env, stdio: ["ignore", "pipe", "pipe"] });
      this.children.set(launch.id, child);
      this.o.log.info("runs starting", { launch: launch.id, repository: launch.repository, event: launch.event, ref: launch.ref, sha: launch.sha, actor: launch.actor, pid: child.pid });
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      let finished = false;
      const finish = (code: number | null) => {
        if (finished) return;
        finished = true;
        this.children.delete(launch.id);
        launch.exitCode = code;
        try {
          const result = JSON.parse(out) as { runs?: Array<{ id: number; conclusion: string }>; skipped?: Array<{ workflow: string; reason: string }> };
          launch.runIds = (result.runs ?? []).map((r) => r.id);
          if (launch.runIds.length === 0) launch.detail = (result.skipped ?? []).map((s) => `${s.workflow}: ${s.reason}`).join("; ") || "no workflows";
        } catch {
          launch.detail = (err.trim() || out.trim()).split("\n").slice(-3).join(" ") || `exit ${code}`;
        }
        this.o.log.info("runs finished", { launch: launch.id, repository: launch.repository, runs: launch.runIds, exitCode: code, ...(launch.detail ? { detail: launch.detail } : {}) });
        resolve();
      };
      child.on("error", (e) => {
        err += e.message;
        finish(null);
      });
      child.on("close", (code) => finish(code));
    });
  }
}
