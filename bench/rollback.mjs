// (f) Time from failure onset to 0% canary traffic. `slipway up --json`
// runs a canary (one step at 50%, analysis interval 1 s, error rate < 1%)
// under 200 requests/s of generated traffic; the new release fails every
// request it gets from its first one, so the failure starts when the canary
// gets traffic: the "step" event. The end is the "traffic-back" event,
// written once the router sends every request to the stable release again.
// Both are the control loop's own timestamps (ISO, milliseconds). There is
// no peer that runs here (Argo Rollouts and Flagger need Kubernetes); the
// comparison is the bound the design promises: one analysis interval, plus
// at most 2 s.
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchEnv, makeRepo, median, slipwayEntryPath, spread } from "./lib.mjs";

export const id = "f";
export const title = "failure onset to 0% canary traffic";

const INTERVAL_MS = 1000;

const SERVER = `
const http = require("http");
const fs = require("fs");
const bad = fs.existsSync(__dirname + "/BAD");
const server = http.createServer((req, res) => {
  if (req.url === "/healthz") return res.end("ok");
  res.statusCode = bad ? 500 : 200;
  res.end(bad ? "broken" : "ok");
});
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;

const CONFIG = `
services:
  web:
    release: { file: build }
    run: { command: node server.js, instances: 1, health: { path: /healthz, interval: 200ms }, stop_timeout: 5s }
environments:
  prod:
    auto: true
    strategy:
      canary:
        steps: [50]
        interval: ${INTERVAL_MS / 1000}s
        analysis: { error_rate: "<1%", min_requests: 20 }
`;

function cli(repo, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [slipwayEntryPath(), ...args], { cwd: repo, env: benchEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`slipway ${args.join(" ")} exited ${code}: ${err}`))));
  });
}

export async function run({ tmp, reps, log }) {
  const repo = makeRepo(join(tmp, "f-repo"), { "slipway.yml": CONFIG, "README.md": "bench\n" });
  const build = join(repo, "build");
  mkdirSync(build, { recursive: true });
  writeFileSync(join(build, "server.js"), SERVER);
  const release = async (n, bad) => {
    writeFileSync(join(build, "VERSION"), String(n));
    if (bad) writeFileSync(join(build, "BAD"), "");
    else rmSync(join(build, "BAD"), { force: true });
    await cli(repo, ["release", "create", "--service", "web", "--file", "build"]);
  };

  const up = spawn(process.execPath, [slipwayEntryPath(), "up", "--json", "--interval", "300ms", "--traffic", "200"], { cwd: repo, env: benchEnv(), stdio: ["ignore", "pipe", "pipe"] });
  const events = [];
  let buf = "";
  up.stdout.setEncoding("utf8").on("data", (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        events.push(JSON.parse(line));
      } catch {
        // not an event
      }
    }
  });
  const waitFor = async (pred, what, timeoutMs = 60_000) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const e = events.find(pred);
      if (e) return e;
      if (up.exitCode !== null) throw new Error(`(f) slipway up exited while waiting for ${what}`);
      if (Date.now() > end) throw new Error(`(f) timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const times = [];
  try {
    let n = 0;
    await release(++n, false);
    await waitFor((e) => e.kind === "rollout-succeeded" && e.message.startsWith(`web#${n} `), "the first release");
    for (let i = 0; i < reps; i++) {
      const bad = ++n;
      await release(bad, true);
      const step = await waitFor((e) => e.kind === "step" && e.message.startsWith(`web#${bad} gets`), `the canary step of web#${bad}`);
      const back = await waitFor((e) => e.kind === "traffic-back" && e.id > step.id, `traffic back from web#${bad}`);
      const ms = Date.parse(back.at) - Date.parse(step.at);
      times.push(ms);
      log(`(f) ${i + 1}/${reps}: ${ms} ms from the canary's first traffic to 0%`);
      await waitFor((e) => e.kind === "rollout-rolled-back" && e.message.startsWith(`web#${bad} `), `the rollback of web#${bad}`);
      // A good release again, so the next bad one starts from a clean stable.
      await release(++n, false);
      await waitFor((e) => e.kind === "rollout-succeeded" && e.message.startsWith(`web#${n} `), `web#${n}`);
    }
  } finally {
    up.kill("SIGTERM");
    await new Promise((r) => up.once("close", r));
    await cli(repo, ["down"]).catch(() => undefined);
  }
  const value = median(times);
  const bound = INTERVAL_MS + 2000;
  return {
    id,
    title,
    size: `canary step at 50%, interval ${INTERVAL_MS / 1000} s, 200 req/s, release failing every request`,
    slipway: { label: "failure onset (first canary traffic) → 0% canary traffic", ...spread(times) },
    peer: { label: "the bound: one analysis interval + 2 s", median: bound, min: bound, max: bound },
    ratio: value / bound,
    metric: { label: "failure onset → 0% canary traffic", value, unit: "ms", goal: bound, goalText: `≤ interval + 2 s (${bound} ms)`, met: value <= bound },
  };
}
