// `slipway migrations verify` and `slipway migrations apply`, added to the
// `migrations` command group by addMigrationsVerifyCommands.
//
// Exit codes: 0 pass; 1 verify found a query of the previous release that
// fails on the new schema, a migration PostgreSQL refuses, an edited applied
// migration, or no queries to check (inconclusive); 2 bad input: SQL that
// does not parse (nothing applied), an unknown revision, a missing folder, a
// database that cannot be reached.
import { resolve } from "node:path";
import type { Command } from "commander";
import {
  applyMigrations,
  connectPostgres,
  defaultQueriesDir,
  MigrationError,
  parseMigrations,
  readMigrationDir,
  SqlParseError,
  verifyMigrations,
  type ApplyResult,
  type Phase,
  type VerifyReport,
} from "../migrations/index.js";
import { redactUrl } from "../store/index.js";
import { dataDirFor, EXIT, UsageError, workDir, type GlobalOptions } from "./common.js";
import { migrationsDir } from "./migrations-dirs.js";
import { migrationsCaptureCommand, type MigrationsCaptureOptions } from "./migrations-capture.js";
import { paint } from "./style.js";

/** Options of `slipway migrations verify`. */
export interface MigrationsVerifyOptions extends GlobalOptions {
  previous?: string;
  database?: string;
  queries?: string;
  dir?: string;
  json?: boolean;
}

/** Options of `slipway migrations apply`. */
export interface MigrationsApplyOptions extends GlobalOptions {
  database?: string;
  phase?: string;
  dir?: string;
  json?: boolean;
}

/** Adds `verify` and `apply` to the `migrations` command group. */
export function addMigrationsVerifyCommands(group: Command): void {
  group
    .command("verify")
    .description("apply the previous release's migrations, then the new ones, and check the previous release's queries against the new schema (PGlite, or a scratch database with --database)")
    .requiredOption("--previous <ref>", "the previous release's commit, tag or branch (its migrations and queries are read with git)")
    .option("--database <url>", "a PostgreSQL server: verify creates a scratch database there (and drops it) and also checks locks")
    .option("--queries <dir>", "the previous release's queries: SQL files (default: <dir>/queries)")
    .option("--dir <dir>", "the migrations folder (default: the service's migrations.dir in slipway.yml, else migrations)")
    .option("--json", "print JSON")
    .option("--data-dir <dir>", "data directory, where PGlite's snapshot is cached (default: $SLIPWAY_DATA_DIR or .slipway/)")
    .option("-C, --directory <dir>", "repository directory (default: the current directory)")
    .action(async (opts: MigrationsVerifyOptions) => {
      process.exitCode = await migrationsVerifyCommand(opts);
    });
  group
    .command("apply")
    .description("apply pending migrations in order, recorded with checksums in slipway_migrations (an edited applied migration is refused)")
    .option("--database <url>", "the database (default: $DATABASE_URL)")
    .option("--phase <phase>", "expand | data | contract | all (expand and data before a rollout, contract after)", "all")
    .option("--dir <dir>", "the migrations folder (default: the service's migrations.dir in slipway.yml, else migrations)")
    .option("--json", "print JSON")
    .option("-C, --directory <dir>", "repository directory (default: the current directory)")
    .action(async (opts: MigrationsApplyOptions) => {
      process.exitCode = await migrationsApplyCommand(opts);
    });
  group
    .command("capture")
    .description("run a command (the release's tests) through a proxy to PostgreSQL and keep the queries it sends, for verify: <dir>/queries/captured.sql")
    .argument("<command...>", "the command and its arguments, after -- (e.g. -- npm test)")
    .option("--database <url>", "the database the tests use (default: $DATABASE_URL); they get the proxy's URL as DATABASE_URL (and PGHOST, PGPORT)")
    .option("--out <file>", "where to write the queries (default: <dir>/queries/captured.sql)")
    .option("--dir <dir>", "the migrations folder (default: the service's migrations.dir in slipway.yml, else migrations)")
    .option("--json", "print a JSON summary")
    .option("-C, --directory <dir>", "repository directory (default: the current directory)")
    .action(async (command: string[], opts: MigrationsCaptureOptions) => {
      process.exitCode = await migrationsCaptureCommand(command, opts);
    });
}

/** Prints a parse error or input error (exit 2), a refused migration (exit 1); rethrows anything else. */
function failure(err: unknown, json: boolean | undefined): number {
  if (err instanceof SqlParseError) {
    const out = { error: "parse", file: err.file, line: err.line, column: err.column, message: err.message, applied: [] };
    if (json) process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    process.stderr.write(`slipway: ${err.message}\nnothing was applied: fix the SQL and run again\n`);
    return EXIT.usage;
  }
  if (err instanceof MigrationError) {
    const code = err.code === "read" ? EXIT.usage : EXIT.failed;
    if (json) process.stdout.write(JSON.stringify({ error: err.code, file: err.file, line: err.line, column: err.column, message: err.message }, null, 2) + "\n");
    process.stderr.write(`slipway: ${err.message}\n`);
    return code;
  }
  throw err;
}

function loc(x: { file: string; line?: number; column?: number }): string {
  return x.line !== undefined ? `${x.file}:${x.line}:${x.column ?? 1}` : x.file;
}

const oneLine = (s: string): string => s.replace(/\s+/g, " ").trim();

/** `slipway migrations verify`. */
export async function migrationsVerifyCommand(opts: MigrationsVerifyOptions): Promise<number> {
  if (!opts.previous) throw new UsageError("--previous is required: the previous release's commit, tag or branch, e.g. --previous v1.4.0");
  const repoDir = workDir(opts);
  const dir = migrationsDir(repoDir, opts.dir);
  let report: VerifyReport;
  try {
    report = await verifyMigrations({
      repoDir,
      previous: opts.previous,
      dir,
      queriesDir: opts.queries ?? defaultQueriesDir(dir),
      dataDir: dataDirFor(opts, repoDir),
      ...(opts.database !== undefined ? { database: opts.database } : {}),
    });
  } catch (err) {
    if (isConnectionError(err)) {
      process.stderr.write(`slipway: --database ${redactUrl(opts.database ?? "")}: ${(err as Error).message}; check the URL and that the server runs\n`);
      return EXIT.usage;
    }
    return failure(err, opts.json);
  }
  const code = report.verdict === "pass" ? EXIT.ok : EXIT.failed;
  if (opts.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    return code;
  }
  const p = paint(process.stdout);
  const out: string[] = [];
  const engine =
    report.engine === "pglite"
      ? `PGlite (${report.startup.fromSnapshot ? "from the cached snapshot" : "initdb, snapshot saved"}, ${(report.startup.ms / 1000).toFixed(2)} s)`
      : `PostgreSQL, scratch database ${report.startup.database ?? ""}`;
  out.push(
    `verify: ${report.previous.migrations.length} migrations of ${report.previous.ref} (${report.previous.commit.slice(0, 12)}), ${report.newMigrations.length} new, ` +
      `${report.previous.queries.length} query files; ${engine}`,
  );
  for (const m of report.newMigrations) out.push(`  new  ${m.file} (${m.phase})`);
  for (const pr of report.problems) out.push(`${p.red("✗")} ${loc(pr)}: ${pr.message}`);
  for (const f of report.failures) {
    out.push(`${p.red("✗")} query ${loc(f.query)}  ${oneLine(f.query.text)}`);
    out.push(`    ${f.error.code} ${f.error.message}${f.error.line !== undefined ? ` (at ${f.query.file}:${f.error.line}:${f.error.column ?? 1})` : ""}`);
    out.push(
      f.cause
        ? `    caused by ${loc(f.cause)} (${f.cause.phase})  ${oneLine(f.cause.text)}`
        : `    it already fails on the schema of ${report.previous.ref}: no new migration caused it; fix the query`,
    );
  }
  if (!report.lockCheck.ran) out.push(`lock check: ${report.lockCheck.note}`);
  else if (report.lockCheck.waits.length === 0) out.push(`lock check: no statement waited (${report.lockCheck.note})`);
  else {
    out.push(`lock check: ${report.lockCheck.waits.length} statement(s) would wait for the running release (${report.lockCheck.note}):`);
    for (const w of report.lockCheck.waits) {
      out.push(`  ${p.yellow("!")} ${loc(w)}  ${oneLine(w.statement)}`);
      out.push(`      needs ${w.lockMode} (${w.lockType}${w.relation ? ` on ${w.relation}` : ""}); blocked by pid ${w.blockingPid} (${w.blockingState}): ${oneLine(w.blockingStatement)}`);
    }
  }
  if (report.verdict === "pass") out.push(p.green(`pass: the queries of ${report.previous.ref} work on the new schema`));
  else if (report.verdict === "inconclusive") {
    out.push(p.yellow(`inconclusive: ${report.previous.ref} has no queries in ${opts.queries ?? defaultQueriesDir(dir)}; put the release's SQL there (or give --queries) so verify can check them`));
  } else out.push(p.red(`fail: ${report.failures.length} query failure(s), ${report.problems.length} problem(s): the deploy would break the release still running`));
  process.stdout.write(out.join("\n") + "\n");
  return code;
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && ["ECONNREFUSED", "ENOTFOUND", "ECONNRESET", "EAI_AGAIN", "28P01", "28000", "3D000"].includes(code);
}

const PHASES: Record<string, Phase[]> = { expand: ["expand"], data: ["data"], contract: ["contract"], all: ["expand", "data", "contract"] };

/** `slipway migrations apply`. */
export async function migrationsApplyCommand(opts: MigrationsApplyOptions): Promise<number> {
  const phases = PHASES[opts.phase ?? "all"];
  if (!phases) throw new UsageError(`--phase expects expand, data, contract or all, got '${opts.phase ?? ""}'`);
  const url = opts.database ?? process.env.DATABASE_URL;
  if (!url) throw new UsageError("no database: give --database postgres://user@host/db or set DATABASE_URL");
  const repoDir = workDir(opts);
  const dir = migrationsDir(repoDir, opts.dir);
  let result: ApplyResult;
  try {
    const parsed = await parseMigrations(readMigrationDir(resolve(repoDir, dir), dir));
    let db;
    try {
      db = await connectPostgres(url);
    } catch (e) {
      process.stderr.write(`slipway: --database ${redactUrl(url)}: ${(e as Error).message}; check the URL and that the server runs\n`);
      return EXIT.usage;
    }
    try {
      result = await applyMigrations(db, parsed, { phases });
    } finally {
      await db.close();
    }
  } catch (err) {
    return failure(err, opts.json);
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    return EXIT.ok;
  }
  const p = paint(process.stdout);
  const out = result.applied.map((a) => `${p.green("applied")} ${a.file} (${a.phase}${a.transactional ? "" : ", outside a transaction"}, ${a.ms.toFixed(0)} ms)`);
  for (const m of result.pending) out.push(`pending ${m.file} (${m.phase}: not in --phase ${opts.phase ?? "all"})`);
  for (const v of result.missing) out.push(p.yellow(`recorded but no file: ${v} (applied earlier; its file is gone from ${dir})`));
  out.push(`${result.applied.length} applied, ${result.upToDate} already applied, ${result.pending.length} pending`);
  process.stdout.write(out.join("\n") + "\n");
  return EXIT.ok;
}
