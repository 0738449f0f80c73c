// Migrations in delivery, with real parts: a git repository whose releases
// carry SQL migrations, the control loop deploying them as supervised
// processes, and a real PostgreSQL (127.0.0.1:5432, a scratch database made
// and dropped here). The expand and data migrations of a release are applied
// before its rollout starts, its contract migrations only after the rollout
// has succeeded; a migration PostgreSQL refuses stops the rollout from
// starting, with the reason, and the release running keeps running. A
// contract migration that fails after the rollout (here: it cannot get its
// lock) alerts once, is retried with backoff, and resolves the alert when
// it applies.
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ControlLoop } from "../src/control/index.js";
import { loadDeliveryConfig } from "../src/delivery/index.js";
import { openStateRepository } from "../src/gitops/index.js";
import { connectPostgres, createScratchDatabase, type ScratchDatabase } from "../src/migrations/index.js";
import { createRelease } from "../src/release/index.js";
import { openStore, type DeliveryEvent, type Store } from "../src/store/index.js";
import { git, makeRepo, removeDir } from "./helpers/cli.js";

const SERVER = process.env.SLIPWAY_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const DB_VARIABLE = "SLIPWAY_TEST_DELIVERY_DATABASE";

const APP = String.raw`
const http = require("http");
const server = http.createServer((req, res) => res.end(req.url === "/healthz" ? "ok" : "hello"));
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;

const SLIPWAY_YML = `services:
  web:
    release: { file: app }
    run:
      command: node server.js
      health: { path: /healthz, interval: 200ms, timeout: 1s, start_timeout: 10s }
      stop_timeout: 5s
    migrations: { dir: db/migrations, database: env:${DB_VARIABLE} }
environments:
  prod:
    auto: true
    strategy: rolling
`;

const cleanups: (() => Promise<void> | void)[] = [];
let scratch: ScratchDatabase | undefined;
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});
afterAll(async () => {
  await scratch?.drop();
  delete process.env[DB_VARIABLE];
});

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 45_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Commits the files and makes a release of app/ at that commit, as `slipway release create --file app` would. */
async function commitAndRelease(dir: string, store: Store, dataDir: string, files: Record<string, string>, message: string): Promise<string> {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", message);
  const sha = git(dir, "rev-parse", "HEAD");
  const { release } = await createRelease({ store, dataDir, service: "web", source: { kind: "path", path: join(dir, "app") }, createdBy: "ci", checkout: { sha, ref: "refs/heads/main" }, repoDir: dir });
  return `web#${release.number}`;
}

/**
 * A repository whose first release (web#1) creates `users`, its store, and a
 * control loop (ticking every 300 ms) started on it; cleaned up after the test.
 */
async function startDelivery(slipwayYml: string) {
  const dir = makeRepo({
    "slipway.yml": slipwayYml,
    ".gitignore": ".slipway/\n",
    "app/server.js": APP,
    "app/version.txt": "1\n",
    "db/migrations/001_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n",
    "db/migrations/queries/users.sql": "SELECT id FROM users WHERE id = $1;\n",
  });
  cleanups.push(() => removeDir(dir));
  const dataDir = join(dir, ".slipway");
  const store = openStore(dataDir);
  cleanups.push(() => store.close());
  const first = await commitAndRelease(dir, store, dataDir, { "app/version.txt": "1.0\n" }, "first release");
  const config = loadDeliveryConfig(dir).config;
  if (!config) throw new Error("slipway.yml does not load");
  const events: DeliveryEvent[] = [];
  const loop = new ControlLoop({ dataDir, store, stateRepo: await openStateRepository({ dataDir }), config, repoDir: dir, intervalMs: 300, onEvent: (e) => events.push(e) });
  cleanups.push(() => loop.shutdown());
  await loop.start();
  return { dir, dataDir, store, first, events, loop };
}

async function columns(url: string): Promise<string[]> {
  const db = await connectPostgres(url);
  try {
    return (await db.query<{ c: string }>("SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position")).map((r) => r.c);
  } finally {
    await db.close();
  }
}

async function applied(url: string): Promise<string[]> {
  const db = await connectPostgres(url);
  try {
    return (await db.query<{ v: string; p: string }>("SELECT version AS v, phase AS p FROM slipway_migrations ORDER BY version")).map((r) => `${r.v} ${r.p}`);
  } finally {
    await db.close();
  }
}

describe("migrations in delivery (real PostgreSQL)", { timeout: 120_000 }, () => {
  it("applies expand and data migrations before the rollout and contract ones after it; a refused migration holds the rollout back", async () => {
    scratch = await createScratchDatabase(SERVER, "slipway_deliver_test");
    process.env[DB_VARIABLE] = scratch.url;
    const { dir, dataDir, store, first, events, loop } = await startDelivery(SLIPWAY_YML);

    // The first deploy: its expand migration (CREATE TABLE) before it starts.
    await until(`${first} deployed`, () => store.getDeployment("prod", "web")?.release === first);
    expect(await applied(scratch.url)).toEqual(["001_users.sql expand"]);
    const kinds = () => events.map((e) => `${e.kind}${e.kind.startsWith("migrations") ? ` ${e.message}` : ""}`);
    expect(kinds().findIndex((k) => k.startsWith("migrations-applied") && k.includes("001_users.sql (expand)"))).toBeLessThan(kinds().indexOf("rollout-started"));

    // web#2: an expand (ADD COLUMN) and a contract (DROP COLUMN email, which web#1 does not read).
    const second = await commitAndRelease(
      dir,
      store,
      dataDir,
      {
        "app/version.txt": "2\n",
        "db/migrations/002_name.sql": "ALTER TABLE users ADD COLUMN name text;\n",
        "db/migrations/003_drop_email.sql": "ALTER TABLE users DROP COLUMN email;\n",
      },
      "name in, email out",
    );
    await until(`${second} deployed`, () => store.getDeployment("prod", "web")?.release === second);
    await until("the contract migration", () => events.some((e) => e.kind === "migrations-applied" && e.message.startsWith("migrations after the rollout")));
    const order = events.filter((e) => e.kind === "migrations-applied" || e.kind.startsWith("rollout-")).slice(-4);
    expect(order.map((e) => e.kind)).toEqual(["migrations-applied", "rollout-started", "rollout-succeeded", "migrations-applied"]);
    expect(order[0]?.message).toMatch(/^migrations before the rollout on postgres.*: applied db\/migrations\/002_name\.sql \(expand\); pending for later: db\/migrations\/003_drop_email\.sql \(contract\)$/);
    expect(order[3]?.message).toContain("migrations after the rollout");
    expect(order[3]?.message).toContain("applied db/migrations/003_drop_email.sql (contract)");
    expect(await columns(scratch.url)).toEqual(["id", "name"]);
    expect(await applied(scratch.url)).toEqual(["001_users.sql expand", "002_name.sql expand", "003_drop_email.sql contract"]);

    // web#3's migration is refused by PostgreSQL: no rollout starts, web#2 keeps running, the reason is told once.
    const third = await commitAndRelease(dir, store, dataDir, { "app/version.txt": "3\n", "db/migrations/004_bad.sql": "ALTER TABLE accounts ADD COLUMN plan text;\n" }, "a table that does not exist");
    const failed = await until("the failure", () => events.find((e) => e.kind === "migrations-failed"));
    expect(failed.message).toContain(`migrations of ${third} before the rollout failed: db/migrations/004_bad.sql:1:`);
    expect(failed.message).toContain('42P01 relation "accounts" does not exist');
    await new Promise((r) => setTimeout(r, 1500)); // a few more ticks retry it
    expect(events.filter((e) => e.kind === "migrations-failed")).toHaveLength(1);
    expect(events.filter((e) => e.kind === "rollout-started")).toHaveLength(2);
    expect(store.getDeployment("prod", "web")?.release).toBe(second);
    expect(await applied(scratch.url)).toHaveLength(3);

    await loop.shutdown();
    // No instance is left running.
    const left = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir) || readlinkSync(`/proc/${p}/cwd`).startsWith(dir);
        } catch {
          return false;
        }
      });
    expect(left).toEqual([]);
  });

  it("retries a contract migration that failed after the rollout, with one alert, until it applies, then resolves the alert", async () => {
    const db = await createScratchDatabase(SERVER, "slipway_deliver_test");
    cleanups.push(() => db.drop());
    process.env[DB_VARIABLE] = db.url;
    const alerts: { action: string; summary: string }[] = [];
    const hook = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        alerts.push(JSON.parse(body) as { action: string; summary: string });
        res.end("ok");
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => hook.close(() => r())));
    process.env.SLIPWAY_TEST_HOOK_URL = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    cleanups.push(() => void delete process.env.SLIPWAY_TEST_HOOK_URL);
    const yml = `${SLIPWAY_YML}    rollback: { alert: [ops] }\nalerts:\n  ops: { type: webhook, url: env:SLIPWAY_TEST_HOOK_URL }\n`;
    const { dir, dataDir, store, first, events } = await startDelivery(yml);
    await until(`${first} deployed`, () => store.getDeployment("prod", "web")?.release === first);

    // A long transaction holds a lock on users: the contract's DROP COLUMN cannot get its own within its lock_timeout.
    const holder = await connectPostgres(db.url);
    cleanups.push(() => holder.close());
    await holder.exec("BEGIN; LOCK TABLE users IN ACCESS SHARE MODE");
    const second = await commitAndRelease(dir, store, dataDir, { "app/version.txt": "2\n", "db/migrations/002_drop_email.sql": "SET lock_timeout = '100ms';\nALTER TABLE users DROP COLUMN email;\n" }, "email out");
    await until(`${second} deployed`, () => store.getDeployment("prod", "web")?.release === second);
    const failed = await until("the contract failure", () => events.find((e) => e.kind === "migrations-failed"));
    expect(failed.message).toContain(`migrations of ${second} after the rollout failed: db/migrations/002_drop_email.sql:2:1`);
    expect(failed.message).toContain("55P03");
    const trigger = await until("the alert", () => alerts.find((a) => a.action === "trigger"));
    expect(trigger.summary).toContain(`migrations of ${second} after the rollout failed`);
    expect(trigger.summary).toContain("retried with backoff");
    // Retried (300 ms, 600 ms, 1.2 s, …) while the lock is held: no second alert, no second event, no resolve.
    await new Promise((r) => setTimeout(r, 2500));
    expect(alerts.map((a) => a.action)).toEqual(["trigger"]);
    expect(events.filter((e) => e.kind === "migrations-failed")).toHaveLength(1);
    expect(await columns(db.url)).toEqual(["id", "email"]);
    expect(store.getDeployment("prod", "web")?.release).toBe(second);

    await holder.exec("COMMIT");
    await until("the contract applied", () => events.some((e) => e.kind === "migrations-applied" && e.message.includes("applied db/migrations/002_drop_email.sql (contract)")), 30_000);
    expect(await columns(db.url)).toEqual(["id"]);
    const resolved = await until("the resolve", () => alerts.find((a) => a.action === "resolve"));
    expect(resolved.summary).toBe(`contract migrations of ${second} applied in prod`);
    expect(alerts.map((a) => a.action)).toEqual(["trigger", "resolve"]);
  });
});
