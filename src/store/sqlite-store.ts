// The embedded Store: one SQLite file, `<dataDir>/slipway.db`, in WAL mode,
// through better-sqlite3: the SqlStore (sql-store.ts) over that connection.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import Database from "better-sqlite3";
import { migrations as allMigrations, type Migration } from "./migrations/index.js";
import { SqlStore, type StoreConnection } from "./sql-store.js";
import { StoreError } from "./store.js";

export const DATABASE_FILE = "slipway.db";
/** How long a writer waits for another connection's lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

export interface SqliteStoreOptions {
  /** Clock for timestamps; tests pass a fixed one. */
  now?: () => Date;
  /** Migrations to apply (tests only); defaults to the real ones. */
  migrations?: readonly Migration[];
}

/** Opens (creating if needed) `<dataDir>/slipway.db` and applies pending migrations. */
export function openStore(dataDir: string, options: SqliteStoreOptions = {}): SqliteStore {
  const file = path.join(dataDir, DATABASE_FILE);
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // Create the file ourselves so it is private from the start; SQLite gives
    // the -wal and -shm files the same permissions as the database.
    fs.closeSync(fs.openSync(file, "a", 0o600));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === "EEXIST" || e.code === "ENOTDIR" ? "it is not a directory" : e.message;
    throw new StoreError("open", `cannot use data directory ${dataDir}: ${why} (choose another with --data-dir or SLIPWAY_DATA_DIR)`);
  }
  try {
    return new SqliteStore(file, options);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError("open", `cannot open ${file}: ${(err as Error).message} (move the file away or choose another --data-dir)`);
  }
}

/**
 * better-sqlite3's compiled addon, for its nativeBinding option. The CLI
 * bundle carries better-sqlite3's JavaScript (the code cache then covers it,
 * see scripts/build.mjs), so the addon lookup better-sqlite3 would make from
 * its own file would start from dist/cli.js: it is made here from the
 * package's directory instead, straight to build/Release when it is there.
 * Undefined when better-sqlite3 is not installed (it then says so itself).
 */
function nativeBinding(): string | object | undefined {
  try {
    const root = path.dirname(path.dirname(createRequire(import.meta.url).resolve("better-sqlite3")));
    const release = path.join(root, "build", "Release", "better_sqlite3.node");
    if (fs.existsSync(release)) return release;
    const bindings = createRequire(path.join(root, "package.json"))("bindings") as (opts: object) => object;
    return bindings({ bindings: "better_sqlite3.node", module_root: root });
  } catch {
    return undefined;
  }
}

/** The embedded store: `<dataDir>/slipway.db`, in WAL mode. */
export class SqliteStore extends SqlStore {
  constructor(file: string, options: SqliteStoreOptions = {}) {
    super({ label: file, dataDir: path.dirname(file), db: openSqlite(file), migrations: options.migrations ?? allMigrations, ...(options.now ? { now: options.now } : {}) });
  }

  /** The connection's settings, for diagnostics and tests. */
  settings(): { journalMode: string; busyTimeoutMs: number; foreignKeys: boolean; synchronous: string } {
    const db = this.db as unknown as Database.Database;
    const synchronous = ["off", "normal", "full", "extra"];
    return {
      journalMode: String(db.pragma("journal_mode", { simple: true })),
      busyTimeoutMs: Number(db.pragma("busy_timeout", { simple: true })),
      foreignKeys: db.pragma("foreign_keys", { simple: true }) === 1,
      synchronous: synchronous[Number(db.pragma("synchronous", { simple: true }))] ?? "unknown",
    };
  }
}

/** better-sqlite3's connection to the file, in WAL mode with a busy timeout and foreign keys on. */
function openSqlite(file: string): StoreConnection {
  const addon = nativeBinding();
  // The type says string; better-sqlite3 also takes the loaded addon.
  const db = new Database(file, addon ? ({ nativeBinding: addon } as Database.Options) : {});
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal") {
      throw new StoreError("schema", `${file}: SQLite could not switch to WAL mode (got "${String(mode)}"); use a local file system`);
    }
    // NORMAL with WAL: a commit survives a crash of Slipway at any moment and
    // the database is never corrupted; a power loss may undo the last few
    // commits, which recovery then finds unfinished and marks cancelled.
    // FULL cost an fsync (3–9 ms here) on every step record.
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
  } catch (err) {
    db.close();
    throw err;
  }
  return db as unknown as StoreConnection;
}
