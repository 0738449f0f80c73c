// actions/cache, actions/cache/restore and actions/cache/save (v4 semantics),
// offline.
//
// An entry's archive is a GNU-format tar (smaller and cheaper than --posix,
// whose per-file pax headers add ~10% for small files) of the matched paths:
// relative to the workspace when inside it, absolute otherwise (`-P`), so
// ~/.npm comes back where it was — or under the restoring job's HOME when it
// differs (the entry records the saving HOME; tar's --transform renames on
// the fly). tar runs `zstd -T0 -3` and writes a temp file that is then hashed
// and renamed into the blob store; restore hands the blob file straight to
// `tar -x -I zstd`. No per-file work happens in JavaScript either way.
//
// The index is plain files, one JSON document per entry:
//   <dataDir>/cache/<sha256(scope)[:32]>/<version>/<sha256(key)>.json
// holding {key, version, scope, digest, size, createdAt, lastAccessedAt, home}.
// A lookup reads one directory (scope × version), which a few hundred entries
// keep fast, and needs no database: entries are created with link(2) from a
// temp file, which fails atomically when the name exists — that is what makes
// keys immutable even between concurrent jobs — and the database stays free of
// bulky, disposable cache metadata. Archive blobs are written without fsync
// (a cache can be rebuilt, and zstd's checksum turns a torn blob into a miss).
//
// Repository, as on GitHub: entries are kept per repository (`owner/name`),
// so one data directory serving several (`slipway server`) never hands one
// repository's cache to another.
//
// Shared: a job on a runner agent also has the server's cache
// (BuiltinContext.sharedCache, agent/cache.ts): a restore that finds no exact
// match here looks there, and what is saved here is given to it.
//
// Scope, as on GitHub: an entry belongs to the ref of the run that saved it; a
// run restores from its own ref, then its pull request's base branch, then
// the default branch — in each, the exact key first, then every key (the
// primary key, then the restore keys in order) as a prefix, newest first.
// An entry's `version` hashes the path list and the compression, so the same
// key saved for other paths is another entry (actions/cache's getCacheVersion).
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { FileBlobStore, isNotFound, writeJsonAtomic, type BlobStore, type Digest } from "../../blobs/index.js";
import { ActionError, booleanInput, warn, type BuiltinAction, type BuiltinContext, type BuiltinRepo } from "./builtin-action.js";
import { findPaths, homeOf } from "./paths.js";

export interface CacheEntry {
  key: string;
  version: string;
  /** Full ref that saved the entry, e.g. refs/heads/main. */
  scope: string;
  digest: Digest;
  size: number;
  createdAt: string;
  lastAccessedAt: string;
  /** HOME of the saving job: absolute members under it are moved to the restoring job's HOME. */
  home?: string;
  /** `owner/name` of the repository whose run saved it (absent in entries saved before entries were kept per repository). */
  repository?: string;
}

export const MAX_KEY_LENGTH = 512;
export const MAX_KEYS = 10;
/**
 * The archive compression, as actions/cache chooses it: zstd when the
 * `zstd` program exists, else gzip. Its name is part of the version, so an
 * entry is only ever restored with the method that wrote it.
 */
interface Compression {
  /** actions/cache's name for it (zstd without --long, or gzip). */
  name: "zstd-without-long" | "gzip";
  /** tar's -I program for writing. */
  write: string;
  /** tar's -I program for reading. */
  read: string;
}
let compression: Compression | undefined;
export function cacheCompression(): Compression {
  if (!compression) {
    const probe = spawnSync("zstd", ["--version"], { stdio: "ignore" });
    compression =
      probe.status === 0
        ? { name: "zstd-without-long", write: ZSTD, read: "zstd" }
        : { name: "gzip", write: "gzip -1", read: "gzip" };
  }
  return compression;
}
const VERSION_SALT = "1.0";
/** zstd level of archives: -3 is zstd's default and, with -T0, no slower than tar here. */
const ZSTD = "zstd -T0 -3";

/** Lines of the `path` input as actions/cache reads them (`! x` → `!x`). */
export function cachePaths(input: string | undefined): string[] {
  return (input ?? "")
    .split("\n")
    .map((s) => s.replace(/^!\s+/, "!").trim())
    .filter((s) => s !== "");
}

/** actions/cache's version: sha256 of the path list, the compression and the salt. */
export function cacheVersion(paths: string[], options: { enableCrossOsArchive?: boolean; platform?: string } = {}): string {
  const components = [...paths, cacheCompression().name];
  if ((options.platform ?? process.platform) === "win32" && !options.enableCrossOsArchive) components.push("windows-only");
  components.push(VERSION_SALT);
  return createHash("sha256").update(components.join("|")).digest("hex");
}

/** Throws the ActionError actions/cache gives for a bad key list. */
export function validateKeys(keys: string[]): void {
  if (keys.length > MAX_KEYS) throw new ActionError(`Key Validation Error: Keys are limited to a maximum of ${MAX_KEYS}.`);
  for (const key of keys) {
    if (key.length > MAX_KEY_LENGTH) {
      throw new ActionError(`Key Validation Error: ${key} cannot be larger than ${MAX_KEY_LENGTH} characters.`);
    }
    if (key.includes(",")) throw new ActionError(`Key Validation Error: ${key} cannot contain commas.`);
  }
}

/** The repository a run's entries belong to, `owner/name`, when known. */
export function cacheRepository(repo: BuiltinRepo): string | undefined {
  return repo.owner && repo.name ? `${repo.owner}/${repo.name}` : undefined;
}

/** The ref a run saves under. */
export function cacheScope(repo: BuiltinRepo): string {
  if (repo.ref) return repo.ref;
  return `refs/heads/${repo.branch ?? repo.defaultBranch}`;
}

/** The refs a run restores from, in order: its own, its pull request's base branch, the default branch. */
export function cacheScopes(repo: BuiltinRepo, env: Record<string, string> = {}): string[] {
  const scopes = [cacheScope(repo)];
  if (env.GITHUB_BASE_REF) scopes.push(`refs/heads/${env.GITHUB_BASE_REF}`);
  scopes.push(`refs/heads/${repo.defaultBranch}`);
  return [...new Set(scopes)];
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The folder of a repository's scope: the repository is part of its name. */
function scopeDir(scope: string, repository: string | undefined): string {
  return sha256(repository === undefined ? scope : `${repository}\n${scope}`).slice(0, 32);
}

function entryDir(dataDir: string, scope: string, version: string, repository: string | undefined): string {
  return join(dataDir, "cache", scopeDir(scope, repository), version);
}

function entryPath(dataDir: string, entry: Pick<CacheEntry, "scope" | "version" | "key" | "repository">): string {
  return join(entryDir(dataDir, entry.scope, entry.version, entry.repository), `${sha256(entry.key)}.json`);
}

/** An entry's file; undefined when it is gone or damaged (not JSON, no key or digest): a damaged entry is a miss, as a lost cache is on GitHub, and its blob goes with the next collection. */
async function readEntry(file: string): Promise<CacheEntry | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  try {
    const entry = JSON.parse(text) as Partial<CacheEntry> | null;
    return typeof entry?.key === "string" && typeof entry.digest === "string" ? (entry as CacheEntry) : undefined;
  } catch {
    return undefined;
  }
}

async function readEntries(dir: string): Promise<CacheEntry[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const entries: CacheEntry[] = [];
  for (const name of names) {
    if (name.startsWith(".") || !name.endsWith(".json")) continue;
    const entry = await readEntry(join(dir, name));
    if (entry) entries.push(entry);
  }
  return entries;
}

function newestFirst(a: CacheEntry, b: CacheEntry): number {
  return Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0);
}

export interface CacheLookup {
  /** The primary key first, then the restore keys. */
  keys: string[];
  version: string;
  scopes: string[];
  /** `owner/name`; entries of other repositories are never found. */
  repository?: string;
}

/** The entry a restore would use, and whether it matches the primary key exactly. */
export async function findCacheEntry(
  dataDir: string,
  lookup: CacheLookup,
): Promise<{ entry: CacheEntry; exact: boolean } | undefined> {
  const primary = lookup.keys[0];
  if (primary === undefined) return undefined;
  for (const scope of lookup.scopes) {
    const exact = await readEntry(entryPath(dataDir, { scope, version: lookup.version, key: primary, repository: lookup.repository }));
    if (exact && exact.key === primary) return { entry: exact, exact: true };
    const entries = (await readEntries(entryDir(dataDir, scope, lookup.version, lookup.repository))).sort(newestFirst);
    for (const key of lookup.keys) {
      const entry = entries.find((e) => e.key.startsWith(key));
      if (entry) return { entry, exact: entry.key === primary };
    }
  }
  return undefined;
}

/** All entries, newest first, optionally of one scope or with a key prefix (for the CLI). */
export async function listCacheEntries(
  dataDir: string,
  filter: { scope?: string; repository?: string; keyPrefix?: string } = {},
): Promise<CacheEntry[]> {
  const root = join(dataDir, "cache");
  let scopeDirs: string[];
  try {
    scopeDirs =
      filter.scope !== undefined
        ? [scopeDir(filter.scope, filter.repository)]
        : (await fsp.readdir(root)).filter((name) => /^[0-9a-f]{32}$/.test(name)); // not tmp/
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const result: CacheEntry[] = [];
  for (const scopeDir of scopeDirs) {
    let versions: string[];
    try {
      versions = await fsp.readdir(join(root, scopeDir));
    } catch (error) {
      if (isNotFound(error) || (error as NodeJS.ErrnoException).code === "ENOTDIR") continue;
      throw error;
    }
    for (const version of versions) {
      for (const entry of await readEntries(join(root, scopeDir, version))) {
        if (filter.keyPrefix === undefined || entry.key.startsWith(filter.keyPrefix)) result.push(entry);
      }
    }
  }
  return result.sort(newestFirst);
}

/** Removes an entry from the index (its blob stays until garbage collection: entries may share it). */
export async function deleteCacheEntry(dataDir: string, entry: Pick<CacheEntry, "key" | "version" | "scope" | "repository">): Promise<boolean> {
  try {
    await fsp.unlink(entryPath(dataDir, entry));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

export interface SaveCacheOptions {
  dataDir: string;
  workspace: string;
  home: string;
  /** The `path` input lines. */
  paths: string[];
  key: string;
  scope: string;
  /** `owner/name` of the repository the entry belongs to. */
  repository?: string;
  enableCrossOsArchive?: boolean;
  store?: BlobStore;
  signal?: AbortSignal;
  now?: Date;
  /** Called with the archive (the blob store's file) of an entry saved here: the shared cache takes a copy. */
  share?: (entry: CacheEntry, archive: string) => Promise<void>;
}

export type SaveCacheResult =
  | { saved: true; entry: CacheEntry }
  | { saved: false; reason: "exists"; entry: CacheEntry }
  | { saved: false; reason: "no-paths" };

/** Archives the paths under the key, unless an entry for key, paths and scope exists (keys are immutable). */
export async function saveCache(options: SaveCacheOptions): Promise<SaveCacheResult> {
  validateKeys([options.key]);
  if (options.paths.length === 0) throw new ActionError("Path Validation Error: At least one directory or file path is required");
  const version = cacheVersion(options.paths, { enableCrossOsArchive: options.enableCrossOsArchive ?? false });
  const file = entryPath(options.dataDir, { scope: options.scope, version, key: options.key, repository: options.repository });
  const existing = await readEntry(file);
  if (existing) return { saved: false, reason: "exists", entry: existing };

  const { matches } = await findPaths(options.paths, {
    cwd: options.workspace,
    home: options.home,
    implicitDescendants: false,
    stopAtMatchedDirectories: true,
  });
  const members = withoutDescendants(matches.map((m) => m.path)).map((p) => {
    const inside = relative(options.workspace, p);
    if (inside === "") return ".";
    return inside.startsWith(`..${sep}`) || inside === ".." || isAbsolute(inside) ? p : inside.split(sep).join("/");
  });
  if (members.length === 0) return { saved: false, reason: "no-paths" };

  const store = options.store ?? new FileBlobStore(options.dataDir);
  const tmpDir = join(options.dataDir, "cache", "tmp");
  await fsp.mkdir(tmpDir, { recursive: true });
  const archiveFile = join(tmpDir, `${process.pid}-${randomBytes(8).toString("hex")}.tar.zst`);
  try {
    const written = await createArchive(archiveFile, options.workspace, members, options.signal);
    const blob = await store.putFile(archiveFile, { move: true, durable: false, knownDigest: written.digest });
    const now = (options.now ?? new Date()).toISOString();
    const entry: CacheEntry = {
      key: options.key,
      version,
      scope: options.scope,
      digest: blob.digest,
      size: blob.size,
      createdAt: now,
      lastAccessedAt: now,
      home: options.home,
      ...(options.repository !== undefined ? { repository: options.repository } : {}),
    };
    if (!(await writeJsonAtomic(file, entry, { exclusive: true }))) {
      // Another job saved the same key meanwhile; its entry stands.
      return { saved: false, reason: "exists", entry: (await readEntry(file)) ?? entry };
    }
    // The shared cache reads the archive where the blob store now keeps it.
    const stored = store.path(blob.digest);
    if (stored) await options.share?.(entry, stored);
    return { saved: true, entry };
  } finally {
    await fsp.rm(archiveFile, { force: true });
  }
}

/** Drops paths inside other paths of the list (tar takes directories whole). */
function withoutDescendants(paths: string[]): string[] {
  const all = new Set(paths);
  return [...all].filter((path) => {
    for (let child = path, dir = dirname(path); dir !== child; child = dir, dir = dirname(dir)) {
      if (all.has(dir)) return false;
    }
    return true;
  });
}

/**
 * Writes the zstd-compressed tar of `members` (relative to `workspace`, or
 * absolute) to `file`, and hashes the file as it grows: tar and zstd write it
 * themselves (piping 64 KB chunks through this process costs far more CPU),
 * while this process reads it behind them in 1 MB steps from the page cache,
 * so the digest is ready when tar exits.
 */
async function createArchive(
  file: string,
  workspace: string,
  members: string[],
  signal?: AbortSignal,
): Promise<{ digest: Digest; size: number }> {
  const output = await fsp.open(file, "wx", 0o644);
  const input = await fsp.open(file, "r");
  try {
    const child = spawn("tar", ["--format=gnu", "-c", "-f", "-", "-P", "-C", workspace, "-I", cacheCompression().write, "--null", "-T", "-"], {
      stdio: ["pipe", output.fd, "pipe"],
      ...(signal ? { signal } : {}),
    });
    let exited = false;
    const done = exitOf(child, "tar").finally(() => {
      exited = true;
    });
    done.catch(() => undefined); // awaited below
    child.stdin?.on("error", () => {}); // tar may exit before reading every name; its exit code tells.
    child.stdin?.end(`${members.join("\0")}\0`);

    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(1 << 20);
    let size = 0;
    for (;;) {
      const final = exited; // everything is written once tar (which waits for zstd) has exited
      const { bytesRead } = await input.read(buffer, 0, buffer.length, size);
      if (bytesRead > 0) {
        hash.update(buffer.subarray(0, bytesRead));
        size += bytesRead;
      } else if (final) {
        break;
      } else {
        await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 5))]);
      }
    }
    await done;
    return { digest: `sha256:${hash.digest("hex")}`, size };
  } finally {
    await input.close();
    await output.close();
  }
}

export interface RestoreCacheOptions {
  dataDir: string;
  workspace: string;
  /** HOME of the restoring job (default: the saving job's). */
  home?: string;
  entry: CacheEntry;
  store?: BlobStore;
  signal?: AbortSignal;
  now?: Date;
}

/** Extracts an entry's archive over the workspace (and the paths outside it it was saved from). */
export async function restoreCache(options: RestoreCacheOptions): Promise<void> {
  const store = options.store ?? new FileBlobStore(options.dataDir);
  const { entry } = options;
  await fsp.mkdir(options.workspace, { recursive: true });
  const local = store.path(entry.digest);
  const args = ["-x", "-f", local ?? "-", "-I", cacheCompression().read, "-P", "-p", "-C", options.workspace];
  const from = entry.home === undefined ? undefined : stripSlash(entry.home);
  const to = options.home === undefined ? undefined : stripSlash(options.home);
  if (from && to && from !== to) {
    // Member names and hard-link targets only (S): symbolic links keep what they said.
    args.push(`--transform=s|^${escapeRegExp(from)}/|${escapeReplacement(to)}/|S`);
  }
  const signal = options.signal ? { signal: options.signal } : {};
  if (local !== undefined) {
    if (!(await store.has(entry.digest))) throw new Error(`the archive ${entry.digest} of cache ${entry.key} is missing`);
    await exitOf(spawn("tar", args, { stdio: ["ignore", "ignore", "pipe"], ...signal }), "tar");
  } else {
    const child = spawn("tar", args, { stdio: ["pipe", "ignore", "pipe"], ...signal });
    const done = exitOf(child, "tar");
    done.catch(() => undefined);
    await Promise.all([pipeline(store.open(entry.digest), child.stdin), done]);
  }
  // Record the access (the entry is rewritten whole; only lastAccessedAt changes).
  const file = entryPath(options.dataDir, entry);
  const touched = { ...entry, lastAccessedAt: (options.now ?? new Date()).toISOString() };
  await writeJsonAtomic(file, touched).catch(() => undefined);
}

function stripSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

/** Escapes a literal for a basic regular expression in a tar --transform with `|` delimiters. */
function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*[\]|]/g, "\\$&");
}

function escapeReplacement(text: string): string {
  return text.replace(/[\\&|]/g, "\\$&");
}

function exitOf(child: ReturnType<typeof spawn>, what: string): Promise<void> {
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    if (stderr.length < 16_384) stderr += text;
  });
  return new Promise((resolvePromise, reject) => {
    child.once("error", (error) => reject(error));
    child.once("close", (code, signal) => {
      if (code === 0) resolvePromise();
      else {
        const how = code !== null ? `exit code ${code}` : `signal ${signal}`;
        reject(new Error(`${what} failed (${how})${stderr.trim() ? `: ${stderr.trim()}` : ""}`));
      }
    });
  });
}

// ---------------------------------------------------------------------------
// The actions

const STATE_PRIMARY_KEY = "CACHE_KEY";
const STATE_MATCHED_KEY = "CACHE_RESULT";

function requiredInput(ctx: BuiltinContext, name: string): string {
  const value = (ctx.inputs[name] ?? "").trim();
  if (value === "") throw new ActionError(`Input required and not supplied: ${name}`);
  return value;
}

function formatSize(bytes: number): string {
  return `~${Math.round(bytes / (1024 * 1024))} MB (${bytes} B)`;
}

async function restore(ctx: BuiltinContext): Promise<void> {
  const primaryKey = requiredInput(ctx, "key");
  const paths = cachePaths(requiredInput(ctx, "path"));
  const restoreKeys = cachePaths(ctx.inputs["restore-keys"]);
  const failOnCacheMiss = booleanInput(ctx, "fail-on-cache-miss", false);
  const lookupOnly = booleanInput(ctx, "lookup-only", false);
  const enableCrossOsArchive = booleanInput(ctx, "enableCrossOsArchive", false);
  const keys = [primaryKey, ...restoreKeys];
  validateKeys(keys);
  ctx.saveState(STATE_PRIMARY_KEY, primaryKey);
  ctx.setOutput("cache-primary-key", primaryKey);

  const version = cacheVersion(paths, { enableCrossOsArchive });
  const repository = cacheRepository(ctx.repo);
  const found = await lookup(ctx, { keys, version, scopes: cacheScopes(ctx.repo, ctx.env), ...(repository !== undefined ? { repository } : {}) });
  let restored = false;
  if (found) {
    const { entry } = found;
    if (lookupOnly) {
      restored = true;
    } else {
      ctx.log(`Cache Size: ${formatSize(entry.size)}${found.shared ? " (from the server's cache)" : ""}`);
      try {
        if (found.shared) await adopt(ctx, entry);
        await restoreCache({ dataDir: ctx.dataDir, workspace: ctx.workspace, home: homeOf(ctx.env), entry, signal: ctx.signal });
        restored = true;
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        warn(ctx, `Failed to restore: ${(error as Error).message}`);
      }
    }
  }
  if (!found || !restored) {
    // cache-hit stays unset (an empty string) on a miss, as actions/cache leaves it.
    if (failOnCacheMiss) {
      throw new ActionError(`Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: ${primaryKey}`);
    }
    ctx.log(`Cache not found for input keys: ${keys.join(", ")}`);
    return;
  }
  const matchedKey = found.entry.key;
  ctx.saveState(STATE_MATCHED_KEY, matchedKey);
  ctx.setOutput("cache-matched-key", matchedKey);
  ctx.setOutput("cache-hit", String(found.exact));
  if (lookupOnly) ctx.log(`Cache found and can be restored from key: ${matchedKey}`);
  else ctx.log(`Cache restored from key: ${matchedKey}`);
}

/**
 * The entry to restore: this host's when it matches the primary key exactly,
 * else the shared cache's when it does (or when this host has none), else
 * this host's partial match. A shared cache that cannot be asked is a warning.
 */
async function lookup(ctx: BuiltinContext, query: CacheLookup): Promise<{ entry: CacheEntry; exact: boolean; shared: boolean } | undefined> {
  const local = await findCacheEntry(ctx.dataDir, query);
  if (local?.exact || !ctx.sharedCache) return local && { ...local, shared: false };
  let remote;
  try {
    remote = await ctx.sharedCache.find(query);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    warn(ctx, `The server's cache could not be searched: ${(error as Error).message}`);
  }
  if (remote && (remote.exact || !local)) return { ...remote, shared: true };
  return local && { ...local, shared: false };
}

/** Fetches a shared entry's archive into this host's blob store and index, checked against its digest. */
async function adopt(ctx: BuiltinContext, entry: CacheEntry): Promise<void> {
  const store = new FileBlobStore(ctx.dataDir);
  if (!(await store.has(entry.digest))) {
    const tmpDir = join(ctx.dataDir, "cache", "tmp");
    await fsp.mkdir(tmpDir, { recursive: true });
    const file = join(tmpDir, `${process.pid}-${randomBytes(8).toString("hex")}.fetch`);
    try {
      await ctx.sharedCache?.fetch(entry, file);
      await store.putFile(file, { move: true, durable: false, expectedDigest: entry.digest });
    } finally {
      await fsp.rm(file, { force: true });
    }
  }
  await adoptCacheEntry(ctx.dataDir, entry);
}

/** Puts an entry whose archive is in `dataDir`'s blob store into its index; false when the key was there already (it stands). */
export async function adoptCacheEntry(dataDir: string, entry: CacheEntry): Promise<boolean> {
  return writeJsonAtomic(entryPath(dataDir, entry), entry, { exclusive: true });
}

async function save(ctx: BuiltinContext, primaryKey: string): Promise<void> {
  const paths = cachePaths(requiredInput(ctx, "path"));
  const enableCrossOsArchive = booleanInput(ctx, "enableCrossOsArchive", false);
  validateKeys([primaryKey]);
  let result: SaveCacheResult;
  try {
    result = await saveCache({
      dataDir: ctx.dataDir,
      workspace: ctx.workspace,
      home: homeOf(ctx.env),
      paths,
      key: primaryKey,
      scope: cacheScope(ctx.repo),
      ...(cacheRepository(ctx.repo) !== undefined ? { repository: cacheRepository(ctx.repo) } : {}),
      enableCrossOsArchive,
      signal: ctx.signal,
      ...(ctx.sharedCache ? { share: (entry, archive) => shareEntry(ctx, entry, archive) } : {}),
    });
  } catch (error) {
    if (error instanceof ActionError || ctx.signal.aborted) throw error;
    warn(ctx, `Failed to save: ${(error as Error).message}`);
    return;
  }
  if (!result.saved && result.reason === "no-paths") {
    warn(
      ctx,
      "Failed to save: Path Validation Error: Path(s) specified in the action for caching do(es) not exist, hence no cache is being saved.",
    );
  } else if (!result.saved) {
    ctx.log(`Cache already exists, not saving: key ${primaryKey} was saved for these paths on ${result.entry.scope} at ${result.entry.createdAt}.`);
  } else {
    ctx.log(`Cache Size: ${formatSize(result.entry.size)}`);
    ctx.log(`Cache saved with key: ${primaryKey}`);
  }
}

/** Gives the shared cache an entry saved here; a failure is a warning (the entry is saved here all the same). */
async function shareEntry(ctx: BuiltinContext, entry: CacheEntry, archive: string): Promise<void> {
  try {
    await ctx.sharedCache?.save(entry, archive);
    ctx.log("Cache shared with the server");
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    warn(ctx, `The cache was saved on this host but not shared with the server: ${(error as Error).message}`);
  }
}

async function postSave(ctx: BuiltinContext): Promise<void> {
  const primaryKey = ctx.state[STATE_PRIMARY_KEY] ?? "";
  if (primaryKey === "") {
    warn(ctx, "Key is not specified.");
    return;
  }
  if (ctx.state[STATE_MATCHED_KEY] === primaryKey) {
    ctx.log(`Cache hit occurred on the primary key ${primaryKey}, not saving cache.`);
    return;
  }
  try {
    await save(ctx, primaryKey);
  } catch (error) {
    // A failed save never fails the job, as with actions/cache's post step.
    if (ctx.signal.aborted) throw error;
    warn(ctx, (error as Error).message);
  }
}

export const cacheAction: BuiltinAction = {
  name: "actions/cache",
  main: restore,
  post: postSave,
  postIf: "success()",
};

export const cacheRestoreAction: BuiltinAction = { name: "actions/cache/restore", main: restore };

export const cacheSaveAction: BuiltinAction = {
  name: "actions/cache/save",
  main: (ctx) => save(ctx, requiredInput(ctx, "key")),
};

