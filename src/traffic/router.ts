// The TrafficRouter interface: what splits one environment's traffic for one
// service between its stable release and a new (canary) release, on a stable
// port. Implementations: the built-in HTTP proxy (builtin-router.ts) and
// HAProxy driven through its runtime API (haproxy-router.ts). Also the route
// table's validation, shared by both.
import { isIP } from "node:net";

/** One instance of a release, reachable over HTTP at host:port. */
export interface Backend {
  /** Unique within a table (the supervisor's instance id). */
  id: string;
  release: string;
  host: string;
  port: number;
}

export interface RouteTable {
  stable: { release: string; backends: Backend[] };
  /** `weight` 0..100: the percentage of requests sent to the canary. */
  canary?: { release: string; backends: Backend[]; weight: number };
  /** With a key (header or cookie) in the request, the same key goes to the same release while the weights stay. */
  sticky?: { header?: string; cookie?: string };
}

/** Latency percentiles in milliseconds; null when the window holds no sample. */
export interface LatencyPercentiles {
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
}

/** What the router saw of one release over a window (the shape analysis reads). */
export interface WindowStats {
  requests: number;
  /** Responses with a 5xx status, and requests the router failed (backend unreachable, response cut off). */
  errors: number;
  latency: LatencyPercentiles;
}

export type RouterKind = "builtin" | "haproxy";

export interface TrafficRouter {
  readonly kind: RouterKind;
  /** The stable port clients use (the port actually bound once started, also when 0 was asked for). */
  readonly port: number;
  /** Binds the port (built-in) or starts or re-attaches to HAProxy. */
  start(): Promise<void>;
  /** New requests follow the new table at once; requests in flight finish where they are. */
  apply(table: RouteTable): Promise<void>;
  /** What the router actually does (HAProxy: read back through the runtime API), backends sorted by id. */
  current(): Promise<RouteTable>;
  /** Requests (and upgraded connections) in flight on a backend, to wait before it is stopped. */
  inFlight(backendId: string): number;
  /** Resolves true once none of `ids` has a request in flight, false when `timeoutMs` passes first. */
  drained(ids: string[], timeoutMs: number): Promise<boolean>;
  /** Requests, errors and latency percentiles of a release over the last `windowMs` (whole seconds, at most HISTORY_SECONDS). */
  stats(release: string, windowMs: number): WindowStats;
  /** Prometheus text exposition of this router's metrics. */
  metricsText(): string;
  /** Stops routing and frees the port (HAProxy: stops its processes). */
  close(): Promise<void>;
  /**
   * Lets go of the router without stopping traffic: HAProxy keeps running with
   * its last table and a later `start()` re-attaches to it. The built-in
   * router lives in this process, so for it this is `close()`.
   */
  detach(): Promise<void>;
}

export interface RouterOptions {
  kind: RouterKind;
  env: string;
  service: string;
  /** The stable port; 0 picks a free one (read it back from `port` after `start()`). */
  port: number;
  /** The address to listen on; default 127.0.0.1. Use 0.0.0.0 to accept clients from other hosts. */
  host?: string;
  /** Slipway's data directory; HAProxy's files live in `<dataDir>/traffic/<env>/<service>/`. */
  dataDir: string;
  /** Attempts on other backends after a failure before any response byte; default 3. */
  retries?: number;
  /** Connect timeout to a backend in ms; default 5000. */
  connectTimeoutMs?: number;
  /** Longest wait for a backend's response (and between its bytes) in ms; default 60000. */
  backendTimeoutMs?: number;
  /** Built-in: request bodies up to this many bytes are kept so the request can be retried; default 64 KiB. */
  retryBufferBytes?: number;
  /** HAProxy: the program; default /usr/sbin/haproxy, else `haproxy` on PATH. */
  haproxyPath?: string;
  /** HAProxy: server slots in its backend (grown with a reload when a table needs more); default 16. */
  slots?: number;
  /** HAProxy: how often `show stat` is read for request counts, in ms; default 1000. */
  statsIntervalMs?: number;
  /** HAProxy: worker threads (`nbthread`); default HAProxy's (one per CPU). */
  threads?: number;
}

export type RouterErrorCode = "bad-table" | "bad-options" | "port-in-use" | "not-started" | "closed" | "haproxy";

/** A router could not do what was asked; the message names what and the fix. */
export class RouterError extends Error {
  override readonly name = "RouterError";
  constructor(
    readonly code: RouterErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** How long stats are kept: windows longer than this are cut to it. */
export const HISTORY_SECONDS = 600;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/** Throws a RouterError naming the field and the fix when `table` is not a valid route table. */
export function validateTable(table: RouteTable, where: string): void {
  const bad = (message: string): never => {
    throw new RouterError("bad-table", `route table for ${where}: ${message}`);
  };
  if (!table || typeof table !== "object" || !table.stable || typeof table.stable !== "object") bad("`stable` is missing: give { stable: { release, backends: [] } }");
  checkRelease(table.stable.release, "stable.release", bad);
  if (!Array.isArray(table.stable.backends)) bad("stable.backends must be an array (may be empty)");
  const ids = new Set<string>();
  const checkBackends = (backends: Backend[], path: string, release: string) => {
    backends.forEach((b, i) => {
      const at = `${path}[${i}]`;
      if (!b || typeof b.id !== "string" || b.id === "") bad(`${at}.id must be a non-empty string`);
      if (/\s/.test(b.id)) bad(`${at}.id '${b.id}' contains white space: use ids without spaces`);
      if (ids.has(b.id)) bad(`backend id '${b.id}' appears twice: each instance needs its own id`);
      ids.add(b.id);
      if (b.release !== release) bad(`${at} (${b.id}) belongs to release '${b.release}' but is listed under '${release}': list it under its own release`);
      if (typeof b.host !== "string" || (isIP(b.host) === 0 && !HOST_NAME.test(b.host))) bad(`${at}.host '${String(b.host)}' is not an IP address or host name`);
      if (!Number.isInteger(b.port) || b.port < 1 || b.port > 65535) bad(`${at}.port ${String(b.port)} is not a port number (1..65535)`);
    });
  };
  checkBackends(table.stable.backends, "stable.backends", table.stable.release);
  if (table.canary !== undefined) {
    const c = table.canary;
    checkRelease(c.release, "canary.release", bad);
    if (c.release === table.stable.release) bad(`the canary's release is the stable release '${c.release}': leave out \`canary\` or name the new release`);
    if (!Array.isArray(c.backends)) bad("canary.backends must be an array (may be empty)");
    if (typeof c.weight !== "number" || !Number.isFinite(c.weight) || c.weight < 0 || c.weight > 100) bad(`canary.weight ${String(c.weight)} is not a percentage from 0 to 100`);
    checkBackends(c.backends, "canary.backends", c.release);
  }
  if (table.sticky !== undefined) {
    const { header, cookie } = table.sticky;
    if (header !== undefined && cookie !== undefined) bad("sticky names both a header and a cookie: choose one");
    if (header === undefined && cookie === undefined) bad("sticky names neither a header nor a cookie: give { header: 'X-User' } or { cookie: 'session' }, or leave it out");
    if (header !== undefined && !TOKEN.test(header)) bad(`sticky.header '${header}' is not a valid header name`);
    if (cookie !== undefined && !TOKEN.test(cookie)) bad(`sticky.cookie '${cookie}' is not a valid cookie name`);
  }
}

function checkRelease(release: unknown, path: string, bad: (m: string) => never): void {
  if (typeof release !== "string" || release === "") bad(`${path} must be a release name`);
  if (/[\s"\\]/.test(release as string)) bad(`${path} '${String(release)}' contains white space, a quote or a backslash: use a plain release name`);
}

/** A deep copy of `table` with backends sorted by id and no undefined fields (what `current()` returns). */
export function normalizeTable(table: RouteTable): RouteTable {
  const sortBackends = (bs: Backend[]) => bs.map((b) => ({ id: b.id, release: b.release, host: b.host, port: b.port })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out: RouteTable = { stable: { release: table.stable.release, backends: sortBackends(table.stable.backends) } };
  if (table.canary) out.canary = { release: table.canary.release, backends: sortBackends(table.canary.backends), weight: table.canary.weight };
  if (table.sticky?.header !== undefined) out.sticky = { header: table.sticky.header };
  else if (table.sticky?.cookie !== undefined) out.sticky = { cookie: table.sticky.cookie };
  return out;
}

/** Checks the options every router takes; throws a RouterError naming the option. */
export function validateOptions(o: RouterOptions): void {
  const bad = (message: string): never => {
    throw new RouterError("bad-options", message);
  };
  if (o.kind !== "builtin" && o.kind !== "haproxy") bad(`router kind '${String(o.kind)}' is unknown: use builtin or haproxy`);
  for (const [name, v] of [
    ["env", o.env],
    ["service", o.service],
  ] as const) {
    if (typeof v !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v)) bad(`router ${name} '${String(v)}' must be a name of letters, digits, '.', '_' or '-'`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) bad(`router port ${String(o.port)} for ${o.env}/${o.service} is not a port number (0 picks a free one)`);
  if (typeof o.dataDir !== "string" || o.dataDir === "") bad("router dataDir is missing: pass Slipway's data directory");
  const positive = (name: string, v: number | undefined, min: number) => {
    if (v !== undefined && (!Number.isFinite(v) || v < min)) bad(`router option ${name} must be a number ≥ ${min}, got ${String(v)}`);
  };
  positive("retries", o.retries, 0);
  positive("connectTimeoutMs", o.connectTimeoutMs, 1);
  positive("backendTimeoutMs", o.backendTimeoutMs, 1);
  positive("retryBufferBytes", o.retryBufferBytes, 0);
  positive("slots", o.slots, 1);
  positive("statsIntervalMs", o.statsIntervalMs, 50);
  positive("threads", o.threads, 1);
}

/** FNV-1a over the UTF-16 code units of `key`, as an unsigned 32-bit integer. */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The sticky bucket 0..99 of a key: it goes to the canary when its bucket is below the canary's weight. */
export function stickyBucket(key: string): number {
  return hashKey(key) % 100;
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string, name: string): string | undefined {
  let from = 0;
  while (from < header.length) {
    const at = header.indexOf(name, from);
    if (at < 0) return undefined;
    const end = at + name.length;
    let before = at - 1;
    while (before >= 0 && header.charCodeAt(before) === 32) before--;
    if ((before < 0 || header.charCodeAt(before) === 59) && header.charCodeAt(end) === 61) {
      const stop = header.indexOf(";", end + 1);
      return (stop < 0 ? header.slice(end + 1) : header.slice(end + 1, stop)).trim();
    }
    from = end;
  }
  return undefined;
}
