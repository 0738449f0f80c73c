// One HTTP health check of an instance: GET http://127.0.0.1:<port><path>,
// healthy on 2xx and 3xx, with a timeout; the result in words for reasons
// ("GET /healthz returned 500 three times").
import { request } from "node:http";

export interface ProbeResult {
  ok: boolean;
  /** What happened, e.g. `GET /healthz returned 200`, `GET /healthz: connection refused`. */
  summary: string;
}

/** Requests the health path once; never throws. */
export function probe(port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  const what = `GET ${path}`;
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    // A fresh connection each time (no keep-alive agent): a check must see a
    // process that stopped accepting connections.
    const req = request({ host: "127.0.0.1", port, path, method: "GET", agent: false, headers: { "user-agent": "slipway-health-check" } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      done({ ok: status >= 200 && status < 400, summary: `${what} returned ${status}` });
    });
    const timer = setTimeout(() => done({ ok: false, summary: `${what} got no answer within ${formatMs(timeoutMs)}` }), timeoutMs);
    timer.unref();
    req.on("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "ECONNREFUSED" ? "connection refused (nothing listens on the port)" : err.code === "ECONNRESET" ? "connection reset" : err.message;
      done({ ok: false, summary: `${what}: ${why}` });
    });
    req.end();
  });
}

/** `once`, `twice`, `three times`, … `12 times`. */
export function times(n: number): string {
  const words = ["", "once", "twice", "three times", "four times", "five times", "six times", "seven times", "eight times", "nine times", "ten times"];
  return words[n] ?? `${n} times`;
}

/** 1500 → `1.5s`, 250 → `250ms`, 90000 → `90s`. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Math.round(ms / 100) / 10}s`;
}
