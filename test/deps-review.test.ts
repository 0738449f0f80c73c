// `slipway deps review` and the dependency review action, through the built CLI on real git repositories.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { git, makeRepo, runCli } from "./helpers/cli.js";

const lock = (deps: Record<string, { version: string; license?: string }>) =>
  `${JSON.stringify(
    {
      name: "app",
      version: "1.0.0",
      lockfileVersion: 3,
      requires: true,
      packages: {
        "": { name: "app", version: "1.0.0", dependencies: Object.fromEntries(Object.entries(deps).map(([n, d]) => [n, `^${d.version}`])) },
        ...Object.fromEntries(
          Object.entries(deps).map(([n, d]) => [
            `node_modules/${n}`,
            { version: d.version, resolved: `https://registry.npmjs.org/${n}/-/${n}-${d.version}.tgz`, integrity: "sha512-" + Buffer.alloc(64, n.length).toString("base64"), ...(d.license ? { license: d.license } : {}) },
          ]),
        ),
      },
    },
    null,
    2,
  )}\n`;

const BEFORE = { "left-pad": { version: "1.3.0", license: "WTFPL" }, chalk: { version: "4.1.2", license: "MIT" } };
const AFTER = { chalk: { version: "5.3.0", license: "MIT" }, "copyleft-lib": { version: "2.0.0", license: "GPL-3.0-only" } };

function commit(dir: string, files: Record<string, string>, message: string): void {
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", message);
}

describe("slipway deps review", () => {
  it("lists the changes between two commits and fails on a licence the policy denies", async () => {
    const dir = makeRepo({ "package-lock.json": lock(BEFORE) });
    commit(dir, { "package-lock.json": lock(AFTER) }, "upgrade");
    const plain = await runCli(["deps", "review", "HEAD~1..HEAD"], { cwd: dir });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/upgraded\s+chalk\s+4\.1\.2\s+5\.3\.0\s+MIT/);
    expect(plain.stdout).toMatch(/added\s+copyleft-lib\s+2\.0\.0\s+GPL-3\.0-only/);
    expect(plain.stdout).toMatch(/removed\s+left-pad\s+1\.3\.0/);
    expect(plain.stdout).toContain("3 dependency changes in 1 lockfile; no policy");

    writeFileSync(join(dir, "policy.yml"), "deny-licenses:\n  - GPL-3.0-only\n");
    const denied = await runCli(["deps", "review", "HEAD~1..HEAD", "--config", "policy.yml", "--json"], { cwd: dir });
    expect(denied.code).toBe(1);
    const json = JSON.parse(denied.stdout);
    expect(json.violations).toEqual([expect.objectContaining({ rule: "deny-licenses", message: "copyleft-lib@2.0.0 is licensed GPL-3.0-only, which policy.yml denies" })]);
    expect(json.changes).toHaveLength(3);
  });

  it("bad input exits 2 with the place to fix", async () => {
    const dir = makeRepo({ "package-lock.json": lock(BEFORE), "p.yml": "deny-licences: [MIT]\n" });
    const range = await runCli(["deps", "review", "HEAD"], { cwd: dir });
    expect(range.code).toBe(2);
    expect(range.stderr).toContain("expected BASE..HEAD");
    const ref = await runCli(["deps", "review", "nope..HEAD"], { cwd: dir });
    expect(ref.code).toBe(2);
    expect(ref.stderr).toContain("'nope' is not a commit");
    const policy = await runCli(["deps", "review", "HEAD..HEAD", "--config", "p.yml"], { cwd: dir });
    expect(policy.code).toBe(2);
    expect(policy.stderr).toContain("p.yml:1:1: error: unknown key `deny-licences`");
  });

  it("actions/dependency-review-action runs unchanged as a pull request check", async () => {
    const workflow = [
      "name: review",
      "on: pull_request",
      "permissions: read-all",
      "jobs:",
      "  dependency-review:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: actions/checkout@v4",
      "      - uses: actions/dependency-review-action@v4",
      "        with:",
      "          deny-licenses: GPL-3.0-only, AGPL-3.0-only",
      "",
    ].join("\n");
    const dir = makeRepo({ "package-lock.json": lock(BEFORE), ".github/workflows/review.yml": workflow });
    git(dir, "checkout", "-q", "-b", "feature");
    commit(dir, { "package-lock.json": lock(AFTER) }, "add a GPL dependency");
    const data = mkdtempSync(join(tmpdir(), "slipway-deps-data-"));
    const failing = await runCli(["run", "pull_request", "--base", "main", "--data-dir", data], { cwd: dir, timeoutMs: 120_000 });
    expect(failing.code).toBe(1);
    expect(failing.stdout + failing.stderr).toContain("copyleft-lib@2.0.0 is licensed GPL-3.0-only");

    commit(dir, { "package-lock.json": lock({ ...AFTER, "copyleft-lib": { version: "2.0.0", license: "MIT" } }) }, "relicensed");
    const passing = await runCli(["run", "pull_request", "--base", "main", "--data-dir", data], { cwd: dir, timeoutMs: 120_000 });
    expect(passing.stdout + passing.stderr).not.toContain("denies");
    expect(passing.code).toBe(0);
  });
});
