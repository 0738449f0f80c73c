// `slipway migrations …`: PostgreSQL migrations. `lint` (unsafe statements, with the lock and the fix) and
// `plan` (expand / contract / data per file). Each subcommand registers itself with one call in registerMigrations.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import type { Command } from "commander";
import { formatDiagnostic } from "../diagnostics/index.js";
import {
  classifyStatements,
  DEFAULT_PG_VERSION,
  MigrationLinter,
  parseSql,
  RULES,
  SqlParseError,
  type Finding,
  type SqlStatement,
} from "../migrations/index.js";
import { escapeData, escapeProperty } from "../runner/index.js";
import { EXIT, UsageError, workDir, type GlobalOptions } from "./common.js";
import { paint } from "./style.js";
import { addMigrationsVerifyCommands } from "./migrations-verify.js";
import { configuredDirs } from "./migrations-dirs.js";

/** The `migrations` command group; each subcommand is added by one register call. */
export function registerMigrations(program: Command): Command {
  const group = program.command("migrations").description("PostgreSQL migrations: lint unsafe statements, plan expand/contract phases, verify and apply them");
  registerLint(group);
  registerPlan(group);
  addMigrationsVerifyCommands(group);
  return group;
}

function registerLint(group: Command): void {
  group
    .command("lint")
    .description("find statements that lock or break production, each with file:line:column, why and the fix (exit 1 on errors, 2 on bad input)")
    .argument("[paths...]", "migration files or directories of *.sql (default: the services' migrations dirs in slipway.yml, else migrations/)")
    .option("--json", "print the findings as a JSON array")
    .option("--format <format>", "text, gcc (file:line:col: error: message [rule]) or github (workflow commands)")
    .option("--pg-version <n>", `the PostgreSQL major version the migrations run on (default ${DEFAULT_PG_VERSION})`)
    .option("--assume-in-transaction", "treat each file as wrapped in a transaction, as most migration tools do")
    .option("-C, --directory <dir>", "repository directory (default: the current directory)")
    .action(async (paths: string[], opts: MigrationsLintOptions) => {
      process.exitCode = await migrationsLintCommand(paths, opts);
    });
}

function registerPlan(group: Command): void {
  group
    .command("plan")
    .description("classify each migration as expand, contract or data; for a contract change, print the expand/contract sequence to use instead")
    .argument("[paths...]", "migration files or directories of *.sql (default: as for lint)")
    .option("--json", "print the classification as JSON")
    .option("-C, --directory <dir>", "repository directory (default: the current directory)")
    .action(async (paths: string[], opts: MigrationsPlanOptions) => {
      process.exitCode = await migrationsPlanCommand(paths, opts);
    });
}

export interface MigrationsLintOptions extends GlobalOptions {
  json?: boolean;
  format?: string;
  pgVersion?: string;
  assumeInTransaction?: boolean;
}

export interface MigrationsPlanOptions extends GlobalOptions {
  json?: boolean;
}

/** A migration file to lint or plan, as shown in output, with the rules its project disables. */
interface LintFile {
  path: string;
  display: string;
  disable: string[];
}

/** PATHS (files, or directories of *.sql in lexical order), or the configured default. */
function migrationFiles(paths: string[], dir: string): LintFile[] {
  const configured = configuredDirs(dir);
  for (const c of configured) {
    const unknown = c.disable.filter((id) => !RULES.has(id));
    if (unknown.length > 0) throw new UsageError(`slipway.yml ${c.field}: unknown rule ${unknown.map((u) => `'${u}'`).join(", ")} (fix: use the ids listed in docs/migrations.md, e.g. ban-drop-column)`);
  }
  let targets = paths.map((p) => resolve(dir, p));
  if (targets.length === 0) {
    targets = configured.length > 0 ? configured.map((c) => c.dir) : [resolve(dir, "migrations")];
    for (const t of targets) {
      if (!existsSync(t)) throw new UsageError(`${relative(dir, t) || "."}: no migrations directory (fix: create it, set services.<name>.migrations.dir in slipway.yml, or name the files: slipway migrations lint db/*.sql)`);
    }
  }
  const disableFor = (file: string) => configured.filter((c) => file.startsWith(c.dir + sep)).flatMap((c) => c.disable);
  const out: LintFile[] = [];
  for (const t of targets) {
    if (!existsSync(t)) throw new UsageError(`${relative(dir, t)}: no such file or directory (fix: name an existing .sql file or a directory of migrations)`);
    const files = statSync(t).isDirectory()
      ? readdirSync(t)
          .filter((f) => f.endsWith(".sql"))
          .sort()
          .map((f) => join(t, f))
      : [t];
    for (const f of files) {
      const rel = relative(dir, f);
      out.push({ path: f, display: rel.startsWith("..") ? f : rel, disable: disableFor(f) });
    }
  }
  return out;
}

/** Reads and parses every file; parse errors are collected (they make the exit code 2). */
/** Each file parsed, one at a time (the caller may drop one before the next is read); files that do not parse go to `errors`. */
async function* parseFiles(files: LintFile[], errors: SqlParseError[]): AsyncGenerator<{ file: LintFile; sql: string; statements: SqlStatement[] }> {
  for (const file of files) {
    const sql = readFileSync(file.path, "utf8");
    let statements: SqlStatement[];
    try {
      statements = await parseSql(file.display, sql);
    } catch (e) {
      if (!(e instanceof SqlParseError)) throw e;
      errors.push(e);
      continue;
    }
    yield { file, sql, statements };
  }
}

function printParseErrors(errors: SqlParseError[]): void {
  for (const e of errors) process.stderr.write(`${e.message} [parse-error] (fix: correct the SQL at ${e.file}:${e.line}:${e.column}; PostgreSQL's parser refuses it)\n`);
}

/** One finding in the chosen output format. */
function formatFinding(f: Finding, format: "text" | "gcc" | "github", p = paint({})): string {
  if (format === "gcc") return formatDiagnostic({ code: f.ruleId, severity: f.severity, message: f.message, file: f.file, line: f.line, column: f.column });
  if (format === "github") {
    const cmd = f.severity === "error" ? "error" : "warning";
    return `::${cmd} file=${escapeProperty(f.file)},line=${f.line},col=${f.column},title=${escapeProperty(f.ruleId)}::${escapeData(`${f.message}\nwhy: ${f.why}\nfix: ${f.fix}`)}`;
  }
  const sev = f.severity === "error" ? p.red("error") : p.yellow("warning");
  return `${p.bold(`${f.file}:${f.line}:${f.column}`)}: ${sev}: ${f.message} ${p.dim(`[${f.ruleId}]`)}\n  ${p.dim("why:")} ${f.why}\n  ${p.cyan("fix:")} ${f.fix}`;
}

/** `slipway migrations lint`: 0 clean (or warnings only), 1 errors found, 2 bad input. */
export async function migrationsLintCommand(paths: string[], opts: MigrationsLintOptions): Promise<number> {
  const dir = workDir(opts);
  const format = opts.json ? "json" : (opts.format ?? "text");
  if (!["text", "gcc", "github", "json"].includes(format)) throw new UsageError(`--format must be text, gcc or github (or --json), got '${format}'`);
  let pgVersion: number | undefined;
  if (opts.pgVersion !== undefined) {
    pgVersion = Number.parseInt(opts.pgVersion, 10);
    if (!/^\d+(\.\d+)?$/.test(opts.pgVersion) || pgVersion < 9 || pgVersion > 99) throw new UsageError(`--pg-version expects a PostgreSQL major version such as 15, got '${opts.pgVersion}'`);
  }
  const files = migrationFiles(paths, dir);
  // Project-wide disables apply per directory: each disable list has its linter (its own view of the schema).
  // Each file is linted as soon as it is parsed, in order, so its statements need not be kept.
  const linters = new Map<string, MigrationLinter>();
  const findings: Finding[] = [];
  const errors: SqlParseError[] = [];
  let statements = 0;
  for await (const { file, sql, statements: parsed } of parseFiles(files, errors)) {
    const key = file.disable.join(",");
    let linter = linters.get(key);
    if (!linter) {
      linter = new MigrationLinter({ ...(pgVersion !== undefined ? { pgVersion } : {}), assumeInTransaction: opts.assumeInTransaction === true, disable: file.disable });
      linters.set(key, linter);
    }
    statements += parsed.length;
    for (const f of linter.lint(file.display, sql, parsed)) findings.push(f);
  }
  printParseErrors(errors);
  // One write: thousands of findings written one by one cost a system call each.
  if (format === "json") process.stdout.write(JSON.stringify(findings, null, 2) + "\n");
  else {
    const p = paint(process.stdout);
    let out = "";
    for (const f of findings) out += formatFinding(f, format as "text" | "gcc" | "github", p) + "\n";
    if (format === "text") {
      const errorsN = findings.filter((f) => f.severity === "error").length;
      const summary = `${files.length} file${files.length === 1 ? "" : "s"}, ${statements} statement${statements === 1 ? "" : "s"}: ${errorsN} error${errorsN === 1 ? "" : "s"}, ${findings.length - errorsN} warning${findings.length - errorsN === 1 ? "" : "s"}${errors.length ? `, ${errors.length} file${errors.length === 1 ? "" : "s"} not parsed` : ""}`;
      out += (errorsN > 0 ? p.red(summary) : p.green(summary)) + "\n";
    }
    process.stdout.write(out);
  }
  if (errors.length > 0) return EXIT.usage;
  return findings.some((f) => f.severity === "error") ? EXIT.failed : EXIT.ok;
}

/** `slipway migrations plan`: the phase of each file; 0, or 2 on bad input. */
export async function migrationsPlanCommand(paths: string[], opts: MigrationsPlanOptions): Promise<number> {
  const dir = workDir(opts);
  const errors: SqlParseError[] = [];
  const parsed = [];
  for await (const f of parseFiles(migrationFiles(paths, dir), errors)) parsed.push(f);
  printParseErrors(errors);
  const plans = parsed.map((f) => classifyStatements(f.file.display, f.statements));
  if (opts.json) {
    process.stdout.write(JSON.stringify(plans, null, 2) + "\n");
    return errors.length > 0 ? EXIT.usage : EXIT.ok;
  }
  const p = paint(process.stdout);
  const colour = { expand: p.green, data: p.cyan, contract: p.red } as const;
  for (const plan of plans) {
    process.stdout.write(`${p.bold(plan.file)}  ${colour[plan.phase](plan.phase)}\n`);
    for (const s of plan.statements) {
      if (s.phase === "expand" && plan.phase === "expand") continue;
      const head = s.text.split("\n")[0] ?? "";
      process.stdout.write(`  ${s.line}:${s.column}  ${colour[s.phase](s.phase.padEnd(8))}  ${head.length > 70 ? head.slice(0, 69) + "…" : head}\n`);
      if (s.phase !== "expand") process.stdout.write(`      ${p.dim(s.why)}\n`);
      if (s.instead) {
        process.stdout.write(`      ${p.cyan("instead:")}\n`);
        s.instead.forEach((step, i) => process.stdout.write(`        ${i + 1}. ${step}\n`));
      }
    }
  }
  const contracts = plans.filter((x) => x.phase === "contract").length;
  process.stdout.write(`${plans.length} file${plans.length === 1 ? "" : "s"}: ${plans.filter((x) => x.phase === "expand").length} expand, ${plans.filter((x) => x.phase === "data").length} data, ${contracts} contract\n`);
  return errors.length > 0 ? EXIT.usage : EXIT.ok;
}
