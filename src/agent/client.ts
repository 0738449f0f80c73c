// The agent's HTTP client: JSON requests to the server with the agent token,
// and retries with exponential backoff while the server is unreachable or
// answers 5xx (a 4xx is an answer: it is returned, not retried).
import { createWriteStream, openAsBlob } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as delay } from "node:timers/promises";

/** An answer of the server. */
export interface Answer {
  status: number;
  json: Record<string, unknown>;
}

/** Logs one structured line (the agent's JSON log). */
export type AgentLog = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

/** Backoff delays: 250 ms doubling up to `maxMs`, with ±20% jitter. */
export function backoff(attempt: number, maxMs = 30_000): number {
  const base = Math.min(maxMs, 250 * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Resolves after `ms`, or at once when the signal aborts (Node's timer, its abort rejection swallowed). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);
}

/** A JSON answer's body; text that is not JSON as `{error}` (its first 500 characters). */
function parseJson(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { error: text.slice(0, 500) };
  }
}

export class AgentClient {
  constructor(
    /** The server's base URL, without a trailing slash. */
    readonly server: string,
    private readonly token: string,
    private readonly log: AgentLog,
  ) {}

  /** One POST of JSON; throws on a network error, a timeout or an abort. */
  post(path: string, body: unknown, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Answer> {
    return this.request("POST", path, JSON.stringify(body), "application/json", options);
  }

  /** PUTs bytes until the server answers below 500 (at most `max5xx` times 5xx); undefined when `signal` aborts. */
  /** PUTs a file's bytes (streamed from the disk, not read into memory) retried on network errors and 5xx as postRetry is. */
  putFileRetry(path: string, file: string, options: { signal?: AbortSignal; what: string; max5xx?: number }): Promise<Answer | undefined> {
    return this.retry(async () => this.request("PUT", path, await openAsBlob(file), "application/octet-stream", { ...options, timeoutMs: 120_000 }), options);
  }

  /** GETs JSON until the server answers below 500 (at most `max5xx` times 5xx); undefined when `signal` aborts. */
  getRetry(path: string, options: { signal?: AbortSignal; what: string; max5xx?: number }): Promise<Answer | undefined> {
    return this.retry(() => this.request("GET", path, undefined, undefined, options), options);
  }

  /**
   * GETs bytes into `file` (replaced), retrying as getRetry does; the answer
   * (status 200 and no JSON once the file is written), undefined when `signal` aborts.
   */
  downloadRetry(path: string, file: string, options: { signal?: AbortSignal; what: string; max5xx?: number }): Promise<Answer | undefined> {
    return this.retry(async () => {
      const res = await fetch(this.server + path, { headers: { authorization: `Bearer ${this.token}` }, signal: this.signalOf({ ...options, timeoutMs: 120_000 }) });
      if (res.status !== 200 || !res.body) return { status: res.status, json: parseJson(await res.text()) };
      await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), createWriteStream(file));
      return { status: 200, json: {} };
    }, options);
  }

  private signalOf(options: { signal?: AbortSignal; timeoutMs?: number }): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? 30_000), ...(options.signal ? [options.signal] : [])]);
  }

  private async request(method: string, path: string, body: string | Blob | undefined, type: string | undefined, options: { signal?: AbortSignal; timeoutMs?: number }): Promise<Answer> {
    const res = await fetch(this.server + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(type ? { "content-type": type } : {}) },
      ...(body === undefined ? {} : { body }),
      signal: this.signalOf(options),
    });
    return { status: res.status, json: parseJson(await res.text()) };
  }

  /**
   * POSTs until the server answers below 500, retrying network errors and
   * 5xx with backoff (at most `max5xx` answers of 5xx); undefined when
   * `signal` aborts first.
   */
  postRetry(path: string, body: unknown, options: { signal?: AbortSignal; timeoutMs?: number; what: string; max5xx?: number }): Promise<Answer | undefined> {
    return this.retry(() => this.post(path, body, options), options);
  }

  private async retry(send: () => Promise<Answer>, options: { signal?: AbortSignal; what: string; max5xx?: number }): Promise<Answer | undefined> {
    let errors5xx = 0;
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) return undefined;
      let why: string;
      try {
        const a = await send();
        // A server that keeps failing on this request would fail forever: the caller decides.
        if (a.status < 500 || ++errors5xx >= (options.max5xx ?? Number.POSITIVE_INFINITY)) return a;
        why = `HTTP ${a.status}: ${String(a.json.error ?? "")}`;
      } catch (err) {
        if (options.signal?.aborted) return undefined;
        why = describe(err);
      }
      const wait = backoff(attempt);
      this.log("warn", `${options.what}: the server did not answer; retrying`, { server: this.server, error: why, retryInMs: wait });
      await sleep(wait, options.signal);
    }
  }
}

/** A fetch error in words: Node's fetch hides the reason in `cause`. */
export function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
