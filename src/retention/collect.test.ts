// The garbage collector on a real data directory: a SQLite store with a
// release, real artifacts, actions/cache entries and remote-cache entries in
// the blob store, made old by setting file times.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findCacheEntry, listArtifacts, listCacheEntries, readArtifact, saveCache, uploadArtifact } from "../actions/index.js";
import { FileBlobStore } from "../blobs/index.js";
import { createRelease } from "../release/index.js";
import { listRemoteCacheEntries } from "../server/index.js";
import { openStore } from "../store/index.js";
import { collectGarbage, evict, PeriodicCollector, retentionFromEnv, DEFAULT_RETENTION, type GcReport } from "./index.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const DAY = 24 * 3600_000;

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "slipway-gc-"));
  dirs.push(d);
  return d;
}

/** Every blob file's time set `ms` in the past. */
function ageBlobs(dataDir: string, ms: number): void {
  const base = join(dataDir, "blobs", "sha256");
  const t = new Date(Date.now() - ms);
  for (const p of readdirSync(base)) for (const f of readdirSync(join(base, p))) utimesSync(join(base, p, f), t, t);
}

function blobCount(dataDir: string): number {
  const base = join(dataDir, "blobs", "sha256");
  return readdirSync(base).reduce((n, p) => n + readdirSync(join(base, p)).length, 0);
}

describe("collectGarbage", () => {
  it("removes expired artifacts, idle cache entries and the blobs only they used; keeps releases, live entries and young blobs", async () => {
    const dataDir = tempDir();
    const work = tempDir();
    const store = openStore(dataDir);
    try {
      // A release: its files are kept whatever their age.
      mkdirSync(join(work, "app"));
      writeFileSync(join(work, "app", "server.js"), "release bytes\n");
      const { release } = await createRelease({ store, dataDir, service: "web", source: { kind: "path", path: join(work, "app") }, createdBy: "ci", repoDir: work });
      // Two artifacts of run 1: one expired (made 10 days ago, kept 1 day), one live.
      writeFileSync(join(work, "old.txt"), "expired artifact\n");
      writeFileSync(join(work, "new.txt"), "live artifact\n");
      await uploadArtifact({ dataDir, runId: 1, name: "old", files: [join(work, "old.txt")], rootDirectory: work, retentionDays: 1, now: new Date(Date.now() - 10 * DAY) });
      await uploadArtifact({ dataDir, runId: 1, name: "new", files: [join(work, "new.txt")], rootDirectory: work });
      // Two cache entries: one unused for 8 days, one used yesterday.
      mkdirSync(join(work, "deps"));
      writeFileSync(join(work, "deps", "a"), "idle cache\n");
      await saveCache({ dataDir, workspace: work, home: work, paths: ["deps"], key: "idle", scope: "refs/heads/main", repository: "acme/app", now: new Date(Date.now() - 8 * DAY) });
      writeFileSync(join(work, "deps", "a"), "used cache\n");
      await saveCache({ dataDir, workspace: work, home: work, paths: ["deps"], key: "used", scope: "refs/heads/main", repository: "acme/app", now: new Date(Date.now() - DAY) });
      // Two remote-cache entries (turbo, team acme): one fetched 9 days ago, one today.
      const blobs = new FileBlobStore(dataDir);
      const teamDir = join(dataDir, "remote-cache", "turbo", "acme");
      mkdirSync(teamDir, { recursive: true });
      for (const [hash, body, age] of [["aaaa", "idle task output", 9 * DAY], ["bbbb", "used task output", 0]] as const) {
        const info = await blobs.put(Buffer.from(body));
        const file = join(teamDir, `${hash}.json`);
        writeFileSync(file, JSON.stringify({ digest: info.digest, size: info.size, createdAt: new Date().toISOString(), createdBy: "ci" }));
        utimesSync(file, new Date(Date.now() - age), new Date(Date.now() - age));
      }
      // An unreferenced blob stored a minute ago: within the grace period.
      ageBlobs(dataDir, 2 * DAY);
      const young = await blobs.put(Buffer.from("being stored right now"));
      const before = blobCount(dataDir);

      const dry = await collectGarbage({ dataDir, store, dryRun: true });
      expect(dry).toMatchObject({ dryRun: true, artifacts: { removed: 1 }, caches: { removed: 1 }, remoteCache: { removed: 1 }, blobs: { removed: 3 } });
      expect(blobCount(dataDir)).toBe(before);
      expect(await listArtifacts(dataDir, 1, { includeExpired: true })).toHaveLength(2);

      const report = await collectGarbage({ dataDir, store });
      expect(report).toMatchObject({ dryRun: false, artifacts: { removed: 1 }, caches: { removed: 1 }, remoteCache: { removed: 1 }, blobs: { removed: 3 } });
      expect(report.caches.bytes).toBeGreaterThan(0);
      expect(blobCount(dataDir)).toBe(before - 3);
      // What stays still works.
      expect((await listArtifacts(dataDir, 1, { includeExpired: true })).map((m) => m.name)).toEqual(["new"]);
      const live = await readArtifact(dataDir, 1, "new");
      expect(live && existsSync(blobs.path(live.files[0]?.digest ?? ""))).toBe(true);
      expect((await listCacheEntries(dataDir)).map((e) => e.key)).toEqual(["used"]);
      const used = await findCacheEntry(dataDir, { keys: ["used"], version: (await listCacheEntries(dataDir))[0]?.version ?? "", scopes: ["refs/heads/main"], repository: "acme/app" });
      expect(used && existsSync(blobs.path(used.entry.digest))).toBe(true);
      expect((await listRemoteCacheEntries(dataDir)).map((e) => e.file.endsWith("bbbb.json"))).toEqual([true]);
      for (const f of release.files) expect(existsSync(blobs.path(f.digest))).toBe(true);
      for (const a of store.listReleaseAttestations(release.id)) expect(existsSync(blobs.path(a.digest))).toBe(true);
      expect(existsSync(blobs.path(young.digest))).toBe(true);

      // Nothing more to do the second time.
      expect(await collectGarbage({ dataDir, store })).toMatchObject({ artifacts: { removed: 0 }, caches: { removed: 0 }, remoteCache: { removed: 0 }, blobs: { removed: 0 } });
    } finally {
      store.close();
    }
  });

  it("keeps an old unreferenced blob that is stored again while it collects (the store touches it)", async () => {
    const dataDir = tempDir();
    const store = openStore(dataDir);
    try {
      const blobs = new FileBlobStore(dataDir);
      const info = await blobs.put(Buffer.from("the same content twice"));
      ageBlobs(dataDir, 2 * DAY);
      await blobs.put(Buffer.from("the same content twice")); // e.g. a new cache entry with these bytes
      expect((await collectGarbage({ dataDir, store })).blobs).toMatchObject({ removed: 0, kept: 1 });
      expect(existsSync(blobs.path(info.digest))).toBe(true);
      ageBlobs(dataDir, 2 * DAY);
      expect((await collectGarbage({ dataDir, store })).blobs).toMatchObject({ removed: 1, kept: 0 });
    } finally {
      store.close();
    }
  });
});

describe("collectGarbage with damaged files in the data directory", () => {
  it("goes on around a damaged artifact manifest, names it, and removes no blob while it cannot know what that artifact holds", async () => {
    const dataDir = tempDir();
    const work = tempDir();
    writeFileSync(join(work, "old.txt"), "expired artifact\n");
    writeFileSync(join(work, "kept.txt"), "artifact of a damaged manifest\n");
    await uploadArtifact({ dataDir, runId: 1, name: "old", files: [join(work, "old.txt")], rootDirectory: work, retentionDays: 1, now: new Date(Date.now() - 10 * DAY) });
    await uploadArtifact({ dataDir, runId: 2, name: "broken", files: [join(work, "kept.txt")], rootDirectory: work });
    const manifest = join(dataDir, "artifacts", "2", "broken.json");
    writeFileSync(manifest, '{"name": "broken", "files": [');
    ageBlobs(dataDir, 2 * DAY);
    const report = await collectGarbage({ dataDir, store: null });
    expect(report.artifacts.removed).toBe(1); // run 1's expired artifact, as usual
    expect(report.problems).toEqual([
      expect.stringMatching(new RegExp(`^${manifest.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: not an artifact manifest \\(.*\\); restore it from a backup, or delete it to drop the artifact$`)),
      "no blob was removed: an unreadable artifact manifest may list any of them",
    ]);
    expect(report.blobs).toMatchObject({ removed: 0, kept: 2 });
    expect(blobCount(dataDir)).toBe(2);
    // Valid JSON of the wrong shape is named too.
    writeFileSync(manifest, JSON.stringify({ name: "broken" }));
    await expect(readArtifact(dataDir, 2, "broken")).rejects.toThrow(/broken\.json: not an artifact manifest \(expiresAt and files\[\]\.digest are missing\)/);
    // Once the manifest is deleted, as the message says, the collection is whole again.
    rmSync(manifest);
    const after = await collectGarbage({ dataDir, store: null });
    expect(after.problems).toEqual([]);
    expect(after.blobs).toMatchObject({ removed: 2, kept: 0 });
  });

  it("takes a damaged actions/cache entry for a miss and collects its blob", async () => {
    const dataDir = tempDir();
    const work = tempDir();
    mkdirSync(join(work, "deps"));
    writeFileSync(join(work, "deps", "a"), "cached\n");
    await saveCache({ dataDir, workspace: work, home: work, paths: ["deps"], key: "k", scope: "refs/heads/main", repository: "acme/app" });
    const [entry] = await listCacheEntries(dataDir);
    expect(entry?.key).toBe("k");
    const files = (readdirSync(join(dataDir, "cache"), { recursive: true }) as string[]).filter((f) => f.endsWith(".json"));
    expect(files).toHaveLength(1);
    writeFileSync(join(dataDir, "cache", files[0] as string), "{ not json");
    expect(await listCacheEntries(dataDir)).toEqual([]);
    ageBlobs(dataDir, 2 * DAY);
    const report = await collectGarbage({ dataDir, store: null });
    expect(report).toMatchObject({ problems: [], blobs: { removed: 1, kept: 0 } });
  });
});

describe("collectGarbage on a runner agent's data folder (no store, no releases)", () => {
  it("removes an idle cache entry and its blob", async () => {
    const dataDir = tempDir();
    const work = tempDir();
    mkdirSync(join(work, "deps"));
    writeFileSync(join(work, "deps", "a"), "agent cache\n");
    await saveCache({ dataDir, workspace: work, home: work, paths: ["deps"], key: "k", scope: "refs/heads/main", repository: "acme/app", now: new Date(Date.now() - 8 * DAY) });
    ageBlobs(dataDir, 2 * DAY);
    const report = await collectGarbage({ dataDir, store: null });
    expect(report).toMatchObject({ caches: { removed: 1 }, blobs: { removed: 1, kept: 0 } });
    expect(await listCacheEntries(dataDir)).toEqual([]);
  });
});

describe("PeriodicCollector", () => {
  it("collects when due, once at a time, and not again before its period", async () => {
    const reports: GcReport[] = [];
    const c = new PeriodicCollector({ dataDir: tempDir(), store: null, everyMs: 60_000, onReport: (r) => reports.push(r), onError: (err) => { throw err; } });
    await Promise.all([c.runIfDue(), c.runIfDue()]); // the second waits for the first
    expect(reports).toHaveLength(1);
    await c.runIfDue(); // within the period
    expect(reports).toHaveLength(1);
    await c.stop();
  });
});

describe("evict", () => {
  const now = new Date("2026-11-27T12:00:00Z");
  const at = (hoursAgo: number) => now.getTime() - hoursAgo * 3600_000;
  it("removes idle entries, then per group the least recently used beyond the limit", () => {
    const policy = { ...DEFAULT_RETENTION, cacheMaxBytes: 250 };
    const entries = [
      { item: "a1", group: "a", bytes: 100, usedAt: at(1) },
      { item: "a2", group: "a", bytes: 100, usedAt: at(2) },
      { item: "a3", group: "a", bytes: 100, usedAt: at(3) },
      { item: "b1", group: "b", bytes: 100, usedAt: at(5) },
      { item: "old", group: "b", bytes: 1, usedAt: at(8 * 24) },
      { item: "unreadable", group: "b", bytes: 1, usedAt: Number.NaN },
    ];
    const r = evict(entries, policy, now);
    expect(r.removed.map((e) => e.item).sort()).toEqual(["a3", "old", "unreadable"]);
    expect(r.kept.map((e) => e.item).sort()).toEqual(["a1", "a2", "b1"]);
  });
});

describe("retentionFromEnv", () => {
  it("reads SLIPWAY_CACHE_MAX_AGE and SLIPWAY_CACHE_MAX_BYTES, and names the variable and the fix when one is wrong", () => {
    expect(retentionFromEnv({})).toEqual(DEFAULT_RETENTION);
    expect(retentionFromEnv({ SLIPWAY_CACHE_MAX_AGE: "36h", SLIPWAY_CACHE_MAX_BYTES: "2G" })).toMatchObject({ cacheMaxAgeMs: 36 * 3600_000, cacheMaxBytes: 2 * 1024 ** 3 });
    expect(() => retentionFromEnv({ SLIPWAY_CACHE_MAX_AGE: "7" })).toThrow(/SLIPWAY_CACHE_MAX_AGE must be a duration such as 7d or 36h, got '7' \(.*no unit\); fix or unset it/);
    expect(() => retentionFromEnv({ SLIPWAY_CACHE_MAX_BYTES: "lots" })).toThrow(/SLIPWAY_CACHE_MAX_BYTES must be a size in bytes such as 1073741824 or 512M, got 'lots'/);
  });
});
