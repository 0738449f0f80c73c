// Health for a period after a deploy: the instances are probed every
// interval until the period ends; the period fails at the first failing
// probe (or after `failureThreshold` failing probes in a row), with the
// probe's reason. The clock is injectable, so tests need not wait.
import { formatDuration } from "../duration.js";
import { formatElapsed } from "./check-result.js";
import { HttpFailure, httpRequest } from "./http-request.js";

export interface ProbeResult {
  ok: boolean;
  reason?: string;
}

/** One look at the instances' health; the signal is aborted when the period is cancelled or times out. */
export type HealthProbe = (signal?: AbortSignal) => Promise<ProbeResult>;

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Resolves after `ms`, or early when the signal is aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    }),
};

export interface HealthPeriodOptions {
  /** How long the instances must stay healthy. 0: one probe. */
  durationMs: number;
  /** Time between probes. */
  intervalMs: number;
  probe: HealthProbe;
  /** Failing probes in a row that fail the period. Default 1: the first failure fails it. */
  failureThreshold?: number;
  /** A probe that has not answered in this time (real time, whatever the clock) fails. Default 5 s. */
  probeTimeoutMs?: number;
  signal?: AbortSignal;
  clock?: Clock;
}

export interface HealthPeriodResult {
  ok: boolean;
  reason: string;
  probes: number;
  failures: number;
  durationMs: number;
}

/** One probe, failed when it throws or has not answered in `timeoutMs` (real time: a probe does real I/O). */
async function probeOnce(probe: HealthProbe, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const stop = new AbortController();
  const forward = () => stop.abort();
  signal?.addEventListener("abort", forward, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const timedOut = new Promise<ProbeResult>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, reason: `the probe did not answer within ${formatDuration(timeoutMs)}` }), timeoutMs);
    });
    const answered = probe(stop.signal).then(
      (r) => r,
      (err: unknown): ProbeResult => ({ ok: false, reason: `the probe failed: ${(err as Error)?.message ?? String(err)}` }),
    );
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", forward);
    stop.abort();
  }
}

export async function runHealthPeriod(options: HealthPeriodOptions): Promise<HealthPeriodResult> {
  const clock = options.clock ?? realClock;
  const threshold = Math.max(1, options.failureThreshold ?? 1);
  const timeoutMs = options.probeTimeoutMs ?? 5000;
  const start = clock.now();
  let probes = 0;
  let failures = 0;
  let streak = 0;
  const period = formatDuration(options.durationMs);
  const result = (ok: boolean, reason: string): HealthPeriodResult => ({ ok, reason, probes, failures, durationMs: clock.now() - start });
  while (true) {
    if (options.signal?.aborted) return result(false, `cancelled after ${formatElapsed(clock.now() - start)} of ${period} (${probes} probes)`);
    const r = await probeOnce(options.probe, timeoutMs, options.signal);
    if (options.signal?.aborted) continue;
    probes++;
    const elapsed = clock.now() - start;
    if (!r.ok) {
      failures++;
      streak++;
      if (streak >= threshold) {
        const inARow = threshold > 1 ? ` (${streak} failing probes in a row)` : "";
        const when = probes === 1 ? "at the first probe of" : `${formatElapsed(elapsed)} into`;
        return result(false, `unhealthy ${when} the ${period} health period: ${r.reason ?? "the probe failed"}${inARow}`);
      }
    } else streak = 0;
    if (elapsed >= options.durationMs) break;
    await clock.sleep(Math.min(options.intervalMs, options.durationMs - elapsed), options.signal);
  }
  const tolerated = failures > 0 ? `, ${failures} failing probe${failures === 1 ? "" : "s"} tolerated (fewer than ${threshold} in a row)` : "";
  return result(true, `healthy for ${period} (${probes} probe${probes === 1 ? "" : "s"}${tolerated})`);
}

/** A probe that asks an HTTP URL: healthy on 2xx and 3xx, as the instances' own health check. */
export function httpProbe(url: string, options: { timeoutMs?: number } = {}): HealthProbe {
  return async (signal) => {
    try {
      const answer = await httpRequest(url, { timeoutMs: options.timeoutMs ?? 5000, maxBodyBytes: 4096, ...(signal ? { signal } : {}) });
      if (answer.status >= 200 && answer.status < 400) return { ok: true };
      return { ok: false, reason: `GET ${url} returned ${answer.status}` };
    } catch (err) {
      return { ok: false, reason: `GET ${url}: ${err instanceof HttpFailure ? err.message : (err as Error).message}` };
    }
  };
}
