// The Store on PostgreSQL (`slipway server --database postgres://…`): the
// same code and statements as the embedded SQLite store (sql-store.ts's
// SqlStore), over a synchronous connection (pg-sync.ts), with PostgreSQL's
// own words for the few statements that differ (JSON arrays, time
// arithmetic, number formatting) and its own schema baseline
// (migrations/postgres-baseline.sql.ts, version 13; each later migration
// needs its PostgreSQL twin). Transactions SQLite begins IMMEDIATE take an
// advisory lock here, so they run one at a time across server replicas
// sharing the database, as they do on SQLite.
import { PgSyncClient, prepare, redactUrl, transaction } from "./pg-sync.js";
import { postgresMigrations } from "./migrations/index.js";
import { SqlStore, type StoreConnection } from "./sql-store.js";
import { StoreError } from "./store.js";

/** ISO-8601 UTC with milliseconds, as JavaScript's toISOString writes the store's times. */
const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
/** `attempt`'s timeout in minutes as text, as SQLite's printf('%g') writes it (360, 0.5). */
const TIMEOUT_MINUTES = "trim_scale(timeout_ms / 60000.0)::text";
/** Every label of the job is one of the agent's (labels are JSON arrays of strings). */
const HAS_LABELS = "NOT EXISTS (SELECT 1 FROM json_array_elements_text(q.labels::json) l(value) WHERE l.value NOT IN (SELECT json_array_elements_text(@labels::json)))";

/** The statements PostgreSQL writes differently (the keys of sql-store.ts's SQL). */
export const POSTGRES_SQL = {
  createMigrationsTable: `
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version    BIGINT PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )`,
  queuedJobResults: `
    SELECT job_id, state, result, outputs, reason FROM job_queue
    WHERE job_id IN (SELECT value::bigint FROM json_array_elements_text(?::json) v(value)) ORDER BY job_id`,
  leasableJob: `
    SELECT 1 FROM job_queue q
    WHERE q.state = 'queued' AND ${HAS_LABELS}
    LIMIT 1`,
  leaseJob: `
    UPDATE job_queue SET state = 'leased', attempt = attempt + 1, agent = @agent, leased_at = @now, heartbeat_at = @now,
      lease_expires_at = @expires, cancel_requested = 0, cancel_reason = NULL,
      deadline_at = CASE WHEN timeout_ms IS NULL THEN NULL
                         ELSE to_char((@now::timestamptz + timeout_ms * interval '1 millisecond') AT TIME ZONE 'UTC', ${ISO}) END
    WHERE job_id = (
        SELECT q.job_id FROM job_queue q
        WHERE q.state = 'queued' AND ${HAS_LABELS}
        ORDER BY q.job_id LIMIT 1 FOR UPDATE SKIP LOCKED)
      AND state = 'queued'
    RETURNING *`,
  sweepTimingOut: `
    UPDATE job_queue SET cancel_requested = 1,
      cancel_reason = 'the job exceeded its timeout of ' || ${TIMEOUT_MINUTES} || ' minutes'
    WHERE state = 'leased' AND deadline_at < @now AND cancel_requested = 0
    RETURNING job_id`,
  sweepTimedOut: `
    UPDATE job_queue SET state = 'finished', result = 'failure', finished_at = @now, lease_expires_at = NULL,
      reason = 'the job exceeded its timeout of ' || ${TIMEOUT_MINUTES} || ' minutes (its agent did not stop it)'
    WHERE state = 'leased' AND deadline_at < @graceBefore
    RETURNING job_id`,
};

export interface PostgresStoreOptions {
  now?: () => Date;
}

/** The store on the PostgreSQL database at `url`; the data directory still holds blobs, logs and keys. */
export function openPostgresStore(url: string, dataDir: string, options: PostgresStoreOptions = {}): PostgresStore {
  let client: PgSyncClient;
  try {
    client = new PgSyncClient(url);
  } catch (err) {
    throw new StoreError("open", `cannot connect to ${redactUrl(url)}: ${(err as Error).message} (check --database: postgres://USER:PASSWORD@HOST:PORT/DATABASE, and that the database exists)`);
  }
  return new PostgresStore(url, dataDir, client, options);
}

export class PostgresStore extends SqlStore {
  constructor(url: string, dataDir: string, client: PgSyncClient, options: PostgresStoreOptions = {}) {
    super({ label: redactUrl(url), dataDir, db: connection(client), overrides: POSTGRES_SQL, migrations: postgresMigrations, ...(options.now ? { now: options.now } : {}) });
  }
}

/** pg-sync's connection as the store's. */
function connection(client: PgSyncClient): StoreConnection {
  let open = true;
  return {
    // SQLite's LIMIT -1 is "no limit"; PostgreSQL's is LIMIT NULL.
    prepare: (sql) => prepare(client, sql.replace(/\bLIMIT (@\w+|\?)/g, "LIMIT NULLIF($1, -1)")),
    exec: (sql) => void client.query(sql),
    transaction: (fn) => Object.assign(transaction(client, fn), { immediate: transaction(client, fn, { exclusive: true }) }),
    get open() {
      return open;
    },
    close: () => {
      open = false;
      client.close();
    },
  };
}

