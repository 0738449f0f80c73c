// The embedded PostgreSQL of `slipway migrations verify`: PGlite, started from
// a cached snapshot of a freshly initialised cluster. `initdb` in WASM takes
// seconds; loading the snapshot (PGlite's `dumpDataDir` tarball, given back
// as `loadDataDir`) skips it. The snapshot lives in the data directory at
// `migrations/pglite-<version>.tar.gz`, keyed by PGlite's version (a new
// version makes a new one); it is written once, atomically, and a snapshot
// that does not load is replaced. The tarball is handed to PGlite as a
// Blob-like object over the file's bytes: Node 20's Blob copies them, and
// reads them back in small chunks.
//
// Two settings cut the CPU time of a start by about 40% (3.7 → 2.2 s under load):
// `shared_buffers = 16MB` (PGlite sets up its default 128MB at every start; verify
// touches a few pages) and V8's `--liftoff-only` while PGlite starts
// (external.ts: PGlite's 9 MB module is compiled by the baseline compiler
// only: no optimising recompilation in the background, whose CPU a short
// verify never earns back).
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pgliteClient, type PgliteLike, type SqlClient } from "./database.js";
import { requireExternal, resolveExternal, withLiftoffOnly } from "./external.js";

/** What PGlite reads of `loadDataDir`: its bytes, and its type (gzip or not). */
interface BlobLike {
  size: number;
  type: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

interface PgliteModule {
  PGlite: { create(options?: { loadDataDir?: Blob | BlobLike; relaxedDurability?: boolean; postgresqlconf?: string[] }): Promise<PgliteLike & { dumpDataDir(c?: "gzip" | "none"): Promise<Blob> }> };
}

/** PGlite, loaded when needed, through its CommonJS build (external.ts). */
function loadPglite(): PgliteModule {
  return requireExternal("@electric-sql/pglite") as PgliteModule;
}

/** PGlite's package version (the snapshot's key). */
function pgliteVersion(): string {
  try {
    const main = resolveExternal("@electric-sql/pglite");
    const pkg = JSON.parse(readFileSync(join(dirname(main), "..", "package.json"), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Where the snapshot of this PGlite version is kept in `dataDir`. */
function snapshotPath(dataDir: string): string {
  return join(dataDir, "migrations", `pglite-${pgliteVersion()}.tar.gz`);
}

/** An embedded database ready for use, and how it started. */
export interface EmbeddedDatabase {
  client: SqlClient;
  /** True when it started from the cached snapshot, false when it ran initdb (and wrote the snapshot). */
  fromSnapshot: boolean;
  /** Milliseconds from the call to a ready database. */
  startMs: number;
  snapshot: string;
}

/** Starts PGlite from the snapshot in `dataDir`, or from nothing (then saves the snapshot for next time). */
export async function openEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  return withLiftoffOnly(() => startEmbedded(dataDir));
}

async function startEmbedded(dataDir: string): Promise<EmbeddedDatabase> {
  const started = performance.now();
  const { PGlite } = loadPglite();
  const settings = { relaxedDurability: true, postgresqlconf: ["shared_buffers = 16MB"] };
  const path = snapshotPath(dataDir);
  let saved: Buffer | undefined;
  try {
    saved = readFileSync(path);
  } catch {
    saved = undefined;
  }
  if (saved) {
    try {
      const bytes = saved;
      const tarball: BlobLike = {
        size: bytes.length,
        type: "application/x-gzip",
        arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      };
      const db = await PGlite.create({ ...settings, loadDataDir: tarball });
      return { client: pgliteClient(db), fromSnapshot: true, startMs: performance.now() - started, snapshot: path };
    } catch {
      rmSync(path, { force: true }); // unreadable: made again below
    }
  }
  const db = await PGlite.create(settings);
  try {
    const dump = Buffer.from(await (await db.dumpDataDir("gzip")).arrayBuffer());
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, dump);
    renameSync(tmp, path);
  } catch {
    // No cache (read-only data directory, full disk): verify still runs, only slower next time.
  }
  return { client: pgliteClient(db), fromSnapshot: false, startMs: performance.now() - started, snapshot: path };
}
