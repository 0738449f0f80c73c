import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TestReport } from "../../reports/index.js";
import { readArtifact } from "./artifacts.js";
import { ActionError } from "./builtin-action.js";
import { testReportAction } from "./test-report.js";
import { testStep, type TestStep } from "./test-step.js";

const FIXTURES = join(import.meta.dirname, "../../../test/fixtures/reports");

let root: string;
let dataDir: string;
let workspace: string;
let logDir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "slipway-test-report-"));
  dataDir = join(root, "data");
  workspace = join(root, "workspace");
  logDir = join(dataDir, "logs", "7", "42");
  mkdirSync(workspace, { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function put(path: string, content = ""): void {
  mkdirSync(dirname(join(workspace, path)), { recursive: true });
  writeFileSync(join(workspace, path), content);
}

function fixture(name: string, to: string): void {
  mkdirSync(dirname(join(workspace, to)), { recursive: true });
  copyFileSync(join(FIXTURES, name), join(workspace, to));
}

function step(inputs: Record<string, string>, extra: { mask?: (s: string) => string } = {}): TestStep {
  const s = testStep(inputs, { workspace, dataDir, home: join(root, "home"), runId: 7, jobKey: "test", job: { id: 42, name: "test (node 20)", logDir } });
  if (extra.mask) s.ctx.mask = extra.mask;
  return s;
}

function stored(): TestReport[] {
  return (JSON.parse(readFileSync(join(logDir, "test-report.json"), "utf8")) as { reports: TestReport[] }).reports;
}

describe("slipway/test-report", () => {
  it("reads JUnit and lcov, stores the report with the job, keeps the files as an artifact, summarizes and annotates the failures", async () => {
    // A Vitest project in app/: its report names files relative to app/.
    fixture("vitest.xml", "app/reports/junit.xml");
    fixture("lcov.info", "app/coverage/lcov.info");
    put("app/src/math.test.ts", "// test\n");
    put("app/src/user.test.ts", "// test\n");
    const s = step({ path: "app/reports/*.xml", coverage: "app/coverage/lcov.info" });
    await testReportAction.main(s.ctx);

    expect(s.outputs).toMatchObject({ tests: "6", passed: "3", failed: "2", errored: "0", skipped: "1", flaky: "0", "lines-coverage": "83.3", "branches-coverage": "50", "artifact-name": "test-reports-42" });
    const [report] = stored();
    expect(report).toMatchObject({ name: "test (node 20)", attempt: 1, files: ["app/reports/junit.xml", "app/coverage/lcov.info"], artifact: { name: "test-reports-42" } });
    expect(report?.failures.map((f) => `${f.name} ${f.file}:${f.line}: ${f.message}`)).toEqual([
      "math > subtracts app/src/math.test.ts:10: expected 4 to be 2 // Object.is equality",
      "rejects a negative id app/src/user.test.ts:4: invalid id -1",
    ]);
    expect(s.annotations).toEqual([
      { level: "error", message: "expected 4 to be 2 // Object.is equality", title: "src/math.test.ts > math > subtracts", file: "app/src/math.test.ts", line: 10 },
      { level: "error", message: "invalid id -1", title: "src/user.test.ts > rejects a negative id", file: "app/src/user.test.ts", line: 4 },
    ]);
    const summary = s.summary.join("\n");
    expect(summary).toContain("### Test report: test (node 20) (failed)");
    expect(summary).toContain("**6 tests: 2 failed, 3 passed, 1 skipped (25 ms)**");
    expect(summary).toContain("- **src/math.test.ts > math > subtracts** at `app/src/math.test.ts:10`: expected 4 to be 2 // Object.is equality");
    expect(summary).toContain("| lcov | 83.3% (10/12) | 50.0% (2/4) | 75.0% (3/4) |");
    expect(s.logs).toContain("  failed: src/math.test.ts > math > subtracts (app/src/math.test.ts:10): expected 4 to be 2 // Object.is equality");

    const artifact = await readArtifact(dataDir, 7, "test-reports-42");
    expect(artifact?.files.map((f) => f.path)).toEqual(["coverage/lcov.info", "reports/junit.xml"]);

    // A second report in the same job gets its own artifact and joins the job's file.
    fixture("pytest.xml", "py/junit.xml");
    const again = step({ path: "py/junit.xml", name: "python" });
    await testReportAction.main(again.ctx);
    expect(again.outputs["artifact-name"]).toBe("test-reports-42-2");
    expect(stored().map((r) => [r.name, r.totals.tests])).toEqual([
      ["test (node 20)", 6],
      ["python", 6],
    ]);
  });

  it("finds the files a report names relative to a package (Go) or by package path (Java) in the workspace", async () => {
    fixture("go-junit-report.xml", "reports/go.xml");
    fixture("surefire.xml", "target/surefire-reports/TEST-com.example.calc.CalculatorTest.xml");
    put("calc/calc_test.go");
    put("calc/calc.go");
    put("cart/calc_test.go");
    put("src/test/java/com/example/calc/CalculatorTest.java");
    const s = step({ path: "reports/go.xml\ntarget/surefire-reports/" });
    await testReportAction.main(s.ctx);
    expect(stored()[0]?.failures.map((f) => `${f.name} ${f.file}:${f.line}`)).toEqual([
      "TestSub calc/calc_test.go:14",
      "TestDivide /home/runner/work/shop/shop/calc/calc_test.go:19",
      "divides src/test/java/com/example/calc/CalculatorTest.java:27",
      "parses src/test/java/com/example/calc/CalculatorTest.java:33",
    ]);
    // An absolute path outside the workspace is no annotation's file.
    expect(s.annotations[1]).toEqual({ level: "error", message: "Runtime error", title: "example.com/shop/calc > TestDivide" });
    expect(s.outputs.flaky).toBe("1");
    expect(s.summary.join("\n")).toContain("#### Flaky\n\n- com.example.calc.CalculatorTest > fetchesRates: failed, then passed when the test runner ran it again");
  });

  it("takes only XML files below a directory, but any file named exactly", async () => {
    fixture("node.xml", "test-results/node.xml");
    put("test-results/output.log", "not a report");
    fixture("lcov.info", "coverage/lcov.info");
    put("coverage/index.html", "<html></html>");
    const s = step({ path: "test-results", coverage: "coverage" });
    await testReportAction.main(s.ctx);
    expect(stored()[0]?.files).toEqual(["test-results/node.xml", "coverage/lcov.info"]);
    expect(stored()[0]?.diagnostics).toEqual([]);
  });

  it("fails when no file matches, naming the globs, unless fail-on-empty is false", async () => {
    const s = step({ path: "reports/**/*.xml\n!reports/old/**", coverage: "coverage/lcov.info" });
    await expect(testReportAction.main(s.ctx)).rejects.toThrow(
      new ActionError(
        "No test report files were found with the provided path: reports/**/*.xml, !reports/old/**. No coverage files were found with the provided coverage: coverage/lcov.info. " +
          "Did the tests run and write their reports there (relative to the workspace)? Set `fail-on-empty: false` to allow this.",
      ),
    );
    const lenient = step({ path: "reports/*.xml", "fail-on-empty": "false" });
    await testReportAction.main(lenient.ctx);
    expect(lenient.warnings[0]).toMatch(/^No test report files were found with the provided path: reports\/\*\.xml\./);
    await expect(testReportAction.main(step({}).ctx)).rejects.toThrow("Input required and not supplied: path");
  });

  it("warns about a malformed report with file, line and column; fails when no report could be read", async () => {
    fixture("malformed.xml", "reports/broken.xml");
    fixture("vitest.xml", "reports/unit.xml");
    const s = step({ path: "reports/*.xml" });
    await testReportAction.main(s.ctx);
    expect(s.warnings).toEqual([
      "reports/broken.xml:23:5: error: not well-formed XML: Expected closing tag 'testcase' (opened in line 4, col 9) instead of closing tag 'testsuite'. [report-xml]",
    ]);
    expect(s.outputs.tests).toBe("6");
    expect(s.summary.join("\n")).toContain("#### Problems reading the reports\n\n- `reports/broken.xml:23:5`: not well-formed XML");

    rmSync(join(workspace, "reports", "unit.xml"));
    const only = step({ path: "reports/*.xml" });
    await expect(testReportAction.main(only.ctx)).rejects.toThrow(
      "None of the 1 report file could be read: reports/broken.xml:23:5: error: not well-formed XML",
    );
    // The raw file is kept all the same, to look at.
    expect((await readArtifact(dataDir, 7, "test-reports-42-2"))?.files.map((f) => f.path)).toEqual(["broken.xml"]);
  });

  it("fails on failed tests only with fail-on-failure", async () => {
    fixture("pytest.xml", "junit.xml");
    await testReportAction.main(step({ path: "junit.xml" }).ctx);
    await expect(testReportAction.main(step({ path: "junit.xml", "fail-on-failure": "true" }).ctx)).rejects.toThrow("3 of 6 tests failed (fail-on-failure is true)");
  });

  it("masks secrets in what it stores", async () => {
    put("junit.xml", '<testsuite name="s"><testcase classname="c" name="logs in"><failure message="bad token hunter2">token hunter2 rejected</failure></testcase></testsuite>');
    const s = step({ path: "junit.xml" }, { mask: (text) => text.replaceAll("hunter2", "***") });
    await testReportAction.main(s.ctx);
    expect(readFileSync(join(logDir, "test-report.json"), "utf8")).not.toContain("hunter2");
    expect(stored()[0]?.failures[0]?.message).toBe("bad token ***");
  });
});
