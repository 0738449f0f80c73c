// Prometheus metrics of the routers: per release, requests by status class
// (counter `slipway_router_requests_total`) and latency (histogram
// `slipway_router_request_duration_seconds`), cumulative since the router
// started; the text exposition format (0.0.4); and `serveMetrics`, which
// serves the metrics of several routers at /metrics.
import { createServer, type Server } from "node:http";

/** Upper bounds of the latency histogram, in seconds (Prometheus' client defaults, plus 1 ms and 2.5 ms). */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export const REQUESTS_TOTAL = "slipway_router_requests_total";
export const REQUEST_DURATION = "slipway_router_request_duration_seconds";

export type CodeClass = "1xx" | "2xx" | "3xx" | "4xx" | "5xx";
const CLASSES: CodeClass[] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

export function codeClass(status: number): CodeClass {
  if (status >= 500 || status < 100) return "5xx";
  if (status >= 400) return "4xx";
  if (status >= 300) return "3xx";
  if (status >= 200) return "2xx";
  return "1xx";
}

export class ReleaseMetrics {
  /** Requests by class: 1xx, 2xx, 3xx, 4xx, 5xx. */
  readonly codes = [0, 0, 0, 0, 0];
  /** Non-cumulative counts per bucket of DURATION_BUCKETS, plus +Inf. */
  readonly buckets = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  addRequests(cls: CodeClass, n = 1): void {
    this.codes[CLASSES.indexOf(cls)]! += n;
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

export class RouterMetrics {
  readonly releases = new Map<string, ReleaseMetrics>();

  release(name: string): ReleaseMetrics {
    let m = this.releases.get(name);
    if (!m) {
      m = new ReleaseMetrics();
      this.releases.set(name, m);
    }
    return m;
  }
}

/** A label value escaped for the exposition format. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

export interface GaugeSample {
  labels: Record<string, string>;
  value: number;
}

export interface ExtraFamily {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: GaugeSample[];
}

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(",");
}

/**
 * The exposition of one router: the two fixed families (every release ever
 * seen, with all four 2xx–5xx classes so rates start at zero), then `extra`
 * families (gauges such as weights and backends).
 */
export function formatRouterMetrics(env: string, service: string, metrics: RouterMetrics, extra: ExtraFamily[], durationHelp: string): string {
  const out: string[] = [];
  out.push(`# HELP ${REQUESTS_TOTAL} Requests answered through Slipway's router, by release and status class (5xx includes requests the router failed).`);
  out.push(`# TYPE ${REQUESTS_TOTAL} counter`);
  for (const [release, m] of metrics.releases) {
    const base = labelText({ env, service, release });
    CLASSES.forEach((cls, i) => {
      if (cls === "1xx" && m.codes[0] === 0) return;
      out.push(`${REQUESTS_TOTAL}{${base},code_class="${cls}"} ${m.codes[i]}`);
    });
  }
  out.push(`# HELP ${REQUEST_DURATION} ${durationHelp}`);
  out.push(`# TYPE ${REQUEST_DURATION} histogram`);
  for (const [release, m] of metrics.releases) {
    const base = labelText({ env, service, release });
    let cumulative = 0;
    DURATION_BUCKETS.forEach((le, i) => {
      cumulative += m.buckets[i]!;
      out.push(`${REQUEST_DURATION}_bucket{${base},le="${le}"} ${cumulative}`);
    });
    cumulative += m.buckets[DURATION_BUCKETS.length]!;
    out.push(`${REQUEST_DURATION}_bucket{${base},le="+Inf"} ${cumulative}`);
    out.push(`${REQUEST_DURATION}_sum{${base}} ${formatNumber(Math.round(m.sum * 1e6) / 1e6)}`);
    out.push(`${REQUEST_DURATION}_count{${base}} ${m.count}`);
  }
  for (const f of extra) {
    out.push(`# HELP ${f.name} ${f.help}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${f.name}{${labelText({ env, service, ...s.labels })}} ${formatNumber(s.value)}`);
  }
  return out.join("\n") + "\n";
}

/**
 * Several expositions as one: samples of the same family from different
 * routers are grouped under one HELP and TYPE (Prometheus rejects a family
 * declared twice).
 */
export function combineMetrics(texts: string[]): string {
  const families = new Map<string, { head: string[]; samples: string[] }>();
  const order: string[] = [];
  for (const text of texts) {
    let current: { head: string[]; samples: string[] } | undefined;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        const name = meta[2]!;
        let f = families.get(name);
        if (!f) {
          f = { head: [], samples: [] };
          families.set(name, f);
          order.push(name);
        }
        if (!f.head.some((h) => h.startsWith(`# ${meta[1]} `))) f.head.push(line);
        current = f;
        continue;
      }
      if (line.startsWith("#")) continue;
      if (!current) {
        const name = /^[^{\s]+/.exec(line)?.[0] ?? line;
        current = families.get(name);
        if (!current) {
          current = { head: [], samples: [] };
          families.set(name, current);
          order.push(name);
        }
      }
      current.samples.push(line);
    }
  }
  const out: string[] = [];
  for (const name of order) {
    const f = families.get(name)!;
    out.push(...f.head, ...f.samples);
  }
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

export interface MetricsSource {
  metricsText(): string;
}

export interface ServeMetricsOptions {
  /** Address to listen on; default 127.0.0.1 (give 0.0.0.0 for a Prometheus on another host). */
  host?: string;
  /** Where a failure to listen is reported; default standard error. */
  onError?: (err: Error) => void;
}

/**
 * Serves the combined metrics of `routers` (a list, or a function giving the
 * current list) at `GET /metrics` on `port`. A port that cannot be bound is
 * reported through `onError`, not thrown.
 */
export function serveMetrics(port: number, routers: MetricsSource[] | (() => MetricsSource[]), options: ServeMetricsOptions = {}): Server {
  const list = typeof routers === "function" ? routers : () => routers;
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("not found: Slipway serves its router metrics at /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      res.end("use GET /metrics\n");
      return;
    }
    let body: string;
    try {
      body = combineMetrics(list().map((r) => r.metricsText()));
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end(`cannot collect the router metrics: ${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  const report =
    options.onError ??
    ((err: Error) => {
      process.stderr.write(`slipway: ${err.message}\n`);
    });
  server.on("error", (err: NodeJS.ErrnoException) => {
    const hint = err.code === "EADDRINUSE" ? `port ${port} is in use: choose another metrics port` : err.code === "EACCES" ? `port ${port} needs privileges: choose a port above 1023` : err.message;
    report(new Error(`cannot serve /metrics on ${options.host ?? "127.0.0.1"}:${port}: ${hint}`));
  });
  server.listen(port, options.host ?? "127.0.0.1");
  return server;
}
