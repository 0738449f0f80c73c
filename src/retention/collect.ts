// What a data directory keeps, and for how long: its garbage collector
// (`slipway gc`, every hour in `slipway server`, and on a runner agent after
// a job when the last collection is an hour old). What goes, as GitHub
// Actions and Vercel's remote cache would let it go:
//
// 1. Artifacts past their `retention-days` (default 90): their manifests.
// 2. actions/cache entries neither saved nor restored for 7 days (GitHub's
//    rule), and per repository the least recently used beyond 10 GiB.
// 3. Turborepo and Nx remote-cache entries neither stored nor fetched for 7
//    days, and per team (Nx: one space) the least recently used beyond 10 GiB.
// 4. Blobs nothing refers to any more — no release (its files, SBOM,
//    signature, provenance), artifact, cache or remote-cache entry — once
//    older than an hour (a blob being stored is not referred to yet, and a
//    blob stored again is touched: see FileBlobStore), and temporary files
//    of the blob store older than a day (left by a crash).
//
// Releases are never collected: built once, promoted everywhere. The limits
// come from SLIPWAY_CACHE_MAX_AGE (a duration: `7d`, `36h`) and
// SLIPWAY_CACHE_MAX_BYTES (`10G`), read by `retentionFromEnv`.
import { promises as fsp } from "node:fs";
import { artifactRunIds, deleteArtifact, deleteCacheEntry, listArtifacts, listCacheEntries } from "../actions/index.js";
import { FileBlobStore } from "../blobs/index.js";
import { parseDuration } from "../delivery/index.js";
import { listRemoteCacheEntries, parseSize, removeRemoteCacheEntry } from "../server/index.js";
import type { Store } from "../store/index.js";

export interface RetentionPolicy {
  /** Cache entries (actions/cache, remote cache) unused for longer than this go. */
  cacheMaxAgeMs: number;
  /** Per repository (actions/cache) or team (remote cache), the least recently used entries beyond this total go. */
  cacheMaxBytes: number;
  /** Unreferenced blobs younger than this stay (they may be on their way into an entry). */
  blobGraceMs: number;
}

/** How often `slipway server` and runner agents collect. */
export const COLLECT_EVERY_MS = 3_600_000;

export const DEFAULT_RETENTION: RetentionPolicy = { cacheMaxAgeMs: 7 * 24 * 3600_000, cacheMaxBytes: 10 * 1024 ** 3, blobGraceMs: 3600_000 };

export const CACHE_MAX_AGE_ENV = "SLIPWAY_CACHE_MAX_AGE";
export const CACHE_MAX_BYTES_ENV = "SLIPWAY_CACHE_MAX_BYTES";

/** The policy with SLIPWAY_CACHE_MAX_AGE and SLIPWAY_CACHE_MAX_BYTES applied; throws an Error naming the variable and the fix when one is not valid. */
export function retentionFromEnv(env: Record<string, string | undefined> = process.env): RetentionPolicy {
  const policy = { ...DEFAULT_RETENTION };
  const age = env[CACHE_MAX_AGE_ENV]?.trim();
  if (age) {
    const parsed = parseDuration(age);
    if (!parsed.ok || parsed.value <= 0) throw new Error(`${CACHE_MAX_AGE_ENV} must be a duration such as 7d or 36h, got '${age}'${parsed.ok ? "" : ` (${parsed.message})`}; fix or unset it`);
    policy.cacheMaxAgeMs = parsed.value;
  }
  const bytes = env[CACHE_MAX_BYTES_ENV]?.trim();
  if (bytes) policy.cacheMaxBytes = parseSize(bytes, CACHE_MAX_BYTES_ENV);
  return policy;
}

/** What one collection removed (or, with `dryRun`, would remove). */
export interface GcReport {
  dryRun: boolean;
  artifacts: { removed: number };
  caches: { removed: number; bytes: number };
  remoteCache: { removed: number; bytes: number };
  blobs: { removed: number; bytes: number; kept: number };
  tempFiles: { removed: number };
  /** What could not be read, each naming the file and the fix. While an artifact manifest is unreadable no blob is removed: the blobs it lists are unknown. */
  problems: string[];
  ms: number;
}

export interface GcOptions {
  dataDir: string;
  /** The data directory's store, whose releases are kept; null for a runner agent's data directory, which holds no releases. */
  store: Store | null;
  policy?: RetentionPolicy;
  /** Report what would go, remove nothing. */
  dryRun?: boolean;
  now?: Date;
}

/** Collects the data directory's garbage (see the top of this file). */
export async function collectGarbage(o: GcOptions): Promise<GcReport> {
  const started = performance.now();
  const policy = o.policy ?? DEFAULT_RETENTION;
  const now = o.now ?? new Date();
  const dryRun = o.dryRun === true;
  const referenced = new Set<string>();
  const report: GcReport = { dryRun, artifacts: { removed: 0 }, caches: { removed: 0, bytes: 0 }, remoteCache: { removed: 0, bytes: 0 }, blobs: { removed: 0, bytes: 0, kept: 0 }, tempFiles: { removed: 0 }, problems: [], ms: 0 };

  // Releases and their attestations: always kept.
  for (const r of o.store?.listReleases() ?? []) {
    for (const f of r.files) referenced.add(f.digest);
    for (const a of o.store?.listReleaseAttestations(r.id) ?? []) referenced.add(a.digest);
  }

  // Artifacts: expired ones go.
  let unknownBlobs = false;
  for (const runId of await artifactRunIds(o.dataDir)) {
    let manifests;
    try {
      manifests = await listArtifacts(o.dataDir, runId, { includeExpired: true });
    } catch (err) {
      report.problems.push((err as Error).message);
      unknownBlobs = true;
      continue;
    }
    for (const m of manifests) {
      if (Date.parse(m.expiresAt) <= now.getTime()) {
        report.artifacts.removed++;
        if (!dryRun) await deleteArtifact(o.dataDir, runId, m.name);
      } else for (const f of m.files) referenced.add(f.digest);
    }
  }

  // actions/cache: idle entries, then the least recently used beyond the limit, per repository.
  const caches = await listCacheEntries(o.dataDir);
  const cacheKept = evict(
    caches.map((e) => ({ item: e, group: e.repository ?? "", bytes: e.size, usedAt: Date.parse(e.lastAccessedAt) })),
    policy,
    now,
  );
  for (const { item, bytes } of cacheKept.removed) {
    report.caches.removed++;
    report.caches.bytes += bytes;
    if (!dryRun) await deleteCacheEntry(o.dataDir, item);
  }
  for (const { item } of cacheKept.kept) referenced.add(item.digest);

  // Remote cache: the same, per team.
  const remote = evict(
    (await listRemoteCacheEntries(o.dataDir)).map((e) => ({ item: e, group: e.group, bytes: e.entry.size, usedAt: e.usedAt })),
    policy,
    now,
  );
  for (const { item, bytes } of remote.removed) {
    report.remoteCache.removed++;
    report.remoteCache.bytes += bytes;
    if (!dryRun) await removeRemoteCacheEntry(item);
  }
  for (const { item } of remote.kept) referenced.add(item.entry.digest);

  // Blobs nothing refers to, once past the grace period.
  const blobs = new FileBlobStore(o.dataDir);
  const oldest = now.getTime() - policy.blobGraceMs;
  if (unknownBlobs) report.problems.push("no blob was removed: an unreadable artifact manifest may list any of them");
  for (const digest of await blobs.digests()) {
    if (referenced.has(digest) || unknownBlobs) {
      report.blobs.kept++;
      continue;
    }
    // Stat just before deleting: a blob stored again meanwhile was touched (FileBlobStore), so it is young again.
    const stats = await fsp.stat(blobs.path(digest)).catch(() => undefined);
    if (!stats || stats.mtimeMs > oldest) {
      report.blobs.kept++;
      continue;
    }
    report.blobs.removed++;
    report.blobs.bytes += stats.size;
    if (!dryRun) await blobs.delete(digest);
  }
  if (!dryRun) report.tempFiles.removed = await blobs.sweepTemp();
  report.ms = Math.round(performance.now() - started);
  return report;
}

interface Candidate<T> {
  item: T;
  group: string;
  bytes: number;
  usedAt: number;
}

/** Idle entries go; then, per group, the least recently used until the group fits the limit. */
export function evict<T>(entries: Candidate<T>[], policy: RetentionPolicy, now: Date): { kept: Candidate<T>[]; removed: Candidate<T>[] } {
  const kept: Candidate<T>[] = [];
  const removed: Candidate<T>[] = [];
  const groups = new Map<string, Candidate<T>[]>();
  for (const e of entries) {
    // An unreadable time counts as unused.
    if (!(now.getTime() - e.usedAt <= policy.cacheMaxAgeMs)) removed.push(e);
    else {
      const group = groups.get(e.group);
      if (group) group.push(e);
      else groups.set(e.group, [e]);
    }
  }
  for (const group of groups.values()) {
    let total = 0;
    for (const e of group.sort((a, b) => b.usedAt - a.usedAt)) {
      total += e.bytes;
      (total > policy.cacheMaxBytes ? removed : kept).push(e);
    }
  }
  return { kept, removed };
}

/** A report's counts as log fields, with its problems when there are any. */
export function gcLogFields(r: GcReport): Record<string, number | string[]> {
  return {
    artifacts: r.artifacts.removed,
    caches: r.caches.removed,
    remoteCache: r.remoteCache.removed,
    blobs: r.blobs.removed,
    bytes: r.caches.bytes + r.remoteCache.bytes + r.blobs.bytes,
    ms: r.ms,
    ...(r.problems.length > 0 ? { problems: r.problems } : {}),
  };
}

/**
 * Collects a data directory at most every `everyMs`, one collection at a
 * time: `slipway server` on a timer (`start`), a runner agent between jobs
 * (`runIfDue`). Reports and failures go to the callbacks.
 */
export class PeriodicCollector {
  private last = 0;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: Omit<GcOptions, "dryRun" | "now"> & { everyMs: number; onReport: (r: GcReport) => void; onError: (err: unknown) => void },
  ) {}

  /** Collects when the last collection is `everyMs` old (or there was none); resolves when it is done. */
  runIfDue(): Promise<void> {
    if (this.running) return this.running;
    if (this.last !== 0 && Date.now() - this.last < this.o.everyMs) return Promise.resolve();
    this.last = Date.now();
    this.running = collectGarbage(this.o)
      .then(this.o.onReport, this.o.onError)
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** Collects every `everyMs` from now on (the first after `everyMs`). */
  start(): void {
    this.last = Date.now();
    this.timer = setInterval(() => void this.runIfDue(), this.o.everyMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a collection in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
