// Which database a data directory's store lives in. SQLite (`DATA/slipway.db`)
// unless a PostgreSQL URL is configured: `SLIPWAY_DATABASE_URL`, else the
// data directory's `database-url` file, which `slipway server --database URL`
// writes (mode 0600: the URL may hold a password) so that every process using
// the data directory — the runs the server starts, Git's receive hooks,
// `slipway tokens` — opens the same database.
import fs from "node:fs";
import path from "node:path";
import { openPostgresStore } from "./postgres-store.js";
import { openStore } from "./sqlite-store.js";
import { StoreError, type Store } from "./store.js";

export const DATABASE_URL_ENV = "SLIPWAY_DATABASE_URL";
export const DATABASE_URL_FILE = "database-url";

/** The PostgreSQL URL configured for the data directory, or undefined for SQLite. */
export function configuredDatabase(dataDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env[DATABASE_URL_ENV]?.trim();
  if (fromEnv) return fromEnv;
  try {
    return fs.readFileSync(path.join(dataDir, DATABASE_URL_FILE), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Checks a --database value that is not `sqlite`: a postgres:// URL. */
export function checkDatabaseUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreError("open", `--database expects postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (or sqlite), got '${url}'`);
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") throw new StoreError("open", `--database expects a postgres:// URL (or sqlite), got a ${u.protocol} URL`);
  if (u.pathname.length <= 1) throw new StoreError("open", `--database names no database: add /DATABASE to the URL`);
}

/** Records the data directory's database (`sqlite` removes the record). */
export function rememberDatabase(dataDir: string, url: string): void {
  const file = path.join(dataDir, DATABASE_URL_FILE);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (url === "sqlite") fs.rmSync(file, { force: true });
  else fs.writeFileSync(file, `${url}\n`, { mode: 0o600 });
}

/** The data directory's store: PostgreSQL when configured, else the embedded SQLite. */
export function openDataStore(dataDir: string): Store {
  const url = configuredDatabase(dataDir);
  return url ? openPostgresStore(url, dataDir) : openStore(dataDir);
}
