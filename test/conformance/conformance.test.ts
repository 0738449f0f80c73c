// The conformance suite: each folder under test/fixtures/conformance is one
// case — a repository (repo/) and the expected outcome (case.yml). The case
// is run with the built CLI in a real Git repository, and its outcome,
// outputs and logs are checked.
//
// case.yml:
//   description: what GitHub does here
//   event: push                      # default push
//   args: [-j, build]                # extra `slipway run` arguments
//   setup: |                         # shell run in the repo after the first commit
//     git checkout -q -b feature && echo x > f && git add f && git commit -qm f
//   stdin / env: {}                  # environment for the CLI
//   expect:
//     exit: 0
//     runs: { ci.yml: success }      # conclusion per workflow file name
//     skipped: [other.yml]           # workflows not triggered
//     jobs: { "build (a)": success } # conclusion per job display name
//     outputs: { build: { o: "1" } } # job outputs by job key
//     log: { contains: [...], notContains: [...] }   # over all step logs and the console
//     reasons: { contains: [...] }   # over run/job reasons and diagnostics
//   second: { ... }                  # optional second run in the same data dir, same expect shape
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { makeRepo, removeDir, runCli } from "../helpers/cli.js";

const ROOT = resolve(import.meta.dirname, "../fixtures/conformance");

interface Expect {
  exit?: number;
  runs?: Record<string, string>;
  skipped?: string[];
  jobs?: Record<string, string>;
  outputs?: Record<string, Record<string, string>>;
  log?: { contains?: string[]; notContains?: string[] };
  reasons?: { contains?: string[] };
}

interface Case {
  description: string;
  event?: string;
  args?: string[];
  setup?: string;
  env?: Record<string, string>;
  stdin?: string;
  expect: Expect;
  second?: { args?: string[]; expect: Expect };
}

const dirs = existsSync(ROOT) ? readdirSync(ROOT).filter((d) => existsSync(join(ROOT, d, "case.yml"))).sort() : [];
const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeDir));

async function runOnce(repo: string, dataDir: string, c: Case, args: string[], expected: Expect) {
  const res = await runCli(["run", ...(c.event ? [c.event] : []), "--json", "--data-dir", dataDir, ...args], {
    cwd: repo,
    env: c.env ?? {},
    ...(c.stdin ? { input: c.stdin } : {}),
  });
  const context = `exit ${res.code}\nstdout:\n${res.stdout.slice(0, 4000)}\nstderr:\n${res.stderr.slice(0, 4000)}`;
  expect(res.code, context).toBe(expected.exit ?? 0);
  let json: any = {};
  try {
    json = JSON.parse(res.stdout);
  } catch {
    json = {};
  }
  const runs: any[] = json.runs ?? [];
  const allJobs = runs.flatMap((r) => r.jobs ?? []);
  let logs = res.stdout + res.stderr;
  for (const r of runs) {
    const l = await runCli(["logs", String(r.id), "--json", "--data-dir", dataDir], { cwd: repo });
    const lj = JSON.parse(l.stdout);
    for (const j of lj.jobs) for (const s of j.steps) logs += `\n${s.log}`;
    for (const j of lj.jobs) logs += `\n${j.summary}`;
  }
  for (const [file, conclusion] of Object.entries(expected.runs ?? {})) {
    const run = runs.find((r) => String(r.workflow).endsWith(file));
    expect(run?.conclusion, `run of ${file}\n${context}`).toBe(conclusion);
  }
  for (const file of expected.skipped ?? []) {
    expect((json.skipped ?? []).some((s: any) => String(s.workflow).endsWith(file)), `${file} skipped\n${context}`).toBe(true);
  }
  for (const [name, conclusion] of Object.entries(expected.jobs ?? {})) {
    const job = allJobs.find((j) => j.name === name);
    expect(job?.conclusion ?? "(no such job)", `job ${name}; jobs: ${allJobs.map((j) => `${j.name}=${j.conclusion}`).join(", ")}\n${context}`).toBe(conclusion);
  }
  for (const [key, outputs] of Object.entries(expected.outputs ?? {})) {
    const job = allJobs.find((j) => j.key === key || j.name === key);
    expect(job?.outputs, `outputs of ${key}`).toEqual(outputs);
  }
  for (const s of expected.log?.contains ?? []) expect(logs, `log contains ${JSON.stringify(s)}`).toContain(s);
  for (const s of expected.log?.notContains ?? []) expect(logs, `log must not contain ${JSON.stringify(s)}`).not.toContain(s);
  const reasons = JSON.stringify([json.diagnostics ?? [], runs.map((r) => r.reason), allJobs.map((j) => j.reason), res.stderr]);
  for (const s of expected.reasons?.contains ?? []) expect(reasons, `reasons contain ${JSON.stringify(s)}`).toContain(s);
}

describe("conformance", () => {
  for (const d of dirs) {
    const c = parse(readFileSync(join(ROOT, d, "case.yml"), "utf8")) as Case;
    it(`${d}: ${c.description}`, async () => {
      const repo = makeRepo({}, join(ROOT, d, "repo"));
      cleanup.push(repo);
      const dataDir = mkdtempSync(join(tmpdir(), "slipway-data-"));
      cleanup.push(dataDir);
      if (c.setup) execFileSync("bash", ["-euo", "pipefail", "-c", c.setup], { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: "T", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "T", GIT_COMMITTER_EMAIL: "t@e" } });
      await runOnce(repo, dataDir, c, c.args ?? [], c.expect);
      if (c.second) await runOnce(repo, dataDir, c, c.second.args ?? c.args ?? [], c.second.expect);
    });
  }
});
