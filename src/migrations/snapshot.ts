// The embedded PostgreSQL of `slipway migrations verify`: PGlite, started from
// a cached snapshot of a freshly initialised cluster. `initdb` in WASM takes
// seconds; loading the snapshot (PGlite's `dumpDataDir` tarball, given back
// as `loadDataDir`) skips it. The snapshot lives in the data directory at
// `migrations/pglite-<version>-slim.tar.gz`, keyed by PGlite's version (a new
// version makes a new one); it is written once, atomically, and a snapshot
// that does not load is replaced. The tarball is handed to PGlite as a
// Blob-like object over the file's bytes: Node 20's Blob copies them, and
// reads them back in small chunks.
//
// The snapshot is slim: verify works in the `postgres` database, so the
// template databases are dropped before it is taken (template0 and template1,
// 15 of the cluster's 40 MB; a migration that runs CREATE DATABASE cannot be
// verified here), and the WAL segment is cut after its last written page
// (initdb wrote 7 of its 16 MB; the rest is zeros that PostgreSQL extends
// again as it writes). Unpacking less: 1.33 s → 0.81 s to a ready database
// (measured 2026-11-27 on a quiet machine).
//
// Two settings cut the CPU time of a start by about 40% (3.7 → 2.2 s under load):
// `shared_buffers = 16MB` (PGlite sets up its default 128MB at every start; verify
// touches a few pages) and V8's `--liftoff-only`, which bin/slipway.js sets
// for the whole process (PGlite's 9 MB module is compiled by the baseline
// compiler only: no optimising recompilation in the background, whose CPU a
// short verify never earns back).
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { pgliteClient, type PgliteLike, type SqlClient } from "./database.js";
import { requireExternal, resolveExternal } from "./external.js";

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
  return join(dataDir, "migrations", `pglite-${pgliteVersion()}-slim.tar.gz`);
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
  return startEmbedded(dataDir);
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
    await db.exec("ALTER DATABASE template0 IS_TEMPLATE false; ALTER DATABASE template1 IS_TEMPLATE false");
    await db.exec("DROP DATABASE template0");
    await db.exec("DROP DATABASE template1");
    await db.exec("CHECKPOINT");
    const dump = gzipSync(trimWal(Buffer.from(await (await db.dumpDataDir("none")).arrayBuffer())));
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, dump);
    renameSync(tmp, path);
  } catch {
    // No cache (read-only data directory, full disk): verify still runs, only slower next time.
  }
  return { client: pgliteClient(db), fromSnapshot: false, startMs: performance.now() - started, snapshot: path };
}

/**
 * The tar archive with each WAL segment (`pg_wal/<24 hex digits>`) cut after
 * its last 8 kB page holding anything but zeros. PostgreSQL reads only what
 * was written (up to the checkpoint it starts from) and writes on from there.
 */
export function trimWal(tar: Buffer): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break; // the end-of-archive blocks
    const field = (start: number, length: number) => header.subarray(start, start + length).toString("latin1").replace(/\0.*$/s, "");
    const name = field(345, 155) ? `${field(345, 155)}/${field(0, 100)}` : field(0, 100);
    const size = Number.parseInt(field(124, 12).trim() || "0", 8);
    const start = off + 512;
    let data = tar.subarray(start, start + size);
    let out: Buffer = header;
    const type = header[156];
    if ((type === 0x30 || type === 0) && /(^|\/)pg_wal\/[0-9A-F]{24}$/.test(name)) {
      let end = data.length;
      while (end > 0 && data[end - 1] === 0) end--;
      const cut = Math.ceil(end / 8192) * 8192;
      if (cut < size) {
        data = data.subarray(0, cut);
        out = Buffer.from(header);
        out.write(`${cut.toString(8).padStart(11, "0")}\0`, 124, 12, "latin1");
        out.fill(0x20, 148, 156); // the checksum counts its own field as spaces
        const sum = out.reduce((a, b) => a + b, 0);
        out.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
      }
    }
    parts.push(out, data, Buffer.alloc((512 - (data.length % 512)) % 512));
    off = start + Math.ceil(size / 512) * 512;
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

