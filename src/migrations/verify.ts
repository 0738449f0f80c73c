// `slipway migrations verify`: will the release still running survive the new
// migrations? On a fresh database (PGlite from a cached snapshot, or a scratch
// database on a real server) the previous release's migrations are applied
// (as of its commit, read with git), then the new ones one statement at a
// time; after each statement every query of the previous release (SQL files
// of its queries folder, as of its commit) is checked with `PREPARE` (so
// queries with `$1` parameters are checked too, and nothing runs). A query
// that fails at the end is a failure, and its cause is the statement after
// which it started failing (and kept failing): found by applying, not
// guessed from names, so a drop, a rename, a type change or a dropped
// function are all attributed right. On a real server each statement is also
// applied while another session holds row locks on its tables (lock-check.ts).
import { resolve } from "node:path";
import { findAll } from "./ast.js";
import { applyMigrations, MigrationError, parseMigrations, readMigrationDir, runStatement, type MigrationFile, type ParsedMigration } from "./apply.js";
import { redactUrl } from "../store/index.js";
import { connectPostgres, createScratchDatabase, pgErrorOf, type PgError, type SqlClient } from "./database.js";
import { commitOf, filesAt, locateRepo, repoPath } from "./git-files.js";
import { applyUnderRowLocks, type LockCheckSessions, type LockWait } from "./lock-check.js";
import { parseSource, QUERY_KINDS, SourceText, statementPosition, type SqlStatement } from "./parse.js";
import type { Phase } from "./phases.js";
import { openEmbeddedDatabase } from "./snapshot.js";

/** Where `verifyMigrations` reads the two releases and which database it uses. */
export interface VerifyOptions {
  /** A directory of the git repository (its working tree is the new release). */
  repoDir: string;
  /** The previous release's commit: any git revision (`v1.4.0`, `HEAD~1`, a sha). */
  previous: string;
  /** The migrations folder, relative to `repoDir`. */
  dir: string;
  /** The previous release's queries folder (SQL files, searched recursively), relative to `repoDir`. */
  queriesDir: string;
  /** A PostgreSQL server URL: verify runs in a scratch database it creates there and drops. Without it, PGlite. */
  database?: string;
  /** The data directory (PGlite's snapshot is cached there). */
  dataDir: string;
  /** lock_timeout of the lock check (default 400 ms). */
  lockTimeoutMs?: number;
}

/** Where a statement is: file, 1-based line and column, its text. */
export interface StatementRef {
  file: string;
  line: number;
  column: number;
  text: string;
}

/** A query of the previous release that fails on the new schema. */
export interface QueryFailure {
  query: StatementRef;
  error: PgError & { line?: number; column?: number };
  /** The new migration statement after which it failed; absent when it already fails on the previous release's schema. */
  cause?: StatementRef & { phase: Phase };
}

/** What `verifyMigrations` found; `verdict` decides the exit code. */
export interface VerifyReport {
  /** `pass`; `fail` (failures or problems: block the deploy); `inconclusive` (no queries to check). */
  verdict: "pass" | "fail" | "inconclusive";
  previous: { ref: string; commit: string; migrations: string[]; queries: string[] };
  newMigrations: { file: string; phase: Phase }[];
  engine: "pglite" | "postgres";
  /** Start-up of the database: ms, and for PGlite whether the snapshot was used. */
  startup: { ms: number; fromSnapshot?: boolean; snapshot?: string; database?: string };
  failures: QueryFailure[];
  /** Migrations edited or removed since the previous release, or refused by PostgreSQL. */
  problems: { file: string; line?: number; column?: number; message: string }[];
  lockCheck: { ran: boolean; note: string; waits: LockWait[] };
  ms: number;
}

/** A query file's statement, ready to check. */
interface Query extends StatementRef {
  statement: SqlStatement;
  /** The query file's text (one per file). */
  source: SourceText;
}

const PREPARE_PREFIX = "PREPARE slipway_verify_q AS ";

async function parseQueries(files: MigrationFile[]): Promise<Query[]> {
  const out: Query[] = [];
  for (const f of files) {
    const source = new SourceText(f.sql);
    for (const st of await parseSource(f.file, source)) out.push({ file: f.file, line: st.line, column: st.column, text: st.text, statement: st, source });
  }
  return out;
}

/** Checks one query against the schema without running it: PREPARE (DML), or run and roll back (other statements without parameters). */
async function checkQuery(db: SqlClient, q: Pick<Query, "statement" | "source">): Promise<(PgError & { line?: number; column?: number }) | undefined> {
  const st = q.statement;
  const preparable = QUERY_KINDS.has(st.kind);
  if (!preparable && findAll(st.node, "ParamRef").length > 0) return undefined; // cannot be checked without values
  try {
    if (preparable) {
      await db.exec(`${PREPARE_PREFIX}${st.text}`);
      await db.exec("DEALLOCATE slipway_verify_q");
    } else {
      await db.exec("BEGIN");
      try {
        await db.exec(st.text);
      } finally {
        await db.exec("ROLLBACK");
      }
    }
    return undefined;
  } catch (e) {
    const err = pgErrorOf(e);
    if (err.position === undefined) return err;
    const { line, column } = statementPosition(q.source, st, err.position - (preparable ? PREPARE_PREFIX.length : 0));
    return { ...err, line, column };
  }
}

const ref = (f: { file: string }, st: SqlStatement): StatementRef => ({ file: f.file, line: st.line, column: st.column, text: st.text });

/**
 * Verifies that the previous release's queries survive the new migrations.
 * Throws SqlParseError (bad SQL in a migration or query: nothing is applied)
 * or MigrationError `read` (bad revision or folder); everything else is in
 * the report.
 */
export async function verifyMigrations(o: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const repo = await locateRepo(o.repoDir);
  const dir = repoPath(repo, o.dir);
  const queriesDir = repoPath(repo, o.queriesDir);
  const commit = await commitOf(repo, o.previous);
  if (!commit) {
    throw new MigrationError(`--previous ${o.previous}: no such commit in this repository; give the previous release's commit, tag or branch (git log --oneline lists them)`, "read", o.previous);
  }

  // Read and parse everything before touching a database.
  const previousFiles = await filesAt(repo, commit, dir, false);
  const currentFiles = readMigrationDir(resolve(repo.root, dir), dir);
  const queryFiles = await filesAt(repo, commit, queriesDir, true);
  const previous = await parseMigrations(previousFiles);
  const current = await parseMigrations(currentFiles);
  const queries = await parseQueries(queryFiles);

  const problems: VerifyReport["problems"] = [];
  const currentByVersion = new Map(current.map((m) => [m.version, m]));
  for (const p of previous) {
    const now = currentByVersion.get(p.version);
    if (!now) problems.push({ file: p.file, message: `removed since ${o.previous}: databases where it was applied still have it; restore it (git checkout ${commit.slice(0, 12)} -- ${p.file})` });
    else if (now.checksum !== p.checksum) {
      problems.push({ file: p.file, message: `edited since ${o.previous} (sha256:${p.checksum.slice(0, 12)} → sha256:${now.checksum.slice(0, 12)}): an applied migration must not change; restore it and put the change in a new file` });
    }
  }
  const previousVersions = new Set(previous.map((m) => m.version));
  const added = current.filter((m) => !previousVersions.has(m.version));

  const report: VerifyReport = {
    verdict: "pass",
    previous: { ref: o.previous, commit, migrations: previous.map((m) => m.file), queries: queryFiles.map((f) => f.file) },
    newMigrations: added.map((m) => ({ file: m.file, phase: m.phase })),
    engine: o.database ? "postgres" : "pglite",
    startup: { ms: 0 },
    failures: [],
    problems,
    lockCheck: { ran: false, note: "", waits: [] },
    ms: 0,
  };

  const cleanup: (() => Promise<void>)[] = [];
  try {
    let db: SqlClient;
    let lockSessions: LockCheckSessions | undefined;
    if (o.database) {
      const t = performance.now();
      const scratch = await createScratchDatabase(o.database).catch((e: unknown) => {
        throw new MigrationError(`--database ${redactUrl(o.database ?? "")}: cannot create a scratch database: ${pgErrorOf(e).message}; give a server where this user may CREATE DATABASE`, "read", "--database");
      });
      cleanup.push(() => scratch.drop());
      const main = await connectPostgres(scratch.url);
      cleanup.unshift(() => main.close());
      const locker = await connectPostgres(scratch.url);
      const observer = await connectPostgres(scratch.url);
      cleanup.unshift(() => locker.close(), () => observer.close());
      db = main;
      lockSessions = { db: main, locker, observer };
      report.startup = { ms: performance.now() - t, database: scratch.name };
      report.lockCheck.note = `each new statement applied while another session held row locks on its tables (lock_timeout ${o.lockTimeoutMs ?? 400}ms)`;
      report.lockCheck.ran = true;
    } else {
      const embedded = await openEmbeddedDatabase(o.dataDir);
      cleanup.push(() => embedded.client.close());
      db = embedded.client;
      report.startup = { ms: embedded.startMs, fromSnapshot: embedded.fromSnapshot, snapshot: embedded.snapshot };
      report.lockCheck.note = "skipped: PGlite allows one connection, so locks cannot be checked; give --database URL (a PostgreSQL server) to check them";
    }

    if (!(await applyOrReport(() => applyMigrations(db, previous), problems, `the migrations of ${o.previous}`))) return finish(report, started);

    const failing = new Map<Query, { error: PgError & { line?: number; column?: number }; cause?: QueryFailure["cause"] }>();
    for (const q of queries) {
      const error = await checkQuery(db, q);
      if (error) failing.set(q, { error });
    }
    for (const m of added) {
      for (const [i, st] of m.statements.entries()) {
        try {
          if (lockSessions) {
            const wait = await applyUnderRowLocks(lockSessions, m, st, o.lockTimeoutMs);
            if (wait) report.lockCheck.waits.push(wait);
          } else await runStatement(db, m, st);
        } catch (e) {
          if (!(e instanceof MigrationError)) throw e;
          problems.push({ file: e.file, ...(e.line !== undefined ? { line: e.line } : {}), ...(e.column !== undefined ? { column: e.column } : {}), message: e.message });
          return finish(report, started, failing);
        }
        for (const q of queries) {
          const error = await checkQuery(db, q);
          if (!error) failing.delete(q);
          else if (!failing.has(q)) failing.set(q, { error, cause: { ...ref(m, st), phase: phaseOf(m, i) } });
        }
      }
    }
    return finish(report, started, failing);
  } finally {
    for (const c of cleanup) await c().catch(() => undefined);
  }
}

/** The phase of the `i`-th statement of `m`. */
function phaseOf(m: ParsedMigration, i: number): Phase {
  return m.classification.statements[i]?.phase ?? m.phase;
}

/** False (and the problem recorded) when PostgreSQL refuses a migration. */
async function applyOrReport(fn: () => Promise<unknown>, problems: VerifyReport["problems"], what: string): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (e) {
    if (!(e instanceof MigrationError)) throw e;
    problems.push({ file: e.file, ...(e.line !== undefined ? { line: e.line, column: e.column ?? 1 } : {}), message: `${what} do not apply on an empty database: ${e.message}` });
    return false;
  }
}

function finish(report: VerifyReport, started: number, failing = new Map<Query, { error: QueryFailure["error"]; cause?: QueryFailure["cause"] }>()): VerifyReport {
  report.failures = [...failing.entries()].map(([q, f]) => ({ query: { file: q.file, line: q.line, column: q.column, text: q.text }, error: f.error, ...(f.cause ? { cause: f.cause } : {}) }));
  report.verdict = report.failures.length > 0 || report.problems.length > 0 ? "fail" : report.previous.queries.length === 0 ? "inconclusive" : "pass";
  report.ms = performance.now() - started;
  return report;
}
