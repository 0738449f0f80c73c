// The command line as a user meets it: --help on every command; secrets
// (value from standard input, listed by name only, never stored or printed in
// plaintext anywhere in the data directory); variables and the vars context;
// `slipway runs` and `slipway logs` as tables and JSON; NO_COLOR.
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeRepo, removeDir, runCli, type CliResult } from "./helpers/cli.js";

const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeDir));

beforeAll(() => {
  // Colour is decided from NO_COLOR / FORCE_COLOR, which runCli passes through from this process.
  delete process.env.FORCE_COLOR;
});

function context(res: CliResult): string {
  return `exit ${res.code}\nstdout:\n${res.stdout.slice(0, 3000)}\nstderr:\n${res.stderr.slice(0, 3000)}`;
}

function noCrash(res: CliResult): void {
  const out = res.stdout + res.stderr;
  expect(out, context(res)).not.toMatch(/internal error/i);
  expect(out, context(res)).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

/** Every file below `dir`, recursively (symbolic links are not followed). */
function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...allFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

describe.concurrent("--help on every command", () => {
  const repo = (() => {
    const dir = mkdtempSync(join(tmpdir(), "slipway-help-"));
    cleanup.push(dir);
    return dir;
  })();
  const COMMANDS: Record<string, string[]> = {
    run: ["--workflow", "--job", "--secret", "--var", "--input", "--parallel", "--sandbox", "--json", "--data-dir", "--action-source", "[event]"],
    lint: ["[files...]", "--json"],
    runs: ["--limit", "--json", "--data-dir"],
    logs: ["<run>", "[job]", "--json", "--data-dir"],
    secrets: ["<action>", "set", "list", "rm", "--env", "standard input"],
    vars: ["<action>", "set", "list", "rm", "--env"],
  };
  for (const [command, mentions] of Object.entries(COMMANDS)) {
    it(`slipway ${command} --help`, async () => {
      const res = await runCli([command, "--help"], { cwd: repo });
      expect(res.code, context(res)).toBe(0);
      expect(res.stdout).toContain(`Usage: slipway ${command}`);
      for (const m of mentions) expect(res.stdout, `${command} --help mentions ${m}`).toContain(m);
      noCrash(res);
    });
  }

  it("slipway --help lists every command", async () => {
    const res = await runCli(["--help"], { cwd: repo });
    expect(res.code).toBe(0);
    for (const c of Object.keys(COMMANDS)) expect(res.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, "m"));
  });

  it("slipway help run and slipway --version", async () => {
    const [help, version] = await Promise.all([runCli(["help", "run"], { cwd: repo }), runCli(["--version"], { cwd: repo })]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: slipway run");
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

const SECRET = "hunter2-Zq9x7-plain-value";
const INLINE_SECRET = "inline-Wv3k8-secret";
const WORKFLOW = `name: Deploy
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    outputs:
      leaked: \${{ steps.out.outputs.token }}
      region: \${{ vars.REGION }}
    env:
      MY_TOKEN: \${{ secrets.MY_TOKEN }}
    steps:
      - name: Use the token \${{ secrets.MY_TOKEN }}
        run: |
          echo "token is \${{ secrets.MY_TOKEN }}"
          echo "stderr $MY_TOKEN" >&2
          echo "inline \${{ secrets.INLINE }}"
          printf %s "$MY_TOKEN" | base64
          echo "::warning::annotation $MY_TOKEN"
          echo "summary $MY_TOKEN" >> "$GITHUB_STEP_SUMMARY"
          echo "LATER=$MY_TOKEN" >> "$GITHUB_ENV"
          echo "region=\${{ vars.REGION }}"
          echo "mode=\${{ vars.MODE }}"
      - id: out
        run: |
          echo "token=$MY_TOKEN" >> "$GITHUB_OUTPUT"
          echo "later $LATER"
  report:
    needs: deploy
    runs-on: ubuntu-latest
    steps:
      - run: echo "leaked output is '\${{ needs.deploy.outputs.leaked }}', region \${{ needs.deploy.outputs.region }}"
`;

describe("secrets, variables, runs and logs", () => {
  let repo = "";
  let data = "";
  let runId = 0;
  let runResult: CliResult;

  beforeAll(() => {
    repo = makeRepo({ ".github/workflows/deploy.yml": WORKFLOW });
    cleanup.push(repo);
    data = join(repo, ".slipway"); // the default data directory
  });

  const cli = async (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) => {
    const res = await runCli(args, { cwd: repo, ...opts });
    noCrash(res);
    return res;
  };

  it("secrets set reads the value from standard input", async () => {
    const res = await cli(["secrets", "set", "MY_TOKEN"], { input: `${SECRET}\n` });
    expect(res.code, context(res)).toBe(0);
    expect(res.stdout).toContain("MY_TOKEN");
    expect(res.stdout + res.stderr).not.toContain(SECRET);
    const env = await cli(["secrets", "set", "DB_PASSWORD", "--env", "production"], { input: "other-Pq7-secret" });
    expect(env.code, context(env)).toBe(0);
    expect(env.stdout).toContain("production");
  });

  it("secrets list shows the names, never the values", async () => {
    const res = await cli(["secrets", "list"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^NAME\s+ENVIRONMENT\s+UPDATED/m);
    expect(res.stdout).toMatch(/^MY_TOKEN\s+\(repository\)/m);
    expect(res.stdout).toMatch(/^DB_PASSWORD\s+production/m);
    expect(res.stdout).not.toContain(SECRET);
    expect(res.stdout).not.toContain("other-Pq7-secret");

    const json = await cli(["secrets", "list", "--json"]);
    const list = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(list.map((s) => s.name).sort()).toEqual(["DB_PASSWORD", "MY_TOKEN"]);
    expect(json.stdout).not.toContain(SECRET);

    const prod = await cli(["secrets", "list", "--env", "production", "--json"]);
    expect((JSON.parse(prod.stdout) as Array<{ name: string }>).map((s) => s.name)).toEqual(["DB_PASSWORD"]);
  });

  it("vars set and list", async () => {
    expect((await cli(["vars", "set", "REGION"], { input: "eu-west-1\n" })).code).toBe(0);
    expect((await cli(["vars", "set", "MODE"], { input: "slow" })).code).toBe(0);
    const list = await cli(["vars", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+VALUE\s+ENVIRONMENT/m);
    expect(list.stdout).toMatch(/^REGION\s+eu-west-1\s+\(repository\)/m);
    const json = JSON.parse((await cli(["vars", "list", "--json"])).stdout) as Array<{ name: string; value: string }>;
    expect(json.find((v) => v.name === "REGION")?.value).toBe("eu-west-1");
    expect(json.find((v) => v.name === "MODE")?.value).toBe("slow");
  });

  it("a run uses the secret (masked everywhere) and the variables", async () => {
    runResult = await cli(["run", "--json", "-s", "MY_TOKEN", "-s", `INLINE=${INLINE_SECRET}`, "--var", "MODE=fast"]);
    expect(runResult.code, context(runResult)).toBe(0);
    expect(runResult.stdout + runResult.stderr).not.toContain(SECRET);
    expect(runResult.stdout + runResult.stderr).not.toContain(INLINE_SECRET);
    const json = JSON.parse(runResult.stdout);
    const run = json.runs[0];
    runId = run.id;
    expect(run.conclusion).toBe("success");
    const deploy = run.jobs.find((j: any) => j.key === "deploy");
    // A job output holding a secret is dropped, as on GitHub; the variable is kept.
    expect(deploy.outputs.leaked ?? "").toBe("");
    expect(deploy.outputs.region).toBe("eu-west-1");
    expect(JSON.stringify(json.annotations)).toContain("annotation ***");
    expect(JSON.stringify(json.annotations)).toContain("Skip output 'leaked' since it may contain secret.");
  });

  it("slipway runs show RUN lists the run's annotations, masked, and --json has them", async () => {
    const shown = await cli(["runs", "show", String(runId)]);
    expect(shown.code, context(shown)).toBe(0);
    expect(shown.stdout).toMatch(/^Annotations$/m);
    expect(shown.stdout).toMatch(/⚠ warning deploy · .*: annotation \*\*\*$/m);
    expect(shown.stdout).not.toContain(SECRET);
    const json = JSON.parse((await cli(["runs", "show", String(runId), "--json"])).stdout) as { annotations: Array<{ level: string; message: string }> };
    expect(json.annotations).toContainEqual(expect.objectContaining({ level: "warning", message: "annotation ***" }));
    expect(json.annotations.map((a) => a.message)).toContain("Skip output 'leaked' since it may contain secret.");
  });

  it("slipway logs RUN prints every job's steps, masked; JOB narrows it; --json", async () => {
    const all = await cli(["logs", String(runId)]);
    expect(all.code, context(all)).toBe(0);
    expect(all.stdout).toMatch(/^== deploy \(job \d+\): success/m);
    expect(all.stdout).toMatch(/^== report \(job \d+\): success/m);
    expect(all.stdout).toMatch(/^-- 1\. Use the token \*\*\*: success$/m);
    expect(all.stdout).toContain("token is ***");
    expect(all.stdout).toContain("stderr ***");
    expect(all.stdout).toContain("inline ***");
    expect(all.stdout).toContain("later ***");
    expect(all.stdout).toContain("region=eu-west-1");
    expect(all.stdout, "--var overrides a stored variable").toContain("mode=fast");
    expect(all.stdout).toContain("leaked output is '', region eu-west-1");
    expect(all.stdout).toMatch(/-- summary\n[\s\S]*summary \*\*\*/);
    expect(all.stdout).not.toContain(SECRET);
    expect(all.stdout).not.toContain(Buffer.from(SECRET).toString("base64"));

    const one = await cli(["logs", String(runId), "report"]);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^== report/m);
    expect(one.stdout).not.toMatch(/^== deploy/m);

    const json = JSON.parse((await cli(["logs", String(runId), "deploy", "--json"])).stdout);
    expect(json.run.id).toBe(runId);
    expect(json.jobs).toHaveLength(1);
    expect(json.jobs[0].name).toBe("deploy");
    expect(json.jobs[0].steps[0].log).toContain("token is ***");
    expect(json.jobs[0].summary).toContain("summary ***");
  });

  it("slipway runs prints a table, and JSON with --json", async () => {
    // A second run (of one job) to list as well.
    const second = await cli(["run", "-j", "deploy"]);
    expect(second.code, context(second)).toBe(0);

    const table = await cli(["runs"]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^RUN\s+WORKFLOW\s+EVENT\s+REF\s+SHA\s+RESULT\s+TIME\s+CREATED$/);
    expect(lines.slice(1).some((l) => new RegExp(`^${runId}\\s+Deploy\\s+push\\s+main\\s+[0-9a-f]{7}\\s+success\\s+\\d+\\.\\d+s\\s+\\d{4}-`).test(l)), table.stdout).toBe(true);
    expect(lines.length).toBeGreaterThanOrEqual(3);

    const json = JSON.parse((await cli(["runs", "--json"])).stdout) as Array<Record<string, unknown>>;
    const mine = json.find((r) => r.id === runId);
    expect(mine).toMatchObject({ workflowName: "Deploy", event: "push", conclusion: "success", ref: "refs/heads/main" });
    const limited = JSON.parse((await cli(["runs", "--json", "-n", "1"])).stdout) as unknown[];
    expect(limited).toHaveLength(1);
  });

  it("no file in the data directory holds a secret in plaintext (or base64)", () => {
    const files = allFiles(data);
    expect(files.some((f) => f.endsWith("slipway.db"))).toBe(true);
    expect(files.some((f) => f.includes(`${join("logs", "")}`))).toBe(true);
    const needles = [SECRET, INLINE_SECRET, "other-Pq7-secret", Buffer.from(SECRET).toString("base64")].map((s) => Buffer.from(s));
    const leaks: string[] = [];
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const n of needles) if (bytes.includes(n)) leaks.push(`${f} holds ${n.toString()}`);
      // UTF-16 too (SQLite can store text that way).
      const utf16 = Buffer.from(SECRET, "utf16le");
      if (bytes.includes(utf16)) leaks.push(`${f} holds the secret in UTF-16`);
    }
    expect(leaks, `${files.length} files scanned`).toEqual([]);
    // The scan does see what is stored: the (plaintext) variable and the masked log line.
    const all = Buffer.concat(files.map((f) => readFileSync(f)));
    expect(all.includes(Buffer.from("eu-west-1"))).toBe(true);
    expect(all.includes(Buffer.from("token is ***"))).toBe(true);
    // The key file is readable by its owner only.
    const key = files.find((f) => f.endsWith("master.key"));
    if (key) expect(statSync(key).mode & 0o077).toBe(0);
  });

  it("secrets rm and vars rm", async () => {
    expect((await cli(["secrets", "rm", "MY_TOKEN"])).code).toBe(0);
    expect((await cli(["secrets", "rm", "DB_PASSWORD", "--env", "production"])).code).toBe(0);
    const secrets = await cli(["secrets", "list"]);
    expect(secrets.stdout).toContain("no secrets");
    expect((await cli(["vars", "rm", "REGION"])).code).toBe(0);
    expect((await cli(["vars", "rm", "MODE"])).code).toBe(0);
    expect((await cli(["vars", "list"])).stdout).toContain("no variables");
    // A removed secret is no longer found by -s.
    expect(process.env.MY_TOKEN).toBeUndefined();
    const missing = await cli(["run", "-s", "MY_TOKEN"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("secret 'MY_TOKEN' is neither in the secret store nor in the environment");
  });
});

describe("NO_COLOR", () => {
  let repo = "";
  beforeAll(() => {
    repo = makeRepo({
      ".github/workflows/ci.yml": "name: CI\non: push\njobs:\n  ok:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo fine\n  bad:\n    runs-on: ubuntu-latest\n    steps:\n      - run: exit 1\n",
    });
    cleanup.push(repo);
  });

  const commands = [["run"], ["runs"], ["logs", "1"], ["lint"], ["secrets", "list"], ["vars", "list"], ["lint", "missing.yml"]];

  it("no escape character in any output when NO_COLOR=1 (FORCE_COLOR unset)", async () => {
    expect(process.env.FORCE_COLOR).toBeUndefined();
    for (const args of commands) {
      const res = await runCli(args, { cwd: repo, env: { NO_COLOR: "1" } });
      expect(res.stdout + res.stderr, `slipway ${args.join(" ")}: ${context(res)}`).not.toContain("\x1b");
      expect(res.stdout.length + res.stderr.length).toBeGreaterThan(0);
    }
  });

  it("FORCE_COLOR=1 without NO_COLOR does colour (so the check above can see colour)", async () => {
    const res = await runCli(["runs"], { cwd: repo, env: { NO_COLOR: "", FORCE_COLOR: "1" } });
    expect(res.stdout).toContain("\x1b[");
  });
});

describe("slipway lint checks slipway.yml", () => {
  const WORKFLOW = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{ run: echo }]\n";
  const BAD = "services:\n  web:\n    release: { workflow: ci.yml }\n    run: { command: node s.js, health: { interval: 5 } }\nenvironments:\n  prod: { after: staging }\n";

  it("reports its errors with file:line:column, field path and fix, beside the workflows', and exits 2", async () => {
    const repo = makeRepo({ ".github/workflows/ci.yml": WORKFLOW, "slipway.yml": BAD });
    cleanup.push(repo);
    const res = await runCli(["lint"], { cwd: repo });
    expect(res.code, context(res)).toBe(2);
    expect(res.stdout).toContain(
      "slipway.yml:4:52: error: services.web.run.health.interval: the duration 5 has no unit [bad-duration] (fix: write 5s for seconds (or ms, m, h, d))\n",
    );
    expect(res.stdout).toContain("slipway.yml:6:18: error: environments.prod.after: no environment is named 'staging' [unknown-environment] (fix: define 'staging' under environments:, or remove it from after:)\n");
    expect(res.stdout).toContain("2 files checked, 2 errors, 1 warning");
    noCrash(res);
  });

  it("checks a slipway.yml named on the command line, without workflows, and reports it in JSON", async () => {
    const repo = makeRepo({ "deploy/slipway.yml": BAD });
    cleanup.push(repo);
    const res = await runCli(["lint", "--json", "deploy/slipway.yml"], { cwd: repo });
    expect(res.code, context(res)).toBe(2);
    const out = JSON.parse(res.stdout) as { files: number; diagnostics: { file: string; line: number; column: number; code: string; path: string }[] };
    expect(out.files).toBe(1);
    expect(out.diagnostics.map((d) => [d.file, d.line, d.column, d.code, d.path])).toEqual([
      ["deploy/slipway.yml", 4, 52, "bad-duration", "services.web.run.health.interval"],
      ["deploy/slipway.yml", 6, 18, "unknown-environment", "environments.prod.after"],
    ]);
  });

  it("passes the example's slipway.yml and workflow", async () => {
    const res = await runCli(["lint", "-C", join(import.meta.dirname, "../examples/hello")], { cwd: tmpdir() });
    expect(res.code, context(res)).toBe(0);
    expect(res.stdout).toContain("2 files checked, 0 errors, 0 warnings");
  });
});

describe("slipway lint --security", () => {
  const INJECTABLE = `on: issue_comment
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: someone/greeter@v1
      - run: echo "\${{ github.event.comment.body }}"
`;

  it("reports the security rules with their severities, exit 1 on errors, as text, JSON and SARIF; plain lint shows them as warnings", async () => {
    const repo = makeRepo({ ".github/workflows/greet.yml": INJECTABLE });
    try {
      const json = await runCli(["lint", "--security", "--json"], { cwd: repo });
      expect(json.code).toBe(1);
      const found = (JSON.parse(json.stdout) as { diagnostics: Array<{ code: string; severity: string; line: number; column: number }> }).diagnostics;
      expect(found.map((d) => `${d.line}:${d.column} ${d.severity} ${d.code}`)).toEqual([
        "1:1 warning security/missing-permissions",
        "6:15 warning security/unpinned-action",
        "7:20 error security/script-injection",
      ]);
      const sarif = await runCli(["lint", "--security", "--format", "sarif"], { cwd: repo });
      expect(sarif.code).toBe(1);
      const doc = JSON.parse(sarif.stdout) as { version: string; runs: Array<{ results: Array<{ ruleId: string; level: string }> }> };
      expect(doc.version).toBe("2.1.0");
      expect(doc.runs[0]?.results.map((r) => `${r.level} ${r.ruleId}`)).toContain("error security/script-injection");
      const plain = await runCli(["lint"], { cwd: repo });
      expect(plain.code).toBe(0);
      expect(plain.stdout).toContain(".github/workflows/greet.yml:7:20: warning:");
      expect(plain.stdout).toContain("1 file checked, 0 errors, 3 warnings");
      const bad = await runCli(["lint", "--format", "xml"], { cwd: repo });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--format must be text, json or sarif");
    } finally {
      removeDir(repo);
    }
  });
});

describe("step files on tmpfs", () => {
  // Each step's script and file-command files live in a folder of the run on
  // /dev/shm (work-root.ts createStepFilesRoot), also inside --sandbox, and
  // are gone when the run ends.
  const workflow = [
    "on: push",
    "jobs:",
    "  a:",
    "    runs-on: ubuntu-latest",
    "    outputs:",
    "      greeting: ${{ steps.write.outputs.greeting }}",
    "    steps:",
    "      - id: write",
    "        run: |",
    '          echo "script=$0"',
    '          echo "files=$GITHUB_OUTPUT"',
    '          echo "greeting=hello" >> "$GITHUB_OUTPUT"',
    '          echo "FROM_ENV=set by step one" >> "$GITHUB_ENV"',
    `      - run: 'echo "next step sees: $FROM_ENV / \${{ steps.write.outputs.greeting }}"'`,
    "  b:",
    "    needs: a",
    "    runs-on: ubuntu-latest",
    "    steps:",
    '      - run: echo "job b got ${{ needs.a.outputs.greeting }}"',
    "",
  ].join("\n");
  for (const sandbox of [false, true]) {
    it(`carries outputs and env between steps and jobs${sandbox ? " with --sandbox" : ""}, and leaves nothing behind`, async () => {
      const repo = makeRepo({ ".github/workflows/ci.yml": workflow });
      cleanup.push(repo);
      const res = await runCli(["run", ...(sandbox ? ["--sandbox"] : [])], { cwd: repo });
      expect(res.code, context(res)).toBe(0);
      const script = /script=(\/\S+)/.exec(res.stdout)?.[1] ?? "";
      const files = /files=(\/\S+)/.exec(res.stdout)?.[1] ?? "";
      const root = /^\/dev\/shm\/slipway-work-\d+-[A-Za-z0-9]{6}\//.exec(script)?.[0];
      expect(root, context(res)).toBeDefined();
      expect(files.startsWith(root!), context(res)).toBe(true);
      expect(res.stdout).toContain("next step sees: set by step one / hello");
      expect(res.stdout).toContain("job b got hello");
      expect(() => statSync(root!)).toThrow(/ENOENT/);
      noCrash(res);
    });
  }
});
