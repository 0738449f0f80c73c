import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { migrations, type Migration } from "./migrations/index.js";
import { BUSY_TIMEOUT_MS, DATABASE_FILE, openStore, type SqliteStore } from "./sqlite-store.js";
import { describeStore } from "./store.case.js";
import { StoreError } from "./store.js";

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slipway-store-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describeStore("SqliteStore", () => openStore(tempDir()));

describe("SqliteStore on disk", () => {
  const open: SqliteStore[] = [];
  function openTracked(dir: string, opts?: Parameters<typeof openStore>[1]): SqliteStore {
    const s = openStore(dir, opts);
    open.push(s);
    return s;
  }
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });

  /** A separate connection, as another process would have. */
  function raw(dir: string): Database.Database {
    return new Database(path.join(dir, DATABASE_FILE), { readonly: true });
  }

  it("creates <dataDir>/slipway.db, the directory 0700 and the file 0600", () => {
    const dir = path.join(tempDir(), "nested", "data");
    openTracked(dir);
    expect(fs.existsSync(path.join(dir, DATABASE_FILE))).toBe(true);
    if (process.platform !== "win32") {
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      expect(fs.statSync(path.join(dir, DATABASE_FILE)).mode & 0o777).toBe(0o600);
    }
  });

  it("numbers migrations 1, 2, 3… without gaps", () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    for (const m of migrations) expect(m.sql.trim().length).toBeGreaterThan(0);
  });

  it("records each applied migration once in schema_migrations", () => {
    const dir = tempDir();
    const t = new Date("2030-01-02T03:04:05.678Z");
    const store = openTracked(dir, { now: () => t });
    expect(store.appliedMigrations()).toEqual(migrations.map((m) => m.version));
    store.close();
    openTracked(dir).close();
    const db = raw(dir);
    try {
      const rows = db.prepare("SELECT version, name, applied_at FROM schema_migrations ORDER BY version").all();
      expect(rows).toEqual(migrations.map((m) => ({ version: m.version, name: m.name, applied_at: t.toISOString() })));
    } finally {
      db.close();
    }
  });

  it("keeps data when an existing database is opened again", () => {
    const dir = tempDir();
    const a = openTracked(dir);
    const run = a.createRun({ workflowPath: "ci.yml", workflowName: "CI", event: "push", ref: "refs/heads/main", sha: "a".repeat(40) });
    const job = a.createJob({ runId: run.id, jobKey: "build", name: "build", matrix: null, attempt: 1, environment: null });
    a.finishJob(job.id, { conclusion: "success", outputs: { out: "1" } });
    a.finishRun(run.id, { conclusion: "success" });
    a.putSecret("TOKEN", "", Buffer.from([1, 2, 3]));
    a.putVariable("REGION", "", "eu");
    a.close();

    const b = openTracked(dir);
    expect(b.getRun(run.id)).toMatchObject({ conclusion: "success" });
    expect(b.listJobs(run.id)[0]).toMatchObject({ outputs: JSON.stringify({ out: "1" }) });
    expect(b.getSecret("TOKEN", "")!.ciphertext).toEqual(Buffer.from([1, 2, 3]));
    expect(b.listVariables()).toHaveLength(1);
    // New ids continue after the old ones.
    expect(b.createRun({ workflowPath: "x", workflowName: "x", event: "push", ref: "r", sha: "s" }).id).toBeGreaterThan(run.id);
  });

  it("sees what a process that died without closing had committed", () => {
    const dir = tempDir();
    const crashed = openStore(dir); // never closed, like a killed process
    const run = crashed.createRun({ workflowPath: "ci.yml", workflowName: "CI", event: "push", ref: "r", sha: "s" });
    crashed.startRun(run.id);
    const job = crashed.createJob({ runId: run.id, jobKey: "a", name: "a", matrix: null, attempt: 1, environment: null });
    crashed.startJob(job.id, "a.log");
    crashed.createStep(job.id, 1, "step", "a-1.log");

    const restarted = openTracked(dir);
    expect(restarted.recoverInterrupted("the server stopped while this run was in progress")).toBe(1);
    expect(restarted.getRun(run.id)).toMatchObject({
      conclusion: "cancelled",
      reason: "the server stopped while this run was in progress",
    });
    expect(restarted.listSteps(job.id)[0]).toMatchObject({ outcome: "cancelled", conclusion: "cancelled" });
    crashed.close();
  });

  it("uses WAL journal mode", () => {
    const dir = tempDir();
    const store = openTracked(dir);
    store.createRun({ workflowPath: "x", workflowName: "x", event: "push", ref: "r", sha: "s" });
    expect(fs.existsSync(path.join(dir, `${DATABASE_FILE}-wal`))).toBe(true);
    const db = raw(dir);
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    } finally {
      db.close();
    }
  });

  it("waits (busy_timeout) for another connection's write lock instead of failing", async () => {
    expect(BUSY_TIMEOUT_MS).toBeGreaterThanOrEqual(1000);
    const dir = tempDir();
    const store = openTracked(dir);
    expect(store.settings()).toEqual({
      journalMode: "wal",
      busyTimeoutMs: BUSY_TIMEOUT_MS,
      foreignKeys: true,
      synchronous: "normal",
    });
    const holdMs = 400;
    const signal = new Int32Array(new SharedArrayBuffer(4));
    // Another thread takes the write lock, tells us, holds it, then commits.
    const worker = new Worker(
      `const { workerData } = require("node:worker_threads");
       const Database = require(workerData.module);
       const db = new Database(workerData.file);
       db.pragma("busy_timeout = 5000");
       db.exec("BEGIN IMMEDIATE");
       db.prepare("INSERT INTO variables (environment, name, value, updated_at) VALUES ('', 'HELD', 'x', 'now')").run();
       Atomics.store(workerData.signal, 0, 1);
       Atomics.notify(workerData.signal, 0);
       Atomics.wait(workerData.signal, 0, 1, workerData.holdMs);
       db.exec("COMMIT");
       db.close();`,
      {
        eval: true,
        workerData: {
          module: createRequire(import.meta.url).resolve("better-sqlite3"),
          file: path.join(dir, DATABASE_FILE),
          signal,
          holdMs,
        },
      },
    );
    const exited = new Promise<number>((resolve, reject) => {
      worker.once("error", reject);
      worker.once("exit", resolve);
    });
    expect(Atomics.wait(signal, 0, 0, 10_000)).not.toBe("timed-out");

    const t0 = performance.now();
    store.putVariable("MINE", "", "y"); // blocks until the worker commits
    const waited = performance.now() - t0;
    expect(await exited).toBe(0);
    expect(waited).toBeGreaterThan(holdMs / 2);
    expect(store.listVariables().map((v) => v.name)).toEqual(["HELD", "MINE"]);
  });

  it("applies a new migration on open, in order, once", () => {
    const dir = tempDir();
    openTracked(dir).close();
    const next: Migration = { version: migrations.length + 1, name: "test-extra", sql: "CREATE TABLE extra (x TEXT) STRICT;" };
    const store = openTracked(dir, { migrations: [...migrations, next] });
    expect(store.appliedMigrations()).toEqual([...migrations.map((m) => m.version), next.version]);
    store.close();
    openTracked(dir, { migrations: [...migrations, next] }).close();
    const db = raw(dir);
    try {
      expect(db.prepare("SELECT count(*) AS n FROM schema_migrations WHERE version = ?").get(next.version)).toEqual({ n: 1 });
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'extra'").get()).toEqual({ name: "extra" });
    } finally {
      db.close();
    }
  });

  it("upgrades a database at version 4 to 5 (server), keeping its runs, their repository NULL", () => {
    // A database as Slipway before migration 5 left it: migrations 1–4 applied, two runs.
    const dir = tempDir();
    const file = path.join(dir, DATABASE_FILE);
    const old = new Database(file);
    old.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT");
    for (const m of migrations.filter((m) => m.version <= 4)) {
      old.exec(m.sql);
      old.prepare("INSERT INTO schema_migrations VALUES (?, ?, '2030-01-01T00:00:00.000Z')").run(m.version, m.name);
    }
    const insert = old.prepare(
      `INSERT INTO runs (workflow_path, workflow_name, event, ref, sha, status, conclusion, created_at, owner)
       VALUES ('.github/workflows/ci.yml', 'CI', 'push', 'refs/heads/main', ?, ?, ?, '2030-01-01T00:00:00.000Z', 'host:1')`,
    );
    const done = Number(insert.run("a".repeat(40), "completed", "success").lastInsertRowid);
    const queued = Number(insert.run("b".repeat(40), "queued", null).lastInsertRowid);
    old.close();

    const store = openTracked(dir);
    expect(store.appliedMigrations()).toEqual(migrations.map((m) => m.version));
    expect(store.getRun(done)).toMatchObject({ sha: "a".repeat(40), conclusion: "success", owner: "host:1", repository: null });
    expect(store.getRun(queued)).toMatchObject({ status: "queued", repository: null });
    expect(store.listRuns().map((r) => r.id)).toEqual([queued, done]);
    // Old runs count for the workflow as a whole, not for any repository.
    expect(store.countRuns(".github/workflows/ci.yml")).toBe(2);
    expect(store.countRuns(".github/workflows/ci.yml", "local/app")).toBe(0);
    const run = store.createRun({ workflowPath: ".github/workflows/ci.yml", workflowName: "CI", event: "push", ref: "r", sha: "s", repository: "local/app" });
    expect(run.id).toBeGreaterThan(queued);
    expect(store.listRuns({ repository: "local/app" }).map((r) => r.id)).toEqual([run.id]);
    expect(store.countRuns(".github/workflows/ci.yml", "local/app")).toBe(1);
    expect(store.countTokens()).toBe(0);
    const db = raw(dir);
    try {
      expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'runs_by_repository'").get()).toEqual({ name: "runs_by_repository" });
    } finally {
      db.close();
    }
  });

  it("keeps only the hash of a token, and only a sha256 hex hash", () => {
    const dir = tempDir();
    const store = openTracked(dir);
    const hash = "0123456789abcdef".repeat(4);
    store.createToken({ name: "ci", role: "developer", hash });
    expect(() => store.createToken({ name: "bad", role: "developer", hash: "ABC" })).toThrow(RangeError);
    expect(() => store.createToken({ name: "bad", role: "owner" as never, hash: "f".repeat(64) })).toThrow(/role must be one of viewer, developer, release-manager, admin/);
    const db = raw(dir);
    try {
      expect(db.prepare("SELECT name, role, hash FROM api_tokens").all()).toEqual([{ name: "ci", role: "developer", hash }]);
    } finally {
      db.close();
    }
    // The schema refuses them too, whatever writes to it.
    const rw = new Database(path.join(dir, DATABASE_FILE));
    try {
      const insert = rw.prepare("INSERT INTO api_tokens (name, role, hash, created_at) VALUES ('x', ?, ?, 'now')");
      expect(() => insert.run("owner", "e".repeat(64))).toThrow(/CHECK constraint failed/);
      expect(() => insert.run("admin", "token-in-clear")).toThrow(/CHECK constraint failed/);
      expect(() => insert.run("admin", "E".repeat(64))).toThrow(/CHECK constraint failed/);
    } finally {
      rw.close();
    }
  });

  it("rolls back a failing migration completely and names it", () => {
    const dir = tempDir();
    const run = openTracked(dir);
    run.putVariable("KEEP", "", "me");
    run.close();
    const broken: Migration = {
      version: migrations.length + 1,
      name: "broken",
      sql: "CREATE TABLE half (x TEXT); DELETE FROM variables; CREATE TABLE oops (",
    };
    let caught: unknown;
    try {
      openStore(dir, { migrations: [...migrations, broken] });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StoreError);
    expect((caught as StoreError).code).toBe("schema");
    expect((caught as Error).message).toMatch(new RegExp(`migration 0*${broken.version}-broken failed`));

    const store = openTracked(dir);
    expect(store.appliedMigrations()).toEqual(migrations.map((m) => m.version));
    expect(store.listVariables().map((v) => v.name)).toEqual(["KEEP"]);
    const db = raw(dir);
    try {
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    } finally {
      db.close();
    }
  });

  it("refuses a database migrated by a newer Slipway", () => {
    const dir = tempDir();
    const future: Migration = { version: migrations.length + 1, name: "future", sql: "CREATE TABLE future (x TEXT);" };
    openTracked(dir, { migrations: [...migrations, future] }).close();
    const n = migrations.length;
    expect(() => openStore(dir)).toThrow(`schema version ${n + 1}, but this Slipway knows only up to ${n}: upgrade Slipway`);
  });

  it("refuses a file that is not a SQLite database, without changing it", () => {
    const dir = tempDir();
    const file = path.join(dir, DATABASE_FILE);
    fs.writeFileSync(file, "this is not a database, it is a text file of some length....".repeat(20));
    const before = fs.readFileSync(file);
    expect(() => openStore(dir)).toThrow(/not a database/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it("uses the injected clock for every timestamp", () => {
    const start = Date.parse("2031-05-06T07:08:09.000Z");
    let t = start;
    const store = openTracked(tempDir(), { now: () => new Date((t += 1000)) });
    const run = store.createRun({ workflowPath: "x", workflowName: "x", event: "push", ref: "r", sha: "s" });
    store.startRun(run.id);
    store.finishRun(run.id, { conclusion: "success" });
    // One tick went to recording each migration.
    const tick = (n: number) => new Date(start + (migrations.length + n) * 1000).toISOString();
    expect(store.getRun(run.id)).toMatchObject({ createdAt: tick(1), startedAt: tick(2), completedAt: tick(3) });
  });
});
