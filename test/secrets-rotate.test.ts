// `slipway secrets rotate-key` through the built CLI on a real repository:
// secrets (repository and environment), the release signing key and the OIDC
// keys are re-encrypted under a new master key, runs read the same values
// before and after, and `--prune` deletes the retired key only once nothing
// is under it. `slipway secrets audit`: which job read which secret names.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { envelopeKeyId, masterKeyId, OidcKeyStore, parseMasterKey } from "../src/secrets/index.js";
import { openStore } from "../src/store/index.js";
import { loadSigningKey } from "../src/supply-chain/index.js";
import { describeResult, makeRepo, removeDir, runCli, runsOf } from "./helpers/cli.js";

const WORKFLOW = `name: uses secrets
on: push
jobs:
  repo:
    runs-on: ubuntu-latest
    steps:
      - run: test "$A" = "value of a"
        env: { A: "\${{ secrets.A }}" }
  prod:
    runs-on: ubuntu-latest
    environment: prod
    steps:
      - run: test "$B" = "prod value of b" && test "$A" = "value of a"
        env: { A: "\${{ secrets.A }}", B: "\${{ secrets.B }}" }
  none:
    runs-on: ubuntu-latest
    steps:
      - run: echo no secrets here
`;

const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeDir));

describe("slipway secrets rotate-key", () => {
  it("re-encrypts every secret and key under a new master key; runs see the same values; --prune deletes the retired key", async () => {
    const repo = makeRepo({ ".github/workflows/ci.yml": WORKFLOW, ".gitignore": ".slipway/\n" });
    cleanup.push(repo);
    const dataDir = join(repo, ".slipway");
    const cli = async (args: string[], input?: string) => {
      const r = await runCli(args, { cwd: repo, ...(input !== undefined ? { input } : {}) });
      expect(r.code, describeResult(r)).toBe(0);
      return r;
    };
    await cli(["secrets", "set", "A"], "value of a");
    await cli(["secrets", "set", "B", "--env", "prod"], "prod value of b");
    const publicKey = (await cli(["keys", "export-public"])).stdout;
    await cli(["oidc", "rotate"]);
    const run = async () => {
      const r = await runCli(["run", "--json"], { cwd: repo });
      expect(r.code, describeResult(r)).toBe(0);
      expect(runsOf(r.stdout)[0]?.conclusion).toBe("success");
    };
    await run();

    const masterId = () => masterKeyId(parseMasterKey(readFileSync(join(dataDir, "keys", "master.key"), "utf8"), "master.key"));
    const envelopeIds = () => {
      const store = openStore(dataDir);
      try {
        const secrets = store.listSecrets().map((s) => envelopeKeyId(store.getSecret(s.name, s.environment)!.ciphertext));
        const signing = readdirSync(join(dataDir, "keys", "signing"))
          .filter((n) => n.endsWith(".key"))
          .map((n) => envelopeKeyId(readFileSync(join(dataDir, "keys", "signing", n))));
        const oidc = (JSON.parse(readFileSync(join(dataDir, "keys", "oidc-keys.json"), "utf8")) as { keys: Array<{ privateKey: string }> }).keys.map((k) =>
          envelopeKeyId(Buffer.from(k.privateKey, "base64")),
        );
        return [...new Set([...secrets, ...signing, ...oidc])];
      } finally {
        store.close();
      }
    };
    const k1 = masterId();
    expect(envelopeIds()).toEqual([k1]);

    const rotated = await cli(["secrets", "rotate-key", "--json"]);
    const report = JSON.parse(rotated.stdout) as { rotation: { previous: string; current: string; generated: boolean }; reencrypted: Record<string, number>; retired: string[]; pruned: string[] };
    const k2 = masterId();
    expect(k2).not.toBe(k1);
    expect(report).toEqual({
      rotation: { previous: k1, current: k2, generated: true },
      reencrypted: { secrets: 2, signingKeys: 1, oidcKeys: 1, webhookSecrets: 0, queuedJobSecrets: 0 },
      pruned: [],
      retired: [k1],
    });
    expect(envelopeIds()).toEqual([k2]);
    await run();
    // The keys decrypt: the same signing key, the same OIDC key signs.
    expect(loadSigningKey(dataDir, {}).publicKeyPem).toBe(publicKey);
    expect((await new OidcKeyStore(dataDir, { env: {} }).signingKey()).kid).toMatch(/\S/);

    // A second rotation in text form; then --prune deletes both retired keys.
    const text = await cli(["secrets", "rotate-key"]);
    expect(text.stdout).toMatch(/^new master key [0-9a-f]{16} \(the previous one, [0-9a-f]{16}, is kept in .*keys\/retired\)$/m);
    expect(text.stdout).toMatch(/^secrets\s+2$/m);
    expect(text.stdout).toContain("slipway secrets rotate-key --prune");
    const k3 = masterId();
    const pruned = JSON.parse((await cli(["secrets", "rotate-key", "--prune", "--json"])).stdout) as { reencrypted: Record<string, number>; pruned: string[]; retired: string[] };
    expect(pruned).toEqual({ reencrypted: { secrets: 0, signingKeys: 0, oidcKeys: 0, webhookSecrets: 0, queuedJobSecrets: 0 }, pruned: [k1, k2].sort(), retired: [] });
    expect(readdirSync(join(dataDir, "keys", "retired"))).toEqual([]);
    expect(masterId()).toBe(k3);
    expect(envelopeIds()).toEqual([k3]);
    await run();
    expect(loadSigningKey(dataDir, {}).publicKeyPem).toBe(publicKey);

    // Bad input: a name, or --prune elsewhere.
    const named = await runCli(["secrets", "rotate-key", "A"], { cwd: repo });
    expect(named.code).toBe(2);
    expect(named.stderr).toContain("rotate-key takes no NAME");
    const misplaced = await runCli(["secrets", "list", "--prune"], { cwd: repo });
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain("--prune is an option of `slipway secrets rotate-key`");
  });

  it("audit: lists which job read which secret names, never values, filtered by run and name", async () => {
    const repo = makeRepo({ ".github/workflows/ci.yml": WORKFLOW, ".gitignore": ".slipway/\n" });
    cleanup.push(repo);
    for (const [args, input] of [
      [["secrets", "set", "A"], "value of a"],
      [["secrets", "set", "B", "--env", "prod"], "prod value of b"],
      [["secrets", "set", "UNUSED"], "never read"],
    ] as const) {
      const r = await runCli([...args], { cwd: repo, input });
      expect(r.code, describeResult(r)).toBe(0);
    }
    const empty = await runCli(["secrets", "audit"], { cwd: repo });
    expect(empty.stdout).toBe("no job has read a secret\n");
    const r = await runCli(["run", "--json"], { cwd: repo });
    expect(r.code, describeResult(r)).toBe(0);
    const runId = runsOf(r.stdout)[0]?.id as number;

    const audit = await runCli(["secrets", "audit", "--json"], { cwd: repo });
    expect(audit.code, describeResult(audit)).toBe(0);
    const reads = JSON.parse(audit.stdout) as Array<{ runId: number; job: string; environment: string; name: string }>;
    expect(reads.map((x) => `${x.runId} ${x.job} ${x.environment || "-"} ${x.name}`).sort()).toEqual([`${runId} prod prod A`, `${runId} prod prod B`, `${runId} repo - A`]);
    expect(audit.stdout).not.toContain("value of");
    const onlyB = JSON.parse((await runCli(["secrets", "audit", "b", "--json"], { cwd: repo })).stdout) as unknown[];
    expect(onlyB).toHaveLength(1);
    expect(JSON.parse((await runCli(["secrets", "audit", "--run", String(runId + 1), "--json"], { cwd: repo })).stdout)).toEqual([]);
    const text = await runCli(["secrets", "audit", "--run", String(runId)], { cwd: repo });
    expect(text.stdout).toMatch(/^READ AT\s+RUN\s+JOB\s+ENVIRONMENT\s+SECRET$/m);
    expect(text.stdout).toMatch(new RegExp(`^\\S+\\s+${runId}\\s+repo\\s+\\(repository\\)\\s+A$`, "m"));
    const bad = await runCli(["secrets", "audit", "--run", "x"], { cwd: repo });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--run x: give a run id");
  });
});
