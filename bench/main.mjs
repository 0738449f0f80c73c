// `npm run bench [-- options]`: Slipway's benchmarks, each measured side by
// side with its peer in one run (alternating which goes first), each the
// median of a few repetitions. Not part of the test suite: timings are not
// tests. See docs/benchmarks.md for what is measured and the last results.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import * as affected from "./affected.mjs";
import * as cache from "./cache.mjs";
import * as agents from "./agents.mjs";
import * as criticalPath from "./critical-path.mjs";
import { CLI_BUNDLE, ROOT, SLIPWAY, cleanDir, fmtMs, fmtRatio, requireTools, useSlipway } from "./lib.mjs";
import * as migrationsLint from "./migrations-lint.mjs";
import * as migrationsVerify from "./migrations-verify.mjs";
import * as parallelJobs from "./parallel-jobs.mjs";
import * as rollback from "./rollback.mjs";
import * as router from "./router.mjs";
import * as startup from "./startup.mjs";
import * as stepOverhead from "./step-overhead.mjs";
import * as store from "./store.mjs";

const USAGE = `usage: npm run bench -- [options]

  --quick             smaller sizes and fewer repetitions (about a minute)
  --only a,b,...,l    run only these benchmarks
                        a  overhead per step (1 job × 200 run: true vs bash)
                        b  200 jobs at --parallel 2 vs xargs -P2
                        c  cache save/restore of 200 MB in 20,000 files vs tar | zstd
                        d  start-up to the first step
                        e  routers at 64 connections: built-in vs HAProxy vs direct (needs wrk, haproxy)
                        f  failure onset to 0% canary traffic under slipway up
                        g  affected packages at 50, 200, 1,000 packages vs turbo and nx (needs /usr/bin/time)
                        h  critical-path order vs first-come order, wall time of a run
                        i  migrations lint of 1,000 and 10,000 statements vs squawk
                        j  migrations verify start-up (PGlite): from the cached snapshot vs from nothing
                        k  runner agents: 60 jobs with 3 agents vs 1, log streaming through an agent vs slipway run
                        l  the store on PostgreSQL vs SQLite: 200 jobs at --parallel 2 (needs PostgreSQL, SLIPWAY_BENCH_PG)
  --repeat N          repetitions of each benchmark (default 5; c: 3; d: 10)
  --json              print the results as JSON on stdout (progress goes to stderr)
  --write             put the results table into docs/benchmarks.md
  --build             run \`npm run build\` first (otherwise dist/cli.js is used as it is)
  --keep              keep the temp directory (printed) for inspection
  --cli FILE          benchmark this Slipway entry point instead of bin/slipway.js
                      (e.g. a build of a proposed change; not with --write)
  --steps N, --jobs N, --cache-files N, --cache-mb N   override the sizes

Colour on a terminal unless NO_COLOR is set.`;

const DOC = join(ROOT, "docs", "benchmarks.md");
const START = "<!-- bench:results:start -->";
const END = "<!-- bench:results:end -->";

const BENCHMARKS = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];

function parseArgs(argv) {
  const o = { quick: false, json: false, write: false, build: false, keep: false, only: BENCHMARKS };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} expects a positive number, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} expects a value`);
      return v;
    };
    if (a === "--quick") o.quick = true;
    else if (a === "--json") o.json = true;
    else if (a === "--write") o.write = true;
    else if (a === "--build") o.build = true;
    else if (a === "--keep") o.keep = true;
    else if (a === "--cli") o.cli = next();
    else if (a === "--only") o.only = next().split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
    else if (a === "--repeat") o.repeat = Math.round(num(a, next()));
    else if (a === "--steps") o.steps = Math.round(num(a, next()));
    else if (a === "--jobs") o.jobs = Math.round(num(a, next()));
    else if (a === "--cache-files") o.cacheFiles = Math.round(num(a, next()));
    else if (a === "--cache-mb") o.cacheMb = num(a, next());
    else if (a === "-h" || a === "--help") o.help = true;
    else throw new Error(`unknown option '${a}'\n\n${USAGE}`);
  }
  if (o.cli && o.write) throw new Error("--write records the results of this checkout; it does not go with --cli");
  for (const b of o.only) if (!BENCHMARKS.includes(b)) throw new Error(`--only: unknown benchmark '${b}' (${BENCHMARKS.join(", ")})`);
  return o;
}

function sh(cmd, args, cwd = ROOT) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function machineInfo() {
  const commit = sh("git", ["rev-parse", "--short=12", "HEAD"]);
  const dirty = sh("git", ["status", "--porcelain", "--untracked-files=no", "--", "src", "package.json", "package-lock.json"]) !== "";
  const zstd = sh("zstd", ["--version"]).match(/v[\d.]+/)?.[0] ?? "?";
  return {
    date: new Date().toISOString(),
    commit: commit ? `${commit}${dirty ? " (with uncommitted changes in src/)" : ""}` : "unknown",
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(Number(sh("awk", ["/MemTotal/ {print $2}", "/proc/meminfo"])) / 1024 / 1024) || undefined,
    os: sh("uname", ["-sr"]),
    node: process.version,
    tools: `bash ${process.env.BASH_VERSION ?? sh("bash", ["-c", "echo $BASH_VERSION"])}, ${sh("tar", ["--version"]).split("\n")[0]}, zstd ${zstd}, ${sh("git", ["--version"])}`,
    loadAverageAtStart: loadavg().map((l) => l.toFixed(2)).join(" "),
    cpuPressureAtStart: cpuPressure(),
  };
}

/** Linux PSI: the share of the last minute in which some task waited for a CPU ("some avg60"), e.g. "12.5%". */
function cpuPressure() {
  try {
    const m = readFileSync("/proc/pressure/cpu", "utf8").match(/^some .*avg60=([\d.]+)/m);
    return m ? `${m[1]}%` : undefined;
  } catch {
    return undefined;
  }
}

export async function main(argv) {
  let o;
  try {
    o = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const log = (text) => process.stderr.write(`${text}\n`);
  requireTools(["git", "bash", "tar", "zstd", "xargs", "sync"]);
  if (o.build) execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  if (o.cli) {
    if (!existsSync(o.cli)) {
      log(`--cli: ${o.cli} does not exist`);
      return 2;
    }
    useSlipway(o.cli);
  } else if (!existsSync(CLI_BUNDLE)) {
    log("dist/cli.js is missing: run `npm run build` first (or pass --build)");
    return 2;
  }
  const stale = !o.cli && newestSource(join(ROOT, "src")) > statSync(CLI_BUNDLE).mtimeMs;
  if (stale) log("warning: dist/cli.js is older than src/; the results are for the bundle as built (pass --build to rebuild)");

  const sizes = {
    steps: o.steps ?? (o.quick ? 50 : 200),
    jobs: o.jobs ?? (o.quick ? 50 : 200),
    cacheFiles: o.cacheFiles ?? (o.quick ? 2000 : 20_000),
    cacheBytes: Math.round((o.cacheMb ?? (o.quick ? 20 : 200)) * 1e6),
  };
  const reps = (full, quick) => o.repeat ?? (o.quick ? quick : full);
  const tmp = mkdtempSync(join(tmpdir(), "slipway-bench-"));
  const onSignal = () => {
    if (!o.keep) cleanDir(tmp);
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Benchmark a copy of the bundle: a rebuild in the checkout during the run
  // (others work here too) must not change what is measured halfway.
  let bundle;
  if (!o.cli) {
    const entry = snapshot(join(tmp, "slipway"));
    useSlipway(entry);
    bundle = createHash("sha256").update(readFileSync(join(tmp, "slipway", "dist", "cli.js"))).digest("hex").slice(0, 12);
  }
  const machine = { ...machineInfo(), bundleOlderThanSrc: stale, ...(o.cli ? { cli: o.cli } : { bundleSha256: bundle }) };
  log(`slipway benchmarks${o.quick ? " (quick)" : ""}: ${machine.cpus} CPUs, Node ${machine.node}, commit ${machine.commit}; temp ${tmp}`);
  if (Number.parseFloat(machine.cpuPressureAtStart ?? "0") > 20 || loadavg()[0] > machine.cpus) {
    log(`warning: the machine is busy (load average ${machine.loadAverageAtStart}, CPU pressure ${machine.cpuPressureAtStart ?? "?"}); expect noisy timings`);
  }

  const results = [];
  const started = Date.now();
  try {
    for (const b of o.only) {
      const t = Date.now();
      if (b === "a") results.push(await stepOverhead.run({ tmp, steps: sizes.steps, reps: reps(5, 3), log }));
      if (b === "b") results.push(await parallelJobs.run({ tmp, jobs: sizes.jobs, reps: reps(5, 3), log }));
      if (b === "c") results.push(...(await cache.run({ tmp, cacheFiles: sizes.cacheFiles, cacheBytes: sizes.cacheBytes, reps: reps(3, 3), log })));
      if (b === "d") results.push(await startup.run({ tmp, reps: o.repeat ?? (o.quick ? 5 : 10), log }));
      if (b === "e") results.push(...(await router.run({ tmp, reps: reps(3, 1), quick: o.quick, log })));
      if (b === "f") results.push(await rollback.run({ tmp, reps: reps(5, 2), log }));
      if (b === "g") results.push(...(await affected.run({ tmp, sizes: o.quick ? [50, 200] : [50, 200, 1000], reps: reps(5, 3), log })));
      if (b === "h") results.push(await criticalPath.run({ tmp, reps: reps(3, 2), log }));
      if (b === "i") results.push(...(await migrationsLint.run({ tmp, reps: reps(5, 3), log, ...(o.quick ? { sizes: [1000] } : {}) })));
      if (b === "j") results.push(await migrationsVerify.run({ tmp, reps: reps(3, 2), log }));
      if (b === "k") results.push(...(await agents.run({ tmp, reps: reps(3, 2), log })));
      if (b === "l") results.push(await store.run({ tmp, jobs: sizes.jobs, reps: reps(5, 3), log }));
      log(`(${b}) done in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (o.keep) log(`kept ${tmp}`);
    else cleanDir(tmp);
  }
  machine.loadAverageAtEnd = loadavg().map((l) => l.toFixed(2)).join(" ");
  machine.cpuPressureAtEnd = cpuPressure();
  machine.totalSeconds = Math.round((Date.now() - started) / 1000);
  const report = { quick: o.quick, sizes, machine, results };

  if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(terminalReport(report, useColor()));
  if (o.write) {
    writeDoc(markdownReport(report));
    log(`wrote ${relative(process.cwd(), DOC) || DOC}`);
  }
  return 0;
}

/**
 * bin/ (slipway.js and the package.json that makes it CommonJS) and dist/
 * (the bundles, their maps and package.json) copied to `dir`, with the
 * checkout's package.json and node_modules (better-sqlite3's native addon is
 * loaded from there).
 */
function snapshot(dir) {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
  cpSync(dirname(SLIPWAY), join(dir, "bin"), { recursive: true });
  // Every bundle (bin/slipway.js picks one by command), with its source map, digest and package.json.
  cpSync(dirname(CLI_BUNDLE), join(dir, "dist"), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return join(dir, "bin", "slipway.js");
}

function useColor() {
  return process.stdout.isTTY === true && !process.env.NO_COLOR;
}

/** A Slipway or Peer value: ms, or requests/s for results in that unit. */
function fmtValue(r, v) {
  return r.unit === "req/s" ? `${Math.round(v)} req/s` : fmtMs(v);
}

function resultCell(r) {
  const m = r.metric;
  return m.unit === "×" ? fmtRatio(m.value) : m.unit === "ms/step" ? `${m.value.toFixed(1)} ms/step` : fmtMs(m.value);
}

function rows(report) {
  return report.results.map((r) => [
    `(${r.id.split("-")[0]}) ${r.title}`,
    r.size,
    fmtValue(r, r.slipway.median),
    fmtValue(r, r.peer.median),
    fmtRatio(r.ratio),
    resultCell(r),
    r.metric.goalText,
    r.metric.met === null ? "–" : r.metric.met ? "yes" : "no",
  ]);
}

const HEAD = ["Benchmark", "Size", "Slipway", "Peer", "Ratio", "Result", "Goal", "Met"];

function terminalReport(report, color) {
  const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const body = rows(report);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells, style) =>
    cells
      .map((c, i) => {
        const padded = i >= 2 && i <= 5 ? c.padStart(widths[i]) : c.padEnd(widths[i]);
        return style ? style(c, padded, i) : padded;
      })
      .join("  ");
  const out = [];
  const m = report.machine;
  out.push("");
  out.push(paint("1", `Slipway benchmarks${report.quick ? " (quick)" : ""}`) + paint("2", ` — ${m.cpus} CPUs, Node ${m.node}, ${m.date.slice(0, 10)}, commit ${m.commit}${m.cli ? `, --cli ${m.cli}` : ""}`));
  out.push("");
  out.push(paint("1", line(HEAD)));
  for (const r of body) out.push(line(r, (c, padded, i) => (i === 7 ? paint(c === "yes" ? "32" : "31", padded) : padded)));
  out.push("");
  out.push(paint("2", "Slipway and Peer are medians; each pair ran side by side, alternating order."));
  for (const r of report.results) {
    out.push("");
    out.push(`${paint("1", `(${r.id.split("-")[0]})`)} ${r.slipway.label}: ${fmtValue(r, r.slipway.median)} (${fmtValue(r, r.slipway.min)}–${fmtValue(r, r.slipway.max)})`);
    out.push(`    vs ${r.peer.label}: ${fmtValue(r, r.peer.median)} (${fmtValue(r, r.peer.min)}–${fmtValue(r, r.peer.max)})`);
    for (const [k, v] of Object.entries(r.breakdown ?? {})) out.push(paint("2", `    ${k}: ${formatValue(v)}`));
  }
  out.push("");
  out.push(paint("2", `load average ${m.loadAverageAtStart} → ${m.loadAverageAtEnd}${m.cpuPressureAtStart ? `, CPU pressure ${m.cpuPressureAtStart} → ${m.cpuPressureAtEnd}` : ""}; ${m.totalSeconds} s in all`));
  out.push("");
  return out.join("\n");
}

/** A breakdown value: milliseconds, {bytes}, or text. */
function formatValue(v) {
  if (typeof v === "string") return v;
  return typeof v === "object" && v !== null && "bytes" in v ? `${(v.bytes / 1e6).toFixed(1)} MB` : fmtMs(v);
}

function markdownReport(report) {
  const m = report.machine;
  const out = [];
  out.push(`Measured ${m.date.slice(0, 16).replace("T", " ")} UTC by \`npm run bench${report.quick ? " -- --quick" : ""}\`:`);
  out.push("");
  out.push(`- ${m.cpus} CPUs (${m.cpuModel})${m.memoryGiB ? `, ${m.memoryGiB} GiB RAM` : ""}, ${m.os}`);
  out.push(`- Node ${m.node}; ${m.tools}`);
  out.push(`- commit ${m.commit}; dist/cli.js sha256 ${m.bundleSha256}…${m.bundleOlderThanSrc ? " (older than src/)" : ""}`);
  out.push(`- load average ${m.loadAverageAtStart} at the start, ${m.loadAverageAtEnd} at the end${m.cpuPressureAtStart ? `; CPU pressure (PSI some avg60: time some task waited for a CPU) ${m.cpuPressureAtStart} → ${m.cpuPressureAtEnd}` : ""}; ${m.totalSeconds} s in all`);
  out.push("");
  out.push(`| ${HEAD.join(" | ")} |`);
  out.push(`|${HEAD.map((_, i) => (i >= 2 && i <= 5 ? "---:" : "---")).join("|")}|`);
  for (const r of rows(report)) out.push(`| ${r.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`);
  out.push("");
  out.push("Slipway and Peer are medians; min–max and the measurements taken in the same run:");
  out.push("");
  for (const r of report.results) {
    out.push(`- **(${r.id.split("-")[0]})** ${r.slipway.label}: ${fmtValue(r, r.slipway.median)} (${fmtValue(r, r.slipway.min)}–${fmtValue(r, r.slipway.max)}, n=${r.slipway.samples.length}) vs ${r.peer.label}: ${fmtValue(r, r.peer.median)} (${fmtValue(r, r.peer.min)}–${fmtValue(r, r.peer.max)})`);
    for (const [k, v] of Object.entries(r.breakdown ?? {})) out.push(`  - ${k}: ${formatValue(v)}`);
  }
  return out.join("\n");
}

function writeDoc(markdown) {
  const block = `${START}\n${markdown}\n${END}`;
  let text = existsSync(DOC) ? readFileSync(DOC, "utf8") : "# Benchmarks\n\n## Results\n\n";
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + END.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(DOC, text);
}
