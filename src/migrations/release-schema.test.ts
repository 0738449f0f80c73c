// The migration gate's readers: a release's migrations and the schema its queries use, as of a commit, cached per commit and folder.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { contractChanges, defaultQueriesDir, locateRepo, releaseMigrations, releaseQueries, ReleaseSchemaCache } from "./release-schema.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function git(cwd: string, ...args: string[]): string {
  const env = { ...process.env, GIT_AUTHOR_NAME: "T", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "T", GIT_COMMITTER_EMAIL: "t@example.com" };
  return execFileSync("git", args, { cwd, env, encoding: "utf8" }).trim();
}

function commit(dir: string, files: Record<string, string>): string {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "c");
  return git(dir, "rev-parse", "HEAD");
}

describe("release-schema", () => {
  const dir = mkdtempSync(join(tmpdir(), "slipway-release-schema-"));
  dirs.push(dir);
  git(dir, "init", "-q", "-b", "main");
  const first = commit(dir, {
    "db/migrations/001_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n",
    "db/migrations/queries/users.sql": "SELECT u.id, u.email FROM users u WHERE u.id = $1;\n",
  });
  const second = commit(dir, { "db/migrations/002_drop.sql": "ALTER TABLE users DROP COLUMN email;\n" });

  it("reads a commit's migrations and its queries' uses; the default queries folder is <dir>/queries", async () => {
    const repo = await locateRepo(dir);
    const mine = await releaseMigrations(repo, second, "db/migrations");
    expect(mine.missingCommit).toBeUndefined();
    expect(mine.migrations.map((m) => m.file)).toEqual(["db/migrations/001_users.sql", "db/migrations/002_drop.sql"]);
    expect(contractChanges(mine.migrations)).toMatchObject([{ version: "002_drop.sql", line: 1, targets: [{ table: "users", column: "email" }] }]);
    const theirs = await releaseQueries(repo, first, defaultQueriesDir("db/migrations/"));
    expect(theirs.uses).toContainEqual({ table: "users", column: "email", file: "db/migrations/queries/users.sql", line: 1 });
    expect(await releaseQueries(repo, first, "db/none")).toEqual({ unknown: `it has no queries in db/none at ${first.slice(0, 12)}` });
  });

  it("keeps what it read per commit and folder, but not a missing commit (it may be fetched later)", async () => {
    const repo = await locateRepo(dir);
    const cache = new ReleaseSchemaCache();
    const a = await releaseMigrations(repo, first, "db/migrations", cache);
    expect(await releaseMigrations(repo, first, "db/migrations", cache)).toBe(a);
    expect(await releaseMigrations(repo, second, "db/migrations", cache)).not.toBe(a);
    const q = await releaseQueries(repo, first, "db/migrations/queries", cache);
    expect(await releaseQueries(repo, first, "db/migrations/queries", cache)).toBe(q);
    const gone = "0".repeat(40);
    const missing = await releaseMigrations(repo, gone, "db/migrations", cache);
    expect(missing).toEqual({ migrations: [], missingCommit: `its commit ${gone.slice(0, 12)} is not in the repository at ${repo.root}` });
    expect(await releaseMigrations(repo, gone, "db/migrations", cache)).not.toBe(missing);
  });
});
