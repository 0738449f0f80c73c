// The shared Store suite on PostgreSQL (127.0.0.1:5432): a fresh database per
// test, made and dropped here. Plus what only PostgreSQL has: its schema
// version, a bad URL, and two connections (two server replicas) leasing from
// one queue without ever leasing a job twice.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { migrations, postgresMigrations } from "./migrations/index.js";
import { PgSyncClient } from "./pg-sync.js";
import { openPostgresStore, type PostgresStore } from "./postgres-store.js";
import { openStore } from "./sqlite-store.js";
import { describeStore } from "./store.case.js";
import { StoreError } from "./store.js";

const SERVER = process.env.SLIPWAY_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const admin = new PgSyncClient(SERVER);
const made: string[] = [];
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "slipway-pg-store-"));

function urlOf(name: string): string {
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

// Each test's store in a schema of its own in one database (the connection's search_path): much
// faster than CREATE DATABASE per test, which makes PostgreSQL checkpoint each time.
const DATABASE = `slipway_store_${process.pid}`;
admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
admin.query(`CREATE DATABASE ${DATABASE}`);
made.push(DATABASE);
const inDatabase = new PgSyncClient(urlOf(DATABASE));
let schemas = 0;

/** A new empty place for a store (a schema, or a database of its own with `database`); its URL. */
function freshDatabase(options: { database?: boolean } = {}): string {
  if (options.database) {
    const name = `slipway_store_${process.pid}_db${made.length}`;
    admin.query(`DROP DATABASE IF EXISTS ${name}`);
    admin.query(`CREATE DATABASE ${name}`);
    made.unshift(name);
    return urlOf(name);
  }
  const schema = `s${++schemas}`;
  inDatabase.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(urlOf(DATABASE));
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}

afterAll(() => {
  inDatabase.close();
  for (const name of made) admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  admin.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describeStore("PostgresStore", () => openPostgresStore(freshDatabase(), dataDir));

describe("PostgresStore", () => {
  it("makes its schema in an empty database (version 13) and opens an existing one again", () => {
    const url = freshDatabase({ database: true });
    const first = openPostgresStore(url, dataDir);
    const run = first.createRun({ workflowPath: ".github/workflows/ci.yml", workflowName: "CI", event: "push", ref: "refs/heads/main", sha: "0".repeat(40) });
    expect(first.appliedMigrations()).toEqual([13]);
    first.close();
    const again = openPostgresStore(url, dataDir);
    try {
      expect(again.getRun(run.id)?.workflowName).toBe("CI");
    } finally {
      again.close();
    }
  });

  it("has the SQLite schema's tables and columns, with a PostgreSQL twin of every SQLite migration after its baseline", () => {
    // The twin rule (migrations/index.ts): the same versions past the baseline, and the same last version.
    const baseline = postgresMigrations[0]?.version ?? 0;
    expect(postgresMigrations.map((m) => m.version)).toEqual(migrations.filter((m) => m.version >= baseline).map((m) => m.version));
    const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), "slipway-schema-"));
    openStore(sqliteDir).close();
    const lite = new Database(path.join(sqliteDir, "slipway.db"), { readonly: true });
    const sqlite: Record<string, string[]> = {};
    try {
      for (const { name } of lite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]) {
        sqlite[name] = (lite.prepare(`PRAGMA table_info(${name})`).all() as { name: string }[]).map((c) => c.name).sort();
      }
    } finally {
      lite.close();
      fs.rmSync(sqliteDir, { recursive: true, force: true });
    }
    const url = freshDatabase();
    openPostgresStore(url, dataDir).close();
    const client = new PgSyncClient(url);
    const postgres: Record<string, string[]> = {};
    try {
      const rows = client.query("SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY t, c").rows as { t: string; c: string }[];
      for (const r of rows) (postgres[r.t] ??= []).push(r.c);
    } finally {
      client.close();
    }
    for (const cols of Object.values(postgres)) cols.sort();
    expect(Object.keys(sqlite).length).toBeGreaterThan(10);
    expect(postgres).toEqual(sqlite);
  });

  it("refuses a database it cannot reach, naming the URL (without its password) and the fix", () => {
    let caught: unknown;
    try {
      openPostgresStore("postgres://postgres:sekrit@127.0.0.1:5432/slipway_no_such_database", dataDir);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StoreError);
    expect((caught as Error).message).toMatch(/cannot connect to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/slipway_no_such_database: .*does not exist .*--database/);
    expect((caught as Error).message).not.toContain("sekrit");
  });

  it("two connections (two server replicas) lease from one queue: every job once, none twice", () => {
    const url = freshDatabase();
    const a: PostgresStore = openPostgresStore(url, dataDir);
    const b: PostgresStore = openPostgresStore(url, dataDir);
    try {
      const run = a.createRun({ workflowPath: ".github/workflows/ci.yml", workflowName: "CI", event: "push", ref: "refs/heads/main", sha: "0".repeat(40) });
      const jobs = Array.from({ length: 40 }, (_, i) => a.createJob({ runId: run.id, jobKey: `j${i}`, name: `j${i}`, matrix: null, attempt: 1, environment: null }));
      for (const j of jobs) a.enqueueJob({ jobId: j.id, runId: run.id, labels: [], payload: "{}", secrets: null });
      const leased: number[] = [];
      for (let i = 0; i < 60; i++) {
        const store = i % 2 === 0 ? a : b;
        const q = store.leaseJob(`agent-${i % 2}`, [], 30_000);
        if (q) leased.push(q.jobId);
      }
      expect(leased.sort((x, y) => x - y)).toEqual(jobs.map((j) => j.id));
    } finally {
      a.close();
      b.close();
    }
  });
});
