// The rules' test corpus, as data: statements each rule must flag and near-misses it must not.
// Run by rules.test.ts (expected findings) and test/migrations-lint-squawk.test.ts (agreement with squawk).
import type { LintOptions } from "./lint.js";

/** One case: a migration file's SQL and the rule ids expected (each once; order does not matter). */
export interface RuleCase {
  sql: string;
  expect: string[];
  options?: LintOptions;
  /** An earlier migration file (applied before `sql`; only its schema matters). */
  before?: string;
  /**
   * Compare every finding. Otherwise the rules that fire on almost any file (timeouts, robustness)
   * are left out of the comparison, so a case shows only the rule it is about.
   */
  all?: boolean;
}

/** Rules left out of a case's comparison unless `all` is set. */
export const AMBIENT = new Set(["require-lock-timeout", "require-statement-timeout", "prefer-robust-stmts"]);

const c = (sql: string, expect: string[] = [], extra: Omit<RuleCase, "sql" | "expect"> = {}): RuleCase => ({ sql, expect, ...extra });
const TIMEOUTS = "SET lock_timeout = '2s';\nSET statement_timeout = '5s';\n";
const pg = (pgVersion: number) => ({ options: { pgVersion } });
const inTx = { options: { assumeInTransaction: true } };

export const CASES: RuleCase[] = [
  // ban-drop-column
  c("ALTER TABLE users DROP COLUMN email;", ["ban-drop-column"]),
  c("ALTER TABLE users DROP COLUMN IF EXISTS email;", ["ban-drop-column"]),
  c("ALTER TABLE users DROP CONSTRAINT IF EXISTS users_email_key;"),
  c("ALTER TABLE users ADD COLUMN email text;"),
  // ban-drop-table
  c("DROP TABLE users;", ["ban-drop-table"]),
  c("DROP TABLE IF EXISTS users CASCADE;", ["ban-drop-table"]),
  c("DROP VIEW IF EXISTS users_view;"),
  c("CREATE TABLE users (id bigint);"),
  // ban-drop-schema
  c("DROP SCHEMA audit CASCADE;", ["ban-drop-schema"]),
  c("DROP SCHEMA IF EXISTS audit;", ["ban-drop-schema"]),
  c("CREATE SCHEMA IF NOT EXISTS audit;"),
  // ban-drop-database
  c("DROP DATABASE app;", ["ban-drop-database"]),
  c("DROP DATABASE IF EXISTS app;", ["ban-drop-database"]),
  c("CREATE DATABASE app;"),
  // renaming-column
  c("ALTER TABLE users RENAME COLUMN name TO full_name;", ["renaming-column"]),
  c("ALTER TABLE users RENAME name TO full_name;", ["renaming-column"]),
  c("ALTER TABLE users RENAME CONSTRAINT users_a TO users_b;"),
  c("ALTER INDEX users_email_idx RENAME TO users_email_index;"),
  // renaming-table
  c("ALTER TABLE users RENAME TO accounts;", ["renaming-table"]),
  c("ALTER TABLE IF EXISTS users RENAME TO accounts;", ["renaming-table"]),
  c("CREATE VIEW accounts AS SELECT * FROM users;"),
  // renaming-schema
  c("ALTER SCHEMA audit RENAME TO audit_log;", ["renaming-schema"]),
  c("ALTER SCHEMA audit OWNER TO app;"),
  // renaming-enum-value
  c("ALTER TYPE status RENAME VALUE 'active' TO 'enabled';", ["renaming-enum-value"]),
  c("ALTER TYPE status ADD VALUE IF NOT EXISTS 'paused';"),
  c("ALTER TYPE status RENAME TO state;"),
  // changing-column-type
  c("ALTER TABLE users ALTER COLUMN age TYPE bigint;", ["changing-column-type"]),
  c("ALTER TABLE users ALTER COLUMN name TYPE text;", ["changing-column-type"]),
  c("ALTER TABLE users ALTER COLUMN age SET DATA TYPE numeric(10,2) USING age::numeric;", ["changing-column-type"]),
  c("CREATE TABLE IF NOT EXISTS t (a text);\nALTER TABLE t ALTER COLUMN a TYPE bigint;"),
  c("ALTER TABLE users ALTER COLUMN name SET DEFAULT 'x';"),
  // changing-column-type: safe casts when the old type is known from earlier statements
  c("ALTER TABLE t ALTER COLUMN a TYPE varchar(20);", ["prefer-text-field"], { before: "CREATE TABLE t (a varchar(10));" }),
  c("ALTER TABLE t ALTER COLUMN a TYPE varchar(10);", ["prefer-text-field", "changing-column-type"], { before: "CREATE TABLE t (a varchar(20));" }),
  c("ALTER TABLE t ALTER COLUMN a TYPE text;", [], { before: "CREATE TABLE t (a varchar(20));" }),
  c("ALTER TABLE t ALTER COLUMN a TYPE varchar;", [], { before: "CREATE TABLE t (a text);" }),
  c("ALTER TABLE t ALTER COLUMN a TYPE numeric(12,2);", [], { before: "CREATE TABLE t (a numeric(10,2));" }),
  c("ALTER TABLE t ALTER COLUMN a TYPE numeric(12,3);", ["changing-column-type"], { before: "CREATE TABLE t (a numeric(10,2));" }),
  c("ALTER TABLE t ALTER COLUMN a TYPE inet;", [], { before: "CREATE TABLE t (a cidr);" }),
  c("ALTER TABLE t ALTER COLUMN a TYPE text USING a::text;", ["changing-column-type"], { before: "CREATE TABLE t (a varchar(20));" }),
  c("SET timezone = 'UTC';\nALTER TABLE t ALTER COLUMN a TYPE timestamptz;", [], { before: "CREATE TABLE t (a timestamptz);" }),
  c("SET timezone = 'UTC';\nALTER TABLE t ALTER COLUMN a TYPE timestamptz;", [], { before: "CREATE TABLE t (a timestamp);" }),
  c("ALTER TABLE t ALTER COLUMN a TYPE timestamptz;", ["changing-column-type"], { before: "CREATE TABLE t (a timestamp);" }),
  c("SET timezone = 'UTC';\nALTER TABLE t ALTER COLUMN a TYPE timestamptz;", ["changing-column-type"], { before: "CREATE TABLE t (a timestamp);", options: { pgVersion: 11 } }),
  c("ALTER TABLE t ALTER COLUMN a TYPE bigint;", ["changing-column-type"], { before: "CREATE TABLE t (a int);" }),
  // ADD COLUMN NOT NULL without default
  c("ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;", ["adding-required-field"]),
  c("ALTER TABLE users ADD COLUMN IF NOT EXISTS tenant_id bigint NOT NULL;", ["adding-required-field"]),
  c("ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL DEFAULT 0;"),
  c("ALTER TABLE users ADD COLUMN tenant_id bigint;"),
  c("CREATE TABLE IF NOT EXISTS t (id bigint);\nALTER TABLE t ADD COLUMN tenant_id bigint NOT NULL;"),
  c("ALTER TABLE users ADD COLUMN note text GENERATED ALWAYS AS ('x') VIRTUAL NOT NULL;"),
  // SET NOT NULL
  c("ALTER TABLE users ALTER COLUMN email SET NOT NULL;", ["adding-not-nullable-field"]),
  c("ALTER TABLE users ALTER email SET NOT NULL, ALTER name SET NOT NULL;", ["adding-not-nullable-field"]),
  c("ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT email_nn;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;"),
  c("ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT email_nn;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;", ["adding-not-nullable-field"], pg(11)),
  c("ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;", ["adding-not-nullable-field"]),
  c("CREATE TABLE IF NOT EXISTS t (a text);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;"),
  // DROP NOT NULL
  c("ALTER TABLE users ALTER COLUMN email DROP NOT NULL;", ["ban-drop-not-null"]),
  c("ALTER TABLE users ALTER COLUMN email DROP DEFAULT;"),
  // ADD COLUMN with a default that rewrites
  c("ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();", ["adding-field-with-default"]),
  c("ALTER TABLE users ADD COLUMN r float8 DEFAULT random();", ["adding-field-with-default"]),
  c("ALTER TABLE users ADD COLUMN t timestamptz DEFAULT clock_timestamp();", ["adding-field-with-default"]),
  c("ALTER TABLE users ADD COLUMN t timestamptz DEFAULT now();"),
  c("ALTER TABLE users ADD COLUMN t timestamptz DEFAULT CURRENT_TIMESTAMP;"),
  c("ALTER TABLE users ADD COLUMN active boolean DEFAULT true;"),
  c("ALTER TABLE users ADD COLUMN active boolean DEFAULT true;", ["adding-field-with-default"], pg(10)),
  c("ALTER TABLE users ADD COLUMN kind text DEFAULT 'basic';", ["adding-field-with-default"], pg(9)),
  c("ALTER TABLE users ADD COLUMN kind text DEFAULT 'basic';", [], pg(11)),
  c("ALTER TABLE users ADD COLUMN lower_email text GENERATED ALWAYS AS (lower(email)) STORED;", ["adding-field-with-default"]),
  c("ALTER TABLE users ADD COLUMN lower_email text GENERATED ALWAYS AS (lower(email)) VIRTUAL;"),
  c("ALTER TABLE users ADD COLUMN seq bigserial;", ["adding-field-with-default", "prefer-identity"]),
  c("ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;", ["adding-field-with-default"]),
  c("CREATE TABLE IF NOT EXISTS t (id bigint GENERATED ALWAYS AS IDENTITY, token uuid DEFAULT gen_random_uuid());"),
  // CREATE INDEX
  c("CREATE INDEX users_email_idx ON users (email);", ["require-concurrent-index-creation"]),
  c("CREATE UNIQUE INDEX IF NOT EXISTS users_email_idx ON users (email);", ["require-concurrent-index-creation"]),
  c("CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);"),
  c("CREATE TABLE IF NOT EXISTS t (id bigint);\nCREATE INDEX IF NOT EXISTS t_id ON t (id);"),
  // DROP INDEX
  c("DROP INDEX users_email_idx;", ["require-concurrent-index-deletion"]),
  c("DROP INDEX IF EXISTS users_email_idx;", ["require-concurrent-index-deletion"]),
  c("DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;"),
  // CONCURRENTLY inside a transaction
  c("BEGIN;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);\nCOMMIT;", ["ban-concurrent-index-creation-in-transaction"]),
  c("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);", ["ban-concurrent-index-creation-in-transaction"], inTx),
  c("DROP INDEX CONCURRENTLY IF EXISTS i;", ["ban-concurrent-index-creation-in-transaction"], inTx),
  c("BEGIN;\nREINDEX INDEX CONCURRENTLY i;\nCOMMIT;", ["ban-concurrent-index-creation-in-transaction"]),
  c("BEGIN;\nSELECT 1;\nCOMMIT;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);"),
  // CHECK / FOREIGN KEY without NOT VALID, VALIDATE in the same transaction
  c("ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0);", ["constraint-missing-not-valid"]),
  c("ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID;"),
  c("ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT positive;", ["constraint-missing-not-valid"], inTx),
  c("BEGIN;\nALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT positive;\nCOMMIT;", ["constraint-missing-not-valid"]),
  c("ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT positive;"),
  c("ALTER TABLE orders VALIDATE CONSTRAINT positive;"),
  c("ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id);", ["constraint-missing-not-valid", "adding-foreign-key-constraint"]),
  c("ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users;", ["constraint-missing-not-valid", "adding-foreign-key-constraint"]),
  c("ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;"),
  c("ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);", ["constraint-missing-not-valid", "adding-foreign-key-constraint"]),
  c("CREATE TABLE IF NOT EXISTS orders (id bigint, user_id bigint REFERENCES users (id), amount numeric CHECK (amount > 0));"),
  // ADD UNIQUE / PRIMARY KEY / EXCLUDE
  c("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);", ["disallowed-unique-constraint"]),
  c("ALTER TABLE users ADD UNIQUE (email);", ["disallowed-unique-constraint"]),
  c("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;"),
  c("ALTER TABLE users ADD PRIMARY KEY (id);", ["adding-serial-primary-key-field"]),
  c("ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id);", ["adding-serial-primary-key-field"]),
  c("ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_idx;"),
  c("ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);", ["adding-exclusion-constraint"]),
  c("CREATE TABLE IF NOT EXISTS bookings (room bigint, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));"),
  // REINDEX, DETACH PARTITION
  c("REINDEX INDEX users_email_idx;", ["require-concurrent-reindex"]),
  c("REINDEX TABLE users;", ["require-concurrent-reindex"]),
  c("REINDEX INDEX CONCURRENTLY users_email_idx;"),
  c("REINDEX TABLE CONCURRENTLY users;"),
  c("ALTER TABLE events DETACH PARTITION events_2020;", ["require-concurrent-partition-detach"]),
  c("ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;"),
  c("ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;", ["ban-concurrent-index-creation-in-transaction"], inTx),
  c("ALTER TABLE events ATTACH PARTITION events_2021 FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');"),
  // VACUUM FULL, CLUSTER
  c("VACUUM FULL users;", ["ban-vacuum-full"]),
  c("VACUUM (FULL, ANALYZE) users;", ["ban-vacuum-full"]),
  c("VACUUM ANALYZE users;"),
  c("CLUSTER users USING users_pkey;", ["ban-cluster"]),
  c("CLUSTER users;", ["ban-cluster"]),
  c("ANALYZE users;"),
  // domains
  c("ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0);", ["ban-alter-domain-with-add-constraint"]),
  c("ALTER DOMAIN positive_int DROP CONSTRAINT positive;"),
  c("CREATE DOMAIN positive_int AS bigint CHECK (VALUE > 0);", ["ban-create-domain-with-constraint"]),
  c("CREATE DOMAIN email AS text;"),
  // TRUNCATE CASCADE
  c("TRUNCATE users CASCADE;", ["ban-truncate-cascade"]),
  c("TRUNCATE TABLE users, orders CASCADE;", ["ban-truncate-cascade"]),
  c("TRUNCATE users;"),
  c("TRUNCATE users RESTRICT;"),
  // json
  c("CREATE TABLE IF NOT EXISTS docs (id bigint, body json);", ["prefer-jsonb"]),
  c("ALTER TABLE docs ADD COLUMN body json;", ["prefer-jsonb"]),
  c("CREATE TABLE IF NOT EXISTS docs (id bigint, body jsonb);"),
  c("SELECT '{}'::json;"),
  // timeouts
  c("ALTER TABLE users ADD COLUMN IF NOT EXISTS bio text;", ["require-lock-timeout", "require-statement-timeout"], { all: true }),
  c(TIMEOUTS + "ALTER TABLE users ADD COLUMN IF NOT EXISTS bio text;", [], { all: true }),
  c("SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN IF NOT EXISTS bio text;", ["require-statement-timeout"], { all: true }),
  c("SET statement_timeout = '5s';\nALTER TABLE users ADD COLUMN IF NOT EXISTS bio text;", ["require-lock-timeout"], { all: true }),
  c("SET lock_timeout = 0;\nSET statement_timeout = '5s';\nALTER TABLE users ADD COLUMN IF NOT EXISTS bio text;", ["require-lock-timeout"], { all: true }),
  c("CREATE TABLE IF NOT EXISTS t (id bigint);\nALTER TABLE t ADD COLUMN IF NOT EXISTS bio text;", [], { all: true }),
  c("CREATE TABLE IF NOT EXISTS t (id bigint);\nINSERT INTO t VALUES (1);", [], { all: true }),
  // backfills
  c("BEGIN;\nALTER TABLE users ADD COLUMN IF NOT EXISTS plan text;\nUPDATE users SET plan = 'free' WHERE id BETWEEN 1 AND 1000;\nCOMMIT;", ["ban-update-in-ddl-transaction"]),
  c("ALTER TABLE users ADD COLUMN IF NOT EXISTS plan text;\nUPDATE users SET plan = 'free' WHERE id < 1000;", ["ban-update-in-ddl-transaction"], inTx),
  c("ALTER TABLE users ADD COLUMN IF NOT EXISTS plan text;\nUPDATE users SET plan = 'free' WHERE id < 1000;"),
  c("UPDATE users SET plan = 'free' WHERE id IN (SELECT id FROM users WHERE plan IS NULL LIMIT 1000);", [], inTx),
  c("UPDATE users SET plan = 'free';", ["unbatched-backfill"]),
  c("UPDATE users SET plan = 'free' WHERE plan IS NULL;", ["unbatched-backfill"]),
  c("DELETE FROM sessions;", ["unbatched-backfill"]),
  c("DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expired LIMIT 5000);"),
  c("UPDATE users SET plan = 'free' WHERE id BETWEEN 1 AND 10000;"),
  // transactions
  c("BEGIN;\nBEGIN;\nSELECT 1;\nCOMMIT;\nCOMMIT;", ["transaction-nesting"]),
  c("BEGIN;\nSELECT 1;\nCOMMIT;", ["transaction-nesting"], inTx),
  c("BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;"),
  c("BEGIN;\nALTER TABLE users ADD COLUMN IF NOT EXISTS bio text;", ["ban-uncommitted-transaction"]),
  c("START TRANSACTION;\nSELECT 1;", ["ban-uncommitted-transaction"]),
  c("BEGIN;\nSELECT 1;\nROLLBACK;"),
  // enum values
  c("ALTER TYPE status ADD VALUE 'paused';\nUPDATE jobs SET status = 'paused' WHERE id = 1;", ["enum-value-used-in-same-transaction"], inTx),
  c("BEGIN;\nALTER TYPE status ADD VALUE 'paused';\nINSERT INTO jobs (status) VALUES ('paused');\nCOMMIT;", ["enum-value-used-in-same-transaction"]),
  c("BEGIN;\nALTER TYPE status ADD VALUE 'paused';\nCOMMIT;\nINSERT INTO jobs (status) VALUES ('paused');"),
  c("ALTER TYPE status ADD VALUE 'paused';\nINSERT INTO jobs (status) VALUES ('paused');"),
  c("BEGIN;\nALTER TYPE status ADD VALUE 'paused';\nCOMMIT;", ["enum-value-used-in-same-transaction"], { options: { pgVersion: 11 } }),
  // identifiers over 63 bytes
  c(`CREATE TABLE IF NOT EXISTS ${"a".repeat(64)} (id bigint);`, ["identifier-too-long"]),
  c(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${"idx_".repeat(16)}x ON users (email);`, ["identifier-too-long"]),
  c(`ALTER TABLE users ADD COLUMN IF NOT EXISTS ${"é".repeat(32)} text;`, ["identifier-too-long"]),
  c(`CREATE TABLE IF NOT EXISTS ${"a".repeat(63)} (id bigint);`),
  c(`ALTER TABLE users ADD COLUMN IF NOT EXISTS ${"é".repeat(31)} text;`),
  // re-runnability
  c(TIMEOUTS + "CREATE TABLE t (id bigint);", ["prefer-robust-stmts"], { all: true }),
  c(TIMEOUTS + "CREATE TABLE IF NOT EXISTS t (id bigint);", [], { all: true }),
  c(TIMEOUTS + "ALTER TABLE users ADD COLUMN bio text;", ["prefer-robust-stmts"], { all: true }),
  c(TIMEOUTS + "DROP INDEX CONCURRENTLY users_email_idx;", ["prefer-robust-stmts"], { all: true }),
  c(TIMEOUTS + "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;", [], { all: true }),
  c(TIMEOUTS + "BEGIN;\nCREATE TABLE t (id bigint);\nALTER TABLE users ADD COLUMN bio text;\nCOMMIT;", [], { all: true }),
  c(TIMEOUTS + "CREATE TABLE t (id bigint);", [], { all: true, ...inTx }),
  c(TIMEOUTS + "ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID;", ["prefer-robust-stmts"], { all: true }),
  c(TIMEOUTS + "ALTER TABLE orders DROP CONSTRAINT IF EXISTS positive;\nALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID;", [], { all: true }),
  // type advice
  c("CREATE TABLE IF NOT EXISTS t (id integer);", ["prefer-bigint-over-int"]),
  c("CREATE TABLE IF NOT EXISTS t (id int4);", ["prefer-bigint-over-int"]),
  c("CREATE TABLE IF NOT EXISTS t (id bigint);"),
  c("CREATE TABLE IF NOT EXISTS t (n smallint);", ["prefer-bigint-over-smallint"]),
  c("CREATE TABLE IF NOT EXISTS t (id serial PRIMARY KEY);", ["prefer-bigint-over-int", "prefer-identity"]),
  c("CREATE TABLE IF NOT EXISTS t (id bigserial PRIMARY KEY);", ["prefer-identity"]),
  c("CREATE TABLE IF NOT EXISTS t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);"),
  c("CREATE TABLE IF NOT EXISTS t (name varchar(100));", ["prefer-text-field"]),
  c("CREATE TABLE IF NOT EXISTS t (name varchar);"),
  c("CREATE TABLE IF NOT EXISTS t (name text);"),
  c("CREATE TABLE IF NOT EXISTS t (at timestamp);", ["prefer-timestamp-tz"]),
  c("CREATE TABLE IF NOT EXISTS t (at timestamp without time zone);", ["prefer-timestamp-tz"]),
  c("CREATE TABLE IF NOT EXISTS t (at timestamptz);"),
  c("CREATE TABLE IF NOT EXISTS t (code char(3));", ["ban-char-field"]),
  c("CREATE TABLE IF NOT EXISTS t (code character(3));", ["ban-char-field"]),
  c("CREATE TABLE IF NOT EXISTS t (code text CHECK (char_length(code) = 3));"),
  // disabling
  c("-- slipway:disable-next-statement ban-drop-column: the column is unused since release 41\nALTER TABLE users DROP COLUMN email;"),
  c("-- slipway:disable-next-statement ban-drop-column reason\nALTER TABLE users DROP COLUMN email;\nALTER TABLE users DROP COLUMN name;", ["ban-drop-column"]),
  c("-- slipway:disable-file ban-drop-column legacy cleanup\nALTER TABLE users DROP COLUMN email;\nALTER TABLE users DROP COLUMN name;"),
  c("-- slipway:disable-next-statement renaming-column reason\nALTER TABLE users DROP COLUMN email;", ["ban-drop-column"]),
  c("ALTER TABLE users DROP COLUMN email;", [], { options: { disable: ["ban-drop-column"] } }),
  c("BEGIN;\nALTER TABLE users ADD COLUMN IF NOT EXISTS plan text;\n-- slipway:disable-next-statement ban-update-in-ddl-transaction small table\nUPDATE users SET plan = 'free' WHERE id = 1;\nCOMMIT;"),
];
