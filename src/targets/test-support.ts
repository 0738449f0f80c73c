// Test support for the process target's tests (not exported by index.ts): a
// small real HTTP service whose behaviour is chosen by environment
// variables, health-check settings fast enough for tests, and the scan that
// proves no test left a process behind.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HealthCheck } from "../delivery/index.js";
import { findMarked } from "./proc.js";

/**
 * The service. PORT is where it listens. MODE:
 *   ok           serves /healthz (200) and the routes below
 *   unhealthy    /healthz answers 500
 *   crash        exits with code CRASH_CODE (default 3) after CRASH_AFTER_MS (default 300)
 *   exit-now     writes a line to stderr and exits with code 1 at once
 *   ignore-term  ignores SIGTERM
 * Routes: /healthz, /env (its environment as JSON), /slow (answers after
 * SLOW_MS, default 1500), /fail and /recover (make /healthz fail or pass).
 * On SIGTERM it stops accepting connections, finishes the requests in flight
 * (closing their connections) and exits 0.
 */
export const SERVER_JS = `
import { createServer } from "node:http";
const mode = process.env.MODE ?? "ok";
let failing = mode === "unhealthy";
let draining = false;
if (mode === "exit-now") {
  console.error("fatal: cannot open database at /nonexistent");
  process.exit(1);
}
const server = createServer((req, res) => {
  if (req.url === "/healthz") { res.writeHead(failing ? 500 : 200); res.end(failing ? "bad" : "ok"); return; }
  if (req.url === "/env") { res.writeHead(200, { "content-type": "application/json" }); res.end(JSON.stringify(process.env)); return; }
  if (req.url === "/slow") { setTimeout(() => { if (draining) res.setHeader("connection", "close"); res.writeHead(200); res.end("slow done"); }, Number(process.env.SLOW_MS ?? 1500)); return; }
  if (req.url === "/fail") { failing = true; res.end("failing"); return; }
  if (req.url === "/recover") { failing = false; res.end("recovered"); return; }
  res.writeHead(404); res.end("not found");
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening on " + process.env.PORT + " as " + process.env.SLIPWAY_INSTANCE));
console.error("stderr works");
if (mode === "crash") setTimeout(() => { console.error("crashing on purpose"); process.exit(Number(process.env.CRASH_CODE ?? 3)); }, Number(process.env.CRASH_AFTER_MS ?? 300));
if (mode === "ignore-term") process.on("SIGTERM", () => console.log("ignoring SIGTERM"));
else process.on("SIGTERM", () => { console.log("draining"); draining = true; server.close(() => { console.log("drained"); process.exit(0); }); server.closeIdleConnections(); });
`;

/** A temp folder holding server.mjs, to use as a release folder. */
export function serviceFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "slipway-target-app-"));
  writeFileSync(join(dir, "server.mjs"), SERVER_JS);
  mkdirSync(join(dir, "sub"));
  return dir;
}

/** A health check for tests: fast interval, generous timeouts for a loaded machine. */
export function fastHealth(overrides: Partial<HealthCheck> = {}): HealthCheck {
  return { path: "/healthz", interval: 100, timeout: 2_000, healthyThreshold: 1, unhealthyThreshold: 2, startTimeout: 15_000, ...overrides };
}

/** Pids of living processes carrying the supervisor token `token`. */
export function markedPids(token: string): number[] {
  return token ? findMarked("SLIPWAY_SUPERVISOR", token).map((p) => p.pid) : [];
}

/** Kills every process carrying the token (test clean-up). */
export function killMarked(token: string): void {
  for (const p of token ? findMarked("SLIPWAY_SUPERVISOR", token) : []) {
    try {
      process.kill(p.pgrp === p.pid ? -p.pid : p.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** GET a loopback URL; resolves with status and body (never throws: status 0 on a connection error). */
export async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  } catch {
    return { status: 0, body: "" };
  }
}

/** Polls `check` every 50 ms until it is true; throws after `timeoutMs` with `what`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
