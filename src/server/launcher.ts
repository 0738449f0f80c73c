// Starts the workflow runs of an event on a hosted repository or mirror. The
// event is first stored as a launch (store: launches), so an accepted push
// is never lost: launches wait in the store across restarts, in order. When
// its turn comes, the commit is cloned into `<dataDir>/checkouts/<launch>`
// and this same Slipway runs it there as a child process (`slipway run EVENT
// -C CHECKOUT --data-dir DATA --json`), writing to the server's store. A
// child process per event keeps a crashing job from taking the server down,
// and a run's jobs go on (and finish) when the server itself is killed: the
// child's output goes to files (`<dataDir>/launches/<id>.json|.log`), not to
// pipes a dead server would close.
//
// After a restart (recover()): a launch whose child still runs is watched
// until it ends; one whose child is gone is done if it created runs (their
// state is in the store; a run left in progress is cancelled by the next
// `slipway run` as usual) and is taken again if it created none (at most 3
// attempts).
//
// At most `limit` events run at once. Cancelling a run sends SIGTERM to the
// child that runs it: `slipway run` then cancels, still running always()
// and post steps.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { git, type HostedRepositories } from "../git/index.js";
import { ownerAlive, ownerPid } from "../scheduler/index.js";
import { SERVER_URL_ENV } from "../secrets/index.js";
import { StoreError, type LaunchRecord, type RunRecord, type Store } from "../store/index.js";
import type { Logger } from "./log.js";

export interface LaunchRequest {
  repository: string;
  event: "push" | "workflow_dispatch" | "pull_request";
  /** refs/heads/…, refs/tags/…; pull_request: the head branch (refs/heads/…). */
  ref: string;
  sha: string;
  /** push: the commit the ref pointed to before (all zeros for a new ref). */
  before?: string;
  /** pull_request: the base branch name. */
  baseRef?: string;
  /** workflow_dispatch: the workflow file name in .github/workflows. */
  workflow?: string;
  inputs?: Record<string, string>;
  /** A webhook's payload, merged over the event payload Slipway builds (`github.event`). */
  payload?: Record<string, unknown>;
  /** A pull request from a fork: the run gets no secrets. */
  noSecrets?: boolean;
  /** Who caused it (a token's name, "poll", "github webhook"). */
  actor: string;
}

/** What is stored in the launch's `request` column. */
type Extra = Omit<LaunchRequest, "repository" | "event" | "ref" | "sha" | "actor">;

export interface Launch {
  id: number;
  repository: string;
  event: string;
  ref: string;
  sha: string;
  state: "waiting" | "running" | "done";
  /** The runs its `slipway run` created. */
  runIds: number[];
  exitCode: number | null;
  /** Why nothing ran (skipped workflows and why), or what went wrong. */
  detail: string | null;
}

export interface LauncherOptions {
  dataDir: string;
  store: Store;
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

const MAX_ATTEMPTS = 3;
/** An agent seen this recently makes the server queue jobs for agents. */
const AGENT_RECENT_MS = 120_000;

export class Launcher {
  /** Launch id → child pid, for the launches this process started. */
  private readonly children = new Map<number, number>();
  /** Launches taken from the store by this process and not finished. */
  private readonly taken = new Set<number>();
  private idle: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly o: LauncherOptions) {}

  launch(request: LaunchRequest): Launch {
    const { repository, event, ref, sha, actor, ...extra } = request;
    const record = this.o.store.createLaunch({ repository, event, ref, sha, actor, request: JSON.stringify(extra) });
    this.pump();
    return this.view(record);
  }

  get(id: number): Launch | undefined {
    const record = this.o.store.getLaunch(id);
    return record ? this.view(record) : undefined;
  }

  stats(): { waiting: number; running: number } {
    return { waiting: this.o.store.listLaunches({ state: "waiting" }).length, running: this.taken.size };
  }

  /**
   * Asks the `slipway run` that owns a run (`<host>:<pid>`) to cancel it, if
   * it is a launch's runner on this host; false otherwise.
   */
  cancelRunner(owner: string): boolean {
    const launch = this.o.store.listLaunches({ state: "running" }).find((l) => l.runner === owner);
    const pid = launch ? ownerPid(owner) : undefined;
    if (pid === undefined || !ownerAlive(owner)) return false;
    try {
      process.kill(pid, "SIGTERM");
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves when this process runs nothing (waiting launches may remain after stop()). */
  whenIdle(): Promise<void> {
    if (this.taken.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Takes no more launches from the store; those running go on. */
  stop(): void {
    this.stopped = true;
  }

  /** Cancels the runs of the launches this process started. */
  cancelAll(): void {
    this.stopped = true;
    for (const pid of this.children.values()) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    }
  }

  /** After a restart: settles the launches a previous server left running, then starts waiting ones. */
  recover(): void {
    for (const l of this.o.store.listLaunches({ state: "running" })) {
      if (this.taken.has(l.id)) continue;
      const runner = l.runner ?? "";
      if (runner && ownerAlive(runner)) {
        // Its `slipway run` outlived the server: watch it until it ends.
        this.taken.add(l.id);
        const timer = setInterval(() => {
          if (ownerAlive(runner)) return;
          clearInterval(timer);
          this.settle(l, null);
        }, 500);
        timer.unref();
        continue;
      }
      const runs = this.runsOf(l);
      if (runs.length === 0 && l.attempts < MAX_ATTEMPTS) {
        this.o.store.requeueLaunch(l.id, `its slipway run (${runner || "not started"}) stopped before starting a run; taken again`);
        this.o.log.warn("launch taken again", { launch: l.id, repository: l.repository, attempts: l.attempts });
      } else {
        this.taken.add(l.id);
        this.settle(l, null, runs.length === 0 ? `gave up after ${l.attempts} attempts: its slipway run stopped before starting a run each time` : undefined);
      }
    }
    this.pump();
  }

  private view(l: LaunchRecord): Launch {
    return {
      id: l.id,
      repository: l.repository,
      event: l.event,
      ref: l.ref,
      sha: l.sha,
      state: l.state,
      runIds: this.runsOf(l).map((r) => r.id).sort((a, b) => a - b),
      exitCode: l.exitCode,
      detail: l.detail,
    };
  }

  /**
   * The runs its `slipway run` created: those owned by its `<host>:<pid>`
   * since it started (a pid is reused, in time, by another process).
   */
  private runsOf(l: LaunchRecord): RunRecord[] {
    if (!l.runner || !l.startedAt) return [];
    const since = l.startedAt;
    return this.o.store.listRuns({ owner: l.runner }).filter((r) => r.createdAt >= since);
  }

  private pump(): void {
    const limit = this.o.limit ?? 4;
    while (!this.stopped && this.taken.size < limit) {
      const next = this.o.store.listLaunches({ state: "waiting" }).find((l) => !this.taken.has(l.id));
      if (!next) return;
      this.taken.add(next.id);
      void this.start(next).catch((err: unknown) => {
        const detail = (err as Error).message;
        this.o.log.error("launch failed", { launch: next.id, repository: next.repository, error: detail });
        const current = this.o.store.getLaunch(next.id);
        if (current?.state === "waiting") {
          // It never got to run: record why, and do not take it again.
          this.o.store.startLaunch(next.id, `${hostname()}:0`);
        }
        this.settle(next, null, `could not start: ${detail}`);
      });
    }
  }

  private checkoutOf(id: number): string {
    return join(this.o.dataDir, "checkouts", String(id));
  }

  private outputOf(id: number): { json: string; log: string; event: string } {
    const dir = join(this.o.dataDir, "launches");
    return { json: join(dir, `${id}.json`), log: join(dir, `${id}.log`), event: join(dir, `${id}.event.json`) };
  }

  private async start(l: LaunchRecord): Promise<void> {
    const extra = JSON.parse(l.request) as Extra;
    const checkout = this.checkoutOf(l.id);
    rmSync(checkout, { recursive: true, force: true });
    mkdirSync(join(this.o.dataDir, "checkouts"), { recursive: true });
    await git(this.o.dataDir, ["clone", "--quiet", "--no-checkout", this.o.repos.path(l.repository), checkout]);
    const branch = l.ref.startsWith("refs/heads/") ? l.ref.slice("refs/heads/".length) : undefined;
    if (branch) await git(checkout, ["checkout", "--quiet", "-B", branch, l.sha]);
    else await git(checkout, ["checkout", "--quiet", "--detach", l.sha]);
    // A pull request's base branch, as a local branch, for the diff base...head.
    if (extra.baseRef && extra.baseRef !== branch) await git(checkout, ["branch", "--quiet", "-f", extra.baseRef, `origin/${extra.baseRef}`]);
    await git(checkout, ["remote", "set-url", "origin", `${this.o.baseUrl()}/git/${l.repository}.git`]);

    const out = this.outputOf(l.id);
    mkdirSync(join(this.o.dataDir, "launches"), { recursive: true });
    const cli = this.o.cli ?? process.argv[1] ?? "";
    const args = [cli, "run", l.event, "-C", checkout, "--data-dir", this.o.dataDir, "--ref", l.ref, "--json"];
    if (l.event === "push" && extra.before) args.push("--before", extra.before);
    if (extra.baseRef) args.push("--base", extra.baseRef);
    if (extra.workflow) args.push("-W", join(checkout, ".github", "workflows", extra.workflow));
    for (const [k, v] of Object.entries(extra.inputs ?? {})) args.push("--input", `${k}=${v}`);
    if (extra.payload) {
      writeFileSync(out.event, JSON.stringify(extra.payload));
      args.push("--event-path", out.event);
    }
    if (extra.noSecrets) args.push("--no-secrets");
    if (this.agentsServe()) args.push("--queue");
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "SLIPWAY_DATA_DIR") env[k] = v;
    // The server's URL: the run gives its jobs OIDC request tokens for its issuer (oidc-routes.ts) and job tokens for its API (job-tokens.ts).
    env[SERVER_URL_ENV] = this.o.baseUrl();
    const stdout = openSync(out.json, "w");
    const stderr = openSync(out.log, "w");
    let child;
    try {
      child = spawn(process.execPath, args, { cwd: checkout, env, stdio: ["ignore", stdout, stderr] });
    } finally {
      closeSync(stdout);
      closeSync(stderr);
    }
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${process.execPath}`);
    this.children.set(l.id, pid);
    const started = this.o.store.startLaunch(l.id, `${hostname()}:${pid}`);
    this.o.log.info("runs starting", { launch: l.id, repository: l.repository, event: l.event, ref: l.ref, sha: l.sha, actor: l.actor, pid, attempt: started.attempts });
    await new Promise<void>((resolve) => {
      let settled = false;
      const end = (code: number | null, why?: string) => {
        if (settled) return;
        settled = true;
        this.children.delete(l.id);
        this.settle(started, code, why);
        resolve();
      };
      child.on("error", (err) => end(null, `could not run slipway: ${err.message}`));
      child.on("close", (code) => end(code));
    });
  }

  /**
   * Whether the event's jobs go to the job queue for runner agents (`slipway
   * run --queue`) rather than run in its child process: when an agent asked
   * for work in the last 2 minutes. `SLIPWAY_JOB_QUEUE=on` or `off` decides
   * instead.
   */
  private agentsServe(): boolean {
    const setting = process.env.SLIPWAY_JOB_QUEUE ?? "auto";
    if (setting === "on") return true;
    if (setting === "off") return false;
    const since = Date.now() - AGENT_RECENT_MS;
    return this.o.store.listAgents().some((a) => Date.parse(a.lastSeenAt) >= since);
  }

  /** running → done, from the child's output files; frees the slot and the checkout. */
  private settle(l: LaunchRecord, exitCode: number | null, why?: string): void {
    const out = this.outputOf(l.id);
    let detail: string | null = why ?? null;
    const runs = this.runsOf(l);
    if (detail === null) {
      try {
        const result = JSON.parse(readFileSync(out.json, "utf8")) as { runs?: unknown[]; skipped?: Array<{ workflow: string; reason: string }> };
        if ((result.runs ?? []).length === 0) detail = (result.skipped ?? []).map((s) => `${s.workflow}: ${s.reason}`).join("; ") || "no workflows";
      } catch {
        const log = existsSync(out.log) ? readFileSync(out.log, "utf8").trim() : "";
        if (runs.length === 0 || log) detail = log.split("\n").slice(-3).join(" ") || (exitCode === null ? "its slipway run stopped" : `exit ${exitCode}`);
      }
    }
    try {
      this.o.store.finishLaunch(l.id, { exitCode, detail });
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
    }
    rmSync(this.checkoutOf(l.id), { recursive: true, force: true });
    rmSync(out.event, { force: true });
    this.taken.delete(l.id);
    const done = this.get(l.id);
    this.o.log.info("runs finished", { launch: l.id, repository: l.repository, runs: done?.runIds ?? [], exitCode, ...(detail ? { detail } : {}) });
    if (done) this.o.onDone?.(done);
    if (this.taken.size === 0) for (const f of this.idle.splice(0)) f();
    this.pump();
  }
}
