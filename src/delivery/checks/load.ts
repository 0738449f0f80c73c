// The built-in load generator: constant arrival rate (an open model, as k6's
// constant-arrival-rate executor). Request i is due at start + i/rps whether
// or not earlier ones have answered; at most `connections` are in flight, and
// a request due while all of them are busy waits at most `waitMs` for one,
// then is dropped and counted (an open queue would hide a slow service behind
// ever later requests). Every request sent ends as
// exactly one response (counted by status) or one network error, so a report
// can prove that no request failed during a deploy.
import http from "node:http";
import https from "node:https";
import { formatDuration } from "../duration.js";
import { LatencyHistogram, type LatencySummary } from "./histogram.js";
import { describeNetworkError, HttpFailure } from "./http-request.js";

export interface LoadOptions {
  url: string;
  /** Requests started per second. */
  rps: number;
  /** How long requests are started; absent for `startLoad`: until `stop()`. */
  durationMs?: number;
  /** The most requests in flight at once (and keep-alive connections). */
  connections: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Aborting stops the load and cancels the requests in flight (counted as `cancelled`, not as errors). */
  signal?: AbortSignal;
  /** A request without a complete answer in this time is a network error (`TIMEOUT`). Default 10 s. */
  timeoutMs?: number;
  /** A request sent this much after it was due counts as `late` (the generator could not keep up). Default 50 ms. */
  lateMs?: number;
  /**
   * A request due while all connections are busy waits this long for one to
   * free up, then is dropped. The wait absorbs pauses of the generator's own
   * process (garbage collection, a busy machine), after which answers that
   * arrived meanwhile are read only after the due requests were looked at.
   * Default 500 ms.
   */
  waitMs?: number;
  /** Called for every finished request, e.g. to draw a timeline. */
  onResult?: (result: LoadResult) => void;
}

export interface LoadResult {
  /** Milliseconds since the load started: when the request was due, and when it finished. */
  dueAtMs: number;
  finishedAtMs: number;
  latencyMs: number;
  /** Absent on a network error. */
  status?: number;
  /** `HTTP 503`, or the network error in words. */
  error?: string;
  ok: boolean;
}

export interface ErrorCause {
  /** `HTTP 503`, `ECONNREFUSED: connection refused (127.0.0.1:4000)`. */
  cause: string;
  count: number;
  /** Milliseconds since the load started, of the first one. */
  firstAtMs: number;
}

export interface LoadReport {
  url: string;
  targetRps: number;
  connections: number;
  startedAt: string;
  /** Whether requests are still being started or answered. */
  running: boolean;
  /** Why the load stopped: its duration ended, `stop()`, or the signal. */
  stoppedBy?: "duration" | "stop" | "signal";
  /** Milliseconds requests were being started (to the last due time, or to the stop). */
  sendingMs: number;
  /** Milliseconds since the start, until the last answer once stopped. */
  elapsedMs: number;
  /** Requests that came due: sent + dropped + waiting. */
  scheduled: number;
  sent: number;
  /** Not sent: all `connections` stayed busy for `waitMs` after the request came due. */
  dropped: number;
  /** Due, waiting for a free connection now. */
  waiting: number;
  /** Sent more than `lateMs` after they were due. */
  late: number;
  maxLagMs: number;
  inFlight: number;
  /** Cancelled by the signal while in flight. */
  cancelled: number;
  /** Answered or failed: responses + networkErrors. */
  completed: number;
  responses: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** httpErrors + networkErrors. */
  errors: number;
  /** Responses with a status outside 200–399. */
  httpErrors: number;
  /** Refused, reset or timed-out requests: no status. */
  networkErrors: number;
  /** errors / completed; 0 when nothing completed. */
  errorRate: number;
  /** The first few distinct causes, in order of first appearance, with counts; later distinct causes are counted under `other`. */
  errorCauses: ErrorCause[];
  /** Requests sent per second of sending. */
  achievedRps: number;
  /** Of responses (any status), in milliseconds. */
  latency: LatencySummary;
}

export interface LoadHandle {
  /** A snapshot now: counts so far, requests in flight. */
  report(): LoadReport;
  /** Stops starting requests, waits for those in flight, and gives the final report. */
  stop(): Promise<LoadReport>;
  /** The final report, when the duration ended (or after `stop()`, or the signal). */
  done: Promise<LoadReport>;
}

/** First in, first out, with a constant-time `shift` (a slow service can leave thousands waiting). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

const MAX_CAUSES = 8;
const OTHER = "\u0000other";

function checkOptions(o: LoadOptions): void {
  if (!(o.rps > 0) || !Number.isFinite(o.rps)) throw new RangeError(`rps must be a positive number, got ${o.rps}`);
  if (!Number.isInteger(o.connections) || o.connections < 1) throw new RangeError(`connections must be a whole number of at least 1, got ${o.connections}`);
  if (o.durationMs !== undefined && !(o.durationMs >= 0)) throw new RangeError(`durationMs must be 0 or more, got ${o.durationMs}`);
  const url = new URL(o.url);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new RangeError(`'${o.url}' is not an http or https URL`);
  for (const [name, value] of Object.entries(o.headers ?? {})) {
    http.validateHeaderName(name);
    http.validateHeaderValue(name, value);
  }
}

/** Starts constant load in the background; `durationMs` absent: until `stop()`. */
export function startLoad(options: LoadOptions): LoadHandle {
  checkOptions(options);
  const url = new URL(options.url);
  const secure = url.protocol === "https:";
  // Idle connections are closed after 4 s, before the usual server idle timeouts (Node 5 s), so a
  // connection the server is closing is not picked for a request (a spurious ECONNRESET). Node also
  // honours a shorter `Keep-Alive: timeout=N` from the server.
  const agentOptions = { keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections, timeout: 4000 };
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const request = secure ? https.request : http.request;
  const method = options.method ?? "GET";
  const body = options.body;
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-length")) headers["content-length"] = String(Buffer.byteLength(body));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const lateMs = options.lateMs ?? 50;
  const waitMs = options.waitMs ?? 500;
  const interval = 1000 / options.rps;
  const total = options.durationMs === undefined ? undefined : Math.round((options.durationMs / 1000) * options.rps);

  const startedAt = new Date();
  const t0 = performance.now();
  const histogram = new LatencyHistogram();
  const statuses: Record<string, number> = {};
  const causes = new Map<string, ErrorCause>();
  const inFlight = new Set<() => void>();
  let index = 0;
  /** Requests due while all connections were busy: when due, and until when they may wait. */
  const waiting = new Fifo<{ dueAt: number; until: number }>();
  let sent = 0;
  let dropped = 0;
  let late = 0;
  let maxLag = 0;
  let responses = 0;
  let httpErrors = 0;
  let networkErrors = 0;
  let cancelled = 0;
  let sendingEnd: number | undefined;
  let lastFinish = 0;
  let stoppedBy: LoadReport["stoppedBy"];
  let timer: NodeJS.Timeout | undefined;
  let resolveDone!: (r: LoadReport) => void;
  const done = new Promise<LoadReport>((r) => (resolveDone = r));
  let finished = false;

  const addCause = (key: string, text: string, at: number) => {
    let c = causes.get(key);
    if (!c) {
      const k = causes.size < MAX_CAUSES ? key : OTHER;
      c = causes.get(k);
      if (!c) causes.set(k, (c = { cause: k === OTHER ? "other causes" : text, count: 0, firstAtMs: at }));
    }
    c.count++;
  };

  const report = (): LoadReport => {
    const now = performance.now() - t0;
    const sendingMs = sendingEnd ?? (total !== undefined ? Math.min(now, total * interval) : now);
    const completed = responses + networkErrors;
    const errors = httpErrors + networkErrors;
    return {
      url: options.url,
      targetRps: options.rps,
      connections: options.connections,
      startedAt: startedAt.toISOString(),
      running: !finished,
      ...(stoppedBy ? { stoppedBy } : {}),
      sendingMs,
      elapsedMs: finished ? Math.max(lastFinish, sendingMs) : now,
      scheduled: sent + dropped + waiting.size,
      sent,
      dropped,
      waiting: waiting.size,
      late,
      maxLagMs: maxLag,
      inFlight: inFlight.size,
      cancelled,
      completed,
      responses,
      statuses: { ...statuses },
      errors,
      httpErrors,
      networkErrors,
      errorRate: completed === 0 ? 0 : errors / completed,
      errorCauses: [...causes.values()].map((c) => ({ ...c })),
      achievedRps: sendingMs > 0 ? (sent * 1000) / Math.max(sendingMs, interval) : 0,
      latency: histogram.summary(),
    };
  };

  const maybeFinish = () => {
    if (finished || sendingEnd === undefined || inFlight.size > 0 || waiting.size > 0) return;
    finished = true;
    agent.destroy();
    options.signal?.removeEventListener("abort", onAbort);
    resolveDone(report());
  };

  const send = (dueAtMs: number) => {
    sent++;
    const started = performance.now();
    let settled = false;
    const finish = (status: number | undefined, failure: HttpFailure | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      inFlight.delete(cancel);
      const end = performance.now();
      const finishedAtMs = end - t0;
      lastFinish = Math.max(lastFinish, finishedAtMs);
      const latencyMs = end - started;
      let error: string | undefined;
      if (status !== undefined) {
        responses++;
        statuses[status] = (statuses[status] ?? 0) + 1;
        histogram.record(latencyMs);
        if (status < 200 || status >= 400) {
          httpErrors++;
          error = `HTTP ${status}`;
          addCause(error, error, finishedAtMs);
        }
      } else {
        networkErrors++;
        const f = failure ?? new HttpFailure("ERROR", "unknown failure");
        error = `${f.code}: ${f.message}`;
        addCause(f.code, error, finishedAtMs);
      }
      options.onResult?.({ dueAtMs, finishedAtMs, latencyMs, ...(status !== undefined ? { status } : {}), ...(error ? { error } : {}), ok: error === undefined });
      if (waiting.size > 0) pump(finishedAtMs);
      maybeFinish();
    };
    const cancel = () => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      inFlight.delete(cancel);
      cancelled++;
      req.destroy();
    };
    inFlight.add(cancel);
    const deadline = setTimeout(() => {
      const failure = new HttpFailure("TIMEOUT", `no answer within ${formatDuration(timeoutMs)}`);
      finish(undefined, failure);
      req.destroy(failure);
    }, timeoutMs);
    let req: http.ClientRequest;
    try {
      req = request(url, { method, headers, agent }, (res) => {
        res.on("data", () => {});
        res.on("end", () => finish(res.statusCode ?? 0, undefined));
        res.on("error", (err) => finish(undefined, describeNetworkError(err)));
        res.on("close", () => {
          if (!res.complete) finish(undefined, new HttpFailure("ECONNRESET", `the connection closed before the answer ended (status ${res.statusCode})`));
        });
      });
    } catch (err) {
      finish(undefined, describeNetworkError(err));
      return;
    }
    req.on("error", (err) => finish(undefined, describeNetworkError(err)));
    req.end(body);
  };

  const stopSending = (why: NonNullable<LoadReport["stoppedBy"]>) => {
    if (sendingEnd !== undefined) return;
    clearTimeout(timer);
    timer = undefined;
    // Stopped by hand: requests still waiting for a connection are not sent, nor counted.
    waiting.clear();
    stoppedBy = why;
    const now = performance.now() - t0;
    // The natural end of N arrivals is N intervals; a generator that fell behind ends later, and its rate shows it.
    sendingEnd = why === "duration" && total !== undefined ? Math.max(total * interval, now) : now;
    maybeFinish();
  };

  const sendNow = (dueAt: number, now: number) => {
    const lag = now - dueAt;
    if (lag > maxLag) maxLag = lag;
    if (lag > lateMs) late++;
    send(dueAt);
  };

  /** Sends waiting requests while connections are free, then drops those that waited too long. */
  const pump = (now: number) => {
    while (waiting.size > 0 && inFlight.size < options.connections) sendNow(waiting.shift()!.dueAt, now);
    while (waiting.size > 0 && waiting.peek()!.until <= now) {
      waiting.shift();
      dropped++;
    }
    if (sendingEnd === undefined && total !== undefined && index >= total && waiting.size === 0) stopSending("duration");
  };

  const tick = () => {
    timer = undefined;
    if (sendingEnd !== undefined) return;
    const now = performance.now() - t0;
    let due = Math.floor(now / interval) + 1;
    if (total !== undefined) due = Math.min(due, total);
    while (index < due) {
      const dueAt = index * interval;
      index++;
      if (waiting.size === 0 && inFlight.size < options.connections) sendNow(dueAt, now);
      else waiting.push({ dueAt, until: now + waitMs });
    }
    pump(now);
    if (sendingEnd !== undefined) return;
    const next = Math.min(total === undefined || index < total ? index * interval : Infinity, waiting.peek()?.until ?? Infinity);
    if (Number.isFinite(next)) timer = setTimeout(tick, Math.max(0, next - (performance.now() - t0)));
  };

  const onAbort = () => {
    stopSending("signal");
    for (const cancel of [...inFlight]) cancel();
    maybeFinish();
  };
  if (options.signal?.aborted) queueMicrotask(onAbort);
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  if (total === 0) queueMicrotask(() => stopSending("duration"));
  else timer = setTimeout(tick, 0);

  return {
    report,
    stop: () => {
      stopSending("stop");
      return done;
    },
    done,
  };
}

/** Runs load for `durationMs` and gives the final report (after the last answer). */
export async function runLoad(options: LoadOptions & { durationMs: number }): Promise<LoadReport> {
  return startLoad(options).done;
}

/** One line for a report: `400 requests at 199.8/s, 0 errors, p(95)=4.1ms`. */
export function summarizeLoad(r: LoadReport): string {
  const ms = (v: number | null) => (v === null ? "–" : `${v < 10 ? v.toFixed(1) : Math.round(v)}ms`);
  const parts = [`${r.sent} requests at ${r.achievedRps.toFixed(1)}/s (target ${r.targetRps}/s)`];
  parts.push(r.errors === 0 ? "0 errors" : `${r.errors} error${r.errors === 1 ? "" : "s"} (${(r.errorRate * 100).toFixed(2)}%: ${r.errorCauses.map((c) => `${c.cause} ×${c.count}`).join(", ")})`);
  if (r.dropped > 0) parts.push(`${r.dropped} dropped (all ${r.connections} connections busy)`);
  if (r.cancelled > 0) parts.push(`${r.cancelled} cancelled`);
  parts.push(`p(50)=${ms(r.latency.p50)} p(95)=${ms(r.latency.p95)} p(99)=${ms(r.latency.p99)}`);
  return parts.join(", ");
}
