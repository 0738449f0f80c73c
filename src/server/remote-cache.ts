// Remote cache for Turborepo and Nx, served from the server's
// content-addressed blob store (blobs/): a team's `turbo` and `nx` share
// task outputs through Slipway.
//
// - Turborepo's remote cache API (what `turbo` 2 calls with TURBO_API,
//   TURBO_TOKEN, TURBO_TEAM): `GET`/`HEAD`/`PUT /v8/artifacts/{hash}`,
//   `POST /v8/artifacts` (which of these hashes exist), `GET
//   /v8/artifacts/status`, `POST /v8/artifacts/events` (usage events,
//   accepted and dropped). Entries are per team (`teamId` or `slug` in the
//   query); a PUT replaces the entry. `x-artifact-duration` and
//   `x-artifact-tag` (turbo's signature with TURBO_REMOTE_CACHE_SIGNATURE_KEY)
//   are kept and given back. Errors are Vercel's shape, which turbo prints:
//   `{"error": {"code", "message"}}`.
// - Nx's self-hosted remote cache (Nx 20.8+, NX_SELF_HOSTED_REMOTE_CACHE_SERVER):
//   `GET`/`PUT /v1/cache/{hash}`; entries are immutable (a second PUT is 409);
//   errors are text/plain, as its OpenAPI description says (Nx shows them).
//
// The bytes are blobs (one per content, so two teams' identical outputs are
// stored once); the index is one small JSON file per entry under
// DATA/remote-cache/, written to a temporary file and renamed into place (or
// linked, for Nx's create-once rule), so a crash never leaves half an entry and
// no database migration is needed. Bodies are streamed to the blob store,
// never held in memory, up to a size limit. Tokens are the server's API
// tokens: `viewer` reads, `developer` writes.
import { promises as fsp } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { FileBlobStore, mapLimit, writeJsonAtomic, type BlobStore } from "../blobs/index.js";
import type { Role, TokenRecord } from "../store/index.js";
import { checkRole, tokenFromHeaders } from "./auth.js";
import { readBody } from "./body.js";
import type { Logger } from "./log.js";

/** Default limit of one uploaded artifact: 1 GiB. */
export const DEFAULT_REMOTE_CACHE_MAX_BYTES = 1024 ** 3;
/** The environment variable that sets the limit (bytes, or with a K/M/G suffix). */
export const REMOTE_CACHE_MAX_BYTES_ENV = "SLIPWAY_REMOTE_CACHE_MAX_BYTES";

/** A task hash: letters and digits (turbo: 16 hex digits; Nx: decimal digits), at most 128. */
export const CACHE_HASH = /^[A-Za-z0-9]{1,128}$/;
/** A turbo team (`teamId` or `slug`): starts with a letter or digit; letters, digits, `.`, `_`, `-`; at most 100. */
export const CACHE_TEAM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Where the entries of requests without a team go (it cannot clash: a team starts with a letter or digit). */
const NO_TEAM = "_default";
/** Limit of the small JSON bodies (batch queries, events). */
const MAX_JSON_BODY = 1024 * 1024;
/** At most this many hashes in one batch query. */
const MAX_BATCH = 1000;
/** Entries a batch query looks up at once. */
const QUERY_CONCURRENCY = 16;
/** Artifact headers kept with an entry and given back with it. */
const KEPT_HEADERS = { "x-artifact-duration": "durationMs", "x-artifact-tag": "tag", "x-artifact-sha": "sha", "x-artifact-dirty-hash": "dirtyHash" } as const;

/** One cached artifact: the blob that holds it and what turbo sent with it. */
export interface RemoteCacheEntry {
  digest: string;
  size: number;
  /** x-artifact-duration: how long the task took, in milliseconds. */
  durationMs?: number;
  /** x-artifact-tag: turbo's signature of the artifact. */
  tag?: string;
  /** x-artifact-sha: the commit turbo ran on. */
  sha?: string;
  /** x-artifact-dirty-hash: turbo's hash of uncommitted changes. */
  dirtyHash?: string;
  createdAt: string;
  /** The name of the token that stored it. */
  createdBy: string;
}

export interface RemoteCacheOptions {
  dataDir: string;
  /** The token record for a token, or undefined when it is unknown or revoked (Authenticator.identify). */
  identify: (token: string | undefined) => TokenRecord | undefined;
  /** Default: the file blob store of the data directory. */
  blobs?: BlobStore;
  /** Largest artifact accepted, in bytes (default 1 GiB). */
  maxBytes?: number;
  log?: Logger;
}

type Protocol = "turbo" | "nx";

/** A refused request: its status, a machine code (turbo's `error.code`) and a message that says the fix. */
class CacheError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * Parses the size limit from `SLIPWAY_REMOTE_CACHE_MAX_BYTES` (bytes, or a
 * number with K, M or G: `512M`); the default when it is unset. Throws an
 * Error naming the variable and the fix when it is not a size.
 */
export function remoteCacheMaxBytes(env: Record<string, string | undefined> = process.env): number {
  const raw = env[REMOTE_CACHE_MAX_BYTES_ENV];
  if (raw === undefined || raw.trim() === "") return DEFAULT_REMOTE_CACHE_MAX_BYTES;
  return parseSize(raw, REMOTE_CACHE_MAX_BYTES_ENV);
}

/** A size in bytes, or a number with K, M or G (`512M`, `10G`); throws an Error naming `variable` and the fix when it is not one. */
export function parseSize(raw: string, variable: string): number {
  const m = /^\s*(\d+)\s*([KMG]i?B?|B)?\s*$/i.exec(raw);
  const unit = (m?.[2] ?? "").charAt(0).toUpperCase();
  const n = m ? Number(m[1]) * (unit === "K" ? 1024 : unit === "M" ? 1024 ** 2 : unit === "G" ? 1024 ** 3 : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${variable} must be a size in bytes such as 1073741824 or 512M, got '${raw}'; fix or unset it`);
  return n;
}

/** One entry of a data directory's remote cache, for the garbage collector (retention/). */
export interface StoredRemoteCacheEntry {
  file: string;
  /** `turbo/<team>`, or `nx` (Nx has one space). */
  group: string;
  entry: RemoteCacheEntry;
  /** When it was last stored or downloaded (its file's time: a download sets it). */
  usedAt: number;
}

/** Removes an entry (its blob stays until the garbage collector finds nothing else uses it). */
export async function removeRemoteCacheEntry(e: StoredRemoteCacheEntry): Promise<void> {
  await fsp.rm(e.file, { force: true });
}

/** Every readable entry of the remote cache in `dataDir`. */
export async function listRemoteCacheEntries(dataDir: string): Promise<StoredRemoteCacheEntry[]> {
  const root = join(dataDir, "remote-cache");
  const dirs: { dir: string; group: string }[] = [{ dir: join(root, "nx"), group: "nx" }];
  for (const team of await fsp.readdir(join(root, "turbo")).catch(() => [] as string[])) dirs.push({ dir: join(root, "turbo", team), group: `turbo/${team}` });
  const out: StoredRemoteCacheEntry[] = [];
  for (const { dir, group } of dirs) {
    for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
      if (!name.endsWith(".json")) continue;
      const file = join(dir, name);
      try {
        const [text, stats] = await Promise.all([fsp.readFile(file, "utf8"), fsp.stat(file)]);
        const entry = JSON.parse(text) as RemoteCacheEntry;
        if (typeof entry.digest === "string" && typeof entry.size === "number") out.push({ file, group, entry, usedAt: stats.mtimeMs });
      } catch {
        // Removed meanwhile, or not an entry: not ours to judge here (lookup removes a broken one when asked for it).
      }
    }
  }
  return out;
}

/** Whether a request path belongs to the remote cache (the server hands those to RemoteCache.serve). */
export function isRemoteCachePath(path: string): boolean {
  return path === "/v8/artifacts" || path.startsWith("/v8/artifacts/") || path === "/v1/cache" || path.startsWith("/v1/cache/");
}

/** The metrics and log label of a remote cache path: the hash replaced by `{hash}`. */
export function remoteCacheRouteLabel(path: string): string {
  if (path === "/v8/artifacts" || path === "/v8/artifacts/status" || path === "/v8/artifacts/events") return path;
  return path.startsWith("/v8/") ? "/v8/artifacts/{hash}" : "/v1/cache/{hash}";
}

/** Serves Turborepo's and Nx's remote cache protocols from the blob store; see the top of this file. */
export class RemoteCache {
  private readonly blobs: BlobStore;
  private readonly root: string;
  readonly maxBytes: number;

  constructor(private readonly o: RemoteCacheOptions) {
    this.blobs = o.blobs ?? new FileBlobStore(o.dataDir);
    this.root = join(o.dataDir, "remote-cache");
    this.maxBytes = o.maxBytes ?? DEFAULT_REMOTE_CACHE_MAX_BYTES;
  }

  /**
   * Answers one request under /v8/artifacts or /v1/cache; never throws.
   * `identified` is told the caller's token (for the request log) once it is known.
   */
  async serve(req: IncomingMessage, res: ServerResponse, url: URL, identified?: (token: TokenRecord) => void): Promise<void> {
    const protocol: Protocol = url.pathname.startsWith("/v8/") ? "turbo" : "nx";
    try {
      const method = req.method ?? "GET";
      const need: Role = method === "PUT" ? "developer" : "viewer";
      const actor = this.authorize(req, need, protocol, method, url.pathname, identified);
      if (protocol === "turbo") await this.turbo(req, res, url, method, actor);
      else await this.nx(req, res, url, method, actor);
    } catch (err) {
      this.fail(res, protocol, err, req);
    }
  }

  private authorize(req: IncomingMessage, need: Role, protocol: Protocol, method: string, path: string, identified?: (token: TokenRecord) => void): TokenRecord {
    const a = checkRole(this.o.identify(tokenFromHeaders(req.headers)), need);
    if (a.token) identified?.(a.token);
    const variable = protocol === "turbo" ? "TURBO_TOKEN" : "NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN";
    if (a.status === 401) {
      throw new CacheError(401, "unauthorized", `authentication required: send a Slipway API token as Authorization: Bearer <token> (set ${variable}; create one with \`slipway tokens create --role developer\`)`, {
        "www-authenticate": 'Bearer realm="Slipway"',
      });
    }
    if (a.status === 403) {
      throw new CacheError(403, "forbidden", `token '${a.token.name}' is ${a.token.role}; ${method} ${path} (${need === "developer" ? "writing to" : "reading"} the remote cache) needs ${need} or above: use a ${need} token in ${variable}`);
    }
    return a.token;
  }

  private async turbo(req: IncomingMessage, res: ServerResponse, url: URL, method: string, actor: TokenRecord): Promise<void> {
    const path = url.pathname;
    if (path === "/v8/artifacts/status") {
      allow(method, ["GET"], path);
      return json(res, 200, { status: "enabled" });
    }
    if (path === "/v8/artifacts/events") {
      allow(method, ["POST"], path);
      await readSmallBody(req);
      return json(res, 200, {});
    }
    const team = teamOf(url);
    if (path === "/v8/artifacts") {
      allow(method, ["POST"], path);
      return json(res, 200, await this.query(team, await readSmallBody(req)));
    }
    const hash = hashOf(path.slice("/v8/artifacts/".length), "turbo");
    allow(method, ["GET", "HEAD", "PUT"], path);
    const file = this.entryFile("turbo", team, hash);
    if (method === "PUT") {
      const kept = keptHeaders(req);
      const entry = await this.store(req, actor, kept);
      await writeJsonAtomic(file, entry);
      return json(res, 202, { urls: [`${path}${url.search}`] });
    }
    const found = await this.lookup(file);
    if (!found) throw new CacheError(404, "not_found", `no artifact ${hash} for team '${team}' in the remote cache (turbo stores it after a run with a cache miss)`);
    if (method === "GET") await used(file);
    this.send(res, found, method === "HEAD");
  }

  private async nx(req: IncomingMessage, res: ServerResponse, url: URL, method: string, actor: TokenRecord): Promise<void> {
    const path = url.pathname;
    const hash = hashOf(path.slice("/v1/cache/".length), "nx");
    allow(method, ["GET", "PUT"], path);
    const file = this.entryFile("nx", NO_TEAM, hash);
    if (method === "GET") {
      const found = await this.lookup(file);
      if (!found) throw new CacheError(404, "not_found", `no task output ${hash} in the remote cache`);
      await used(file);
      return this.send(res, found, false);
    }
    const length = req.headers["content-length"];
    if (length === undefined || !/^\d+$/.test(length)) throw new CacheError(400, "bad_request", "PUT /v1/cache/{hash} needs a Content-Length header with the size of the body in bytes (Nx sends it)");
    if (await this.lookup(file)) throw new CacheError(409, "conflict", `task output ${hash} is already in the remote cache; entries are immutable (Nx's specification), nothing to do`);
    const entry = await this.store(req, actor, {});
    if (!(await writeJsonAtomic(file, entry, { exclusive: true }))) throw new CacheError(409, "conflict", `task output ${hash} was stored by another request meanwhile; entries are immutable, nothing to do`);
    res.writeHead(202, { "content-type": "text/plain; charset=utf-8" });
    res.end("stored\n");
  }

  /** Streams the request's body into the blob store (never more than maxBytes) and makes its entry. */
  private async store(req: IncomingMessage, actor: TokenRecord, kept: Partial<RemoteCacheEntry>): Promise<RemoteCacheEntry> {
    const declared = req.headers["content-length"];
    const max = this.maxBytes;
    const tooLarge = () => new CacheError(413, "payload_too_large", `the artifact is over the server's limit of ${max} bytes; raise ${REMOTE_CACHE_MAX_BYTES_ENV} on the server (e.g. 2G) or cache smaller outputs`, { connection: "close" });
    if (declared !== undefined && Number(declared) > max) throw tooLarge();
    let size = 0;
    const limited = async function* (): AsyncGenerator<Uint8Array> {
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > max) throw tooLarge();
        yield chunk as Buffer;
      }
    };
    const info = await this.blobs.put(limited());
    if (declared !== undefined && Number(declared) !== info.size) throw new CacheError(400, "bad_request", `the body has ${info.size} bytes but Content-Length said ${declared}; send the whole artifact again`);
    return { digest: info.digest, size: info.size, ...kept, createdAt: new Date().toISOString(), createdBy: actor.name };
  }

  /** The entry and its blob's size, or undefined when either is missing (a stale entry is removed). */
  private async lookup(file: string): Promise<RemoteCacheEntry | undefined> {
    let entry: RemoteCacheEntry;
    try {
      entry = JSON.parse(await fsp.readFile(file, "utf8")) as RemoteCacheEntry;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      this.o.log?.warn("remote cache entry unreadable; treated as missing", { file, error: (err as Error).message });
      return undefined;
    }
    const info = typeof entry.digest === "string" ? await this.blobs.stat(entry.digest).catch(() => undefined) : undefined;
    if (!info || info.size !== entry.size) {
      this.o.log?.warn("remote cache entry without its blob; removed", { file, digest: entry.digest });
      await fsp.rm(file, { force: true });
      return undefined;
    }
    return entry;
  }

  private send(res: ServerResponse, entry: RemoteCacheEntry, headOnly: boolean): void | Promise<void> {
    const headers: Record<string, string> = { "content-type": "application/octet-stream", "content-length": String(entry.size) };
    for (const [header, field] of Object.entries(KEPT_HEADERS)) {
      const v = entry[field];
      if (v !== undefined) headers[header] = String(v);
    }
    res.writeHead(200, headers);
    if (headOnly) {
      res.end();
      return;
    }
    return pipeline(this.blobs.open(entry.digest), res).catch((err: unknown) => {
      this.o.log?.warn("remote cache download interrupted", { digest: entry.digest, error: (err as Error).message });
      res.destroy();
    });
  }

  /** turbo's batch query: for each hash its size, duration and tag, or null when it is absent. */
  private async query(team: string, body: unknown): Promise<Record<string, unknown>> {
    const hashes = (body as { hashes?: unknown } | null)?.hashes;
    if (!Array.isArray(hashes) || hashes.length > MAX_BATCH || !hashes.every((h) => typeof h === "string")) {
      throw new CacheError(400, "bad_request", `body.hashes must be an array of at most ${MAX_BATCH} hashes, e.g. {"hashes": ["a1b2c3d4e5f60718"]}`);
    }
    const answers = await mapLimit(hashes as string[], QUERY_CONCURRENCY, async (h) => {
      if (!CACHE_HASH.test(h)) return { error: { message: "not a hash: letters and digits only, at most 128" } };
      const e = await this.lookup(this.entryFile("turbo", team, h));
      return e ? { size: e.size, taskDurationMs: e.durationMs ?? 0, ...(e.tag !== undefined ? { tag: e.tag } : {}) } : null;
    });
    // In the order asked (a hash asked twice keeps its first place).
    const out: Record<string, unknown> = {};
    (hashes as string[]).forEach((h, i) => (out[h] = answers[i]));
    return out;
  }

  private entryFile(protocol: Protocol, team: string, hash: string): string {
    return protocol === "turbo" ? join(this.root, "turbo", team, `${hash}.json`) : join(this.root, "nx", `${hash}.json`);
  }

  private fail(res: ServerResponse, protocol: Protocol, err: unknown, req: IncomingMessage): void {
    const e = err instanceof CacheError ? err : undefined;
    if (!e) this.o.log?.error("remote cache error", { method: req.method, path: req.url?.split("?")[0], error: (err as Error).stack ?? String(err) });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = e?.status ?? 500;
    const message = e?.message ?? "internal error of the remote cache; the server log has the details";
    // A body we did not read is not drained: the connection is closed after the answer.
    const headers = { ...(e?.headers ?? {}), ...(req.complete ? {} : { connection: "close" }) };
    if (protocol === "turbo") return json(res, status, { error: { code: e?.code ?? "internal_error", message } }, headers);
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
    res.end(message + "\n");
  }
}

function allow(method: string, methods: string[], path: string): void {
  if (!methods.includes(method)) throw new CacheError(405, "method_not_allowed", `${method} is not allowed on ${path}; use ${methods.join(" or ")}`, { allow: methods.join(", ") });
}

function hashOf(segment: string, protocol: Protocol): string {
  if (CACHE_HASH.test(segment)) return segment;
  const where = protocol === "turbo" ? "/v8/artifacts/{hash}" : "/v1/cache/{hash}";
  throw new CacheError(400, "bad_request", `params.hash: '${segment.slice(0, 140)}' is not a task hash; ${where} takes letters and digits only, at most 128`);
}

/** The team of a turbo request: `teamId`, else `slug` (both are what TURBO_TEAM says); requests without one share a default space. */
function teamOf(url: URL): string {
  const id = url.searchParams.get("teamId");
  const slug = url.searchParams.get("slug");
  const field = id !== null ? "teamId" : "slug";
  const team = id ?? slug;
  if (team === null || team === "") return NO_TEAM;
  if (!CACHE_TEAM.test(team)) throw new CacheError(400, "bad_request", `query.${field}: '${team.slice(0, 120)}' is not a team name; use letters, digits, '.', '_' and '-' (at most 100, starting with a letter or digit) in TURBO_TEAM`);
  return team;
}

/** The artifact headers of a PUT, checked: a duration in whole milliseconds; the others printable, at most 1,024 characters. */
function keptHeaders(req: IncomingMessage): Partial<RemoteCacheEntry> {
  const out: Partial<RemoteCacheEntry> = {};
  for (const [header, field] of Object.entries(KEPT_HEADERS)) {
    const v = req.headers[header];
    if (typeof v !== "string" || v === "") continue;
    if (field === "durationMs") {
      if (!/^\d{1,15}$/.test(v)) throw new CacheError(400, "bad_request", `header ${header}: '${v.slice(0, 40)}' is not a duration; send whole milliseconds such as 1520`);
      out.durationMs = Number(v);
    } else {
      if (!/^[\x20-\x7e]{1,1024}$/.test(v)) throw new CacheError(400, "bad_request", `header ${header}: must be printable ASCII of at most 1024 characters`);
      out[field] = v;
    }
  }
  return out;
}

/** A small JSON body (batch query, events), at most 1 MiB. */
async function readSmallBody(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req, MAX_JSON_BODY, () => new CacheError(413, "payload_too_large", `the body is over ${MAX_JSON_BODY} bytes; send fewer hashes at once`, { connection: "close" }));
  const text = body.toString("utf8");
  if (text.trim() === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CacheError(400, "bad_request", `the body is not valid JSON: ${(err as Error).message}`);
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body) + "\n");
}

/**
 * The remote cache's paths for the server's OpenAPI description (openapi.ts):
 * they are served before the typed route table, in Vercel's and Nx's own
 * protocols, so they are described here, by hand, as those protocols are.
 */
export function remoteCacheOpenApi(): Record<string, Record<string, unknown>> {
  const vercelError = { type: "object", properties: { error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" } }, required: ["code", "message"] } }, required: ["error"] };
  const json = (schema: unknown) => ({ "application/json": { schema } });
  const text = { "text/plain": { schema: { type: "string" } } };
  const bytes = { "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } } };
  const hash = { name: "hash", in: "path", required: true, description: "The task hash (letters and digits, at most 128)", schema: { type: "string", pattern: CACHE_HASH.source } };
  const team = [
    { name: "teamId", in: "query", required: false, description: "turbo's TURBO_TEAM (entries are per team)", schema: { type: "string", pattern: CACHE_TEAM.source } },
    { name: "slug", in: "query", required: false, description: "The team as a slug (the same as teamId)", schema: { type: "string", pattern: CACHE_TEAM.source } },
  ];
  /** An operation of either protocol: its role, and its errors as that protocol writes them (Vercel's JSON for turbo, text for Nx). */
  const operation = (errors: "json" | "text") => (op: Record<string, unknown>, role: Role, responses: Record<string, unknown>) => {
    const content = errors === "json" ? json(vercelError) : text;
    return {
      ...op,
      tags: ["remote cache"],
      security: [{ bearerAuth: [] }],
      "x-slipway-role": role,
      "x-slipway-job-permission": "none",
      responses: {
        ...responses,
        401: { description: "No token, or an unknown or revoked one", content },
        403: { description: `The token's role is below ${role}`, content },
      },
    };
  };
  const turbo = operation("json");
  const nx = operation("text");
  return {
    "/v8/artifacts/{hash}": {
      get: turbo({ operationId: "turboDownloadArtifact", summary: "Turborepo: a task's cached outputs", parameters: [hash, ...team] }, "viewer", { 200: { description: "The artifact; x-artifact-duration and x-artifact-tag as stored", content: bytes }, 404: { description: "Not cached", content: json(vercelError) } }),
      head: turbo({ operationId: "turboArtifactExists", summary: "Turborepo: whether a task's outputs are cached", parameters: [hash, ...team] }, "viewer", { 200: { description: "Cached" }, 404: { description: "Not cached" } }),
      put: turbo(
        { operationId: "turboUploadArtifact", summary: "Turborepo: store a task's outputs (replaces the entry; x-artifact-duration, x-artifact-tag, x-artifact-sha, x-artifact-dirty-hash are kept)", parameters: [hash, ...team], requestBody: { required: true, content: bytes } },
        "developer",
        { 202: { description: "Stored", content: json({ type: "object", properties: { urls: { type: "array", items: { type: "string" } } } }) }, 413: { description: `Over the size limit (${REMOTE_CACHE_MAX_BYTES_ENV})`, content: json(vercelError) } },
      ),
    },
    "/v8/artifacts": {
      post: turbo(
        { operationId: "turboQueryArtifacts", summary: "Turborepo: which of these hashes are cached", parameters: team, requestBody: { required: true, content: json({ type: "object", properties: { hashes: { type: "array", items: { type: "string" }, maxItems: MAX_BATCH } }, required: ["hashes"] }) } },
        "viewer",
        { 200: { description: "Per hash: its size and duration, or an error when not cached", content: json({ type: "object" }) } },
      ),
    },
    "/v8/artifacts/status": { get: turbo({ operationId: "turboCacheStatus", summary: "Turborepo: whether remote caching is enabled" }, "viewer", { 200: { description: "Enabled", content: json({ type: "object", properties: { status: { const: "enabled" } } }) } }) },
    "/v8/artifacts/events": { post: turbo({ operationId: "turboCacheEvents", summary: "Turborepo: cache usage events (accepted and dropped)", requestBody: { required: true, content: json({ type: "array" }) } }, "viewer", { 200: { description: "Accepted" } }) },
    "/v1/cache/{hash}": {
      get: nx({ operationId: "nxDownloadTaskOutput", summary: "Nx (self-hosted remote cache): a task's cached outputs", parameters: [hash] }, "viewer", { 200: { description: "The outputs", content: bytes }, 404: { description: "Not cached", content: text } }),
      put: nx(
        { operationId: "nxUploadTaskOutput", summary: "Nx: store a task's outputs (entries are immutable)", parameters: [hash, { name: "content-length", in: "header", required: true, schema: { type: "integer" } }], requestBody: { required: true, content: bytes } },
        "developer",
        { 202: { description: "Stored", content: text }, 409: { description: "Already cached (immutable)", content: text }, 413: { description: `Over the size limit (${REMOTE_CACHE_MAX_BYTES_ENV})`, content: text } },
      ),
    },
  };
}

/** Marks an entry as used now (its file's time), which keeps it from eviction (retention/). */
async function used(file: string): Promise<void> {
  const now = new Date();
  await fsp.utimes(file, now, now).catch(() => undefined);
}
