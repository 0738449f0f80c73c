// The migration runner against real PostgreSQL (127.0.0.1:5432, a scratch
// database per test) and PGlite: order, checksums, edited files refused,
// parse errors before anything runs, transactions, phases.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { applyMigrations, appliedMigrations, checksumOf, MigrationError, parseMigrations, readMigrationDir, type MigrationFile } from "./apply.js";
import { connectPostgres, createScratchDatabase, type ScratchDatabase, type SqlClient } from "./database.js";
import { SqlParseError } from "./parse.js";
import { openEmbeddedDatabase } from "./snapshot.js";

const SERVER = process.env.SLIPWAY_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const dirs: string[] = [];
const scratches: ScratchDatabase[] = [];
const clients: SqlClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});
afterAll(async () => {
  for (const s of scratches) await s.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "slipway-migrations-"));
  dirs.push(dir);
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

async function scratchDb(): Promise<SqlClient> {
  const s = await createScratchDatabase(SERVER, "slipway_apply_test");
  scratches.push(s);
  const c = await connectPostgres(s.url);
  clients.push(c);
  return c;
}

const tables = async (db: SqlClient) =>
  (await db.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).map((r) => r.t);

const BASE = {
  "001_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n",
  "002_orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\nINSERT INTO users VALUES (1, 'a@example.com');\n",
};

describe("applyMigrations on PostgreSQL", () => {
  it("applies the files in lexical order, each recorded with its sha256 and phase; a second run applies nothing", async () => {
    const db = await scratchDb();
    const dir = folder({ ...BASE, "010_index.sql": "CREATE INDEX orders_user ON orders (user_id);" });
    const parsed = await parseMigrations(readMigrationDir(dir, "db/migrations"));
    const first = await applyMigrations(db, parsed);
    expect(first.applied.map((a) => [a.version, a.phase])).toEqual([
      ["001_users.sql", "expand"],
      ["002_orders.sql", "data"],
      ["010_index.sql", "expand"],
    ]);
    const rows = await appliedMigrations(db);
    expect(rows.get("001_users.sql")?.checksum).toBe(checksumOf(BASE["001_users.sql"]));
    expect(await tables(db)).toEqual(["orders", "slipway_migrations", "users"]);
    const again = await applyMigrations(db, parsed);
    expect(again.applied).toEqual([]);
    expect(again.upToDate).toBe(3);
  });

  it("refuses a migration edited after it was applied, naming the file and both checksums, and applies nothing", async () => {
    const db = await scratchDb();
    await applyMigrations(db, await parseMigrations(readMigrationDir(folder(BASE), "db/migrations")));
    const edited = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n";
    const dir = folder({ ...BASE, "001_users.sql": edited, "003_more.sql": "CREATE TABLE more (id int);" });
    const err = await applyMigrations(db, await parseMigrations(readMigrationDir(dir, "db/migrations"))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err).toMatchObject({ code: "edited", file: "db/migrations/001_users.sql" });
    const message = (err as Error).message;
    expect(message).toContain(`sha256:${checksumOf(BASE["001_users.sql"])}`);
    expect(message).toContain(`sha256:${checksumOf(edited)}`);
    expect(message).toMatch(/new migration file/);
    expect(await tables(db)).not.toContain("more");
  });

  it("bad SQL in any file is a parse error with file, line and column before anything is applied", async () => {
    const db = await scratchDb();
    const dir = folder({ ...BASE, "003_bad.sql": "CREATE TABLE ok (id int);\nALTER TABLE users ADD COLUMN name text\n  SELEC 1;\n" });
    const err = await parseMigrations(readMigrationDir(dir, "db/migrations")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlParseError);
    expect(err).toMatchObject({ file: "db/migrations/003_bad.sql", line: 3, column: 3 });
    expect(await tables(db)).toEqual([]);
    expect((await appliedMigrations(db)).size).toBe(0);
  });

  it("runs a file in one transaction: a failing statement leaves nothing of it and names file:line:column", async () => {
    const db = await scratchDb();
    const dir = folder({ ...BASE, "003_fails.sql": "CREATE TABLE half (id int);\nALTER TABLE users ADD COLUMN x int;\nALTER TABLE users DROP COLUMN nope;\n" });
    const err = await applyMigrations(db, await parseMigrations(readMigrationDir(dir, "db/migrations"))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "failed", file: "db/migrations/003_fails.sql", line: 3 });
    expect((err as Error).message).toMatch(/42703 column "nope" of relation "users" does not exist/);
    expect((err as Error).message).toMatch(/rolled back/);
    expect(await tables(db)).not.toContain("half");
    expect([...(await appliedMigrations(db)).keys()]).toEqual(["001_users.sql", "002_orders.sql"]);
  });

  it("runs a file with CREATE INDEX CONCURRENTLY outside a transaction", async () => {
    const db = await scratchDb();
    const dir = folder({ ...BASE, "003_idx.sql": "CREATE INDEX CONCURRENTLY users_email ON users (email);\n" });
    const parsed = await parseMigrations(readMigrationDir(dir, "db/migrations"));
    expect(parsed[2]).toMatchObject({ transactional: false, nonTransactionalReason: "CREATE INDEX CONCURRENTLY at line 1" });
    const res = await applyMigrations(db, parsed);
    expect(res.applied.map((a) => [a.version, a.transactional])).toContainEqual(["003_idx.sql", false]);
    expect(await db.query("SELECT 1 FROM pg_indexes WHERE indexname = 'users_email'")).toHaveLength(1);
  });

  it("applies only the phases asked for: expand and data first, contract later", async () => {
    const db = await scratchDb();
    const dir = folder({ ...BASE, "003_drop.sql": "ALTER TABLE users DROP COLUMN email;\n", "004_add.sql": "ALTER TABLE users ADD COLUMN name text;\n" });
    const parsed = await parseMigrations(readMigrationDir(dir, "db/migrations"));
    const before = await applyMigrations(db, parsed, { phases: ["expand", "data"] });
    expect(before.applied.map((a) => a.version)).toEqual(["001_users.sql", "002_orders.sql", "004_add.sql"]);
    expect(before.pending).toEqual([{ version: "003_drop.sql", file: "db/migrations/003_drop.sql", phase: "contract" }]);
    const after = await applyMigrations(db, parsed, { phases: ["contract"] });
    expect(after.applied.map((a) => a.version)).toEqual(["003_drop.sql"]);
    expect(await db.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email'")).toHaveLength(0);
  });

  it("a missing folder is an error that names it and the fix", () => {
    expect(() => readMigrationDir("/nonexistent/slipway", "db/migrations")).toThrow(/cannot read the migrations folder db\/migrations: .*--dir/);
  });
});

describe("applyMigrations on PGlite", () => {
  it("applies, records and refuses an edited file through the same interface", async () => {
    const cache = join(tmpdir(), "slipway-test-pglite-cache");
    const { client: db } = await openEmbeddedDatabase(cache);
    clients.push(db);
    const files: MigrationFile[] = Object.entries(BASE).map(([version, sql]) => ({ version, file: `m/${version}`, sql }));
    const res = await applyMigrations(db, await parseMigrations(files));
    expect(res.applied).toHaveLength(2);
    expect(await tables(db)).toEqual(["orders", "slipway_migrations", "users"]);
    const edited = files.map((f) => (f.version === "002_orders.sql" ? { ...f, sql: f.sql + "-- changed\n" } : f));
    await expect(applyMigrations(db, await parseMigrations(edited))).rejects.toThrow(/m\/002_orders\.sql: this migration was applied .* checksum sha256:/);
  });
});
