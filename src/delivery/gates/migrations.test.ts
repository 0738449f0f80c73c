import { describe, expect, it } from "vitest";
import { evaluateMigrationGate, type ContractChange, type MigrationGateInput, type RunningRelease } from "./migrations.js";

const DROP_EMAIL: ContractChange = {
  version: "003_drop_email.sql",
  file: "db/migrations/003_drop_email.sql",
  line: 2,
  column: 1,
  text: "ALTER TABLE users DROP COLUMN email",
  why: "drops column users.email",
  targets: [{ table: "users", column: "email" }],
};
const OLD: RunningRelease = {
  release: "web#1",
  migrations: ["001_users.sql"],
  uses: [
    { table: "users", file: "db/queries/users.sql", line: 3 },
    { table: "users", column: "email", file: "db/queries/users.sql", line: 3 },
  ],
};
const MIDDLE: RunningRelease = { release: "web#2", migrations: ["001_users.sql"], uses: [{ table: "users", column: "name", file: "db/queries/users.sql", line: 2 }] };
const input = (running: RunningRelease[], contract = [DROP_EMAIL]): MigrationGateInput => ({ env: "prod", release: "web#3", contract, running });
const BLOCK = { apply: true, unsafe: "block" } as const;

describe("evaluateMigrationGate", () => {
  it("blocks a contract migration while a release that uses what it drops still runs, naming the statement and the release", () => {
    const v = evaluateMigrationGate(BLOCK, input([OLD]));
    expect(v.open).toBe(false);
    expect(v.reason).toBe(
      "migrations: contract migration db/migrations/003_drop_email.sql:2:1 (ALTER TABLE users DROP COLUMN email) changes users.email while web#1, which predates it, " +
        "still runs in prod: its query db/queries/users.sql:3 uses users.email; promote it after web#1 has left prod (first deploy a release that no longer uses what the migration changes), " +
        "or move the contract migration to a later release",
    );
  });

  it("lets it through once the old release has left (nothing runs, or only a release that no longer uses the column)", () => {
    expect(evaluateMigrationGate(BLOCK, input([]))).toMatchObject({ open: true, blockers: [] });
    const v = evaluateMigrationGate(BLOCK, input([MIDDLE]));
    expect(v.open).toBe(true);
    expect(v.reason).toMatch(/contract migration db\/migrations\/003_drop_email\.sql runs after the rollout/);
  });

  it("counts SELECT * and a dropped table as uses; schema-qualified names match", () => {
    const star: RunningRelease = { release: "web#1", migrations: [], uses: [{ table: "public.users", column: "*", file: "q.sql", line: 1 }] };
    expect(evaluateMigrationGate(BLOCK, input([star])).reason).toMatch(/its query q\.sql:1 uses public\.users \(SELECT \*\)/);
    const dropTable: ContractChange = { ...DROP_EMAIL, text: "DROP TABLE users", targets: [{ table: "users" }] };
    expect(evaluateMigrationGate(BLOCK, input([MIDDLE], [dropTable])).open).toBe(false);
  });

  it("a running release whose queries are unknown counts as using it: never silently green", () => {
    const v = evaluateMigrationGate(BLOCK, input([{ release: "web#1", migrations: [], unknown: "it has no queries in db/queries at abc123" }]));
    expect(v.open).toBe(false);
    expect(v.reason).toMatch(/web#1, which predates it, still runs in prod: it has no queries in db\/queries at abc123, so it counts as using it/);
  });

  it("a running release that already has the migration is not on the old schema", () => {
    expect(evaluateMigrationGate(BLOCK, input([{ ...OLD, migrations: ["001_users.sql", "003_drop_email.sql"] }])).open).toBe(true);
  });

  it("unsafe: warn lets it through with the reason as a warning; no contract migration is open", () => {
    const v = evaluateMigrationGate({ apply: true, unsafe: "warn" }, input([OLD]));
    expect(v.open).toBe(true);
    expect(v.reason).toMatch(/^migrations \(warning, unsafe: warn\): contract migration db\/migrations\/003_drop_email\.sql:2:1/);
    expect(evaluateMigrationGate(BLOCK, input([OLD], []))).toEqual({ open: true, reason: "migrations: no contract migration", blockers: [] });
  });
});
