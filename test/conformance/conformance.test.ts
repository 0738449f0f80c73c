// The conformance suite: each folder under test/fixtures/conformance is one
// case — a repository (repo/) and the expected outcome (case.yml). The case
// is run with the built CLI in a real Git repository, and its outcome,
// outputs and logs are checked.
//
// Every case gets a scratch directory of its own, CASE_TMP: it is in the
// environment of `setup` and of the CLI (so steps can write marker files
// there), and `{tmp}` / `{repo}` in `args` are replaced by it and by the
// repository directory.
//
// case.yml:
//   description: what GitHub does here
//   event: push                      # default push
//   args: [-j, build]                # extra `slipway run` arguments ({tmp}, {repo} substituted)
//   setup: |                         # bash run in the repo after the first commit; $CASE_TMP, and
//                                    # $SLIPWAY (the CLI, e.g. `$SLIPWAY secrets set X <<< v`) on the case's data dir
//     git checkout -q -b feature && echo x > f && git add f && git commit -qm f
//   stdin / env: {}                  # standard input / environment for the CLI ({tmp}, {repo} substituted)
//   signal: { after: "text", send: SIGINT }  # send a signal once the text is in a step log or the console
//   timeoutMs: 30000                 # kill the CLI after this long (default 45 s)
//   knownBug: "where and what"       # a Slipway bug outside this suite's files: the case must fail until fixed
//   expect:
//     exit: 0
//     runs: { ci.yml: success }      # conclusion per workflow file name
//     skipped: [other.yml]           # workflows not triggered
//     jobs: { "build (a)": success } # conclusion per job display name
//     jobOrder: [a, b]               # display names of all jobs, in the order they were created
//     outputs: { build: { o: "1" } } # job outputs by job key or name (exact)
//     steps: { build: { "Step name": success/failure } }  # outcome/conclusion per step name (or just one word when equal)
//     environments: { deploy: production }  # environment recorded on the job (read from the store)
//     annotations: [{ level: error, file: app.js, line: 3 }]  # each must match one annotation (subset of its fields)
//     diagnostics: [{ code: needs-cycle, line: 4 }]           # each must match one diagnostic (subset)
//     log: { contains: [...], notContains: [...], matches: [regex] }  # contains/matches: stored step logs, job
//                                    # summaries and stderr; notContains: those and stdout (the --json document)
//     reasons: { contains: [...] }   # over run/job reasons, skip reasons, diagnostics and stderr
//     files: { order.txt: { equals: "a\n", contains: [..], matches: regex, absent: true } }  # files in CASE_TMP
//     dataDirNotContains: [s3cret]   # no file in the data directory holds these bytes (secrets at rest)
//   second: { setup?, args?, expect }  # optional second run in the same data dir
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect as globalExpect, it } from "vitest";
import { parse } from "yaml";
import { CLI, describeResult, makeRepo, removeDir } from "../helpers/cli.js";

const ROOT = resolve(import.meta.dirname, "../fixtures/conformance");
/** Cases run this many at a time (each one spawns the CLI); CONFORMANCE_CONCURRENCY overrides. */
const CONCURRENCY = Math.max(1, Number(process.env.CONFORMANCE_CONCURRENCY ?? 3));

type Expect = typeof globalExpect;

interface FileExpect {
  equals?: string;
  contains?: string[];
  matches?: string;
  absent?: boolean;
}

interface Expectation {
  exit?: number;
  runs?: Record<string, string>;
  skipped?: string[];
  jobs?: Record<string, string>;
  jobOrder?: string[];
  outputs?: Record<string, Record<string, string>>;
  steps?: Record<string, Record<string, string>>;
  environments?: Record<string, string | null>;
  annotations?: Array<Record<string, unknown>>;
  diagnostics?: Array<Record<string, unknown>>;
  log?: { contains?: string[]; notContains?: string[]; matches?: string[] };
  reasons?: { contains?: string[] };
  files?: Record<string, FileExpect>;
  dataDirNotContains?: string[];
}

interface Case {
  description: string;
  event?: string;
  args?: string[];
  setup?: string;
  env?: Record<string, string>;
  stdin?: string;
  signal?: { after: string; send?: NodeJS.Signals };
  /** A Slipway bug outside this suite's files: the case is expected to fail (it.fails) until it is fixed. */
  knownBug?: string;
  timeoutMs?: number;
  expect: Expectation;
  second?: { setup?: string; args?: string[]; expect: Expectation };
}

interface Paths {
  repo: string;
  dataDir: string;
  tmp: string;
}

const dirs = existsSync(ROOT) ? readdirSync(ROOT).filter((d) => existsSync(join(ROOT, d, "case.yml"))).sort() : [];
const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeDir));

/** A FIFO limit on the cases running at once. */
class Limit {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
const limit = new Limit(CONCURRENCY);

function substitute(s: string, p: Paths): string {
  return s.replaceAll("{tmp}", p.tmp).replaceAll("{repo}", p.repo);
}

/** The environment of `setup`: CASE_TMP, and SLIPWAY (a command running the built CLI on the case's data directory). */
function gitEnv(p: Paths): NodeJS.ProcessEnv {
  return { ...process.env, CASE_TMP: p.tmp, SLIPWAY: `${process.execPath} ${CLI}`, SLIPWAY_DATA_DIR: p.dataDir, NO_COLOR: "1", GIT_AUTHOR_NAME: "T", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "T", GIT_COMMITTER_EMAIL: "t@e" };
}

/** All files under dir (recursively). */
function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function logsContain(dataDir: string, text: string): boolean {
  for (const f of walk(join(dataDir, "logs"))) {
    try {
      if (readFileSync(f, "utf8").includes(text)) return true;
    } catch {
      // being written
    }
  }
  return false;
}

/** Runs the CLI; with `signal`, sends it once `after` shows in a step log or on the console. */
function runWithSignal(args: string[], opts: { cwd: string; env: Record<string, string>; input?: string; timeoutMs: number; dataDir: string; signal?: Case["signal"] }) {
  return new Promise<{ code: number; stdout: string; stderr: string; signalled: boolean }>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, NO_COLOR: "1", ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let signalled = false;
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    const poll = opts.signal
      ? setInterval(() => {
          if (signalled || !opts.signal) return;
          if (stdout.includes(opts.signal.after) || stderr.includes(opts.signal.after) || logsContain(opts.dataDir, opts.signal.after)) {
            signalled = true;
            child.kill(opts.signal.send ?? "SIGINT");
          }
        }, 50)
      : undefined;
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(killer);
      if (poll) clearInterval(poll);
      resolvePromise({ code: code ?? -1, stdout, stderr, signalled });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** The stored step logs and job summaries of the runs (what `slipway logs` prints), read from the store without spawning the CLI again. */
function storedLogs(dataDir: string, runIds: number[]): string {
  const file = join(dataDir, "slipway.db");
  if (!existsSync(file) || runIds.length === 0) return "";
  const db = new Database(file, { readonly: true });
  let out = "";
  try {
    const marks = runIds.map(() => "?").join(",");
    const jobs = db.prepare(`SELECT id, log_path FROM jobs WHERE run_id IN (${marks}) ORDER BY id`).all(...runIds) as Array<{ id: number; log_path: string | null }>;
    for (const j of jobs) {
      const steps = db.prepare("SELECT log_path FROM steps WHERE job_id = ? ORDER BY number").all(j.id) as Array<{ log_path: string | null }>;
      for (const s of steps) if (s.log_path && existsSync(s.log_path)) out += `\n${readFileSync(s.log_path, "utf8")}`;
      if (j.log_path && existsSync(join(j.log_path, "summary.md"))) out += `\n${readFileSync(join(j.log_path, "summary.md"), "utf8")}`;
    }
  } finally {
    db.close();
  }
  return out;
}

/** Jobs' environments, read from the store (the CLI's JSON does not carry them). */
function environments(dataDir: string, runIds: number[]): Array<{ name: string; environment: string | null }> {
  const file = join(dataDir, "slipway.db");
  if (!existsSync(file) || runIds.length === 0) return [];
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT name, environment FROM jobs WHERE run_id IN (${runIds.map(() => "?").join(",")}) ORDER BY id`).all(...runIds) as Array<{ name: string; environment: string | null }>;
  } finally {
    db.close();
  }
}

async function runOnce(expect: Expect, p: Paths, c: Case, args: string[], expected: Expectation) {
  const env = Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, substitute(v, p)]));
  const res = await runWithSignal(["run", ...(c.event ? [c.event] : []), "--json", "--data-dir", p.dataDir, ...args.map((a) => substitute(a, p))], {
    cwd: p.repo,
    env: { CASE_TMP: p.tmp, ...env },
    ...(c.stdin ? { input: c.stdin } : {}),
    timeoutMs: c.timeoutMs ?? 45_000,
    dataDir: p.dataDir,
    ...(c.signal ? { signal: c.signal } : {}),
  });
  const context = describeResult(res);
  if (c.signal) expect(res.signalled, `the text ${JSON.stringify(c.signal.after)} never showed, so no signal was sent\n${context}`).toBe(true);
  expect(res.code, context).toBe(expected.exit ?? 0);
  let json: any = {};
  try {
    json = JSON.parse(res.stdout);
  } catch {
    json = {};
  }
  const runs: any[] = json.runs ?? [];
  const allJobs = runs.flatMap((r) => r.jobs ?? []);
  // What the steps printed (stored logs and summaries) and the console's stderr; `contains` looks
  // only there, so a step's name (shown in the JSON) cannot satisfy it. `notContains` also covers stdout.
  const logs = storedLogs(p.dataDir, runs.map((r) => Number(r.id))) + "\n" + res.stderr;
  const everything = `${logs}\n${res.stdout}`;
  const jobList = allJobs.map((j) => `${j.name}=${j.conclusion}${j.reason ? ` (${j.reason})` : ""}`).join("\n  ");
  for (const [file, conclusion] of Object.entries(expected.runs ?? {})) {
    const run = runs.find((r) => String(r.workflow).endsWith(file));
    expect(run?.conclusion ?? "(no run)", `run of ${file}\n${context}`).toBe(conclusion);
  }
  for (const file of expected.skipped ?? []) {
    expect((json.skipped ?? []).some((s: any) => String(s.workflow).endsWith(file)), `${file} skipped\n${context}`).toBe(true);
  }
  for (const [name, conclusion] of Object.entries(expected.jobs ?? {})) {
    const job = allJobs.find((j) => j.name === name);
    expect(job?.conclusion ?? "(no such job)", `job ${name}; jobs:\n  ${jobList}\n${context}`).toBe(conclusion);
  }
  if (expected.jobOrder) expect(allJobs.map((j) => j.name), `job order\n${context}`).toEqual(expected.jobOrder);
  for (const [key, outputs] of Object.entries(expected.outputs ?? {})) {
    const job = allJobs.find((j) => j.key === key || j.name === key);
    expect(job?.outputs, `outputs of ${key}\n${context}`).toEqual(outputs);
  }
  for (const [jobName, steps] of Object.entries(expected.steps ?? {})) {
    const job = allJobs.find((j) => j.name === jobName || j.key === jobName);
    const got: Record<string, string> = {};
    for (const s of job?.steps ?? []) got[s.name] = s.outcome === s.conclusion ? s.conclusion : `${s.outcome}/${s.conclusion}`;
    for (const [stepName, want] of Object.entries(steps)) {
      const norm = want.includes("/") && want.split("/")[0] === want.split("/")[1] ? (want.split("/")[0] as string) : want;
      expect(got[stepName] ?? "(not run)", `step '${stepName}' of ${jobName}; steps: ${JSON.stringify(got)}\n${context}`).toBe(norm);
    }
  }
  if (expected.environments) {
    const envs = environments(p.dataDir, runs.map((r) => Number(r.id)));
    for (const [name, want] of Object.entries(expected.environments)) {
      const row = envs.find((e) => e.name === name);
      expect(row ? row.environment : "(no such job)", `environment of ${name}`).toBe(want);
    }
  }
  for (const a of expected.annotations ?? []) {
    expect(json.annotations ?? [], `annotation ${JSON.stringify(a)}\n${context}`).toContainEqual(expect.objectContaining(a));
  }
  for (const d of expected.diagnostics ?? []) {
    expect(json.diagnostics ?? [], `diagnostic ${JSON.stringify(d)}\n${context}`).toContainEqual(expect.objectContaining(d));
  }
  for (const s of expected.log?.contains ?? []) expect(logs, `log contains ${JSON.stringify(s)}\n${context}`).toContain(s);
  for (const s of expected.log?.notContains ?? []) expect(everything, `output must not contain ${JSON.stringify(s)}`).not.toContain(s);
  for (const r of expected.log?.matches ?? []) expect(logs, `log matches /${r}/\n${context}`).toMatch(new RegExp(r, "m"));
  const reasons = JSON.stringify([json.diagnostics ?? [], json.skipped ?? [], runs.map((r) => r.reason), allJobs.map((j) => j.reason), res.stderr]);
  for (const s of expected.reasons?.contains ?? []) expect(reasons, `reasons contain ${JSON.stringify(s)}\n${context}`).toContain(s);
  for (const [name, f] of Object.entries(expected.files ?? {})) {
    const path = join(p.tmp, name);
    if (f.absent) {
      expect(existsSync(path), `${name} must not exist`).toBe(false);
      continue;
    }
    expect(existsSync(path), `${name} exists in CASE_TMP\n${context}`).toBe(true);
    const text = readFileSync(path, "utf8");
    if (f.equals !== undefined) expect(text, `content of ${name}`).toBe(f.equals);
    for (const s of f.contains ?? []) expect(text, `${name} contains ${JSON.stringify(s)}`).toContain(s);
    if (f.matches !== undefined) expect(text, `${name} matches /${f.matches}/`).toMatch(new RegExp(f.matches, "m"));
  }
  for (const secret of expected.dataDirNotContains ?? []) {
    const needle = Buffer.from(secret);
    for (const file of walk(p.dataDir)) {
      if (statSync(file).size > 50_000_000) continue;
      expect(readFileSync(file).includes(needle), `${file} holds ${JSON.stringify(secret)} in plaintext`).toBe(false);
    }
  }
}

describe("conformance", () => {
  it("has at least 60 cases", () => {
    globalExpect(dirs.length).toBeGreaterThanOrEqual(60);
  });

  describe.concurrent("cases", () => {
    for (const d of dirs) {
      const c = parse(readFileSync(join(ROOT, d, "case.yml"), "utf8")) as Case;
      const test = c.knownBug ? it.fails : it;
      test(`${d}: ${c.description}${c.knownBug ? ` [known bug: ${c.knownBug}]` : ""}`, { timeout: 120_000 }, async ({ expect }) => {
        await limit.run(async () => {
          const repo = makeRepo({}, join(ROOT, d, "repo"));
          cleanup.push(repo);
          const dataDir = mkdtempSync(join(tmpdir(), "slipway-data-"));
          cleanup.push(dataDir);
          const tmp = mkdtempSync(join(tmpdir(), "slipway-case-"));
          cleanup.push(tmp);
          const p: Paths = { repo, dataDir, tmp };
          const setup = (script: string) => execFileSync("bash", ["-euo", "pipefail", "-c", script], { cwd: repo, env: gitEnv(p), stdio: ["ignore", "pipe", "pipe"] });
          if (c.setup) setup(c.setup);
          await runOnce(expect, p, c, c.args ?? [], c.expect);
          if (c.second) {
            if (c.second.setup) setup(c.second.setup);
            await runOnce(expect, p, c, c.second.args ?? c.args ?? [], c.second.expect);
          }
        });
      });
    }
  });
});
