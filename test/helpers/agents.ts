// Shared pieces of the agents tests: a server with agents as child processes
// of the built CLI, hosted repositories pushed with real git, and the store
// read with SQLite.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { CLI, git, makeRepo } from "./cli.js";
import { api, until, type Started } from "./server.js";

export interface AgentProcess {
  child: ChildProcess;
  name: string;
  /** Its --work-dir, removed by stopAgent. */
  work: string;
  out: () => string;
  exited: Promise<number | null>;
}

/** `slipway agent` as a child process. */
export function startAgent(s: Started, token: string, name: string, labels: string[], env: Record<string, string> = {}): AgentProcess {
  const work = mkdtempSync(join(tmpdir(), `slipway-agent-${name}-`));
  const child = spawn(process.execPath, [CLI, "agent", "--server", s.url, "--token", token, "--labels", labels.join(","), "--name", name, "--work-dir", work], {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, name, work, out: () => out, exited };
}

export async function stopAgent(a: AgentProcess): Promise<void> {
  if (a.child.exitCode === null && a.child.signalCode === null) {
    a.child.kill("SIGINT");
    const t = setTimeout(() => a.child.kill("SIGKILL"), 15_000);
    await a.exited;
    clearTimeout(t);
  }
  rmSync(a.work, { recursive: true, force: true });
}

/** Stops a server: SIGINT, a second one after 5 s (cancels runs still waiting for agents), SIGKILL after 20 s. */
export async function stopServer(s: Started | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise((r) => s.child.once("exit", r));
  s.child.kill("SIGINT");
  const again = setTimeout(() => s.child.kill("SIGINT"), 5_000);
  const kill = setTimeout(() => s.child.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(again);
  clearTimeout(kill);
}

/** A developer token in the group `agents`. */
export async function agentToken(s: Started, name = "agents"): Promise<string> {
  const r = await api(s, "POST", "/api/tokens", s.admin, { name, role: "developer", groups: ["agents"] });
  if (r.status !== 201) throw new Error(`token: ${r.status} ${r.text}`);
  return r.json.token as string;
}

/** Creates hosted repository `name` and pushes `files` to its main branch; the local clone's directory. */
export async function pushRepo(s: Started, name: string, files: Record<string, string>): Promise<string> {
  const r = await api(s, "POST", "/api/repos", s.admin, { name });
  if (r.status !== 201) throw new Error(`repo: ${r.status} ${r.text}`);
  const dir = makeRepo(files);
  const url = new URL(`${s.url}/git/${name}.git`);
  url.username = "me";
  url.password = s.admin;
  git(dir, "push", "-q", url.toString(), "main");
  return dir;
}

export interface RunRow {
  id: number;
  status: string;
  conclusion: string | null;
  workflow: string;
}

/** The runs of a repository once `count` exist and are completed. */
export async function completedRuns(s: Started, repository: string, count: number, timeoutMs: number): Promise<RunRow[]> {
  return until(
    `${count} completed runs of ${repository}`,
    async () => {
      const r = await api(s, "GET", `/api/runs?repository=${repository}`, s.admin);
      const runs = r.json.runs as RunRow[];
      return runs.length >= count && runs.every((x) => x.status === "completed") ? runs : undefined;
    },
    timeoutMs,
  );
}

/** Reads the server's store (WAL: readers do not block its writers). */
export function query<T>(dataDir: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(join(dataDir, "slipway.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}
