// (e) Routers side by side at 64 keep-alive connections: through the
// built-in router, through HAProxy (driven by Slipway's HAProxy router), and
// straight to the backend ("direct", the floor). Two measurements each:
//   - requests/s with every connection sending as fast as it can (saturation);
//   - p99 latency at a fixed offered load well below every contender's limit
//     (each connection waits PACE_MS between requests, ~2,000 requests/s in
//     all), so the added p99 is the router's own delay, not queueing.
// The load generator is wrk (C, one thread, Debian's package); the backend
// is HAProxy answering 200 from memory (`http-request return`), so the
// backend costs little and the routers' own cost shows. Each contender runs
// in its own processes; src/traffic is bundled with esbuild at the start, so
// the routers measured are those of the checkout.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { ROOT, interleaved, median, requireTools, spread } from "./lib.mjs";

export const id = "e";
export const title = "routers at 64 connections";

const HAPROXY = "/usr/sbin/haproxy";
const CONNECTIONS = 64;
/** Pause of each connection between its requests in the latency measurement. */
const PACE_MS = 32;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A process that prints one JSON line when ready; resolves with it and the child. */
function startReady(command, args, what) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d) => (err += d));
    child.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve({ child, info: JSON.parse(out.slice(0, nl)) });
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${what} exited (${code}) before it was ready: ${err.trim()}`)));
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.removeAllListeners("exit");
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/**
 * The floor of any proxy written for Node.js: a TCP relay that copies bytes
 * between each client connection and a backend connection of its own, with
 * no HTTP parsing, no routing and no metrics. A router must do at least this.
 */
function writeRelay(tmp) {
  const relay = join(tmp, "e-relay.mjs");
  writeFileSync(
    relay,
    `import net from "node:net";
const backendPort = Number(process.argv[2]);
const server = net.createServer({ noDelay: true }, (client) => {
  const backend = net.connect({ host: "127.0.0.1", port: backendPort, noDelay: true });
  client.on("data", (d) => backend.write(d));
  backend.on("data", (d) => client.write(d));
  client.on("close", () => backend.destroy());
  backend.on("close", () => client.destroy());
  client.on("error", () => {});
  backend.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => process.stdout.write(JSON.stringify({ port: server.address().port }) + "\\n"));
process.on("SIGTERM", () => process.exit(0));
`,
  );
  return relay;
}

/** The backend: HAProxy answering 200 "ok" itself, one thread. */
async function startBackend(tmp) {
  const port = await freePort();
  const cfg = join(tmp, "e-backend.cfg");
  writeFileSync(
    cfg,
    [
      "global",
      "  nbthread 1",
      "defaults",
      "  mode http",
      "  timeout client 30s",
      "  timeout connect 5s",
      "  timeout server 30s",
      "frontend backend",
      `  bind 127.0.0.1:${port}`,
      '  http-request return status 200 content-type text/plain string "ok"',
      "",
    ].join("\n"),
  );
  const child = spawn(HAPROXY, ["-db", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
  for (let i = 0; i < 200; i++) {
    if (await answers(port)) return { child, port };
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill("SIGKILL");
  throw new Error(`(e) the HAProxy backend on port ${port} did not come up`);
}

function answers(port) {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** src/traffic as one ES module, and a host script that runs one router on it. */
async function buildRouterHost(tmp) {
  const { build } = await import("esbuild");
  const dir = join(tmp, "e-router");
  mkdirSync(dir, { recursive: true });
  await build({ entryPoints: [join(ROOT, "src", "traffic", "index.ts")], bundle: true, platform: "node", format: "esm", target: "node20", outfile: join(dir, "traffic.mjs"), logLevel: "warning" });
  const host = join(dir, "host.mjs");
  writeFileSync(
    host,
    `import { createRouter } from "./traffic.mjs";
const [kind, backendPort, dataDir] = process.argv.slice(2);
const router = createRouter({ kind, env: "bench", service: "web", port: 0, dataDir });
await router.start();
await router.apply({ stable: { release: "v1", backends: [{ id: "b1", release: "v1", host: "127.0.0.1", port: Number(backendPort) }] } });
process.stdout.write(JSON.stringify({ port: router.port, pid: router.pid ?? process.pid }) + "\\n");
const end = async () => { await router.close(); process.exit(0); };
process.on("SIGTERM", end);
process.on("SIGINT", end);
setInterval(() => {}, 1 << 30);
`,
  );
  return host;
}

/** wrk's figures: requests/s and the 99th percentile in ms. */
function parseWrk(text) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const m = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(text);
  const p99 = m ? Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1) : NaN;
  const errors = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1];
  const socketErrors = /Socket errors: (.*)/.exec(text)?.[1];
  if (!Number.isFinite(rps) || !Number.isFinite(p99)) throw new Error(`(e) cannot read wrk's output:\n${text}`);
  return { rps, p99, errors: Number(errors ?? 0), socketErrors };
}

function wrk(port, seconds, script) {
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", ...(script ? ["-s", script] : []), `http://127.0.0.1:${port}/`], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (out += d));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`(e) wrk failed (${code}):\n${out}`))));
  });
}

export async function run({ tmp, reps, quick, log }) {
  requireTools(["wrk"]);
  requireTools([HAPROXY]);
  const seconds = quick ? 4 : 10;
  const paced = join(tmp, "e-paced.lua");
  writeFileSync(paced, `-- each connection waits ${PACE_MS} ms before its next request\nfunction delay()\n  return ${PACE_MS}\nend\n`);
  const backend = await startBackend(tmp);
  const host = await buildRouterHost(tmp);
  const builtin = await startReady(process.execPath, [host, "builtin", String(backend.port), join(tmp, "e-data-builtin")], "the built-in router");
  const haproxy = await startReady(process.execPath, [host, "haproxy", String(backend.port), join(tmp, "e-data-haproxy")], "the HAProxy router");
  const relay = await startReady(process.execPath, [writeRelay(tmp), String(backend.port)], "the Node.js TCP relay");
  const targets = [
    { name: "direct", port: backend.port },
    { name: "builtin", port: builtin.info.port },
    { name: "haproxy", port: haproxy.info.port },
  ];
  // The relay only in the paced run: its added p99 is the floor the goal is read against.
  const pacedTargets = [...targets, { name: "node relay", port: relay.info.port }];
  const failures = [];
  try {
    // Warm-up: connections, JIT, HAProxy's pools.
    for (const t of pacedTargets) await wrk(t.port, 2);
    const measure = (script, list = targets) =>
      list.map((t) => async () => {
        const r = parseWrk(await wrk(t.port, seconds, script));
        if (r.errors > 0 || r.socketErrors) failures.push(`${t.name}: ${r.errors} non-2xx, socket errors ${r.socketErrors ?? "none"}`);
        return r;
      });
    const describe = (rs) => pacedTargets.slice(0, rs.length).map((t, k) => `${t.name} ${Math.round(rs[k].rps)} req/s p99 ${rs[k].p99.toFixed(2)} ms`).join(", ");
    const [direct, built, ha] = await interleaved(reps, measure(undefined), (i, ...rs) => log(`(e) saturated ${i + 1}/${reps}: ${describe(rs)}`));
    const [pDirect, pBuilt, pHa, pRelay] = await interleaved(reps, measure(paced, pacedTargets), (i, ...rs) => log(`(e) paced ${i + 1}/${reps}: ${describe(rs)}`));
    const rps = (rs) => rs.map((r) => r.rps);
    const p99 = (rs) => median(rs.map((r) => r.p99));
    const added = (rs) => rs.map((r, i) => r.p99 - pDirect[i].p99);
    const ratio = median(rps(built)) / median(rps(ha));
    const builtinAdded = median(added(pBuilt));
    const haproxyAdded = median(added(pHa));
    const size = `${CONNECTIONS} connections, ${seconds} s`;
    const notes = {
      "load generator": `wrk -t1 -c${CONNECTIONS} -d${seconds}s --latency (Debian's wrk); backend: HAProxy answering 200 from memory, one thread; HAProxy router: HAProxy's default threads`,
      "direct to the backend, requests/s (saturated)": `${Math.round(median(rps(direct)))} req/s`,
      "p99 saturated: direct": p99(direct),
      "p99 saturated: built-in router": p99(built),
      "p99 saturated: HAProxy router": p99(ha),
      "offered load of the paced run (median of direct)": `${Math.round(median(rps(pDirect)))} req/s (${CONNECTIONS} connections, ${PACE_MS} ms pause between requests)`,
      "p99 paced: direct": p99(pDirect),
      "p99 paced: built-in router": p99(pBuilt),
      "p99 paced: HAProxy router": p99(pHa),
      "HAProxy router, added p99 paced (p99 − direct p99)": haproxyAdded,
      ...(failures.length > 0 ? { "non-2xx or socket errors": failures.join("; ") } : {}),
    };
    return [
      {
        id: "e-rps",
        title: "router requests/s",
        size,
        unit: "req/s",
        slipway: { label: "built-in router", ...spread(rps(built)) },
        peer: { label: "HAProxy router (HAProxy 2.6, Slipway's config)", ...spread(rps(ha)) },
        ratio,
        metric: { label: "built-in / HAProxy requests/s", value: ratio, unit: "×", goal: 0.5, goalText: "≥ 0.50×", met: ratio >= 0.5 },
        breakdown: notes,
      },
      {
        id: "e-p99",
        title: "router added p99",
        size,
        slipway: { label: "built-in router: p99 − direct p99 at ~2,000 req/s", ...spread(added(pBuilt)) },
        peer: { label: "HAProxy router: p99 − direct p99 at ~2,000 req/s", ...spread(added(pHa)) },
        ratio: builtinAdded / haproxyAdded,
        metric: { label: "added p99 of the built-in router", value: builtinAdded, unit: "ms", goal: 2, goalText: "≤ 2 ms", met: builtinAdded <= 2 },
        breakdown: {
          "floor: a Node.js TCP relay (no HTTP, no routing), p99 − direct p99": (({ median: m, min, max }) => `${m.toFixed(1)} ms (${min.toFixed(1)}–${max.toFixed(1)} ms)`)(spread(added(pRelay))),
          "p99 paced: direct / built-in / HAProxy / Node.js relay": [pDirect, pBuilt, pHa, pRelay].map((rs) => `${p99(rs).toFixed(2)} ms`).join(" / "),
        },
      },
    ];
  } finally {
    await Promise.all([stop(builtin.child), stop(haproxy.child), stop(relay.child), stop(backend.child)]);
  }
}
