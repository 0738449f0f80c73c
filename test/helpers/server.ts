// `slipway server` for tests: the built CLI in its own process, and a small
// JSON client.
import { spawn, type ChildProcess } from "node:child_process";
import { CLI } from "./cli.js";

export interface Started {
  child: ChildProcess;
  url: string;
  admin: string;
  logs: () => string;
}

export function startServer(dataDir: string, extra: string[] = []): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "server", "--port", "0", "--data-dir", dataDir, ...extra], { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out} ${err}`)), 20_000);
    const check = () => {
      const listening = out.split("\n").find((l) => l.includes('"msg":"listening"'));
      if (!listening) return;
      clearTimeout(timer);
      const admin = /(slw_[A-Za-z0-9_-]+)/.exec(err)?.[1] ?? "";
      resolve({ child, url: (JSON.parse(listening) as { url: string }).url, admin, logs: () => out + err });
    };
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      check();
    });
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
}

export async function api(s: Started, method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const res = await fetch(s.url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // A text answer (logs, metrics).
  }
  return { status: res.status, json, text };
}

export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface RunJson {
  id: number;
  repository: string;
  event: string;
  ref: string;
  sha: string;
  status: string;
  conclusion: string | null;
  name: string;
}

