// migrations/: PostgreSQL migration lint, expand/contract phases, verify, apply, and what the migration gate reads.
export { parseSql, QUERY_KINDS, SqlParseError, type SqlStatement } from "./parse.js";
export { classifyMigration, classifyStatements, type MigrationClassification, type Phase, type StatementPhase } from "./phases.js";
export { lintMigrations, lintParsed, MigrationLinter, DEFAULT_PG_VERSION, type Finding, type LintOptions, type LintResult, type MigrationSource } from "./lint.js";
export { RULES, RULE_LIST, type RuleInfo, type RuleSeverity } from "./rules.js";
export {
  contractChanges,
  defaultQueriesDir,
  locateRepo,
  releaseMigrations,
  releaseQueries,
  ReleaseSchemaCache,
  type ReleaseMigrations,
  type ReleaseQueries,
  type RepoLocation,
} from "./release-schema.js";
export {
  applyMigrations,
  appliedMigrations,
  checksumOf,
  MigrationError,
  parseMigrations,
  readMigrationDir,
  type AppliedMigration,
  type AppliedResult,
  type ApplyOptions,
  type ApplyResult,
  type MigrationFile,
  type ParsedMigration,
} from "./apply.js";
export { connectPostgres, createScratchDatabase, pgErrorOf, type PgError, type ScratchDatabase, type SqlClient } from "./database.js";
export { openEmbeddedDatabase, type EmbeddedDatabase } from "./snapshot.js";
export { type LockWait } from "./lock-check.js";
export { verifyMigrations, type QueryFailure, type StatementRef, type VerifyOptions, type VerifyReport } from "./verify.js";
export { startCaptureProxy, type CaptureProxy } from "./capture.js";
