// `slipway run --before SHA`: a push of several commits, as a Git server sees
// it; and each run's repository, with run numbers per repository when
// repositories share one data directory. Through the built CLI, in real Git
// repositories.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeResult, git, makeRepo, removeDir, runCli, runsOf } from "./helpers/cli.js";

const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeDir));

// Runs only when something under src/ changed; reports what it saw as job outputs.
const WORKFLOW = `on:
  push:
    paths: ["src/**"]
jobs:
  show:
    runs-on: ubuntu-latest
    outputs:
      number: \${{ steps.s.outputs.number }}
      commits: \${{ steps.s.outputs.commits }}
      before: \${{ steps.s.outputs.before }}
    steps:
      - id: s
        run: |
          echo "number=\${{ github.run_number }}" >> "$GITHUB_OUTPUT"
          echo "commits=\${{ join(github.event.commits.*.message, ',') }}" >> "$GITHUB_OUTPUT"
          echo "before=\${{ github.event.before }}" >> "$GITHUB_OUTPUT"
`;

function repo(): string {
  const dir = makeRepo({ ".github/workflows/ci.yml": WORKFLOW, "src/a.txt": "a\n", "README.md": "hi\n" });
  cleanup.push(dir);
  return dir;
}

function commitFile(dir: string, file: string, content: string, message: string): string {
  writeFileSync(join(dir, file), content);
  git(dir, "commit", "-q", "-am", message);
  return git(dir, "rev-parse", "HEAD");
}

describe("slipway run --before", () => {
  it("sees every commit of the push and the files they changed; records the repository; numbers runs per repository", async () => {
    const data = mkdtempSync(join(tmpdir(), "slipway-before-data-"));
    cleanup.push(data);
    const a = repo();
    const before = git(a, "rev-parse", "HEAD");
    commitFile(a, "src/a.txt", "a2\n", "change src");
    commitFile(a, "README.md", "docs\n", "change docs");

    // Taken as the push of the last commit alone: only README.md changed, the workflow is skipped.
    const alone = await runCli(["run", "--json", "--data-dir", data], { cwd: a });
    expect(alone.code, describeResult(alone)).toBe(0);
    expect(runsOf(alone.stdout)).toEqual([]);
    expect(JSON.parse(alone.stdout).skipped).toHaveLength(1);

    const push = await runCli(["run", "--json", "--data-dir", data, "--before", before], { cwd: a });
    expect(push.code, describeResult(push)).toBe(0);
    const [run] = runsOf(push.stdout);
    expect(run).toMatchObject({ repository: `local/${basename(a)}`, conclusion: "success" });
    expect(run.jobs[0].outputs).toEqual({ number: "1", commits: "change src,change docs", before });

    // Another repository in the same data directory starts its own numbering.
    const b = repo();
    git(b, "remote", "add", "origin", "https://git.example.com/acme/other.git");
    commitFile(b, "src/a.txt", "b2\n", "b work");
    const other = await runCli(["run", "--json", "--data-dir", data], { cwd: b });
    expect(other.code, describeResult(other)).toBe(0);
    expect(runsOf(other.stdout)[0]).toMatchObject({ repository: "acme/other", jobs: [{ outputs: { number: "1", commits: "b work" } }] });

    const again = await runCli(["run", "--json", "--data-dir", data, "--before", before], { cwd: a });
    expect(runsOf(again.stdout)[0]?.jobs[0].outputs.number, describeResult(again)).toBe("2");

    const listed = await runCli(["runs", "--json", "--data-dir", data], { cwd: a });
    expect((JSON.parse(listed.stdout) as Array<{ repository: string }>).map((r) => r.repository)).toEqual([
      `local/${basename(a)}`,
      "acme/other",
      `local/${basename(a)}`,
    ]);
  });
});
