// The migration runner: `*.sql` files of a folder applied in lexical order to
// a PostgreSQL database, each recorded in `slipway_migrations` with the
// sha256 of its bytes.
//
// - Every file is parsed before anything is applied: SQL that does not parse
//   is a SqlParseError (file:line:column) and the database is not touched.
// - A recorded migration whose file changed since is refused before anything
//   is applied (MigrationError `edited`, naming the file and both checksums).
// - Transactions: a file runs in one transaction (its statements and its
//   tracking row commit together, or nothing does) unless it holds a
//   statement PostgreSQL refuses inside a transaction block (CREATE/DROP
//   INDEX CONCURRENTLY, REINDEX CONCURRENTLY, DETACH PARTITION CONCURRENTLY,
//   VACUUM, CREATE/DROP DATABASE, CREATE/DROP TABLESPACE, ALTER SYSTEM) or its
//   own BEGIN/COMMIT: then each statement commits on its own and the tracking
//   row is written after the last one (a failure leaves the statements before
//   it applied and the file unrecorded; such files should be re-runnable).
// - Phases: `phases` picks the files applied (expand and data before a
//   rollout, contract after); files of other phases stay pending. Order among
//   the files applied is lexical.
// - Runners on one database take turns: a session advisory lock is held while applying.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { arr, obj, str } from "./ast.js";
import { pgErrorOf, type PgError, type SqlClient } from "./database.js";
import { parseSource, SourceText, statementPosition, type SqlStatement } from "./parse.js";
import { classifyStatements, type MigrationClassification, type Phase } from "./phases.js";

/** The table that records applied migrations. */
const TRACKING_TABLE = "slipway_migrations";
const ADVISORY_LOCK = 7_342_615_001;

/** A migration file's text: `version` is its file name (e.g. `003_drop_email.sql`), `file` the path shown in messages. */
export interface MigrationFile {
  version: string;
  file: string;
  sql: string;
}

/** A migration parsed and classified, with its checksum and how it runs. */
export interface ParsedMigration extends MigrationFile {
  /** sha256 of the file's UTF-8 bytes, hex. */
  checksum: string;
  statements: SqlStatement[];
  /** The file's text, mapping offsets to lines and columns (PostgreSQL's error positions: statementPosition). */
  source: SourceText;
  classification: MigrationClassification;
  /** `classification.phase`. */
  readonly phase: Phase;
  /** False when a statement cannot run inside a transaction block (see `nonTransactionalReason`). */
  transactional: boolean;
  nonTransactionalReason?: string;
}

/** A migration that cannot be applied. `code`: `edited` (checksum differs), `failed` (PostgreSQL refused a statement), `read` (folder or file unreadable). */
export class MigrationError extends Error {
  constructor(
    message: string,
    readonly code: "edited" | "failed" | "read",
    readonly file: string,
    readonly line?: number,
    readonly column?: number,
    readonly pgError?: PgError,
  ) {
    super(message);
    this.name = "MigrationError";
  }
}

/** sha256 hex of a text's UTF-8 bytes. */
export function checksumOf(sql: string): string {
  return createHash("sha256").update(sql, "utf8").digest("hex");
}

/** The `*.sql` files directly in `dir`, in lexical order; `label` is the folder as shown in messages (e.g. `db/migrations`). */
export function readMigrationDir(dir: string, label = dir): MigrationFile[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    names = readdirSync(dir).filter((n) => n.endsWith(".sql") && statSync(join(dir, n)).isFile());
  } catch (e) {
    throw new MigrationError(`cannot read the migrations folder ${label}: ${(e as Error).message}; create it or give the right one with --dir`, "read", label);
  }
  return names.sort(compareVersions).map((version) => ({ version, file: `${label}/${version}`, sql: readFileSync(join(dir, version), "utf8") }));
}

/** Lexical order by UTF-16 code units (not locale): `001_a.sql` < `002_b.sql` < `010_c.sql`. */
export function compareVersions(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Why a statement cannot run inside a transaction block, or undefined when it can. */
function nonTransactional(st: Pick<SqlStatement, "kind" | "node">): string | undefined {
  const s = obj(st.node[st.kind]);
  switch (st.kind) {
    case "IndexStmt":
      return s.concurrent === true ? "CREATE INDEX CONCURRENTLY" : undefined;
    case "DropStmt":
      return s.concurrent === true ? "DROP INDEX CONCURRENTLY" : undefined;
    case "ReindexStmt":
      return arr(s.params).some((p) => str(obj(obj(p).DefElem).defname) === "concurrently") ? "REINDEX CONCURRENTLY" : undefined;
    case "AlterTableStmt":
      return arr(s.cmds).some((c) => obj(obj(obj(obj(c).AlterTableCmd).def).PartitionCmd).concurrent === true) ? "DETACH PARTITION CONCURRENTLY" : undefined;
    case "VacuumStmt":
      return s.is_vacuumcmd === true ? "VACUUM" : undefined;
    case "CreatedbStmt":
      return "CREATE DATABASE";
    case "DropdbStmt":
      return "DROP DATABASE";
    case "CreateTableSpaceStmt":
      return "CREATE TABLESPACE";
    case "DropTableSpaceStmt":
      return "DROP TABLESPACE";
    case "AlterSystemStmt":
      return "ALTER SYSTEM";
    case "TransactionStmt":
      return "its own BEGIN/COMMIT";
    default:
      return undefined;
  }
}

/**
 * Parses and classifies every file; throws the first SqlParseError
 * (file:line:column). Call it on all files before applying any.
 */
export async function parseMigrations(files: MigrationFile[]): Promise<ParsedMigration[]> {
  const out: ParsedMigration[] = [];
  for (const f of files) {
    const source = new SourceText(f.sql);
    const statements = await parseSource(f.file, source);
    const classification = classifyStatements(f.file, statements);
    const blocking = statements.map((st) => ({ st, why: nonTransactional(st) })).find((x) => x.why !== undefined);
    out.push({
      ...f,
      checksum: checksumOf(f.sql),
      statements,
      source,
      classification,
      get phase() {
        return classification.phase;
      },
      transactional: !blocking,
      ...(blocking ? { nonTransactionalReason: `${blocking.why} at line ${blocking.st.line}` } : {}),
    });
  }
  return out;
}

/** A row of the tracking table. */
export interface AppliedMigration {
  version: string;
  checksum: string;
  phase: string;
  appliedAt: string;
}

/** Creates the tracking table when it does not exist. */
async function ensureTrackingTable(db: SqlClient): Promise<void> {
  await db.exec(
    `CREATE TABLE IF NOT EXISTS ${TRACKING_TABLE} (version text PRIMARY KEY, checksum text NOT NULL, phase text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
}

/** The recorded migrations, by version (none when the table does not exist). */
export async function appliedMigrations(db: SqlClient): Promise<Map<string, AppliedMigration>> {
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass('${TRACKING_TABLE}')::text AS t`);
  if (!exists[0]?.t) return new Map();
  const rows = await db.query<{ version: string; checksum: string; phase: string; applied_at: Date | string }>(
    `SELECT version, checksum, phase, applied_at FROM ${TRACKING_TABLE} ORDER BY version`,
  );
  return new Map(rows.map((r) => [r.version, { version: r.version, checksum: r.checksum, phase: r.phase, appliedAt: new Date(r.applied_at).toISOString() }]));
}

/** What `applyMigrations` applies, and a callback per file applied. */
export interface ApplyOptions {
  /** Phases to apply (default all three). */
  phases?: Phase[];
  /** Called after each file is applied. */
  onApplied?: (m: AppliedResult) => void;
}

/** A file applied by this run: its phase, whether it ran in one transaction, how long it took. */
export interface AppliedResult {
  version: string;
  file: string;
  phase: Phase;
  transactional: boolean;
  ms: number;
}

/** What a run of `applyMigrations` did. */
export interface ApplyResult {
  applied: AppliedResult[];
  /** Pending files left for another phase. */
  pending: { version: string; file: string; phase: Phase }[];
  /** Files recorded before this run, unchanged. */
  upToDate: number;
  /** Recorded versions without a file any more. */
  missing: string[];
}

/** Recorded migrations whose file changed: refused with both checksums. */
function checkEdited(parsed: ParsedMigration[], applied: Map<string, AppliedMigration>): void {
  for (const m of parsed) {
    const rec = applied.get(m.version);
    if (rec && rec.checksum !== m.checksum) {
      throw new MigrationError(
        `${m.file}: this migration was applied on ${rec.appliedAt} with checksum sha256:${rec.checksum}, but the file's checksum is now sha256:${m.checksum}: ` +
          `an applied migration must not be edited; restore the file as it was applied (git log -p -- ${m.file}) and put the change in a new migration file`,
        "edited",
        m.file,
      );
    }
  }
}

/** Runs one statement of a migration; a PostgreSQL error becomes a MigrationError at the statement's (or the error's) line and column. */
export async function runStatement(db: SqlClient, m: Pick<ParsedMigration, "file" | "source">, st: SqlStatement, note = ""): Promise<void> {
  try {
    await db.exec(st.text);
  } catch (e) {
    const err = pgErrorOf(e);
    const at = err.position === undefined ? { line: st.line, column: st.column } : statementPosition(m.source, st, err.position);
    throw new MigrationError(`${m.file}:${at.line}:${at.column}: PostgreSQL refused the statement: ${err.code} ${err.message}${note}; fix the migration and apply again`, "failed", m.file, at.line, at.column, err);
  }
}

async function applyOne(db: SqlClient, m: ParsedMigration): Promise<void> {
  const record = `INSERT INTO ${TRACKING_TABLE} (version, checksum, phase) VALUES ('${m.version.replace(/'/g, "''")}', '${m.checksum}', '${m.phase}')`;
  if (m.transactional) {
    await db.exec("BEGIN");
    try {
      for (const st of m.statements) await runStatement(db, m, st, " (the file's transaction was rolled back: nothing of it is applied)");
      await db.exec(record);
      await db.exec("COMMIT");
    } catch (e) {
      await db.exec("ROLLBACK").catch(() => undefined);
      throw e;
    }
    return;
  }
  for (const [i, st] of m.statements.entries()) {
    const before = i === 0 ? "no statement of it was applied" : `the statements before line ${st.line} were applied and committed`;
    await runStatement(db, m, st, ` (this file runs outside a transaction because of ${m.nonTransactionalReason ?? "a statement"}: ${before}, and the file is not recorded; make its statements re-runnable, e.g. IF NOT EXISTS)`);
  }
  await db.exec(record);
}

/**
 * Applies the pending migrations of the selected phases, in order, after
 * checking that no applied migration was edited. `parsed` comes from
 * `parseMigrations` (so every file parsed before anything runs).
 */
export async function applyMigrations(db: SqlClient, parsed: ParsedMigration[], options: ApplyOptions = {}): Promise<ApplyResult> {
  const phases = new Set(options.phases ?? ["expand", "data", "contract"]);
  await db.query("SELECT pg_advisory_lock($1)", [ADVISORY_LOCK]);
  try {
    await ensureTrackingTable(db);
    const applied = await appliedMigrations(db);
    checkEdited(parsed, applied);
    const result: ApplyResult = { applied: [], pending: [], upToDate: 0, missing: [] };
    const versions = new Set(parsed.map((m) => m.version));
    result.missing = [...applied.keys()].filter((v) => !versions.has(v));
    for (const m of parsed) {
      if (applied.has(m.version)) {
        result.upToDate++;
        continue;
      }
      if (!phases.has(m.phase)) {
        result.pending.push({ version: m.version, file: m.file, phase: m.phase });
        continue;
      }
      const started = performance.now();
      await applyOne(db, m);
      const done: AppliedResult = { version: m.version, file: m.file, phase: m.phase, transactional: m.transactional, ms: performance.now() - started };
      result.applied.push(done);
      options.onApplied?.(done);
    }
    return result;
  } finally {
    await db.query("SELECT pg_advisory_unlock($1)", [ADVISORY_LOCK]).catch(() => undefined);
  }
}
