// verify against a real git repository made here (two commits: the previous
// release creates `users` and selects `email`; the new commit drops it), on
// PGlite and on real PostgreSQL (127.0.0.1:5432, with the lock check).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connectPostgres } from "./database.js";
import { SqlParseError } from "./parse.js";
import { verifyMigrations } from "./verify.js";

const SERVER = process.env.SLIPWAY_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const CACHE = join(tmpdir(), "slipway-test-pglite-cache");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function git(cwd: string, ...args: string[]): string {
  const env = { ...process.env, GIT_AUTHOR_NAME: "T", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "T", GIT_COMMITTER_EMAIL: "t@example.com" };
  return execFileSync("git", args, { cwd, env, encoding: "utf8" }).trim();
}

function commit(dir: string, files: Record<string, string>, message: string): string {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", message);
  return git(dir, "rev-parse", "HEAD");
}

/** The repository of the "must show" case: release 1 selects users.email; HEAD drops it. */
export function dropColumnRepo(): { dir: string; previous: string } {
  const dir = mkdtempSync(join(tmpdir(), "slipway-verify-"));
  dirs.push(dir);
  git(dir, "init", "-q", "-b", "main");
  const previous = commit(
    dir,
    {
      "db/migrations/001_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);\n",
      "db/migrations/002_seed.sql": "INSERT INTO users VALUES (1, 'a@example.com', 'A');\n",
      "db/migrations/queries/users.sql": "-- the user page\nSELECT id, name FROM users WHERE id = $1;\nSELECT id, email FROM users WHERE id = $1;\n",
      "db/migrations/queries/signup.sql": "INSERT INTO users (id, name) VALUES ($1, $2);\n",
    },
    "release 1",
  );
  commit(dir, { "db/migrations/003_drop_email.sql": "ALTER TABLE users ADD COLUMN nickname text;\nALTER TABLE users DROP COLUMN email;\n" }, "drop email");
  return { dir, previous };
}

describe("verifyMigrations", () => {
  it("on PGlite: the dropped column the previous release selects is a failure naming the query, 42703 and the dropping statement", async () => {
    const { dir, previous } = dropColumnRepo();
    const report = await verifyMigrations({ repoDir: dir, previous, dir: "db/migrations", queriesDir: "db/migrations/queries", dataDir: CACHE });
    expect(report.verdict).toBe("fail");
    expect(report.engine).toBe("pglite");
    expect(report.previous.migrations).toEqual(["db/migrations/001_users.sql", "db/migrations/002_seed.sql"]);
    expect(report.newMigrations).toEqual([{ file: "db/migrations/003_drop_email.sql", phase: "contract" }]);
    expect(report.failures).toEqual([
      {
        query: { file: "db/migrations/queries/users.sql", line: 3, column: 1, text: "SELECT id, email FROM users WHERE id = $1" },
        error: { code: "42703", message: 'column "email" does not exist', position: expect.any(Number), line: 3, column: 12 },
        cause: { file: "db/migrations/003_drop_email.sql", line: 2, column: 1, text: "ALTER TABLE users DROP COLUMN email", phase: "contract" },
      },
    ]);
    expect(report.lockCheck).toMatchObject({ ran: false, note: expect.stringMatching(/PGlite allows one connection/) });
  });

  it("on real PostgreSQL: the same failure, a scratch database dropped afterwards, and lock waits naming the lock mode and the blocking statement", async () => {
    const { dir, previous } = dropColumnRepo();
    const report = await verifyMigrations({ repoDir: dir, previous, dir: "db/migrations", queriesDir: "db/migrations/queries", dataDir: CACHE, database: SERVER });
    expect(report.engine).toBe("postgres");
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({
      query: { file: "db/migrations/queries/users.sql", line: 3 },
      error: { code: "42703", message: 'column "email" does not exist' },
      cause: { file: "db/migrations/003_drop_email.sql", line: 2, text: "ALTER TABLE users DROP COLUMN email" },
    });
    expect(report.lockCheck.ran).toBe(true);
    expect(report.lockCheck.waits.map((w) => [w.file, w.line, w.lockMode, w.lockType, w.relation])).toEqual([
      ["db/migrations/003_drop_email.sql", 1, "AccessExclusiveLock", "relation", "users"],
      ["db/migrations/003_drop_email.sql", 2, "AccessExclusiveLock", "relation", "users"],
    ]);
    expect(report.lockCheck.waits[0]?.blockingStatement).toBe('SELECT 1 FROM "users" LIMIT 1 FOR UPDATE');
    expect(report.lockCheck.waits[0]?.blockingState).toBe("idle in transaction");
    const admin = await connectPostgres(SERVER);
    try {
      expect(await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [report.startup.database])).toHaveLength(0);
    } finally {
      await admin.close();
    }
  });

  it("passes when the new migrations only expand, and is inconclusive without queries", async () => {
    const { dir, previous } = dropColumnRepo();
    rmSync(join(dir, "db/migrations/003_drop_email.sql"));
    writeFileSync(join(dir, "db/migrations/003_add.sql"), "ALTER TABLE users ADD COLUMN nickname text;\n");
    const ok = await verifyMigrations({ repoDir: dir, previous, dir: "db/migrations", queriesDir: "db/migrations/queries", dataDir: CACHE });
    expect(ok).toMatchObject({ verdict: "pass", failures: [], problems: [] });
    const none = await verifyMigrations({ repoDir: dir, previous, dir: "db/migrations", queriesDir: "db/nothing", dataDir: CACHE });
    expect(none.verdict).toBe("inconclusive");
  });

  it("bad SQL in a new migration is a parse error with file, line and column before any database starts", async () => {
    const { dir, previous } = dropColumnRepo();
    writeFileSync(join(dir, "db/migrations/004_bad.sql"), "ALTER TABLE users\n  ADD COLUM x int;\n");
    const err = await verifyMigrations({ repoDir: dir, previous, dir: "db/migrations", queriesDir: "db/migrations/queries", dataDir: CACHE, database: "postgres://nobody@127.0.0.1:1/none" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlParseError);
    expect(err).toMatchObject({ file: "db/migrations/004_bad.sql", line: 2, column: 15 });
    expect((err as Error).message).toBe('db/migrations/004_bad.sql:2:15: syntax error at or near "int"');
  });

  it("reads the repository through a symbolic link to it (-C <symlink>), and a missing migrations folder is a read error", async () => {
    const { dir, previous } = dropColumnRepo();
    const link = join(mkdtempSync(join(tmpdir(), "slipway-verify-link-")), "repo");
    dirs.push(dirname(link));
    symlinkSync(dir, link);
    const report = await verifyMigrations({ repoDir: link, previous, dir: "db/migrations", queriesDir: "db/migrations/queries", dataDir: CACHE });
    expect(report.verdict).toBe("fail");
    expect(report.previous.migrations).toEqual(["db/migrations/001_users.sql", "db/migrations/002_seed.sql"]);
    expect(report.failures.map((f) => [f.query.file, f.query.line, f.error.code, f.cause?.file, f.cause?.line])).toEqual([["db/migrations/queries/users.sql", 3, "42703", "db/migrations/003_drop_email.sql", 2]]);
    // From a symbolic link into the repository, folders are relative to it.
    const sub = join(dirname(link), "db");
    symlinkSync(join(dir, "db"), sub);
    const fromSub = await verifyMigrations({ repoDir: sub, previous, dir: "migrations", queriesDir: "migrations/queries", dataDir: CACHE });
    expect(fromSub.failures.map((f) => f.query.file)).toEqual(["db/migrations/queries/users.sql"]);
    await expect(verifyMigrations({ repoDir: link, previous, dir: "db/nothing", queriesDir: "db/nothing/queries", dataDir: CACHE })).rejects.toMatchObject({ code: "read", message: expect.stringMatching(/^cannot read the migrations folder db\/nothing/) });
  });

  it("an edited migration of the previous release and an unknown revision are reported", async () => {
    const { dir, previous } = dropColumnRepo();
    writeFileSync(join(dir, "db/migrations/001_users.sql"), "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text NOT NULL);\n");
    const report = await verifyMigrations({ repoDir: dir, previous, dir: "db/migrations", queriesDir: "db/migrations/queries", dataDir: CACHE });
    expect(report.problems).toContainEqual({ file: "db/migrations/001_users.sql", message: expect.stringMatching(/^edited since .*: an applied migration must not change/) });
    await expect(verifyMigrations({ repoDir: dir, previous: "v9.9.9", dir: "db/migrations", queriesDir: "q", dataDir: CACHE })).rejects.toThrow(/--previous v9\.9\.9: no such commit/);
  });
});
