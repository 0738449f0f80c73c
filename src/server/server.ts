// `slipway server`: one HTTP server for the JSON API (/api/), hosted Git over
// smart HTTP (/git/OWNER/NAME.git), health (/healthz, /readyz) and
// Prometheus metrics (/metrics), on the embedded SQLite store. A push to a
// hosted repository starts the workflows that match it (launcher.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Authenticator } from "./auth.js";
import { compile, HttpError, match, validate, type Actor, type CompiledRoute, type Reply, type Route } from "./api.js";
import { FileBlobStore } from "../blobs/index.js";
import { HostedRepositories, REPOSITORY_NAME, type RefUpdate } from "../git/index.js";
import { readBody } from "./body.js";
import { ChangeRequests } from "./changes.js";
import { ServerDelivery } from "./delivery.js";
import { ExternalRepositories } from "./external.js";
import { Launcher } from "./launcher.js";
import { jsonLogger, type Logger } from "./log.js";
import { ServerMetrics } from "./metrics.js";
import { serverIssuer } from "./oidc-routes.js";
import { openApi } from "./openapi.js";
import { isRemoteCachePath, RemoteCache, remoteCacheMaxBytes, remoteCacheRouteLabel } from "./remote-cache.js";
import { apiRoutes } from "./routes.js";
import { isOidcPath, JobTokens } from "../secrets/index.js";
import { notForJobs, requireJobAccess } from "./job-access.js";
import { agentRoutes } from "./agent-routes.js";
import type { Store } from "../store/index.js";

/** How long an idle keep-alive connection is kept open. */
const KEEP_ALIVE_MS = 65_000;

export interface ServerOptions {
  dataDir: string;
  store: Store;
  /** 0 picks a free port. */
  port: number;
  host: string;
  version: string;
  /** The URL clients reach the server at (default http://HOST:PORT). */
  publicUrl?: string;
  log?: Logger;
  /** Events whose runs run at once. */
  parallelEvents?: number;
  /** The slipway CLI script the runs are started with (default: the one running). */
  cli?: string;
  /** Run the delivery control loop for this repository's slipway.yml. */
  deliver?: string;
  /** The control loop's interval. */
  deliveryIntervalMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  launcher: Launcher;
  /** Stops accepting requests; runs already started go on (see launcher.ts). */
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;
/** GitHub caps webhook payloads at 25 MB. */
const MAX_RAW_BODY = 25 * 1024 * 1024;

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const log = o.log ?? jsonLogger();
  const metrics = new ServerMetrics();
  // Job tokens (github.token of the jobs its runs run): good while their job is in progress.
  const jobTokens = new JobTokens({ dataDir: o.dataDir, jobActive: (id) => o.store.getJob(id)?.status === "in_progress" });
  const auth = new Authenticator(o.store, jobTokens);
  const repos = new HostedRepositories(join(o.dataDir, "repos"));
  const cli = o.cli ?? process.argv[1] ?? "";
  repos.installHooks((name) => [process.execPath, cli, "hook", "pre-receive", "--data-dir", o.dataDir, "--repository", name]);
  let baseUrl = o.publicUrl ?? "";
  const launcher = new Launcher({
    dataDir: o.dataDir,
    store: o.store,
    repos,
    baseUrl: () => baseUrl,
    log,
    ...(o.parallelEvents !== undefined ? { limit: o.parallelEvents } : {}),
    cli,
    onDone: (l) => {
      metrics.observeLaunch(l.runIds.length > 0 ? "started" : l.exitCode === 0 ? "no_workflows" : "failed");
      for (const id of l.runIds) {
        for (const j of o.store.listJobs(id)) {
          if (j.startedAt && j.completedAt && j.conclusion) metrics.observeJob(j.conclusion, (Date.parse(j.completedAt) - Date.parse(j.startedAt)) / 1000);
        }
      }
    },
  });
  /** Push events for the branches and tags that moved (a deleted one starts nothing); change requests on them get a new merge result. */
  const launchPushes = (repository: string, updates: RefUpdate[], actor: string, payload?: Record<string, unknown>) => {
    void changes.onPush(repository, updates);
    return updates
      .filter((u) => !/^0+$/.test(u.after) && (u.ref.startsWith("refs/heads/") || u.ref.startsWith("refs/tags/")))
      .map((u) => launcher.launch({ repository, event: "push", ref: u.ref, sha: u.after, before: u.before, actor, ...(payload ? { payload } : {}) }));
  };
  const changes: ChangeRequests = new ChangeRequests(o.store, repos, launcher, log, (repository, updates, actor) => launchPushes(repository, updates, actor));
  const external = new ExternalRepositories(repos, o.dataDir, log, (name, updates) => launchPushes(name, updates, "poll"));
  await external.startPolling();
  const delivery = o.deliver
    ? new ServerDelivery({ dataDir: o.dataDir, store: o.store, repos, repository: o.deliver, log, cli, ...(o.deliveryIntervalMs !== undefined ? { intervalMs: o.deliveryIntervalMs } : {}) })
    : undefined;
  // One blob store for the artifact downloads and the remote cache.
  const blobs = new FileBlobStore(o.dataDir);
  const routes: Route[] = [...apiRoutes({ dataDir: o.dataDir, store: o.store, repos, external, launcher, auth, blobs, baseUrl: () => baseUrl, launchPushes, log, changes, ...(delivery ? { delivery } : {}) }), ...agentRoutes({ dataDir: o.dataDir, store: o.store, blobs, log })];
  const compiled = compile(routes);
  // Turborepo's (/v8/artifacts) and Nx's (/v1/cache) remote cache, from the blob store (remote-cache.ts).
  const remoteCache = new RemoteCache({ dataDir: o.dataDir, identify: (t) => auth.identify(t), blobs, maxBytes: remoteCacheMaxBytes(), log });
  const spec = openApi(routes, o.version);

  // The OIDC issuer at the public URL, for jobs with `id-token: write` (oidc-routes.ts).
  const oidc = serverIssuer({ dataDir: o.dataDir, store: o.store, issuer: () => baseUrl });

  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    let routeLabel = "other";
    let actor: Actor | undefined;
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observeRequest(req.method ?? "GET", routeLabel, res.statusCode, seconds);
      log.info("request", { method: req.method, path: (req.url ?? "").split("?")[0], route: routeLabel, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10, ...(actor ? { token: actor.name } : {}) });
    });
    void handle(req, res)
      .catch((err: unknown) => {
        if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message, ...(err.details.length > 0 ? { details: err.details } : {}) }, err.headers);
        log.error("internal error", { method: req.method, path: req.url, error: (err as Error).stack ?? String(err) });
        if (!res.headersSent) sendJson(res, 500, { error: "internal error; the server log has the details" });
        else res.destroy();
      })
      .catch(() => res.destroy());

    async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const url = new URL(req.url ?? "/", "http://x");
      const path = url.pathname;
      const method = req.method ?? "GET";
      if (path === "/healthz") {
        routeLabel = "/healthz";
        return sendJson(res, 200, { status: "ok" });
      }
      if (path === "/readyz") {
        routeLabel = "/readyz";
        const checks: Record<string, string> = {};
        try {
          o.store.listRuns({ limit: 1 });
          checks.store = "ok";
        } catch (err) {
          checks.store = (err as Error).message;
        }
        const ok = Object.values(checks).every((v) => v === "ok");
        return sendJson(res, ok ? 200 : 503, { status: ok ? "ready" : "not ready", checks });
      }
      if (path === "/metrics") {
        routeLabel = "/metrics";
        const queued = o.store.listRuns({ status: "queued" }).length;
        const inProgress = o.store.listRuns({ status: "in_progress" }).length;
        const { waiting, running } = launcher.stats();
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
        const rollouts = o.store.listDeployments().flatMap((dep) => {
          const r = o.store.listRollouts({ env: dep.env, service: dep.service, limit: 1 })[0];
          return r ? [{ env: r.env, service: r.service, release: r.toRelease, phase: r.phase, weight: r.weight }] : [];
        });
        res.end(metrics.render({ runs: { queued, in_progress: inProgress }, queued, launchesWaiting: waiting, launchesRunning: running, agentJobs: o.store.queuedJobCounts(), rollouts }));
        return;
      }
      if (method === "GET" && (path === "/" || path.startsWith("/ui/"))) {
        routeLabel = "/ui";
        return serveUi(res, path === "/" ? "index.html" : path.slice("/ui/".length));
      }
      if (path === "/api/openapi.json") {
        routeLabel = "/api/openapi.json";
        return sendJson(res, 200, spec);
      }
      if (isOidcPath(path)) {
        routeLabel = path;
        await oidc.handle(req, res);
        return;
      }
      if (path.startsWith("/git/")) {
        routeLabel = "/git";
        return serveGit(req, res, url);
      }
      if (isRemoteCachePath(path)) {
        routeLabel = remoteCacheRouteLabel(path);
        return remoteCache.serve(req, res, url, (t) => (actor = t));
      }
      if (path.startsWith("/api/")) {
        const found = match(compiled, method, path);
        if ("allowed" in found) {
          if (found.allowed.length > 0) throw new HttpError(405, `${method} is not allowed on ${path}; use ${found.allowed.join(" or ")}`, [], { allow: found.allowed.join(", ") });
          throw new HttpError(404, `no API route ${path} (GET /api/openapi.json lists them)`);
        }
        routeLabel = found.route.route.path;
        actor = authorize(req, found.route);
        return answer(res, await call(req, found.route, found.raw, actor));
      }
      throw new HttpError(404, `nothing at ${path}: the API is under /api/ (GET /api/openapi.json describes it), hosted repositories under /git/OWNER/NAME.git`);
    }

    async function serveGit(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
      // /git/OWNER/NAME.git/<smart HTTP path>
      const m = /^\/git\/([^/]+\/[^/]+?)\.git(\/.*)$/.exec(url.pathname);
      const name = m?.[1];
      const rest = m?.[2] ?? "";
      if (!name || !REPOSITORY_NAME.test(name) || !repos.exists(name)) throw new HttpError(404, `no hosted repository at ${url.pathname.split(".git")[0]}.git`);
      const isPush = rest === "/git-receive-pack" || url.searchParams.get("service") === "git-receive-pack";
      if (!["/info/refs", "/git-upload-pack", "/git-receive-pack", "/HEAD"].includes(rest)) throw new HttpError(404, `not a smart-HTTP Git path: ${rest}`);
      const need = isPush ? "developer" : "viewer";
      const a = auth.authenticate(req.headers, need);
      const job = a.token?.job;
      if (job) requireJobAccess(job, "contents", isPush ? "write" : "read", name, `${isPush ? "push to" : "read"} ${name}.git`);
      if (a.status === 401) throw new HttpError(401, "authentication required: use an API token as the password (any user name)", [], { "www-authenticate": 'Basic realm="Slipway"' });
      actor = a.token;
      if (a.status === 403) throw new HttpError(403, `token '${a.token.name}' is ${a.token.role}; ${isPush ? "pushing" : "reading"} needs ${need} or above`);
      const token = a.token;
      if (isPush && (await repos.isMirror(name))) throw new HttpError(403, `${name} is a mirror of ${await repos.remote(name)}: push there`);
      const updates = await repos.serve(req, res, name, `/${name}.git${rest}`, url.search.slice(1), token.name);
      // As on GitHub, what a job token pushes starts no workflows: a workflow that pushes cannot start itself again and again.
      if (job) {
        if (updates.length > 0) log.info("pushed by a job token: no runs started", { repository: name, job: job.jobId, refs: updates.map((u) => u.ref) });
        return;
      }
      launchPushes(name, updates, token.name);
    }
  });

  function authorize(req: IncomingMessage, c: CompiledRoute): Actor | undefined {
    const need = c.route.role;
    if (need === null) return undefined;
    const a = auth.authenticate(req.headers, need);
    if (a.token?.job) {
      // What it may do is checked with the request's parameters (call).
      if (!c.route.job) throw notForJobs(a.token.job, `${c.route.method} ${c.route.path}`);
      return a.token;
    }
    if (a.status === 401) throw new HttpError(401, "authentication required: send Authorization: Bearer <token> (create tokens with POST /api/tokens or `slipway tokens create`)", [], { "www-authenticate": 'Bearer realm="Slipway"' });
    if (a.status === 403) throw new HttpError(403, `token '${a.token.name}' is ${a.token.role}; ${c.route.method} ${c.route.path} needs ${need} or above`);
    return a.token;
  }

  async function call(req: IncomingMessage, c: CompiledRoute, rawParams: Record<string, string>, actor: Actor | undefined): Promise<Reply> {
    const r = c.route;
    const params = r.params ? validate(r.params, rawParams, "params") : {};
    const url = new URL(req.url ?? "/", "http://x");
    const rawQuery: Record<string, string> = {};
    for (const [k, v] of url.searchParams) rawQuery[k] = v;
    if (r.query) {
      const unknown = Object.keys(rawQuery).filter((k) => !(k in (r.query?.properties ?? {})));
      if (unknown.length > 0) throw new HttpError(400, `unknown query parameter '${unknown[0]}'; known: ${Object.keys(r.query.properties).join(", ")}`, unknown.map((k) => ({ field: `query.${k}`, message: "unknown parameter" })));
    }
    const query = r.query ? validate(r.query, rawQuery, "query") : {};
    const raw = r.raw ? await readApiBody(req, MAX_RAW_BODY) : undefined;
    const body = r.body ? validate(r.body, await readJson(req), "body") : undefined;
    if (actor?.job && r.job) {
      const repository = r.job.repository ? r.job.repository({ params, query, body } as never) : null;
      requireJobAccess(actor.job, r.job.scope, r.job.access, repository, `${r.method} ${r.path}`);
    }
    return r.handle({ params, query, body, actor, req, raw } as never);
  }

  // Idle keep-alive connections are kept 65 s (Node's default is 5 s): a
  // client that pauses between requests (a CLI between git pushes, an agent
  // between polls) otherwise races the server's close and gets "socket hang
  // up" on its next request. Longer than the 60 s idle timeout of common load
  // balancers, so they close first; headers must still arrive within 66 s.
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host === "0.0.0.0" ? "127.0.0.1" : o.host;
  baseUrl = (o.publicUrl ?? `http://${host}:${port}`).replace(/\/+$/, "");
  // Launches an earlier server left: settle them, and start those waiting.
  launcher.recover();
  await delivery?.start();
  return {
    url: baseUrl,
    port,
    launcher,
    close: async () => {
      external.stop();
      launcher.stop();
      await delivery?.stop();
      return closeServer(server);
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") throw new HttpError(415, `send the body as JSON with Content-Type: application/json (got '${type || "none"}')`);
  const text = (await readApiBody(req, MAX_BODY)).toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, `the body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The web UI's files (web/ in the package), with a content security policy that allows only them. */
const UI_TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml" };

function uiDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, "web", "index.html"))) return join(dir, "web");
    dir = dirname(dir);
  }
  return undefined;
}

function serveUi(res: ServerResponse, file: string): void {
  const root = uiDir();
  const type = UI_TYPES[extname(file)];
  if (!root || !type || !/^[A-Za-z0-9_-]+\.[a-z]+$/.test(file) || !existsSync(join(root, file))) throw new HttpError(404, `no UI file ${file}`);
  res.writeHead(200, {
    "content-type": type,
    "cache-control": "no-cache",
    "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
  });
  res.end(readFileSync(join(root, file)));
}

/** An API request's body, at most `max` bytes (413 past that). */
function readApiBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return readBody(req, max, () => new HttpError(413, `the body is over ${max} bytes`));
}

function answer(res: ServerResponse, reply: Reply): void {
  if (reply.stream !== undefined) {
    const stream = reply.stream;
    res.writeHead(reply.status, { "content-type": "application/octet-stream", ...reply.headers });
    stream.on("error", () => res.destroy());
    stream.pipe(res);
    return;
  }
  if (reply.text !== undefined) {
    res.writeHead(reply.status, { "content-type": "text/plain; charset=utf-8", ...reply.headers });
    res.end(reply.text);
    return;
  }
  sendJson(res, reply.status, reply.body ?? {}, reply.headers);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body) + "\n");
}
