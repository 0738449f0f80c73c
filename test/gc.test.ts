// `slipway gc` on a data directory a real workflow run filled: an artifact
// kept one day and a cache entry, both made old, go; the command reports
// what it removed (or would, with --dry-run) as a table and as JSON.
import { readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listCacheEntries } from "../src/actions/index.js";
import { makeRepo, removeDir, runCli } from "./helpers/cli.js";

const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeDir));

const WORKFLOW = `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/cache@v4
        with: { path: deps, key: deps-v1 }
      - run: mkdir -p deps out && echo dependency > deps/a && echo built > out/app.txt
      - uses: actions/upload-artifact@v4
        with: { name: app, path: out, retention-days: 1 }
`;

describe("slipway gc", () => {
  it("removes an expired artifact and an idle cache entry with their blobs; --dry-run only reports", async () => {
    const dir = makeRepo({ ".github/workflows/ci.yml": WORKFLOW });
    cleanup.push(dir);
    const run = await runCli(["run"], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const dataDir = join(dir, ".slipway");
    expect(await listCacheEntries(dataDir)).toHaveLength(1);

    // Fresh: nothing to collect.
    const fresh = await runCli(["gc", "--json"], { cwd: dir });
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(JSON.parse(fresh.stdout)).toMatchObject({ artifacts: { removed: 0 }, caches: { removed: 0 }, blobs: { removed: 0 } });

    // Later: the artifact (kept one day) has expired, the cache entry is idle (SLIPWAY_CACHE_MAX_AGE=1ms), their blobs are past the grace period.
    const old = new Date(Date.now() - 8 * 24 * 3600_000);
    const blobs = join(dataDir, "blobs", "sha256");
    for (const p of readdirSync(blobs)) for (const f of readdirSync(join(blobs, p))) utimesSync(join(blobs, p, f), old, old);
    const manifests = join(dataDir, "artifacts", "1");
    expect(readdirSync(manifests)).toEqual(["app.json"]);
    const manifest = JSON.parse(readFileSync(join(manifests, "app.json"), "utf8")) as { expiresAt: string };
    writeFileSync(join(manifests, "app.json"), JSON.stringify({ ...manifest, expiresAt: new Date(Date.now() - 1000).toISOString() }));

    const dry = await runCli(["gc", "--dry-run"], { cwd: dir, env: { SLIPWAY_CACHE_MAX_AGE: "1ms" } });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^WHAT\s+WOULD REMOVE\s+SIZE$/m);
    expect(dry.stdout).toMatch(/^expired artifacts\s+1\s*$/m);
    expect(dry.stdout).toMatch(/^actions\/cache entries\s+1\s+\d/m);
    expect(dry.stdout).toContain("nothing was removed (--dry-run)");
    expect(await listCacheEntries(dataDir)).toHaveLength(1);

    const real = await runCli(["gc", "--json"], { cwd: dir, env: { SLIPWAY_CACHE_MAX_AGE: "1ms" } });
    expect(real.code, real.stderr).toBe(0);
    const report = JSON.parse(real.stdout) as { artifacts: { removed: number }; caches: { removed: number }; blobs: { removed: number } };
    expect(report.artifacts.removed).toBe(1);
    expect(report.caches.removed).toBe(1);
    expect(report.blobs.removed).toBeGreaterThanOrEqual(2); // the artifact's file and the cache archive
    expect(await listCacheEntries(dataDir)).toEqual([]);
    expect(readdirSync(manifests)).toEqual([]);

    const bad = await runCli(["gc"], { cwd: dir, env: { SLIPWAY_CACHE_MAX_BYTES: "lots" } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("SLIPWAY_CACHE_MAX_BYTES must be a size in bytes");

    // A damaged artifact manifest: the collection goes on, names the file and the fix, keeps every blob, exits 1.
    writeFileSync(join(manifests, "app.json"), "{ damaged");
    const damaged = await runCli(["gc"], { cwd: dir });
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toMatch(/^expired artifacts\s+0\s*$/m);
    expect(damaged.stderr).toContain(`slipway gc: ${join(manifests, "app.json")}: not an artifact manifest (`);
    expect(damaged.stderr).toContain("restore it from a backup, or delete it to drop the artifact");
    expect(damaged.stderr).toContain("slipway gc: no blob was removed: an unreadable artifact manifest may list any of them");
    const json = await runCli(["gc", "--json"], { cwd: dir });
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { problems: string[] }).problems).toHaveLength(2);
  });
});
