// One HTTP request with a deadline, for smoke checks and health probes:
// node:http(s) directly (no redirects followed, any header may be set), the
// body read up to a limit, and network failures described in words.
import http from "node:http";
import https from "node:https";
import { formatDuration } from "../duration.js";

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The whole exchange, connect to the last body byte. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Body bytes kept; the rest is read and dropped. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Default: a new connection, closed after the answer. Node's global agent keeps connections alive, and one the server closed while idle fails the next request ("socket hang up"): a check must not fail for that. */
  agent?: http.Agent;
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body was longer than `maxBodyBytes`. */
  truncated: boolean;
  latencyMs: number;
}

/** A failed exchange: `message` is readable ("connection refused (127.0.0.1:4000)"); `code` is Node's code or TIMEOUT / ABORTED. */
export class HttpFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "HttpFailure";
    this.code = code;
  }
}

const WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed while sending",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EADDRNOTAVAIL: "no local address available",
  ECONNABORTED: "connection aborted",
  HPE_INVALID_CONSTANT: "the answer is not HTTP",
  ERR_INVALID_URL: "invalid URL",
};

/** Node's network error → `HttpFailure` with words a person reads. */
export function describeNetworkError(err: unknown): HttpFailure {
  if (err instanceof HttpFailure) return err;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const code = e?.code ?? e?.name ?? "ERROR";
  const words = WORDS[code];
  const where = e?.address ? ` (${e.address}${e.port ? `:${e.port}` : ""})` : "";
  if (code === "ECONNRESET" && /socket hang up/i.test(e.message ?? "")) return new HttpFailure(code, "the connection closed without an answer (socket hang up)");
  return new HttpFailure(code, words ? `${words}${where}` : (e?.message ?? String(err)));
}

export function httpRequest(url: string | URL, options: HttpRequestOptions): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new HttpFailure("ERR_INVALID_URL", `'${String(url)}' is not a URL`));
      return;
    }
    if (target.protocol !== "http:" && target.protocol !== "https:") {
      reject(new HttpFailure("ERR_INVALID_URL", `'${target.href}' is not an http or https URL`));
      return;
    }
    if (options.signal?.aborted) {
      reject(new HttpFailure("ABORTED", "cancelled"));
      return;
    }
    const started = performance.now();
    const max = options.maxBodyBytes ?? 1 << 20;
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-length")) {
      headers["content-length"] = String(Buffer.byteLength(options.body));
    }
    let done = false;
    const settle = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const mod = target.protocol === "https:" ? https : http;
    const req = mod.request(target, { method: options.method ?? "GET", headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      let truncated = false;
      res.on("data", (chunk: Buffer) => {
        if (kept >= max) {
          truncated = true;
          return;
        }
        const part = chunk.length > max - kept ? chunk.subarray(0, max - kept) : chunk;
        truncated ||= part.length < chunk.length;
        chunks.push(part);
        kept += part.length;
      });
      res.on("end", () =>
        settle(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), truncated, latencyMs: performance.now() - started })),
      );
      res.on("error", (err) => settle(() => reject(describeNetworkError(err))));
      res.on("close", () => {
        if (!res.complete) settle(() => reject(new HttpFailure("ECONNRESET", `the connection closed before the answer ended (status ${res.statusCode})`)));
      });
    });
    const timer = setTimeout(() => {
      const failure = new HttpFailure("TIMEOUT", `no answer within ${formatDuration(options.timeoutMs)}`);
      settle(() => reject(failure));
      req.destroy(failure);
    }, options.timeoutMs);
    const onAbort = () => {
      settle(() => reject(new HttpFailure("ABORTED", "cancelled")));
      req.destroy();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (err) => settle(() => reject(describeNetworkError(err))));
    req.end(options.body);
  });
}
