// The lock check of `slipway migrations verify` (real PostgreSQL only: PGlite
// allows one connection). A statement of a new migration is applied while
// another session — standing in for the release still running — holds a row
// lock on every table the statement names: `SELECT … LIMIT 1 FOR UPDATE` in an
// open transaction (RowShareLock on the table, a row lock on one row); on an
// empty table a row is inserted in that transaction instead (RowExclusiveLock,
// as a writing release holds; the row is never committed), or, when the
// insert fails, `LOCK TABLE … IN ROW SHARE MODE`. The statement runs with a
// short `lock_timeout`; while it waits, a third session reads from `pg_locks`
// the lock it waits for (mode, type, relation) and, from `pg_stat_activity`,
// the blocking session and its statement. The locks are then released and a
// statement that timed out is applied again, so the schema ends the same.
import { findAll, relName } from "./ast.js";
import type { SqlClient } from "./database.js";
import { runStatement, type ParsedMigration } from "./apply.js";
import type { SqlStatement } from "./parse.js";

/** A statement that had to wait for a lock held by the running release. */
export interface LockWait {
  file: string;
  line: number;
  column: number;
  statement: string;
  /** The lock the statement asked for, from pg_locks, e.g. `AccessExclusiveLock`. */
  lockMode: string;
  /** pg_locks.locktype, e.g. `relation`, `virtualxid`, `transactionid`. */
  lockType: string;
  relation?: string;
  blockingPid: number;
  /** The blocking session's statement (pg_stat_activity.query) and state, e.g. `idle in transaction`. */
  blockingStatement: string;
  blockingState: string;
  /** What the stand-in for the running release held, e.g. `SELECT 1 FROM users LIMIT 1 FOR UPDATE`. */
  held: string[];
}

/** The three sessions of the lock check: the migration's, the running release's stand-in, an observer. */
export interface LockCheckSessions {
  db: SqlClient & { pid: number };
  locker: SqlClient & { pid: number };
  observer: SqlClient;
}

const quoteName = (name: string): string =>
  name
    .split(".")
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join(".");

/** Existing tables a statement names (RangeVar nodes), in order, without repeats. */
async function tablesOf(db: SqlClient, st: Pick<SqlStatement, "node">): Promise<string[]> {
  // Node lists wrap a RangeVar as {RangeVar: …}; typed fields (`relation`, a foreign key's `pktable`) hold it bare.
  const vars = [...findAll(st.node, "RangeVar"), ...findAll(st.node, "relation"), ...findAll(st.node, "pktable")];
  const names = [...new Set(vars.map((r) => relName(r)).filter(Boolean))];
  const out: string[] = [];
  for (const n of names) {
    const rows = await db.query<{ kind: string | null }>(
      "SELECT c.relkind::text AS kind FROM pg_class c WHERE c.oid = to_regclass($1)",
      [quoteName(n)],
    );
    if (rows[0]?.kind === "r" || rows[0]?.kind === "p") out.push(n);
  }
  return out;
}

async function holdRowLocks(locker: SqlClient, tables: string[]): Promise<string[]> {
  const held: string[] = [];
  await locker.exec("BEGIN");
  for (const t of tables) {
    const q = quoteName(t);
    const sql = `SELECT 1 FROM ${q} LIMIT 1 FOR UPDATE`;
    const rows = await locker.query(sql);
    if (rows.length > 0) {
      held.push(sql);
      continue;
    }
    const insert = `INSERT INTO ${q} DEFAULT VALUES`;
    await locker.exec("SAVEPOINT slipway_row");
    try {
      await locker.exec(insert);
      await locker.exec("RELEASE SAVEPOINT slipway_row");
      held.push(`${insert} (the table was empty; not committed)`);
    } catch {
      await locker.exec("ROLLBACK TO SAVEPOINT slipway_row");
      const lock = `LOCK TABLE ${q} IN ROW SHARE MODE`;
      await locker.exec(lock);
      held.push(`${lock} (the table was empty and a row could not be inserted)`);
    }
  }
  return held;
}

interface Waiting {
  locktype: string;
  mode: string;
  relation: string | null;
  blockers: number[];
}

/**
 * Applies `st` (of migration `m`) on `s.db` while `s.locker` holds row locks
 * on its tables. Returns the wait when the statement had to wait for them;
 * either way the statement is applied when this returns (a MigrationError
 * when PostgreSQL refuses it for another reason).
 */
export async function applyUnderRowLocks(s: LockCheckSessions, m: Pick<ParsedMigration, "file" | "source">, st: SqlStatement, lockTimeoutMs = 400): Promise<LockWait | undefined> {
  const tables = await tablesOf(s.db, st);
  if (tables.length === 0 || st.kind === "TransactionStmt" || st.kind === "VariableSetStmt") {
    await runStatement(s.db, m, st);
    return undefined;
  }
  const held = await holdRowLocks(s.locker, tables);
  let waiting: Waiting | undefined;
  let blocker: { pid: number; query: string; state: string } | undefined;
  let outcome: { ok: true } | { ok: false; error: unknown };
  try {
    await s.db.exec(`SET lock_timeout = '${lockTimeoutMs}ms'`);
    let settled = false;
    const run = s.db.exec(st.text).then(
      () => ({ ok: true as const }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    void run.then(() => (settled = true));
    while (!settled && !waiting) {
      const rows = await s.observer.query<Waiting>(
        "SELECT l.locktype, l.mode, l.relation::regclass::text AS relation, pg_blocking_pids($1) AS blockers FROM pg_locks l WHERE l.pid = $1 AND NOT l.granted",
        [s.db.pid],
      );
      waiting = rows[0];
      if (waiting) {
        const pids = waiting.blockers.length > 0 ? waiting.blockers : [s.locker.pid];
        const act = await s.observer.query<{ pid: number; query: string; state: string }>(
          "SELECT pid, query, state FROM pg_stat_activity WHERE pid = ANY($1::int[]) ORDER BY pid",
          [pids],
        );
        blocker = act.find((a) => a.pid === s.locker.pid) ?? act[0];
      } else await new Promise((r) => setTimeout(r, 15));
    }
    outcome = await run;
  } finally {
    await s.locker.exec("ROLLBACK").catch(() => undefined);
    await s.db.exec("RESET lock_timeout").catch(() => undefined);
  }
  // Timed out waiting (55P03): applied now that the locks are gone. Another error: run again for its MigrationError.
  if (!outcome.ok) await runStatement(s.db, m, st);
  if (!waiting) return undefined;
  return {
    file: m.file,
    line: st.line,
    column: st.column,
    statement: st.text,
    lockMode: waiting.mode,
    lockType: waiting.locktype,
    ...(waiting.relation ? { relation: waiting.relation } : {}),
    blockingPid: blocker?.pid ?? s.locker.pid,
    blockingStatement: blocker?.query ?? held[held.length - 1] ?? "",
    blockingState: blocker?.state ?? "idle in transaction",
    held,
  };
}
