// Test reports end to end: a workflow whose test step runs a real test runner
// (Node's own, writing JUnit XML and lcov) with a failing test, then
// `uses: slipway/test-report` with `if: always()`. The failures, with file and
// line, reach the stored report (`slipway runs show RUN --json`), the job
// summary (`slipway logs`), the annotations of `slipway run --json`; the
// report files are kept as an artifact that a later job downloads.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { readArtifact } from "../src/actions/index.js";
import { runsShowCommand, type RunsShowJson } from "../src/cli/runs-show.js";
import { describeResult, makeRepo, removeDir, runCli, runsOf, type CliResult } from "./helpers/cli.js";

const CART = `export function total(items) {
  return items.reduce((sum, item) => sum + item.price * item.qty, 0);
}

export function discount(amount, percent) {
  return amount - amount * (percent / 10);
}
`;

const CART_TEST = `import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { discount, total } from "../src/cart.mjs";

describe("cart", () => {
  it("sums prices", () => {
    assert.equal(total([{ price: 2, qty: 3 }]), 6);
  });

  it("applies a discount", () => {
    assert.equal(discount(200, 10), 180, "10% off 200 is 180");
  });
});
`;
const FAILING_LINE = CART_TEST.split("\n").findIndex((l) => l.includes("10% off 200")) + 1;

const WORKFLOW = `name: CI
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Test
        run: >-
          mkdir -p reports coverage &&
          node --test --experimental-test-coverage
          --test-reporter=spec --test-reporter-destination=stdout
          --test-reporter=junit --test-reporter-destination=reports/junit.xml
          --test-reporter=lcov --test-reporter-destination=coverage/lcov.info
          test/
      - name: Test report
        id: report
        uses: slipway/test-report@v1
        if: always()
        with:
          path: reports/*.xml
          coverage: coverage/lcov.info
      - name: Outputs
        if: always()
        run: echo "tests=\${{ steps.report.outputs.tests }} failed=\${{ steps.report.outputs.failed }} artifact=\${{ steps.report.outputs.artifact-name }}"
  inspect:
    needs: test
    if: always()
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          pattern: test-reports-*
          path: downloaded
          merge-multiple: true
      - run: grep -q "applies a discount" downloaded/reports/junit.xml && test -s downloaded/coverage/lcov.info
`;

let repo = "";
let dataDir = "";
let run: CliResult;
let runId = 0;

beforeAll(async () => {
  repo = makeRepo({
    "src/cart.mjs": CART,
    "test/cart.test.mjs": CART_TEST,
    "package.json": '{ "name": "shop", "type": "module", "private": true }\n',
    ".github/workflows/ci.yml": WORKFLOW,
  });
  dataDir = mkdtempSync(join(tmpdir(), "slipway-test-reports-data-"));
  run = await runCli(["run", "--json", "--data-dir", dataDir], { cwd: repo, timeoutMs: 120_000 });
  runId = runsOf(run.stdout)[0]?.id ?? 0;
}, 180_000);

afterAll(() => {
  removeDir(repo);
  removeDir(dataDir);
});

/** What `runsShowCommand` prints. */
async function show(json: boolean): Promise<string> {
  let out = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  try {
    expect(await runsShowCommand(String(runId), { dataDir, ...(json ? { json: true } : {}) })).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe("a workflow whose tests write JUnit XML", () => {
  it("fails the test job, while the report step itself succeeds and annotates the failure with file and line", async () => {
    expect(run.code, describeResult(run)).toBe(1);
    const [runJson] = runsOf(run.stdout);
    const jobs = runJson.jobs as { name: string; conclusion: string; steps?: { name: string; conclusion: string }[] }[];
    expect(jobs.map((j) => [j.name, j.conclusion])).toEqual([
      ["test", "failure"],
      ["inspect", "success"],
    ]);
    const annotations = (JSON.parse(run.stdout) as { annotations: Record<string, unknown>[] }).annotations;
    expect(annotations).toContainEqual({
      level: "error",
      message: "10% off 200 is 180; 0 !== 180",
      title: "cart > applies a discount",
      file: "test/cart.test.mjs",
      line: FAILING_LINE,
      job: "test",
      step: "Test report",
    });

    const logs = await runCli(["logs", String(runId), "test", "--json", "--data-dir", dataDir], { cwd: repo });
    expect(logs.code, describeResult(logs)).toBe(0);
    const job = (JSON.parse(logs.stdout) as { jobs: { steps: { name: string; conclusion: string; log: string }[]; summary: string }[] }).jobs[0];
    expect(job?.steps.map((s) => [s.name, s.conclusion])).toEqual([
      ["Run actions/checkout@v4", "success"],
      ["Test", "failure"],
      ["Test report", "success"],
      ["Outputs", "success"],
    ]);
    expect(job?.steps[3]?.log).toContain("tests=2 failed=1 artifact=test-reports-");
    expect(job?.steps[2]?.log).toContain(`##[error]test/cart.test.mjs:${FAILING_LINE}: cart > applies a discount: 10% off 200 is 180`);
  });

  it("shows the failures with message, file and line in `slipway runs show RUN --json`", async () => {
    // Through the command line as a user types it, then in-process (coverage of the printing code).
    const cli = await runCli(["runs", "show", String(runId), "--json", "--data-dir", dataDir], { cwd: repo });
    expect(cli.code, describeResult(cli)).toBe(0);
    expect((JSON.parse(cli.stdout) as RunsShowJson).tests.totals).toMatchObject({ tests: 2, failed: 1 });
    const shown = JSON.parse(await show(true)) as RunsShowJson;
    expect(shown.run).toMatchObject({ id: runId, workflowName: "CI", event: "push", ref: "refs/heads/main", conclusion: "failure" });
    expect(shown.tests.totals).toMatchObject({ tests: 2, passed: 1, failed: 1, errored: 0, skipped: 0 });
    const test = shown.jobs.find((j) => j.name === "test");
    const report = test?.testReports[0];
    expect(report?.failures).toHaveLength(1);
    expect(report?.failures[0]).toMatchObject({
      suite: "cart",
      name: "applies a discount",
      message: "10% off 200 is 180\n0 !== 180",
      file: "test/cart.test.mjs",
      line: FAILING_LINE,
      report: "reports/junit.xml",
    });
    // Node's own wrapper left out: the details start with the assertion and its stack, paths relative to the workspace
    expect(report?.failures[0]?.details).toMatch(new RegExp(`^AssertionError \\[ERR_ASSERTION\\]: 10% off 200 is 180\\n[^]*at TestContext.<anonymous> \\(test/cart\\.test\\.mjs:${FAILING_LINE}:`));
    const lcov = report?.coverage.find((c) => c.format === "lcov");
    expect(lcov?.lines.total).toBeGreaterThan(0);
    expect(lcov?.functions?.covered).toBeGreaterThan(0);
    expect(report?.artifact?.name).toBe(`test-reports-${test?.id}`);
    expect(shown.jobs.find((j) => j.name === "inspect")?.testReports).toEqual([]);
  });

  it("prints the run, its jobs, totals, failures with file:line and coverage", async () => {
    const text = await show(false);
    expect(text).toContain(`Run ${runId}: CI (.github/workflows/ci.yml) — failure`);
    expect(text).toMatch(/test\s+failure\s+1\s+\S+\s+2 tests, 1 failed/);
    expect(text).toContain("2 tests: 1 failed, 1 passed");
    expect(text).toContain(`✗ cart > applies a discount\n      test/cart.test.mjs:${FAILING_LINE}: 10% off 200 is 180`);
    expect(text).toMatch(/Coverage \(lcov\): lines \d+\.\d% \(\d+\/\d+\)/);
  });

  it("writes the failures with file and line to the job summary", async () => {
    const logs = await runCli(["logs", String(runId), "test", "--json", "--data-dir", dataDir], { cwd: repo });
    const summary = (JSON.parse(logs.stdout) as { jobs: { summary: string }[] }).jobs[0]?.summary ?? "";
    expect(summary).toContain("### Test report: test (failed)");
    expect(summary).toContain("**2 tests: 1 failed, 1 passed");
    expect(summary).toContain(`- **cart > applies a discount** at \`test/cart.test.mjs:${FAILING_LINE}\`: 10% off 200 is 180`);
    expect(summary).toMatch(/\| lcov \| \d+\.\d% \(\d+\/\d+\) \|/);
  });

  it("keeps the report files as an artifact of the run, which download-artifact gets", async () => {
    const shown = JSON.parse(await show(true)) as RunsShowJson;
    const name = shown.jobs.find((j) => j.name === "test")?.testReports[0]?.artifact?.name ?? "";
    const manifest = await readArtifact(dataDir, runId, name);
    expect(manifest?.files.map((f) => f.path)).toEqual(["coverage/lcov.info", "reports/junit.xml"]);
    // The `inspect` job downloaded it by pattern and found the failing test in it.
    expect(shown.jobs.find((j) => j.name === "inspect")?.conclusion).toBe("success");
  });
});
