// `slipway history`, end to end: the audit trail of the state repository in
// the data directory, read through the built CLI.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStateRepository } from "../src/gitops/index.js";
import { describeResult, makeRepo, removeDir, runCli } from "./helpers/cli.js";

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

describe("slipway history", () => {
  const repo = makeRepo({ "README.md": "app\n" });
  afterAll(() => removeDir(repo));

  it("says there is no history yet without creating the state repository, then lists commits newest first", async () => {
    const empty = await runCli(["history"], { cwd: repo });
    expect(empty.code, describeResult(empty)).toBe(0);
    expect(empty.stdout).toMatch(/^no history yet in the state repository \(.*state\.git\); every promotion and rollback will be a commit there\n$/);
    expect(JSON.parse((await runCli(["history", "--json"], { cwd: repo })).stdout)).toEqual([]);
    expect(existsSync(join(repo, ".slipway", "state.git"))).toBe(false);

    const state = await openStateRepository({ dataDir: join(repo, ".slipway") });
    const promoted = await state.commitDesired({
      env: "staging",
      service: "web",
      state: { release: "web#2", digest: digest(2), configHash: digest(9), strategy: "canary" },
      action: "promote",
      actor: "alice",
      reason: "smoke checks passed",
      run: 7,
      approvals: ["bob"],
    });
    const rolledBack = await state.revertCommit(promoted.commit, "slipway", "error rate 3% > 1%");

    const json = await runCli(["history", "--json"], { cwd: repo });
    expect(json.code, describeResult(json)).toBe(0);
    const entries = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(entries.map((e) => [e.commit, e.action, e.env, e.service, e.release, e.author, e.reason, e.run, e.approvals])).toEqual([
      [rolledBack.commit, "rollback", "staging", "web", null, "slipway", "error rate 3% > 1%", null, []],
      [promoted.commit, "promote", "staging", "web", "web#2", "alice", "smoke checks passed", 7, ["bob"]],
    ]);

    const text = await runCli(["history", "staging"], { cwd: repo });
    expect(text.code, describeResult(text)).toBe(0);
    const lines = text.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^WHEN\s+ENV\s+SERVICE\s+RELEASE\s+ACTION\s+BY\s+REASON\s+COMMIT$/);
    expect(lines[2]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+staging\s+web\s+web#2\s+promote\s+alice\s+smoke checks passed\s+[0-9a-f]{12}$/);
    expect((await runCli(["history", "prod"], { cwd: repo })).stdout).toContain("no history for environment 'prod' yet");

    const bad = await runCli(["history", "Prod!"], { cwd: repo });
    expect(bad.code, describeResult(bad)).toBe(2);
    expect(bad.stderr).toContain("invalid environment name 'Prod!' (env): use lower-case letters");
  });
});
