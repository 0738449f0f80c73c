// `slipway release create` and `slipway releases`, end to end: a real
// workflow run uploads an artifact, which becomes a release; the same content
// handed in as a folder is the same release.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeResult, git, makeRepo, removeDir, runCli } from "./helpers/cli.js";

const WORKFLOW = `name: CI
on: [push, workflow_dispatch]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: mkdir -p out && cp app/server.js out/ && echo built > out/BUILD
      - uses: actions/upload-artifact@v4
        with:
          name: web
          path: out
  broken:
    runs-on: ubuntu-latest
    if: github.event_name == 'workflow_dispatch'
    steps:
      - run: exit 1
`;

describe("slipway release create / releases", () => {
  const repo = makeRepo({ ".github/workflows/ci.yml": WORKFLOW, "app/server.js": "console.log('hello')\n" });
  const env = { SLIPWAY_ACTOR: "alice" };
  afterAll(() => removeDir(repo));

  it("makes a release from a successful run's artifact, once per content", async () => {
    const run = await runCli(["run", "push"], { cwd: repo });
    expect(run.code, describeResult(run)).toBe(0);

    const created = await runCli(["release", "create", "--service", "web", "--from-run", "1", "--json"], { cwd: repo, env });
    expect(created.code, describeResult(created)).toBe(0);
    const first = JSON.parse(created.stdout) as { created: boolean; release: Record<string, unknown> };
    expect(first.created).toBe(true);
    expect(first.release).toMatchObject({ service: "web", number: 1, artifact: "web", runId: 1, createdBy: "alice", workflowPath: ".github/workflows/ci.yml" });

    // The same build output handed in as a folder: no second release.
    const out = join(repo, "handed-in");
    mkdirSync(out);
    writeFileSync(join(out, "server.js"), "console.log('hello')\n");
    writeFileSync(join(out, "BUILD"), "built\n");
    const again = await runCli(["release", "create", "--service", "web", "--file", "handed-in"], { cwd: repo, env });
    expect(again.code, describeResult(again)).toBe(0);
    expect(again.stdout).toContain("web#1 already holds this content; no new release");

    writeFileSync(join(out, "BUILD"), "built again\n");
    const second = await runCli(["release", "create", "--service", "web", "--file", "handed-in"], { cwd: repo, env });
    expect(second.code, describeResult(second)).toBe(0);
    expect(second.stdout).toContain("created release web#2");

    const list = await runCli(["releases", "web"], { cwd: repo });
    expect(list.code, describeResult(list)).toBe(0);
    const lines = list.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^RELEASE\s+DIGEST\s+COMMIT\s+RUN\s+ARTIFACT\s+SIZE\s+BY\s+CREATED/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["web#2", "web#1"]);

    const json = JSON.parse((await runCli(["releases", "--json"], { cwd: repo })).stdout) as Array<{ number: number; digest: string }>;
    expect(json.map((r) => r.number)).toEqual([2, 1]);
    expect(json[0]?.digest).not.toBe(json[1]?.digest);
  });

  it("refuses bad input with the fix and exit 2, and stores nothing", async () => {
    const failed = await runCli(["run", "workflow_dispatch"], { cwd: repo });
    expect(failed.code, describeResult(failed)).toBe(1);
    const cases: Array<[string[], RegExp]> = [
      [["release", "create", "--from-run", "1"], /--service is required/],
      [["release", "create", "--service", "web"], /exactly one of --from-run RUN .* or --file PATH/],
      [["release", "create", "--service", "Web!", "--file", "app"], /invalid service name 'Web!'/],
      [["release", "create", "--service", "web", "--from-run", "x"], /--from-run expects a run number, got 'x'/],
      [["release", "create", "--service", "web", "--from-run", "2"], /run 2 ended in failure: a release is made from a successful run only/],
      [["release", "create", "--service", "web", "--from-run", "1", "--artifact", "api"], /run 1 has no artifact 'api' \(or it expired\); it has 'web'/],
      [["release", "create", "--service", "web", "--file", "missing"], /does not exist; give the file or folder to release/],
    ];
    const before = (await runCli(["releases", "--json"], { cwd: repo })).stdout;
    for (const [args, message] of cases) {
      const res = await runCli(args, { cwd: repo });
      expect(res.code, `${args.join(" ")}\n${describeResult(res)}`).toBe(2);
      expect(res.stderr).toMatch(message);
      expect(res.stderr).not.toMatch(/\n\s+at /);
    }
    expect((await runCli(["releases", "--json"], { cwd: repo })).stdout).toBe(before);
  });
});

describe("automatic releases from slipway.yml", () => {
  const SLIPWAY_YML = `services:
  web:
    release: { workflow: ci.yml, artifact: web }
    run: { command: node server.js }
`;
  const repo = makeRepo({ ".github/workflows/ci.yml": WORKFLOW, "app/server.js": "console.log('hello')\n", "slipway.yml": SLIPWAY_YML });
  afterAll(() => removeDir(repo));

  it("releases the service when its workflow succeeds on the default branch, once per content", async () => {
    const first = await runCli(["run", "push"], { cwd: repo });
    expect(first.code, describeResult(first)).toBe(0);
    expect(first.stdout).toMatch(/⬢ released web#1 sha256:[0-9a-f]{12}… from run 1/);

    const second = await runCli(["run", "push", "--json"], { cwd: repo });
    expect(second.code, describeResult(second)).toBe(0);
    const releases = (JSON.parse(second.stdout) as { releases: Array<{ service: string; created: boolean; release: { number: number } }> }).releases;
    expect(releases).toEqual([expect.objectContaining({ service: "web", runId: 2, created: false, release: expect.objectContaining({ number: 1 }) })]);

    // A run of another branch is built, not released.
    git(repo, "checkout", "-q", "-b", "feature");
    const feature = await runCli(["run", "push"], { cwd: repo });
    expect(feature.code, describeResult(feature)).toBe(0);
    expect(feature.stdout).not.toContain("released");
    git(repo, "checkout", "-q", "main");
    expect(JSON.parse((await runCli(["releases", "--json"], { cwd: repo })).stdout)).toHaveLength(1);
  });

  it("takes the configured artifact and refuses a service slipway.yml does not declare", async () => {
    const made = await runCli(["release", "create", "--service", "web", "--from-run", "1", "--json"], { cwd: repo });
    expect(made.code, describeResult(made)).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ created: false, release: { service: "web", number: 1, artifact: "web" } });
    const unknown = await runCli(["release", "create", "--service", "api", "--from-run", "1"], { cwd: repo });
    expect(unknown.code, describeResult(unknown)).toBe(2);
    expect(unknown.stderr).toContain("slipway.yml has no service 'api'; its services: web");
  });
});
