// migrations/: PostgreSQL migration lint, expand/contract phases (and, appended below, verify/apply).
export { parseSql, SqlParseError, type SqlStatement } from "./parse.js";
export { classifyMigration, classifyStatements, type MigrationClassification, type Phase, type StatementPhase } from "./phases.js";
export { lintMigrations, lintParsed, isSafeCast, DEFAULT_PG_VERSION, type Finding, type LintOptions, type LintResult, type MigrationSource } from "./lint.js";
export { RULES, RULE_LIST, type RuleInfo, type RuleSeverity } from "./rules.js";
export { contractChanges, contractTargets, releaseSchema, schemaUses, type ReleaseSchema } from "./verify.js";
export {
  applyMigrations,
  appliedMigrations,
  checkEdited,
  checksumOf,
  compareVersions,
  MigrationError,
  nonTransactional,
  parseMigrations,
  readMigrationDir,
  TRACKING_TABLE,
  type AppliedMigration,
  type AppliedResult,
  type ApplyOptions,
  type ApplyResult,
  type MigrationFile,
  type ParsedMigration,
} from "./apply.js";
export { connectPostgres, createScratchDatabase, pgErrorOf, pgliteClient, redactUrl, type PgError, type ScratchDatabase, type SqlClient } from "./database.js";
export { openEmbeddedDatabase, pgliteVersion, snapshotPath, type EmbeddedDatabase } from "./snapshot.js";
export { applyUnderRowLocks, type LockWait } from "./lock-check.js";
export { checkQuery, verifyMigrations, type QueryFailure, type StatementRef, type VerifyOptions, type VerifyReport } from "./verify.js";
