// Shared helpers of the benchmarks: temp git repositories, timed processes,
// medians, the store's step timings. Nothing here is specific to one benchmark.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const SLIPWAY = join(ROOT, "bin", "slipway.js");
/** The entry point benchmarked: bin/slipway.js, or another build given with --cli (to measure a proposed change). */
let slipwayEntry = SLIPWAY;
export function useSlipway(path) {
  slipwayEntry = resolve(path);
}
/** The entry point in use (for benchmarks that start commands other than `run`). */
export function slipwayEntryPath() {
  return slipwayEntry;
}
export const CLI_BUNDLE = join(ROOT, "dist", "cli.js");

const require = createRequire(import.meta.url);

/** Environment for every process the benchmarks start: no colour, no user git config, no inherited Slipway settings. */
export function benchEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith("SLIPWAY_") || k.startsWith("GITHUB_") || k.startsWith("RUNNER_")) delete env[k];
  }
  return {
    ...env,
    NO_COLOR: "1",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "Bench",
    GIT_AUTHOR_EMAIL: "bench@example.invalid",
    GIT_COMMITTER_NAME: "Bench",
    GIT_COMMITTER_EMAIL: "bench@example.invalid",
    ...extra,
  };
}

/** A real git repository in `dir` whose one commit holds `files` (path → text). */
export function makeRepo(dir, files) {
  mkdirSync(dir, { recursive: true });
  const git = (...args) => execFileSync("git", args, { cwd: dir, env: benchEnv({ HOME: dir }), stdio: ["ignore", "pipe", "pipe"] });
  git("init", "-q", "-b", "main");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git("add", "-A");
  git("commit", "-q", "-m", "bench");
  return dir;
}

/**
 * Runs a command to its end; returns its wall time in ms (from just before
 * spawn() to the 'close' event) and its output. Throws on a non-zero exit
 * unless `allowFailure`.
 */
export function timed(command, args, { cwd, env = benchEnv(), allowFailure = false, input, cpu = false } = {}) {
  if (cpu) {
    // bash's `times` prints the CPU time of the children it waited for, and
    // theirs in turn (every step process a runner reaps counts).
    args = ["-c", `"$@"; s=$?; times >&2; exit $s`, "bench-cpu", command, ...args];
    command = "bash";
  }
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const startedWall = Date.now();
    const child = spawn(command, args, { cwd, env, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (t) => {
      if (stdout.length < 1 << 20) stdout += t;
    });
    child.stderr.setEncoding("utf8").on("data", (t) => {
      if (stderr.length < 1 << 20) stderr += t;
    });
    if (input !== undefined) child.stdin.end(input);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      const ms = performance.now() - started;
      if (code !== 0 && !allowFailure) {
        reject(new Error(`${command} ${args.join(" ")} failed (${code ?? signal}) in ${cwd ?? process.cwd()}\n${tail(stdout)}\n${tail(stderr)}`));
        return;
      }
      resolvePromise({ ms, startedWall, code, stdout, stderr, ...(cpu ? { cpuMs: childrenCpu(stderr) } : {}) });
    });
  });
}

/** user + sys of the children, from the last line `times` printed (`0m1.234s 0m0.567s`). */
function childrenCpu(stderr) {
  const m = stderr.trimEnd().match(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/);
  if (!m) return NaN;
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}

function tail(text, lines = 30) {
  return text.split("\n").slice(-lines).join("\n");
}

/** `slipway run` in `repo`, timed. */
export function slipwayRun(repo, args, options = {}) {
  return timed(process.execPath, [slipwayEntry, "run", ...args], { cwd: repo, ...options });
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function spread(values) {
  return { min: Math.min(...values), max: Math.max(...values), median: median(values), samples: values };
}

/**
 * Runs each of `fns` `reps` times, one after the other within a repetition,
 * starting each repetition with the next one, so drift in machine load hits
 * all alike. Returns the results per function.
 */
export async function interleaved(reps, fns, log) {
  const out = fns.map(() => []);
  for (let i = 0; i < reps; i++) {
    for (let k = 0; k < fns.length; k++) {
      const j = (i + k) % fns.length;
      out[j].push(await fns[j](i));
    }
    log?.(i, ...out.map((r) => r.at(-1)));
  }
  return out;
}

/** Two contenders, alternating which goes first. */
export async function sideBySide(reps, a, b, log) {
  const [as, bs] = await interleaved(reps, [a, b], log);
  return { a: as, b: bs };
}

/** The steps of every job of a run, with start/end in ms since the epoch, from `<dataDir>/slipway.db`. */
export function stepTimings(dataDir, runId) {
  const Database = require("better-sqlite3");
  const db = new Database(join(dataDir, "slipway.db"), { readonly: true, fileMustExist: true });
  try {
    const run = runId ?? db.prepare("SELECT max(id) AS id FROM runs").get().id;
    const rows = db
      .prepare(
        `SELECT j.id AS jobId, j.job_key AS jobKey, j.started_at AS jobStarted, j.completed_at AS jobCompleted,
                s.number, s.name, s.conclusion, s.started_at AS started, s.completed_at AS completed
         FROM jobs j LEFT JOIN steps s ON s.job_id = j.id WHERE j.run_id = ? ORDER BY j.id, s.number`,
      )
      .all(run);
    const runRow = db.prepare("SELECT * FROM runs WHERE id = ?").get(run);
    return {
      run: { id: run, conclusion: runRow?.conclusion, created: Date.parse(runRow?.created_at), started: Date.parse(runRow?.started_at), completed: Date.parse(runRow?.completed_at) },
      steps: rows.map((r) => ({ ...r, started: Date.parse(r.started), completed: Date.parse(r.completed), jobStarted: Date.parse(r.jobStarted), jobCompleted: Date.parse(r.jobCompleted) })),
    };
  } finally {
    db.close();
  }
}

export function cleanDir(dir) {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Fails early with a clear message when a tool the benchmarks compare against is missing. */
export function requireTools(tools) {
  const missing = tools.filter((t) => {
    try {
      execFileSync("/bin/sh", ["-c", `command -v "$1"`, "sh", t], { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) throw new Error(`missing tools: ${missing.join(", ")} (apt-get install ${missing.join(" ")})`);
}

export function fmtMs(ms) {
  if (!Number.isFinite(ms)) return "–";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function fmtRatio(r) {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : "–";
}

/** Lines of a YAML file, joined. */
export function yamlList(lines) {
  return lines.join("\n") + "\n";
}
