// A realistic repository, built here: a Git history of a few commits, an npm
// workspace (packages/b depends on packages/a through the workspace, and a
// depends on a package tarball made with `npm pack` from
// test/fixtures/npm-registry/), a package-lock.json, and a CI workflow that
// does what real ones do — checkout → setup-node → cache ~/.npm → `npm ci` →
// tests → build dist/ → upload-artifact — with a second job that needs the
// first, downloads the artifact and checks it.
//
// Everything installs offline: the tarball is a `file:` dependency in the
// lockfile, `npm ci --offline` runs against an unreachable registry, and each
// run gets a fresh HOME (as a fresh runner would), so the second run only
// has an npm cache because actions/cache restored it.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeResult, git, makeRepo, removeDir, runCli, runsOf, type CliResult } from "./helpers/cli.js";

const FIXTURES = resolve(import.meta.dirname, "fixtures");
const SOURCE = join(FIXTURES, "realistic", "repo");
const PAD = join(FIXTURES, "npm-registry", "fixtures-pad");
/** Nothing listens here: any registry request fails at once instead of reaching the network. */
const NO_REGISTRY = "http://127.0.0.1:9/";

const cleanup: string[] = [];
let root = "";
let repo = "";
let dataDir = "";
let sha = "";

/** npm run offline, with its own HOME and cache, never the developer's. */
function npm(cwd: string, home: string, ...args: string[]): string {
  return execFileSync("npm", [...args, "--offline", "--no-audit", "--no-fund", "--registry", NO_REGISTRY], {
    cwd,
    encoding: "utf8",
    env: { ...cleanEnv(), HOME: home, npm_config_cache: join(home, ".npm"), npm_config_update_notifier: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** The environment without the npm_* variables that `npm test` sets (npm_config_cache, …). */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  return env;
}

function copy(from: string, to = from): void {
  cpSync(join(SOURCE, from), join(repo, to), { recursive: true });
}

function commit(message: string): void {
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", message);
}

beforeAll(() => {
  // Variables npm sets when the tests run under `npm test` would reach the
  // jobs through the host environment: npm_config_cache would make `npm ci`
  // use the developer's cache instead of the job's ~/.npm.
  for (const k of Object.keys(process.env)) if (/^npm_/i.test(k)) delete process.env[k];

  root = mkdtempSync(join(tmpdir(), "slipway-realistic-"));
  cleanup.push(root);
  const packHome = join(root, "pack-home");
  mkdirSync(packHome);

  repo = makeRepo({ "README.md": "# mono\n\nA small npm workspace.\n", ".gitignore": readFileSync(join(SOURCE, ".gitignore"), "utf8") });
  cleanup.push(repo);

  // Commit 2: package a and the vendored tarball it depends on.
  mkdirSync(join(repo, "vendor"));
  const packed = npm(repo, packHome, "pack", "--pack-destination", join(repo, "vendor"), PAD).trim().split("\n").pop();
  expect(packed).toBe("fixtures-pad-1.2.3.tgz");
  copy("packages/a");
  commit("add @mono/a, which pads labels");

  // Commit 3: package b (depends on a through the workspace), the root manifest and the lockfile.
  copy("packages/b");
  copy("scripts");
  copy("package.json");
  npm(repo, packHome, "install");
  const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8"));
  expect(lock.packages["node_modules/@fixtures/pad"].resolved).toBe("file:vendor/fixtures-pad-1.2.3.tgz");
  expect(lock.packages["node_modules/@mono/a"]).toEqual({ resolved: "packages/a", link: true });
  rmSync(join(repo, "node_modules"), { recursive: true, force: true });
  commit("add @mono/b and the workspace lockfile");

  // Commit 4: the CI workflow.
  copy(".github");
  commit("CI: test, build and verify the artifact");
  sha = git(repo, "rev-parse", "HEAD");
  expect(git(repo, "rev-list", "--count", "HEAD")).toBe("4");
  expect(git(repo, "status", "--porcelain")).toBe("");

  dataDir = mkdtempSync(join(tmpdir(), "slipway-realistic-data-"));
  cleanup.push(dataDir);
});

afterAll(() => cleanup.forEach(removeDir));

interface RunResult {
  res: CliResult;
  json: any;
  jobs: any[];
  logs: string;
  context: string;
}

/** One `slipway run --json` with a fresh HOME, as on a fresh runner. */
async function run(name: string): Promise<RunResult> {
  const home = join(root, `home-${name}`);
  mkdirSync(home);
  const res = await runCli(["run", "--json", "--data-dir", dataDir], {
    cwd: repo,
    env: { HOME: home, npm_config_registry: NO_REGISTRY, npm_config_update_notifier: "false" },
    timeoutMs: 60_000,
  });
  const context = describeResult(res);
  const runs = runsOf(res.stdout);
  const jobs = runs.flatMap((r) => r.jobs ?? []);
  let logs = "";
  for (const r of runs) {
    const l = await runCli(["logs", String(r.id), "--json", "--data-dir", dataDir], { cwd: repo });
    expect(l.code, l.stderr).toBe(0);
    for (const j of JSON.parse(l.stdout).jobs) for (const s of j.steps) logs += `\n--- ${j.name} / ${s.name}\n${s.log}`;
  }
  return { res, json: { runs }, jobs, logs, context: `${context}\nlogs:\n${logs.slice(-6000)}` };
}

function job(r: RunResult, key: string): any {
  return r.jobs.find((j) => j.key === key);
}

describe("a realistic repository: npm workspace, cache, artifacts", () => {
  it("run 1 misses the cache, installs offline, tests, builds and hands dist/ to the dependent job", async () => {
    const r = await run("first");
    expect(r.res.code, r.context).toBe(0);
    expect(r.json.runs, r.context).toHaveLength(1);
    expect(r.json.runs[0].conclusion, r.context).toBe("success");
    expect(job(r, "build")?.conclusion, r.context).toBe("success");
    expect(job(r, "verify")?.conclusion, r.context).toBe("success");

    const outputs = job(r, "build").outputs;
    expect(outputs["cache-hit"], r.context).toBe("false");
    expect(outputs["cache-hit-raw"] ?? "", "actions/cache leaves cache-hit empty on a miss").toBe("");
    expect(outputs["node-version"]).toBe(`v${process.versions.node}`);

    expect(r.logs, r.context).toContain("npm cache: empty");
    expect(r.logs).toMatch(/Cache not found for input keys: npm-Linux-[0-9a-f]{64}/);
    expect(r.logs).toMatch(/added 3 packages/);
    // node --test in both packages.
    expect(r.logs).toContain("label pads to four digits");
    expect(r.logs).toContain("title uses the workspace package");
    expect(r.logs).toMatch(/# fail 0/);
    expect(r.logs).toContain(`built dist/ for ${sha}`);
    expect(r.logs).toContain(`artifact verified: Issue #0042 from ${sha}`);
    expect(r.logs).toContain("cache hit in build - false");
    // The job's checkout is its own: nothing was installed in the repository.
    expect(existsSync(join(repo, "node_modules"))).toBe(false);
    expect(existsSync(join(repo, "dist"))).toBe(false);
  });

  it("run 2, on a fresh HOME, hits the cache and restores ~/.npm before `npm ci`", async () => {
    const r = await run("second");
    expect(r.res.code, r.context).toBe(0);
    expect(r.json.runs[0].conclusion, r.context).toBe("success");
    expect(job(r, "build")?.conclusion, r.context).toBe("success");
    expect(job(r, "verify")?.conclusion, r.context).toBe("success");

    const outputs = job(r, "build").outputs;
    expect(outputs["cache-hit"], r.context).toBe("true");
    expect(outputs["cache-hit-raw"], r.context).toBe("true");

    expect(r.logs, r.context).toContain("npm cache: restored");
    expect(r.logs).toContain(`artifact verified: Issue #0042 from ${sha}`);
    expect(r.logs).toContain("cache hit in build - true");

    // Both runs are stored.
    const runs = await runCli(["runs", "--json", "--data-dir", dataDir], { cwd: repo });
    expect(runs.code).toBe(0);
    const listed = JSON.parse(runs.stdout) as any[];
    expect(listed.filter((x) => x.conclusion === "success")).toHaveLength(2);
  });

  it("the npm tarball really is a file: dependency (no registry in the lockfile)", () => {
    const lock = readFileSync(join(repo, "package-lock.json"), "utf8");
    expect(lock).not.toContain("registry.npmjs.org");
  });
});
