// Bad input never crashes: through the CLI, in real Git repositories.
// Invalid workflows give diagnostics with file:line:column and exit 2; a job
// that fails at run time because an action is missing exits 1 with the
// message in the job's reason; bad options exit 2; never a stack trace; and
// nothing already stored is lost.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { git, makeRepo, removeDir, runCli, type CliResult } from "./helpers/cli.js";

const WF = ".github/workflows/ci.yml";
const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeDir));

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(dir);
  return dir;
}

function repoWith(workflow: string, files: Record<string, string> = {}): string {
  const dir = makeRepo({ [WF]: workflow, ...files });
  cleanup.push(dir);
  return dir;
}

/** Runs the CLI and checks it did not crash: no "internal error", no stack frame. */
async function cli(args: string[], cwd: string, opts: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult & { out: string }> {
  const res = await runCli(args, { cwd, ...opts });
  const out = `${res.stdout}${res.stderr}`;
  const context = `slipway ${args.join(" ")} → exit ${res.code}\n${out.slice(0, 3000)}`;
  expect(out, context).not.toMatch(/internal error/i);
  expect(out, context).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  return { ...res, out };
}

function context(res: CliResult): string {
  return `exit ${res.code}\nstdout:\n${res.stdout.slice(0, 3000)}\nstderr:\n${res.stderr.slice(0, 3000)}`;
}

/** `ci.yml:LINE:COL: error: MESSAGE` lines, parsed. */
function located(text: string): Array<{ line: number; column: number; message: string }> {
  const out = [];
  for (const m of text.matchAll(/^\.github\/workflows\/ci\.yml:(\d+):(\d+): error: (.*)$/gm)) {
    out.push({ line: Number(m[1]), column: Number(m[2]), message: m[3] ?? "" });
  }
  return out;
}

interface InvalidCase {
  name: string;
  workflow: string;
  /** Diagnostics expected (each at this line and column, message matching). */
  expect: Array<{ line: number; column?: number; message: RegExp }>;
}

const INVALID: InvalidCase[] = [
  {
    name: "malformed YAML (an unclosed flow sequence)",
    workflow: "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n    bad: [\n",
    expect: [{ line: 8, message: /Flow sequence|end with a \]/ }],
  },
  {
    name: "malformed YAML (a tab in the indentation)",
    workflow: "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n\t- run: echo hi\n",
    expect: [{ line: 6, message: /tab|indent/i }],
  },
  {
    name: "malformed YAML (bad indentation of a mapping)",
    workflow: "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n   steps:\n      - run: echo hi\n",
    expect: [{ line: 5, message: /./ }],
  },
  {
    name: "unknown keys in a job and a step",
    workflow: "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    colour: blue\n    steps:\n      - run: echo hi\n        bogus: 1\n",
    expect: [
      { line: 5, column: 5, message: /Unexpected value 'colour'/ },
      { line: 8, column: 9, message: /Unexpected value 'bogus'/ },
    ],
  },
  {
    name: "bad expressions",
    workflow:
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    if: ${{ github.ref == }}\n    steps:\n" +
      "      - run: echo ${{ toJSON( }}\n      - run: echo ${{ nosuch.thing }}\n      - run: echo ${{ contains('a') }}\n",
    expect: [
      { line: 5, column: 9, message: /Unexpected end of expression/ },
      { line: 7, column: 14, message: /Unexpected end of expression/ },
      { line: 8, column: 14, message: /Unrecognized named-value: 'nosuch'/ },
      { line: 9, column: 14, message: /Too few parameters supplied: 'contains'/ },
    ],
  },
  {
    name: "a needs cycle",
    workflow:
      "on: push\njobs:\n  a:\n    needs: c\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo a\n" +
      "  b:\n    needs: a\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo b\n" +
      "  c:\n    needs: b\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo c\n" +
      "  d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo d\n",
    expect: [
      { line: 4, column: 12, message: /Job 'a' depends on job 'c' which creates a cycle/ },
      { line: 9, column: 12, message: /cycle/ },
      { line: 14, column: 12, message: /cycle/ },
    ],
  },
  {
    name: "an unknown need",
    workflow: "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo a\n  b:\n    needs: [a, ghost]\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo b\n",
    expect: [{ line: 8, column: 16, message: /Job 'b' depends on unknown job 'ghost'/ }],
  },
  {
    name: "a required key missing (no steps, no runs-on)",
    workflow: "on: push\njobs:\n  a:\n    name: nothing\n",
    expect: [{ line: 4, column: 5, message: /not enough info|Required property is missing/ }],
  },
  {
    name: "a wrong type (steps as a string)",
    workflow: "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: echo hi\n",
    expect: [{ line: 5, column: 12, message: /./ }],
  },
];

describe.concurrent("invalid workflows: diagnostics with file:line:column, exit 2", () => {
  for (const c of INVALID) {
    it(c.name, async () => {
      const repo = repoWith(c.workflow);
      const data = tempDir("slipway-bad-data-");

      const [lint, run, json] = await Promise.all([
        cli(["lint"], repo),
        cli(["run", "--data-dir", data], repo),
        cli(["run", "--json", "--data-dir", data], repo),
      ]);
      for (const [what, res, text] of [
        ["lint", lint, lint.stdout],
        ["run", run, run.stderr],
      ] as const) {
        expect(res.code, `${what}: ${context(res)}`).toBe(2);
        const diags = located(text);
        for (const e of c.expect) {
          expect(
            diags.some((d) => d.line === e.line && (e.column === undefined || d.column === e.column) && e.message.test(d.message)),
            `${what}: expected ci.yml:${e.line}:${e.column ?? "*"} ${e.message}\n${context(res)}`,
          ).toBe(true);
        }
      }

      expect(json.code, context(json)).toBe(2);
      const diagnostics = JSON.parse(json.stdout).diagnostics as Array<{ file: string; line: number; column: number; message: string; severity: string }>;
      expect(diagnostics.length).toBeGreaterThan(0);
      for (const d of diagnostics) {
        expect(d.file).toBe(WF);
        expect(d.line, JSON.stringify(d)).toBeGreaterThan(0);
        expect(d.column, JSON.stringify(d)).toBeGreaterThan(0);
        expect(d.message.trim()).not.toBe("");
      }
    });
  }

  it("every problem of several files at once", async () => {
    const repo = repoWith(INVALID[3]!.workflow, { ".github/workflows/other.yml": INVALID[6]!.workflow });
    const lint = await cli(["lint", "--json"], repo);
    expect(lint.code).toBe(2);
    const d = JSON.parse(lint.stdout) as { files: number; diagnostics: Array<{ file: string; line: number; code: string }> };
    expect(d.files).toBe(2);
    // Beside the security warnings (no permissions: here).
    const problems = d.diagnostics.filter((x) => !x.code.startsWith("security/"));
    expect(problems.filter((x) => x.file === WF)).toHaveLength(2);
    expect(problems.filter((x) => x.file === ".github/workflows/other.yml")).toHaveLength(1);
  });
});

describe("missing actions fail the job at run time: exit 1, the message in the job's reason", () => {
  it("a missing local action", async () => {
    const repo = repoWith(
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: echo before\n      - uses: ./.github/actions/missing\n      - run: echo never\n",
    );
    const data = tempDir("slipway-bad-data-");
    const res = await cli(["run", "--json", "--data-dir", data], repo);
    expect(res.code, context(res)).toBe(1);
    const job = JSON.parse(res.stdout).runs[0].jobs[0];
    expect(job.conclusion).toBe("failure");
    expect(job.reason).toContain("./.github/actions/missing");
    expect(job.reason).toContain("no action.yml or action.yaml in .github/actions/missing");
    expect(job.steps.map((s: any) => `${s.name}=${s.conclusion}`)).toEqual([
      "Run actions/checkout@v4=success",
      "Run echo before=success",
      "Run ./.github/actions/missing=failure",
    ]);
  });

  it("a missing remote action (--action-source pointing at an empty folder): the job fails before any step", async () => {
    const repo = repoWith(
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo before\n      - uses: someone/nothing-here@v1\n        with:\n          x: 1\n  b:\n    needs: a\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo b\n",
    );
    const data = tempDir("slipway-bad-data-");
    const source = tempDir("slipway-empty-source-");
    const res = await cli(["run", "--json", "--data-dir", data, "--action-source", source], repo);
    expect(res.code, context(res)).toBe(1);
    const run = JSON.parse(res.stdout).runs[0];
    expect(run.conclusion).toBe("failure");
    const a = run.jobs.find((j: any) => j.key === "a");
    expect(a.conclusion).toBe("failure");
    expect(a.reason).toContain(`${WF}:7:9: cannot fetch action \`someone/nothing-here@v1\``);
    expect(a.reason).toContain(source);
    expect(a.steps.some((s: any) => s.name === "Run echo before" && s.conclusion === "success")).toBe(false);
    const b = run.jobs.find((j: any) => j.key === "b");
    expect(b?.conclusion ?? "skipped").toBe("skipped");

    // The plain view says the same.
    const plain = await cli(["run", "--data-dir", data, "--action-source", source], repo);
    expect(plain.code).toBe(1);
    expect(plain.out).toContain(`${WF}:7:9: cannot fetch action`);
  });

  it("an invalid action reference", async () => {
    const repo = repoWith("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: not-a-reference\n");
    const data = tempDir("slipway-bad-data-");
    const res = await cli(["run", "--json", "--data-dir", data], repo);
    // Rejected before anything runs, as GitHub does.
    expect(res.code, context(res)).toBe(2);
    expect(JSON.parse(res.stdout).diagnostics[0]).toMatchObject({ file: WF, line: 6, column: 9, code: "invalid-uses" });
    expect(res.stdout).toMatch(/not-a-reference. is not a valid action reference/);
  });

  it("a broken action.yml in a local action is reported with its file:line:column", async () => {
    const repo = repoWith("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: ./act\n", {
      "act/action.yml": "name: broken\nruns:\n  using: composite\n  steps:\n    - run: echo hi\n      shell: bash\n      bogus: 1\n",
    });
    const data = tempDir("slipway-bad-data-");
    const res = await cli(["run", "--json", "--data-dir", data], repo);
    expect(res.code, context(res)).toBe(1);
    const job = JSON.parse(res.stdout).runs[0].jobs[0];
    expect(job.reason).toMatch(/act\/action\.yml:7:7|Unexpected value 'bogus'/);
  });
});

describe.concurrent("secrets and options: exit 2 with a clear message", () => {
  const workflow = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "${{ secrets.API_TOKEN }}"\n';

  it("a missing secret with -s NAME", async () => {
    const repo = repoWith(workflow);
    const data = tempDir("slipway-bad-data-");
    // Neither in the store (a new data directory) nor in the environment.
    expect(process.env.API_TOKEN).toBeUndefined();
    const res = await cli(["run", "--data-dir", data, "-s", "API_TOKEN"], repo);
    expect(res.code, context(res)).toBe(2);
    expect(res.stderr).toContain("secret 'API_TOKEN' is neither in the secret store nor in the environment");
    expect(res.stderr).toContain("slipway secrets set API_TOKEN");
    // And no run was recorded.
    const runs = await cli(["runs", "--json", "--data-dir", data], repo);
    expect(JSON.parse(runs.stdout)).toEqual([]);
  });

  it("a non-git directory", async () => {
    const dir = tempDir("slipway-not-git-");
    mkdirSync(join(dir, ".github", "workflows"), { recursive: true });
    writeFileSync(join(dir, WF), workflow);
    const res = await cli(["run", "--data-dir", join(dir, "data")], dir);
    expect(res.code, context(res)).toBe(2);
    expect(res.stderr).toMatch(/is not inside a git repository/);
    expect(res.stderr).toContain("git init");
  });

  it("a git repository without commits", async () => {
    const dir = tempDir("slipway-no-commits-");
    git(dir, "init", "-q", "-b", "main");
    mkdirSync(join(dir, ".github", "workflows"), { recursive: true });
    writeFileSync(join(dir, WF), workflow);
    const res = await cli(["run", "--data-dir", join(dir, "data")], dir);
    expect(res.code, context(res)).toBe(2);
    expect(res.stderr).toMatch(/no commits/);
  });

  it("a repository without workflows", async () => {
    const repo = makeRepo({ "README.md": "hi\n" });
    cleanup.push(repo);
    const res = await cli(["run", "--data-dir", tempDir("slipway-bad-data-")], repo);
    expect(res.code, context(res)).toBe(2);
    expect(res.stderr).toMatch(/no workflows/);
    const lint = await cli(["lint"], repo);
    expect(lint.code).toBe(2);
  });

  const BAD_OPTIONS: Array<{ args: string[]; message: RegExp }> = [
    { args: ["run", "--parallel", "0"], message: /--parallel expects a positive integer, got '0'/ },
    { args: ["run", "--parallel", "-3"], message: /--parallel/ },
    { args: ["run", "--parallel", "two"], message: /--parallel expects a positive integer, got 'two'/ },
    { args: ["run", "--var", "novalue"], message: /--var expects NAME=VALUE, got 'novalue'/ },
    { args: ["run", "--var", "=x"], message: /--var expects NAME=VALUE/ },
    { args: ["run", "--input", "novalue"], message: /--input expects NAME=VALUE/ },
    { args: ["run", "--no-such-option"], message: /unknown option '--no-such-option'/ },
    { args: ["run", "-j", "nojob"], message: /no job 'nojob'/ },
    { args: ["run", "-W", "missing.yml"], message: /missing\.yml.*cannot read workflow/ },
    { args: ["run", "workflow_dispatch", "--before", "0".repeat(40)], message: /--before applies to push events only/ },
    { args: ["run", "--before", "deadbeef".repeat(5)], message: /before 'deadbeef(deadbeef){4}' is not a commit in .*all zeros/ },
    { args: ["run", "--no-secrets", "-s", "TOKEN=x"], message: /--no-secrets gives jobs no secrets; drop either it or -s/ },
    { args: ["frobnicate"], message: /unknown command 'frobnicate'/ },
    { args: ["runs", "-n", "0"], message: /--limit expects a positive integer/ },
    { args: ["logs", "abc"], message: /RUN must be a run id/ },
    { args: ["logs", "999"], message: /no run 999/ },
    { args: ["logs"], message: /missing required argument 'run'/ },
    { args: ["secrets", "explode"], message: /invalid.*explode|Allowed choices/i },
    { args: ["secrets", "set"], message: /needs a NAME/ },
    { args: ["secrets", "rm", "NOPE"], message: /no secret 'NOPE'/ },
    { args: ["vars", "set", "1BAD"], message: /invalid variable name '1BAD'/ },
    { args: ["vars", "rm", "NOPE"], message: /no variable 'NOPE'/ },
  ];
  for (const o of BAD_OPTIONS) {
    it(`slipway ${o.args.join(" ")}`, async () => {
      const repo = repoWith(workflow);
      const res = await cli([...o.args, "--data-dir", tempDir("slipway-bad-data-")], repo, { input: "value\n" });
      expect(res.code, context(res)).toBe(2);
      expect(res.out, context(res)).toMatch(o.message);
    });
  }
});

describe("nothing already stored is lost", () => {
  it("a successful run stays listed after a broken workflow, a failing run and bad options", async () => {
    const repo = repoWith('on: push\njobs:\n  ok:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "first run output"\n');
    const data = tempDir("slipway-keep-data-");
    const first = await cli(["run", "--json", "--data-dir", data], repo);
    expect(first.code, context(first)).toBe(0);
    const firstId = JSON.parse(first.stdout).runs[0].id as number;

    // A broken workflow: rejected before anything runs.
    writeFileSync(join(repo, WF), "on: push\njobs:\n  ok:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo x\n    bad: [\n");
    git(repo, "commit", "-qam", "break the workflow");
    const broken = await cli(["run", "--data-dir", data], repo);
    expect(broken.code).toBe(2);

    // A run that fails at run time.
    writeFileSync(join(repo, WF), "on: push\njobs:\n  ok:\n    runs-on: ubuntu-latest\n    steps:\n      - run: exit 3\n");
    git(repo, "commit", "-qam", "fail");
    const failing = await cli(["run", "--data-dir", data], repo);
    expect(failing.code).toBe(1);

    // Bad options.
    expect((await cli(["run", "--parallel", "0", "--data-dir", data], repo)).code).toBe(2);
    expect((await cli(["run", "-s", "NOT_SET_ANYWHERE", "--data-dir", data], repo)).code).toBe(2);

    const runs = await cli(["runs", "--json", "--data-dir", data], repo);
    expect(runs.code).toBe(0);
    const listed = JSON.parse(runs.stdout) as Array<{ id: number; conclusion: string }>;
    expect(listed.map((r) => r.conclusion).sort()).toEqual(["failure", "success"]);
    expect(listed.find((r) => r.id === firstId)?.conclusion).toBe("success");

    const logs = await cli(["logs", String(firstId), "--data-dir", data], repo);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("first run output");
  });
});

// Bugs found while writing these tests, pinned: each test states the right
// behaviour and is expected to fail today. Remove `.fails` once fixed.
describe.concurrent("known bugs", () => {
  const workflow = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n";

  /** The right behaviour: exit 2, a message, no stack trace. */
  async function usage(args: string[], cwd: string, message: RegExp): Promise<void> {
    const res = await runCli(args, { cwd });
    const out = res.stdout + res.stderr;
    expect(out, context(res)).not.toMatch(/internal error/i);
    expect(out, context(res)).not.toMatch(/^\s+at /m);
    expect(res.code, context(res)).toBe(2);
    expect(out).toMatch(message);
  }

  // GitError, SecretsError and StoreError(open) are user errors: exit 2, no stack.
  it("-e with a missing payload file exits 2 without a stack trace", async () => {
    await usage(["run", "-e", "/nonexistent/payload.json", "--data-dir", tempDir("slipway-bad-data-")], repoWith(workflow), /payload/);
  });

  it("-e with a payload file that is not JSON exits 2 without a stack trace", async () => {
    const repo = repoWith(workflow);
    writeFileSync(join(repo, "payload.json"), "{bad");
    await usage(["run", "-e", "payload.json", "--data-dir", tempDir("slipway-bad-data-")], repo, /payload/);
  });

  it("--ref naming nothing exits 2 without a stack trace", async () => {
    await usage(["run", "--ref", "refs/heads/nope", "--data-dir", tempDir("slipway-bad-data-")], repoWith(workflow), /refs\/heads\/nope/);
  });

  it("an invalid workflow is reported first, even with a --ref naming nothing (git builds the event meanwhile)", async () => {
    const repo = repoWith("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    colour: blue\n    steps:\n      - run: echo hi\n");
    const res = await cli(["run", "--ref", "refs/heads/nope", "--data-dir", tempDir("slipway-bad-data-")], repo);
    expect(res.code, context(res)).toBe(2);
    expect(located(res.stderr)).toEqual([expect.objectContaining({ line: 5, column: 5, message: expect.stringMatching(/colour/) })]);
    expect(res.out).not.toMatch(/nope|Unhandled|rejection/i);
  });

  it("pull_request --base naming no branch exits 2 without a stack trace", async () => {
    await usage(["run", "pull_request", "--base", "nope", "--data-dir", tempDir("slipway-bad-data-")], repoWith(workflow), /nope/);
  });

  it("--data-dir naming a file exits 2 without a stack trace", async () => {
    const dir = tempDir("slipway-file-");
    writeFileSync(join(dir, "not-a-dir"), "x");
    await usage(["runs", "--data-dir", join(dir, "not-a-dir")], dir, /not-a-dir/);
  });

  it("a data directory whose database is not SQLite exits 2 without a stack trace", async () => {
    const dir = tempDir("slipway-corrupt-");
    writeFileSync(join(dir, "slipway.db"), "this is not a database\n".repeat(100));
    await usage(["runs", "--data-dir", dir], dir, /slipway\.db/);
  });

  // Run-time step errors point at the step in the workflow.
  it("a missing local action's reason names the workflow file:line:column", async () => {
    const repo = repoWith("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: ./.github/actions/missing\n");
    const res = await runCli(["run", "--json", "--data-dir", tempDir("slipway-bad-data-")], { cwd: repo });
    expect(JSON.parse(res.stdout).runs[0].jobs[0].reason).toContain(`${WF}:7:9:`);
  });

  it("a run-time expression error names the step's file:line:column", async () => {
    const repo = repoWith("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ fromJSON('{') }}\"\n");
    const res = await runCli(["run", "--json", "--data-dir", tempDir("slipway-bad-data-")], { cwd: repo });
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout).runs[0].jobs[0].reason).toContain(`${WF}:6:9:`);
  });
});
