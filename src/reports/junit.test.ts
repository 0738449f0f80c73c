import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { locateFailure, parseJUnit, type JUnitResult } from "./index.js";

const FIXTURES = join(import.meta.dirname, "../../test/fixtures/reports");

function parse(name: string, root?: string): JUnitResult {
  return parseJUnit(readFileSync(join(FIXTURES, name), "utf8"), { file: `reports/${name}`, ...(root ? { root } : {}) });
}

/** `status suite :: name file:line` of each case. */
function cases(r: JUnitResult): string[] {
  return r.cases.map((c) => `${c.status} ${c.suite} :: ${c.name}${c.file ? ` ${c.file}:${c.line ?? ""}` : ""}`);
}

function count(r: JUnitResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of r.cases) out[c.status] = (out[c.status] ?? 0) + 1;
  return out;
}

describe("parseJUnit", () => {
  it("reads Node's --test-reporter=junit: nested suites, tests outside any suite, file:line from the stack", () => {
    const r = parse("node.xml", "/home/runner/work/app/app");
    expect(r.diagnostics).toEqual([]);
    expect(cases(r)).toEqual([
      "passed cart :: sums prices",
      "failed cart > discounts :: applies a coupon test/cart.test.mjs:15",
      "skipped cart > discounts :: stacks coupons",
      "skipped cart :: ships abroad",
      "failed  :: empty cart costs nothing test/cart.test.mjs:25",
    ]);
    expect(r.failures[0]).toMatchObject({
      suite: "cart > discounts",
      name: "applies a coupon",
      kind: "failure",
      // Node's message attribute runs the lines together; the text has them
      message: "Expected values to be strictly equal:\n9 !== 8",
      file: "test/cart.test.mjs",
      line: 15,
      report: "reports/node.xml",
    });
    // the details are the test's own error (Node's `cause:`), paths relative to the workspace
    expect(r.failures[0]?.details.split("\n").slice(0, 5)).toEqual([
      "AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:",
      "",
      "9 !== 8",
      "",
      "    at TestContext.<anonymous> (test/cart.test.mjs:15:14)",
    ]);
    expect(r.duration).toBeCloseTo(0.017379);
  });

  it("reads Vitest's junit reporter: the ❯ frames name the file relative to the project", () => {
    const r = parse("vitest.xml");
    expect(count(r)).toEqual({ passed: 3, failed: 2, skipped: 1 });
    expect(r.failures.map((f) => [f.name, f.message, f.type, `${f.file}:${f.line}`])).toEqual([
      ["math > subtracts", "expected 4 to be 2 // Object.is equality", "AssertionError", "src/math.test.ts:10"],
      ["rejects a negative id", "invalid id -1", "TypeError", "src/user.test.ts:4"],
    ]);
    expect(r.failures[0]?.details).toContain("- Expected\n+ Received");
    expect(r.duration).toBeCloseTo(0.025, 3);
  });

  it("reads pytest's xunit2 report: file:line from the traceback, the test's own frame before the library's", () => {
    const r = parse("pytest.xml");
    expect(count(r)).toEqual({ passed: 2, failed: 2, skipped: 1, errored: 1 });
    expect(r.failures.map((f) => [f.classname, f.name, f.kind, `${f.file}:${f.line}`])).toEqual([
      ["tests.test_calc", "test_add_negative", "failure", "tests/test_calc.py:11"],
      // the exception was raised in calc/__init__.py:6; the test failed at line 19 of its own file
      ["tests.test_calc.TestDivide", "test_divide_by_zero", "failure", "tests/test_calc.py:19"],
      ["tests.test_calc", "test_uses_fixture", "error", "tests/test_calc.py:28"],
    ]);
    expect(r.failures[2]?.message).toBe('failed on setup with "RuntimeError: database is not reachable"');
    // pytest's one suite is called "pytest": the class name identifies the test instead
    expect(r.cases[0]?.suite).toBe("");
  });

  it("reads pytest's xunit1 report, whose line attribute is 0-based", () => {
    const r = parse("pytest-xunit1.xml");
    expect(cases(r)).toEqual([
      "passed  :: test_add tests/test_calc.py:6",
      "failed  :: test_add_negative tests/test_calc.py:11",
      "passed  :: test_divide tests/test_calc.py:15",
      "failed  :: test_divide_by_zero tests/test_calc.py:19",
      "skipped  :: test_divide_floats tests/test_calc.py:21",
      "errored  :: test_uses_fixture tests/test_calc.py:28",
    ]);
  });

  it("reads Maven Surefire: errors apart from failures, the test class's frame, flakyFailure as flaky", () => {
    const r = parse("surefire.xml");
    expect(count(r)).toEqual({ passed: 2, failed: 1, errored: 1, skipped: 1 });
    expect(r.failures.map((f) => [f.name, f.kind, f.type, f.message, `${f.file}:${f.line}`])).toEqual([
      ["divides", "failure", "org.opentest4j.AssertionFailedError", "expected: <2> but was: <3>", "com/example/calc/CalculatorTest.java:27"],
      // Parser.parse threw; the test's own frame is line 33
      ["parses", "error", "java.lang.NumberFormatException", 'For input string: "x"', "com/example/calc/CalculatorTest.java:33"],
    ]);
    expect(r.flaky).toEqual([
      { suite: "com.example.calc.CalculatorTest", classname: "com.example.calc.CalculatorTest", name: "fetchesRates", failedAttempts: [], passedAttempt: null, source: "rerun" },
    ]);
    expect(r.cases.find((c) => c.name === "fetchesRates")).toMatchObject({ status: "passed", flaky: true });
    expect(r.duration).toBe(0.061);
  });

  it("reads jest-junit: stack frames outside node_modules, a file attribute with the line from the stack", () => {
    const r = parse("jest-junit.xml", "/home/runner/work/shop/shop");
    expect(count(r)).toEqual({ passed: 3, failed: 2, skipped: 1 });
    expect(r.failures.map((f) => [f.name, f.message, `${f.file}:${f.line}`])).toEqual([
      ["cart applies a coupon", "Error: expect(received).toBe(expected) // Object.is equality", "src/cart.test.js:14"],
      // src/api.js threw, but the report says the test is in src/api.test.js: its frame's line is used
      ["api rejects a missing user", "TypeError: Cannot read properties of undefined (reading 'id')", "src/api.test.js:12"],
    ]);
    expect(r.cases.find((c) => c.name === "api loads a user")).toMatchObject({ file: "src/api.test.js" });
    expect(r.duration).toBe(1.482);
  });

  it("reads go-junit-report: t.Errorf locations and a panic's stack", () => {
    const r = parse("go-junit-report.xml", "/home/runner/work/shop/shop");
    expect(cases(r)).toEqual([
      "passed example.com/shop/calc :: TestAdd",
      "failed example.com/shop/calc :: TestSub calc_test.go:14",
      "errored example.com/shop/calc :: TestDivide calc/calc_test.go:19",
      "skipped example.com/shop/calc :: TestRound/half_even",
      "passed example.com/shop/cart :: TestTotal",
    ]);
    expect(r.failures[0]).toMatchObject({ message: "Failed", details: "    calc_test.go:14: Sub(3, 1) = 4, want 2" });
    expect(r.duration).toBe(0.008);
  });

  it("gives a diagnostic with line and column for malformed XML instead of throwing", () => {
    const r = parse("malformed.xml");
    expect(r.cases).toEqual([]);
    expect(r.diagnostics).toEqual([
      {
        code: "report-xml",
        severity: "error",
        message: "not well-formed XML: Expected closing tag 'testcase' (opened in line 4, col 9) instead of closing tag 'testsuite'.",
        file: "reports/malformed.xml",
        line: 23,
        column: 5,
      },
    ]);
  });

  it("names a file cut short, an empty file and a file that is not JUnit", () => {
    const full = readFileSync(join(FIXTURES, "vitest.xml"), "utf8");
    const cut = parseJUnit(full.slice(0, 900), { file: "cut.xml" });
    expect(cut.diagnostics[0]).toMatchObject({ file: "cut.xml", line: 22, column: 18 });
    expect(parseJUnit("", { file: "empty.xml" }).diagnostics[0]).toMatchObject({ file: "empty.xml", message: "the file is empty" });
    expect(parseJUnit(readFileSync(join(FIXTURES, "not-a-report.xml"), "utf8"), { file: "pom.xml" }).diagnostics[0]?.message).toBe(
      "not a JUnit XML report: the root element is <project>, not <testsuites> or <testsuite>",
    );
  });

  it("marks a case listed failing and then passing in one report as flaky, and reads gtest/ctest skip statuses", () => {
    const r = parseJUnit(
      `<testsuites>
  <testsuite name="net">
    <testcase classname="net" name="connects" time="1.5"><failure message="/home/ci/net/net_test.cc:40&#x0A;Expected equality of these values:" type=""><![CDATA[/home/ci/net/net_test.cc:40
Expected equality of these values:
  status
    Which is: 408
  200]]></failure></testcase>
    <testcase classname="net" name="connects" time="0.5"/>
    <testcase classname="net" name="resolves" status="notrun" result="suppressed"/>
  </testsuite>
</testsuites>`,
      { file: "gtest.xml", root: "/home/ci" },
    );
    expect(cases(r)).toEqual(["failed net :: connects net/net_test.cc:40", "passed net :: connects", "skipped net :: resolves"]);
    expect(r.flaky).toEqual([{ suite: "net", classname: "net", name: "connects", failedAttempts: [], passedAttempt: null, source: "rerun" }]);
    expect(r.duration).toBe(2);
  });
});

describe("locateFailure", () => {
  it("takes the first frame outside libraries, relative to the root", () => {
    const stack = [
      "Error: boom",
      "    at Object.<anonymous> (/work/ws/node_modules/lib/index.js:3:9)",
      "    at check (file:///work/ws/src/check.js:12:5)",
      "    at node:internal/main/run_main_module:28:49",
    ].join("\n");
    expect(locateFailure(stack, { root: "/work/ws" })).toEqual({ file: "src/check.js", line: 12 });
  });

  it("prefers the test's own file, then a file named like a test", () => {
    const stack = "Error: x\n    at helper (/ws/src/helper.js:3:9)\n    at Object.<anonymous> (/ws/src/helper.test.js:8:3)";
    expect(locateFailure(stack, { root: "/ws" })).toEqual({ file: "src/helper.test.js", line: 8 });
    expect(locateFailure(stack, { root: "/ws", file: "src/helper.js" })).toEqual({ file: "src/helper.js", line: 3 });
  });

  it("reads .NET, Rust, RSpec and Python tracebacks", () => {
    expect(locateFailure("   at Calc.Tests.MathTests.Subtracts() in /src/Calc.Tests/MathTests.cs:line 15", { root: "/src" })).toEqual({
      file: "Calc.Tests/MathTests.cs",
      line: 15,
    });
    expect(locateFailure("thread 'tests::sub' panicked at src/lib.rs:21:9:\nassertion `left == right` failed")).toEqual({ file: "src/lib.rs", line: 21 });
    expect(locateFailure("expected: 2\n     got: 3\n# ./spec/calc_spec.rb:7:in `block (2 levels) in <top (required)>'")).toEqual({
      file: "spec/calc_spec.rb",
      line: 7,
    });
    const traceback = 'Traceback (most recent call last):\n  File "/ws/tests/test_x.py", line 9, in test_x\n    f()\n  File "/ws/x.py", line 2, in f\n    raise ValueError()';
    expect(locateFailure(traceback, { root: "/ws", classname: "tests.test_x" })).toEqual({ file: "tests/test_x.py", line: 9 });
    expect(locateFailure(traceback, { root: "/ws" })).toEqual({ file: "tests/test_x.py", line: 9 });
  });

  it("finds nothing in a text without a location", () => {
    expect(locateFailure("expected 2 to equal 3\n    at new Promise (<anonymous>)")).toBeUndefined();
    expect(locateFailure("connect to localhost:8080 refused")).toBeUndefined();
  });
});
