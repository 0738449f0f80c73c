// The built-in router: an HTTP/1.1 reverse proxy (node:http) on the stable
// port of one environment's service. It splits requests between the stable
// and the canary release by weight (exactly: a smooth weighted round robin),
// or by a sticky key's hash bucket; round robin within a release over pooled
// keep-alive connections (backend-connection.ts: a lean HTTP/1.1 client;
// Node's http.Server takes the clients); streams bodies both ways; retries a request on
// another backend when its backend failed before any byte of response and
// the request can be replayed; counts requests, errors and latency per
// release for analysis and Prometheus.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import net, { type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { performance } from "node:perf_hooks";
import { BackendConnection, type ConnectionUser } from "./backend-connection.js";
import { codeClass, formatRouterMetrics, RouterMetrics, type ExtraFamily } from "./metrics.js";
import { cookieValue, normalizeTable, RouterError, stickyBucket, validateOptions, validateTable, type Backend, type RouteTable, type RouterOptions, type TrafficRouter, type WindowStats } from "./router.js";
import { WindowedStats } from "./window-stats.js";

/** How long a backend that refused a connection gets no new requests (unless every backend is out). */
const EJECT_MS = 1000;
/** Idle client connections are closed after this long. */
const CLIENT_KEEP_ALIVE_MS = 10_000;
/** close(): how long requests in flight may take to finish before their connections are cut. */
const CLOSE_GRACE_MS = 5_000;
/** Idle keep-alive connections kept per backend, and how long one may stay idle. */
const MAX_IDLE = 256;
const IDLE_MS = 4_000;

interface BackendState {
  readonly id: string;
  readonly release: string;
  readonly host: string;
  readonly port: number;
  inFlight: number;
  /** performance.now() until which the backend is skipped after a failed connect; 0 when in service. */
  ejectedUntil: number;
  /** No longer in the table; kept while requests are in flight on it. */
  retired: boolean;
  /** Idle keep-alive connections, the most recently used last. */
  idle: BackendConnection[];
}

interface Group {
  release: string;
  backends: BackendState[];
  next: number;
}

interface Compiled {
  table: RouteTable;
  stable: Group;
  canary: Group | undefined;
  /** Canary weight 0..100 (0 when there is no canary). */
  weight: number;
  /** Smooth weighted round robin between the releases: +weight per request, canary when it reaches 100. */
  credit: number;
  stickyHeader: string | undefined;
  stickyCookie: string | undefined;
}

const CONNECT_FAILURES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN", "ECONNECT_TIMEOUT"]);
/** Failures on a reused keep-alive connection that mean the backend closed it before reading the request. */
const STALE_CONNECTION = new Set(["ECONNRESET", "EPIPE", "EBACKEND_CLOSED"]);
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
/** Hop-by-hop request headers (RFC 9110 7.6.1), plus those Slipway rewrites. Lower case. */
const DROP_REQUEST = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "proxy-authorization", "expect", "x-forwarded-for"]);
const DROP_RESPONSE = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "proxy-authenticate"]);
/** Header name lengths worth lower-casing to compare (all names in the sets above, and those read). */
const CHECKED_LENGTHS = new Set([2, 6, 7, 10, 14, 15, 16, 17, 18, 19]);

function client(socket: Socket): string {
  const a = socket.remoteAddress ?? "";
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}

/** Connection: tokens that name further hop-by-hop headers (beyond keep-alive, close and upgrade). */
function connectionTokens(value: string): string[] {
  return value
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "" && t !== "keep-alive" && t !== "close" && t !== "upgrade");
}

export class BuiltinRouter implements TrafficRouter {
  readonly kind = "builtin" as const;
  private readonly where: string;
  private server: http.Server | undefined;
  private boundPort: number;
  private compiled: Compiled;
  private readonly states = new Map<string, BackendState>();
  private readonly retired = new Set<BackendState>();
  private readonly connectTimeoutMs: number;
  private readonly window = new WindowedStats();
  private readonly metrics = new RouterMetrics();
  private retries = 0;
  private closed = false;
  private readonly retryLimit: number;
  private readonly backendTimeoutMs: number;
  private readonly retryBufferBytes: number;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly o: RouterOptions) {
    validateOptions(o);
    this.where = `${o.env}/${o.service}`;
    this.boundPort = o.port;
    this.retryLimit = o.retries ?? 3;
    this.backendTimeoutMs = o.backendTimeoutMs ?? 60_000;
    this.retryBufferBytes = o.retryBufferBytes ?? 64 * 1024;
    this.connectTimeoutMs = o.connectTimeoutMs ?? 5_000;
    this.compiled = this.compile({ stable: { release: "-", backends: [] } });
  }

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    if (this.closed) throw new RouterError("closed", `the router of ${this.where} was closed: create a new one`);
    if (this.server) return;
    const server = http.createServer({ requestTimeout: 0 }, (req, res) => this.handle(req, res));
    server.keepAliveTimeout = CLIENT_KEEP_ALIVE_MS;
    server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (socket.writable && err.code !== "ECONNRESET") socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      else socket.destroy();
    });
    const host = this.o.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        server.off("listening", onListening);
        reject(
          new RouterError(
            "port-in-use",
            err.code === "EADDRINUSE"
              ? `port ${this.o.port} on ${host} for ${this.where} is in use by another process: stop it, or give ${this.where} another port`
              : err.code === "EACCES"
                ? `port ${this.o.port} on ${host} for ${this.where} needs privileges: use a port above 1023`
                : `cannot listen on ${host}:${this.o.port} for ${this.where}: ${err.message}`,
          ),
        );
      };
      const onListening = () => {
        server.off("error", onError);
        resolve();
      };
      server.once("error", onError);
      server.once("listening", onListening);
      server.listen(this.o.port, host);
    });
    this.server = server;
    this.boundPort = (server.address() as net.AddressInfo).port;
  }

  async apply(table: RouteTable): Promise<void> {
    if (this.closed) throw new RouterError("closed", `the router of ${this.where} was closed: create a new one`);
    validateTable(table, this.where);
    this.compiled = this.compile(table);
  }

  private compile(table: RouteTable): Compiled {
    const normalized = normalizeTable(table);
    const keep = new Set<BackendState>();
    const group = (release: string, backends: Backend[]): Group => ({
      release,
      next: 0,
      backends: backends.map((b) => {
        let s = this.states.get(b.id);
        if (!s || s.host !== b.host || s.port !== b.port || s.release !== b.release) {
          if (s) this.retire(s);
          s = { id: b.id, release: b.release, host: b.host, port: b.port, inFlight: 0, ejectedUntil: 0, retired: false, idle: [] };
          this.states.set(b.id, s);
        }
        keep.add(s);
        return s;
      }),
    });
    const stable = group(table.stable.release, table.stable.backends);
    const canary = table.canary ? group(table.canary.release, table.canary.backends) : undefined;
    for (const s of [...this.states.values()]) if (!keep.has(s)) this.retire(s);
    return {
      table: normalized,
      stable,
      canary,
      weight: canary ? (table.canary?.weight ?? 0) : 0,
      credit: 0,
      stickyHeader: table.sticky?.header?.toLowerCase(),
      stickyCookie: table.sticky?.cookie,
    };
  }

  private retire(s: BackendState): void {
    if (this.states.get(s.id) === s) this.states.delete(s.id);
    s.retired = true;
    if (s.inFlight > 0) this.retired.add(s);
    else this.dropIdle(s);
  }

  private dropIdle(s: BackendState): void {
    for (const c of s.idle.splice(0)) c.destroy();
  }

  /** An idle keep-alive connection to `s`, or a new one. */
  acquire(s: BackendState): BackendConnection {
    while (s.idle.length > 0) {
      const c = s.idle.pop()!;
      if (c.usable) return c;
    }
    return new BackendConnection(
      s.host,
      s.port,
      this.connectTimeoutMs,
      this.backendTimeoutMs,
      IDLE_MS,
      (c) => {
        if (!s.retired && !this.closed && s.idle.length < MAX_IDLE) s.idle.push(c);
        else c.destroy();
      },
      (c) => {
        const at = s.idle.indexOf(c);
        if (at >= 0) s.idle.splice(at, 1);
      },
    );
  }

  async current(): Promise<RouteTable> {
    return normalizeTable(this.compiled.table);
  }

  inFlight(backendId: string): number {
    let n = this.states.get(backendId)?.inFlight ?? 0;
    for (const s of this.retired) if (s.id === backendId) n += s.inFlight;
    return n;
  }

  async drained(ids: string[], timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (ids.some((id) => this.inFlight(id) > 0)) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  stats(release: string, windowMs: number): WindowStats {
    return this.window.stats(release, windowMs, Date.now());
  }

  metricsText(): string {
    const c = this.compiled;
    const groups = c.canary ? [c.stable, c.canary] : [c.stable];
    const inFlight = new Map<string, number>();
    for (const s of [...this.states.values(), ...this.retired]) inFlight.set(s.release, (inFlight.get(s.release) ?? 0) + s.inFlight);
    const extra: ExtraFamily[] = [
      {
        name: "slipway_router_weight_percent",
        help: "Share of new requests the route table sends to the release (stable: 100 minus the canary's weight).",
        type: "gauge",
        samples: groups.map((g, i) => ({ labels: { release: g.release, role: i === 0 ? "stable" : "canary" }, value: i === 0 ? 100 - c.weight : c.weight })),
      },
      {
        name: "slipway_router_backends",
        help: "Backends (instances) of the release in the route table.",
        type: "gauge",
        samples: groups.map((g) => ({ labels: { release: g.release }, value: g.backends.length })),
      },
      {
        name: "slipway_router_in_flight_requests",
        help: "Requests being answered, by release.",
        type: "gauge",
        samples: [...inFlight].map(([release, value]) => ({ labels: { release }, value })),
      },
      {
        name: "slipway_router_retries_total",
        help: "Requests sent again to another backend after theirs failed before answering.",
        type: "counter",
        samples: [{ labels: {}, value: this.retries }],
      },
    ];
    return formatRouterMetrics(this.o.env, this.o.service, this.metrics, extra, "Time from a request's arrival at the router to the end of its response, by release (built-in router: every request).");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const server = this.server;
    this.server = undefined;
    if (server) {
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + CLOSE_GRACE_MS;
      while (this.busy() && Date.now() < deadline) {
        server.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 20));
      }
      server.closeAllConnections();
      for (const s of this.sockets) s.destroy();
      await done;
    }
    for (const s of [...this.states.values(), ...this.retired]) this.dropIdle(s);
  }

  detach(): Promise<void> {
    return this.close();
  }

  private busy(): boolean {
    for (const s of this.states.values()) if (s.inFlight > 0) return true;
    return this.retired.size > 0;
  }

  // --- choosing a backend ---

  /** The group a new request goes to: by sticky key when it has one, else by the weights. */
  private chooseGroup(c: Compiled, req: IncomingMessage): Group {
    const canary = c.canary;
    if (!canary || c.weight <= 0) return c.stable.backends.length > 0 || !canary ? c.stable : canary;
    if (c.weight >= 100) return canary.backends.length > 0 ? canary : c.stable;
    let key: string | undefined;
    if (c.stickyHeader !== undefined) {
      const v = req.headers[c.stickyHeader];
      key = Array.isArray(v) ? v[0] : v;
    } else if (c.stickyCookie !== undefined) {
      const cookie = req.headers.cookie;
      if (cookie !== undefined) key = cookieValue(cookie, c.stickyCookie);
    }
    let toCanary: boolean;
    if (key !== undefined && key !== "") {
      toCanary = stickyBucket(key) < c.weight;
    } else {
      c.credit += c.weight;
      toCanary = c.credit >= 100;
      if (toCanary) c.credit -= 100;
    }
    const g = toCanary ? canary : c.stable;
    return g.backends.length > 0 ? g : toCanary ? c.stable : canary;
  }

  /** The next backend of `g` in round robin, skipping ejected ones and those in `tried`. */
  private nextIn(g: Group, tried: BackendState[] | undefined): BackendState | undefined {
    const list = g.backends;
    const n = list.length;
    if (n === 0) return undefined;
    let fallback: BackendState | undefined;
    for (let k = 0; k < n; k++) {
      const s = list[g.next++ % n]!;
      if (g.next > 1e9) g.next = 0;
      if (tried !== undefined && tried.includes(s)) continue;
      if (s.ejectedUntil !== 0) {
        if (performance.now() < s.ejectedUntil) {
          fallback ??= s;
          continue;
        }
        s.ejectedUntil = 0;
      }
      return s;
    }
    return fallback;
  }

  /** After a failure: another backend of the same release in the current table, else of the other release. */
  private retryTarget(release: string, tried: BackendState[]): BackendState | undefined {
    const c = this.compiled;
    const same = c.canary?.release === release ? c.canary : c.stable;
    const other = same === c.stable ? c.canary : c.stable;
    return this.nextIn(same, tried) ?? (other ? this.nextIn(other, tried) : undefined);
  }

  // --- proxying ---

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const start = performance.now();
    const c = this.compiled;
    const group = this.chooseGroup(c, req);
    const backend = this.nextIn(group, undefined);
    if (backend === undefined) {
      this.noBackend(req, res, group.release, start);
      return;
    }
    new Exchange(this, req, res, start).dispatch(backend);
  }

  private noBackend(req: IncomingMessage, res: ServerResponse, release: string, start: number): void {
    const body = `503 Service Unavailable: ${this.o.service} in ${this.o.env} has no backend to send this request to (the route table lists no instance). Slipway's router is running; deploy a release or check \`slipway status\`.\n`;
    res.once("close", () => this.account(release, 503, start, true));
    req.resume();
    res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), "retry-after": "1" });
    res.end(body);
  }

  /** Records one request's outcome for stats and metrics. */
  account(release: string, status: number, start: number, error: boolean): void {
    const ms = performance.now() - start;
    this.window.record(release, ms, error, Date.now());
    const m = this.metrics.release(release);
    m.addRequests(error && status < 500 ? "5xx" : codeClass(status));
    m.observe(ms / 1000);
  }

  begin(s: BackendState): void {
    s.inFlight++;
  }

  end(s: BackendState): void {
    s.inFlight--;
    if (s.retired && s.inFlight === 0) {
      this.retired.delete(s);
      this.dropIdle(s);
    }
  }

  eject(s: BackendState): void {
    s.ejectedUntil = performance.now() + EJECT_MS;
  }

  countRetry(): void {
    this.retries++;
  }

  get settings() {
    return { retryLimit: this.retryLimit, retryBufferBytes: this.retryBufferBytes, where: this.where };
  }

  nextAfterFailure(release: string, tried: BackendState[]): BackendState | undefined {
    return this.retryTarget(release, tried);
  }

  // --- upgrades (WebSocket and other protocols over Connection: Upgrade) ---

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const start = performance.now();
    const c = this.compiled;
    const group = this.chooseGroup(c, req);
    const backend = this.nextIn(group, undefined);
    if (backend === undefined) {
      this.account(group.release, 503, start, true);
      const body = `503 Service Unavailable: ${this.o.service} in ${this.o.env} has no backend for this upgrade request.\n`;
      socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    const { headers } = forwardHeaders(req, true);
    this.begin(backend);
    let finished = false;
    const finish = (status: number, error: boolean) => {
      if (finished) return;
      finished = true;
      this.end(backend);
      this.account(backend.release, status, start, error);
    };
    const up = http.request({ host: backend.host, port: backend.port, method: req.method, path: req.url, headers, setHost: false, agent: false });
    up.on("upgrade", (upRes: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
      const lines = [`HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage ?? "Switching Protocols"}`];
      for (let i = 0; i < upRes.rawHeaders.length; i += 2) lines.push(`${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}`);
      socket.write(lines.join("\r\n") + "\r\n\r\n");
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      upSocket.setNoDelay(true);
      socket.setNoDelay(true);
      upSocket.pipe(socket);
      socket.pipe(upSocket);
      const close = () => {
        upSocket.destroy();
        socket.destroy();
        finish(upRes.statusCode ?? 101, false);
      };
      // Either side closing (or half-closing: the client's socket allows half-open) ends the tunnel.
      for (const s of [upSocket, socket]) {
        s.on("error", close);
        s.on("end", close);
        s.on("close", close);
      }
    });
    up.on("response", (upRes: IncomingMessage) => {
      // The backend declined the upgrade: relay its answer and close.
      const lines = [`HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage ?? ""}`];
      for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
        const name = upRes.rawHeaders[i]!.toLowerCase();
        if (name !== "connection" && name !== "transfer-encoding" && name !== "keep-alive") lines.push(`${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}`);
      }
      lines.push("connection: close");
      socket.write(lines.join("\r\n") + "\r\n\r\n");
      upRes.pipe(socket);
      upRes.on("end", () => finish(upRes.statusCode ?? 502, (upRes.statusCode ?? 502) >= 500));
    });
    up.on("error", (err: NodeJS.ErrnoException) => {
      if (CONNECT_FAILURES.has(err.code ?? "")) this.eject(backend);
      if (!finished && socket.writable) {
        const body = `502 Bad Gateway: backend ${backend.id} of ${backend.release} (${backend.host}:${backend.port}) failed: ${err.code ?? err.message}\n`;
        socket.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      }
      finish(502, true);
    });
    socket.on("error", () => up.destroy());
    up.end();
  }
}

interface ForwardedHeaders {
  headers: string[];
  hasBody: boolean;
  /** The body's length is known (Content-Length); otherwise it is sent chunked. */
  hasLength: boolean;
  hasHost: boolean;
}

/** The request's headers for the backend: hop-by-hop ones dropped, X-Forwarded-For and -Proto set. */
function forwardHeaders(req: IncomingMessage, keepUpgrade: boolean): ForwardedHeaders {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let proto = false;
  let hasBody = false;
  let hasLength = false;
  let hasHost = false;
  let extraHop: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.length === 4 && name.toLowerCase() === "host") hasHost = true;
    else if (CHECKED_LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (lower === "content-length") {
        hasLength = true;
        if (value !== "0") hasBody = true;
      } else if (lower === "transfer-encoding") {
        hasBody = true;
      } else if (lower === "x-forwarded-proto") {
        proto = true;
      } else if (lower === "x-forwarded-for") {
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      } else if (lower === "connection") {
        const tokens = connectionTokens(value);
        if (tokens.length > 0) (extraHop ??= []).push(...tokens);
      }
      if (DROP_REQUEST.has(lower)) {
        if (keepUpgrade && (lower === "upgrade" || lower === "connection")) out.push(name, value);
        continue;
      }
    }
    out.push(name, value);
  }
  const ip = client(req.socket);
  out.push("X-Forwarded-For", forwardedFor === undefined ? ip : `${forwardedFor}, ${ip}`);
  if (!proto) out.push("X-Forwarded-Proto", "http");
  if (extraHop !== undefined) {
    const drop = new Set(extraHop);
    const kept: string[] = [];
    for (let i = 0; i < out.length; i += 2) if (!drop.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
    return { headers: kept, hasBody, hasLength, hasHost };
  }
  return { headers: out, hasBody, hasLength, hasHost };
}

/** The backend's response headers for the client: hop-by-hop ones dropped. */
function responseHeaders(raw: string[]): string[] {
  const out: string[] = [];
  let extraHop: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (CHECKED_LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (DROP_RESPONSE.has(lower)) {
        if (lower === "connection") {
          const tokens = connectionTokens(raw[i + 1]!);
          if (tokens.length > 0) (extraHop ??= []).push(...tokens);
        }
        continue;
      }
    }
    out.push(name, raw[i + 1]!);
  }
  if (extraHop === undefined) return out;
  const drop = new Set(extraHop);
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!drop.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

const EMPTY_HEADERS: string[] = [];

/** One client request through the router: its attempts on backends, its body, its response. */
class Exchange implements ConnectionUser {
  private backend: BackendState | undefined;
  private conn: BackendConnection | undefined;
  /** The request head for the backend (request line, headers, empty line). */
  private readonly head: string;
  private readonly hasBody: boolean;
  /** The body goes to the backend in chunked encoding (the client sent it so). */
  private readonly chunked: boolean;
  /** Body chunks kept for a retry; undefined once the body outgrew the buffer. */
  private kept: Buffer[] | undefined;
  private keptBytes = 0;
  private bodyEnded: boolean;
  private reused = false;
  private responded = false;
  private failed = false;
  private done = false;
  private readonly tried: BackendState[] = [];

  constructor(
    private readonly router: BuiltinRouter,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly start: number,
  ) {
    const f = forwardHeaders(req, false);
    this.hasBody = f.hasBody;
    this.chunked = f.hasBody && !f.hasLength;
    let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
    const h = f.headers;
    for (let i = 0; i < h.length; i += 2) head += `${h[i]}: ${h[i + 1]}\r\n`;
    if (!f.hasHost) head += `Host: ${req.socket.localAddress ?? "localhost"}\r\n`;
    if (this.chunked) head += "Transfer-Encoding: chunked\r\n";
    this.head = head + "\r\n";
    this.bodyEnded = !f.hasBody;
    if (f.hasBody) {
      this.kept = [];
      req.on("data", (chunk: Buffer) => this.onRequestBody(chunk));
      req.on("end", () => {
        this.bodyEnded = true;
        if (this.conn !== undefined && !this.responded) this.sendEnd(this.conn);
      });
    }
    res.on("close", () => this.onClose());
  }

  dispatch(backend: BackendState): void {
    const r = this.router;
    this.backend = backend;
    this.tried.push(backend);
    r.begin(backend);
    const conn = r.acquire(backend);
    this.conn = conn;
    this.reused = conn.completed > 0;
    conn.begin(this, this.head, this.req.method === "HEAD");
    if (!this.hasBody) return;
    if (this.kept !== undefined) for (const chunk of this.kept) this.send(conn, chunk);
    if (this.bodyEnded) this.sendEnd(conn);
    else this.req.resume();
  }

  private send(conn: BackendConnection, chunk: Buffer): boolean {
    if (!this.chunked) return conn.write(chunk);
    conn.write(`${chunk.length.toString(16)}\r\n`);
    conn.write(chunk);
    return conn.write("\r\n");
  }

  private sendEnd(conn: BackendConnection): void {
    if (this.chunked) conn.write("0\r\n\r\n");
  }

  private onRequestBody(chunk: Buffer): void {
    if (this.kept !== undefined) {
      if (this.keptBytes + chunk.length <= this.router.settings.retryBufferBytes) {
        this.kept.push(chunk);
        this.keptBytes += chunk.length;
      } else {
        this.kept = undefined;
      }
    }
    if (chunk.length === 0) return;
    const conn = this.conn;
    if (conn !== undefined && !this.responded && !this.send(conn, chunk)) this.req.pause();
  }

  onDrain(): void {
    if (!this.bodyEnded) this.req.resume();
  }

  onHead(status: number, message: string, headers: string[]): boolean {
    this.responded = true;
    // The rest of the request body is not sent: the backend's connection cannot carry another request.
    if (!this.bodyEnded) this.conn?.closeAfterResponse();
    const res = this.res;
    if (res.destroyed) {
      this.conn?.abandon();
      return false;
    }
    const out = headers.length === 0 ? EMPTY_HEADERS : responseHeaders(headers);
    try {
      if (message) res.writeHead(status, message, out);
      else res.writeHead(status, out);
    } catch (err) {
      // A header Node refuses to send (e.g. a bad character): the response cannot be relayed.
      this.failed = true;
      this.conn?.abandon();
      this.fail(502, `the response of backend ${this.backend?.id} is not valid: ${(err as Error).message}`);
      return false;
    }
    return true;
  }

  onBody(chunk: Buffer, last: boolean): boolean {
    const res = this.res;
    if (last) {
      if (chunk.length > 0) res.end(chunk);
      else res.end();
      return true;
    }
    if (res.write(chunk)) return true;
    const conn = this.conn;
    res.once("drain", () => conn?.resume());
    return false;
  }

  onFailure(err: NodeJS.ErrnoException, beforeHead: boolean): void {
    const conn = this.conn;
    const backend = this.backend!;
    this.conn = undefined;
    if (this.done || this.res.destroyed) return;
    if (!beforeHead) {
      // The backend cut its response short: the client cannot get a complete answer any more.
      this.failed = true;
      this.res.destroy();
      return;
    }
    const r = this.router;
    const code = err.code ?? "";
    const connectFailed = CONNECT_FAILURES.has(code) && conn !== undefined && !conn.connected;
    if (connectFailed) r.eject(backend);
    const replayable = !this.hasBody || this.kept !== undefined;
    const safe = connectFailed || (this.reused && STALE_CONNECTION.has(code)) || IDEMPOTENT.has(this.req.method ?? "");
    if (replayable && safe && code !== "EBACKEND_TIMEOUT" && code !== "EBACKEND_PROTOCOL" && this.tried.length <= r.settings.retryLimit) {
      const next = r.nextAfterFailure(backend.release, this.tried);
      if (next !== undefined) {
        r.end(backend);
        r.countRetry();
        this.dispatch(next);
        return;
      }
    }
    this.failed = true;
    const timeout = code === "EBACKEND_TIMEOUT";
    this.fail(timeout ? 504 : 502, `backend ${backend.id} of ${backend.release} (${backend.host}:${backend.port}) ${timeout ? "did not answer in time" : "failed"}: ${err.message}${this.tried.length > 1 ? ` (after ${this.tried.length} attempts)` : ""}`);
  }

  private fail(status: 502 | 504, reason: string): void {
    const res = this.res;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = `${status} ${status === 504 ? "Gateway Timeout" : "Bad Gateway"}: ${reason}\n`;
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
  }

  private onClose(): void {
    if (this.done) return;
    this.done = true;
    const backend = this.backend;
    if (backend === undefined) return;
    const r = this.router;
    r.end(backend);
    if (!this.res.writableFinished) {
      // The client went away, or the backend's response was cut short.
      const conn = this.conn;
      this.conn = undefined;
      if (conn !== undefined && conn.busy) conn.abandon();
      if (this.failed) r.account(backend.release, 502, this.start, true);
      return;
    }
    const status = this.res.statusCode;
    r.account(backend.release, status, this.start, this.failed || status >= 500);
  }
}
