// The migration gate in delivery, with a real git repository and the built
// CLI: release web#3 brings a contract migration (DROP COLUMN users.email).
// While web#1, whose queries select users.email, runs in prod, `slipway
// promote prod web#3` is refused with the statement's file:line and the
// release still running; once web#2 (which no longer selects it) has
// replaced web#1, the promotion goes through.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkGates, checkMigrationGate } from "../src/control/index.js";
import { loadDeliveryConfig } from "../src/delivery/index.js";
import { openStore } from "../src/store/index.js";
import { describeResult, git, makeRepo, removeDir, runCli } from "./helpers/cli.js";

const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeDir));

const SLIPWAY_YML = `services:
  web:
    release: { file: app }
    run: { command: node server.js }
    migrations: { dir: db/migrations, database: env:DATABASE_URL }
environments:
  prod: { strategy: rolling }
`;

async function commitAndRelease(dir: string, files: Record<string, string>, message: string): Promise<void> {
  for (const [p, text] of Object.entries(files)) writeFileSync(join(dir, p), text);
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", message);
  const res = await runCli(["release", "create", "--service", "web", "--file", "app"], { cwd: dir });
  expect(res.code, describeResult(res)).toBe(0);
}

function deploy(dir: string, release: string): void {
  const store = openStore(join(dir, ".slipway"));
  try {
    const rec = store.getRelease("web", Number(release.split("#")[1]));
    store.putDeployment({ env: "prod", service: "web", release, digest: rec?.digest ?? null, configHash: null, port: null });
  } finally {
    store.close();
  }
}

describe("the migration gate", () => {
  it("blocks a contract migration while the release that uses the old schema runs, and lets it through once that release has left", async () => {
    const dir = makeRepo({
      "slipway.yml": SLIPWAY_YML,
      ".gitignore": ".slipway/\n",
      "app/version.txt": "1\n",
      "db/migrations/001_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);\n",
      "db/migrations/queries/users.sql": "SELECT id, email, name FROM users WHERE id = $1;\n",
    });
    cleanup.push(dir);
    const first = await runCli(["release", "create", "--service", "web", "--file", "app"], { cwd: dir });
    expect(first.code, describeResult(first)).toBe(0);
    await commitAndRelease(dir, { "app/version.txt": "2\n", "db/migrations/queries/users.sql": "SELECT id, name FROM users WHERE id = $1;\n" }, "stop reading email");
    await commitAndRelease(dir, { "app/version.txt": "3\n", "db/migrations/003_drop_email.sql": "ALTER TABLE users DROP COLUMN email;\n" }, "drop email");

    // web#1 runs in prod: web#3's DROP COLUMN would break it.
    deploy(dir, "web#1");
    const blocked = await runCli(["promote", "prod", "web#3"], { cwd: dir });
    expect(blocked.code, describeResult(blocked)).toBe(1);
    expect(blocked.stderr).toContain("web#3 cannot go to prod yet: migrations: contract migration db/migrations/003_drop_email.sql:1:1 (ALTER TABLE users DROP COLUMN email)");
    expect(blocked.stderr).toContain("while web#1, which predates it, still runs in prod: its query db/migrations/queries/users.sql:1 uses users.email");
    expect(blocked.stderr).toContain("promote it after web#1 has left prod");

    // The same verdict through the library, as the control loop sees it.
    const config = loadDeliveryConfig(dir).config;
    const store = openStore(join(dir, ".slipway"));
    try {
      const env = config?.environments.prod;
      const release = store.getRelease("web", 3);
      if (!config || !env || !release) throw new Error("setup");
      const verdict = await checkMigrationGate(store, config, env, release, dir);
      expect(verdict).toMatchObject({ open: false, blockers: [{ release: "web#1", change: { file: "db/migrations/003_drop_email.sql", line: 1 } }] });
      const gates = checkGates(store, env, release, { now: new Date(), ...(verdict ? { migrations: verdict } : {}) });
      expect(gates.open).toBe(false);
    } finally {
      store.close();
    }

    // web#2 (no longer reads email) has replaced web#1: web#3 may go; its contract migration runs after the rollout.
    deploy(dir, "web#2");
    const allowed = await runCli(["promote", "prod", "web#3", "--json"], { cwd: dir });
    expect(allowed.code, describeResult(allowed)).toBe(0);
    expect(allowed.stdout).toContain("migrations: contract migration db/migrations/003_drop_email.sql runs after the rollout; no release running in prod uses what it changes");
  });
});
