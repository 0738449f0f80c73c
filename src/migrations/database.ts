// One small interface over the two PostgreSQL clients the migration runner and
// verify use: node-postgres (`pg`, a real server) and PGlite (embedded,
// WASM; loaded in snapshot.ts with require, since the CLI bundle keeps it
// external). Also: scratch databases on a real server, and PostgreSQL errors
// as plain data (SQLSTATE, message, position).

/** A connection to one PostgreSQL database. */
export interface SqlClient {
  /** `postgres` (a server, through node-postgres) or `pglite` (embedded; one connection only). */
  readonly kind: "postgres" | "pglite";
  /** Runs SQL text without parameters (several statements allowed). */
  exec(sql: string): Promise<void>;
  /** Runs one statement with `$1…` parameters and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** A PostgreSQL error as data: SQLSTATE (e.g. `42703`), message, 1-based character position in the statement if any. */
export interface PgError {
  code: string;
  message: string;
  position?: number;
}

/** The SQLSTATE, message and position of an error thrown by either client (code `XX000` when it carries none). */
export function pgErrorOf(e: unknown): PgError {
  const o = (e ?? {}) as { code?: unknown; message?: unknown; position?: unknown };
  const code = typeof o.code === "string" && /^[0-9A-Z]{5}$/.test(o.code) ? o.code : "XX000";
  const message = typeof o.message === "string" ? o.message : String(e);
  const position = typeof o.position === "string" || typeof o.position === "number" ? Number(o.position) : undefined;
  return { code, message, ...(position !== undefined && Number.isFinite(position) && position > 0 ? { position } : {}) };
}

/** Connects to a PostgreSQL server (`postgres://…` URL). */
export async function connectPostgres(url: string): Promise<SqlClient & { pid: number }> {
  // Loaded when first needed, so commands that never connect do not pay for it at start-up.
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  // An idle connection that the server drops must not crash the process.
  client.on("error", () => undefined);
  await client.connect();
  const pidRow = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0];
  return {
    kind: "postgres",
    pid: pidRow?.pid ?? 0,
    async exec(sql) {
      await client.query(sql);
    },
    async query<T>(sql: string, params?: unknown[]) {
      return (await client.query(sql, params)).rows as T[];
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}

/** The minimal part of a PGlite instance this module uses. */
export interface PgliteLike {
  exec(sql: string): Promise<unknown>;
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  close(): Promise<void>;
}

/** Wraps an open PGlite instance. */
export function pgliteClient(db: PgliteLike): SqlClient {
  return {
    kind: "pglite",
    async exec(sql) {
      await db.exec(sql);
    },
    async query<T>(sql: string, params?: unknown[]) {
      return (await db.query<T>(sql, params ?? [])).rows;
    },
    close: () => db.close(),
  };
}

/** `url` with its database name replaced by `database`. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** A database of its own on the server of `url`, created now; `drop()` removes it (and ends its sessions). */
export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty scratch database (`slipway_verify_<time>_<random>`) on the server of `url`; the user's database is never touched. */
export async function createScratchDatabase(url: string, prefix = "slipway_verify"): Promise<ScratchDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = await connectPostgres(url);
  try {
    await admin.exec(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  return {
    name,
    url: withDatabase(url, name),
    async drop() {
      const a = await connectPostgres(url);
      try {
        await a.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.close();
      }
    },
  };
}
