// Smoke checks: a few HTTP requests against the environment, each with the
// statuses it may answer with and, optionally, text its body must contain.
// Every request is sent (in order), so one failure does not hide another.
import type { SmokeRequest } from "../model.js";
import type { CheckResult } from "./check-result.js";
import { HttpFailure, httpRequest } from "./http-request.js";

export interface SmokeOptions {
  /** How long each request may take. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** The check's name in the result; default `smoke`. */
  name?: string;
}

export interface SmokeRequestResult {
  method: string;
  path: string;
  url: string;
  ok: boolean;
  status?: number;
  latencyMs?: number;
  reason: string;
}

/** `http://host:8080/app/` + `/healthz` → `http://host:8080/app/healthz`. */
export function joinUrl(baseUrl: string, path: string): string {
  return baseUrl.replace(/\/+$/, "") + (path.startsWith("/") ? path : `/${path}`);
}

function expected(statuses: number[]): string {
  if (statuses.length === 1) return String(statuses[0]);
  if (statuses.length === 2) return `${statuses[0]} or ${statuses[1]}`;
  return `one of ${statuses.join(", ")}`;
}

/** The start of a body, on one line, for a message. */
function snippet(body: string, max = 80): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max)}…` : flat);
}

async function runOne(req: SmokeRequest, baseUrl: string, options: SmokeOptions): Promise<SmokeRequestResult> {
  const url = joinUrl(baseUrl, req.path);
  const label = `${req.method} ${req.path}`;
  const base = { method: req.method, path: req.path, url };
  try {
    const answer = await httpRequest(url, {
      method: req.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const timing = { status: answer.status, latencyMs: answer.latencyMs };
    if (!req.status.includes(answer.status)) {
      const body = answer.body.trim() ? ` (body: ${snippet(answer.body)})` : "";
      return { ...base, ...timing, ok: false, reason: `${label} returned ${answer.status}, expected ${expected(req.status)}${body}` };
    }
    if (req.contains !== undefined && !answer.body.includes(req.contains)) {
      const where = answer.truncated ? " in its first MiB" : "";
      const what = answer.body.trim() ? `body starts: ${snippet(answer.body)}` : "the body is empty";
      return { ...base, ...timing, ok: false, reason: `${label} returned ${answer.status} but its body does not contain ${JSON.stringify(req.contains)}${where} (${what})` };
    }
    return { ...base, ...timing, ok: true, reason: `${label} returned ${answer.status} in ${Math.round(answer.latencyMs)}ms` };
  } catch (err) {
    const message = err instanceof HttpFailure ? err.message : (err as Error).message;
    return { ...base, ok: false, reason: `${label}: ${message}` };
  }
}

export async function runSmoke(requests: SmokeRequest[], baseUrl: string, options: SmokeOptions): Promise<CheckResult> {
  const started = performance.now();
  const results: SmokeRequestResult[] = [];
  for (const req of requests) {
    if (options.signal?.aborted) break;
    results.push(await runOne(req, baseUrl, options));
  }
  const name = options.name ?? "smoke";
  const durationMs = performance.now() - started;
  const failed = results.filter((r) => !r.ok);
  let reason: string;
  let ok = false;
  if (requests.length === 0) reason = "the smoke check has no request to send";
  else if (results.length < requests.length && failed.length === 0) reason = `cancelled after ${results.length} of ${requests.length} requests`;
  else if (failed.length === 0) {
    ok = true;
    reason = results.length === 1 ? results[0]!.reason : `${results.length} requests answered as expected: ${results.map((r) => r.reason).join("; ")}`;
  } else if (failed.length === 1 && results.length === 1) reason = failed[0]!.reason;
  else reason = `${failed.length} of ${requests.length} requests failed: ${failed.map((r) => r.reason).join("; ")}`;
  return { name, kind: "smoke", ok, reason, durationMs, details: { requests: results } };
}
