import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { oneLine, readTestReport, reportMarkdown, testTitle } from "./index.js";

const FIXTURES = join(import.meta.dirname, "../../test/fixtures/reports");
const input = (name: string) => ({ file: `reports/${name}`, text: readFileSync(join(FIXTURES, name), "utf8") });

describe("reportMarkdown", () => {
  it("gives totals, failures with file:line and their first lines, flaky tests, coverage and problems", () => {
    const report = readTestReport([input("surefire.xml"), input("cobertura-coveragepy.xml"), input("malformed.info")], { name: "java <17>" });
    expect(reportMarkdown(report)).toBe(
      [
        "### Test report: java \\<17> (failed)",
        "",
        "**5 tests: 1 failed, 2 passed, 1 errored, 1 skipped (61 ms)**",
        "",
        "#### Failures",
        "",
        "- **com.example.calc.CalculatorTest > divides** at `com/example/calc/CalculatorTest.java:27`: expected: \\<2> but was: \\<3>",
        "",
        "  ```",
        "  org.opentest4j.AssertionFailedError: expected: <2> but was: <3>",
        "  \tat org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)",
        "  \tat org.junit.jupiter.api.AssertionFailureBuilder.buildAndThrow(AssertionFailureBuilder.java:132)",
        "  \tat org.junit.jupiter.api.AssertEquals.failNotEqual(AssertEquals.java:197)",
        "  \tat org.junit.jupiter.api.AssertEquals.assertEquals(AssertEquals.java:150)",
        "  \tat org.junit.jupiter.api.AssertEquals.assertEquals(AssertEquals.java:145)",
        "  \tat org.junit.jupiter.api.Assertions.assertEquals(Assertions.java:531)",
        "  \tat com.example.calc.CalculatorTest.divides(CalculatorTest.java:27)",
        "  \tat java.base/java.lang.reflect.Method.invoke(Method.java:568)",
        "  \tat java.base/java.util.ArrayList.forEach(ArrayList.java:1511)",
        "  ```",
        "",
        "- **com.example.calc.CalculatorTest > parses** at `com/example/calc/CalculatorTest.java:33` (error): For input string: \"x\"",
        "",
        "  ```",
        "  java.lang.NumberFormatException: For input string: \"x\"",
        "  \tat java.base/java.lang.NumberFormatException.forInputString(NumberFormatException.java:67)",
        "  \tat java.base/java.lang.Integer.parseInt(Integer.java:662)",
        "  \tat java.base/java.lang.Integer.parseInt(Integer.java:778)",
        "  \tat com.example.calc.Parser.parse(Parser.java:12)",
        "  \tat com.example.calc.CalculatorTest.parses(CalculatorTest.java:33)",
        "  \tat java.base/java.lang.reflect.Method.invoke(Method.java:568)",
        "  ```",
        "",
        "#### Flaky",
        "",
        "- com.example.calc.CalculatorTest > fetchesRates: failed, then passed when the test runner ran it again",
        "",
        "#### Coverage",
        "",
        "| format | lines | branches | functions |",
        "| --- | --- | --- | --- |",
        "| lcov | 66.7% (2/3) | n/a | n/a |",
        "| cobertura | 88.9% (8/9) | 75.0% (3/4) | n/a |",
        "",
        "#### Problems reading the reports",
        "",
        "- `reports/malformed.info:4:1`: malformed DA line: 'DA:2,not-a-number'",
        "- `reports/malformed.info:5:1`: not an lcov line: 'this line is not lcov'",
        "- `reports/malformed.info:2:1`: record without end_of_record",
        "- `reports/malformed.info:8:1`: the last record has no end_of_record (is the file cut short?)",
        "",
      ].join("\n"),
    );
  });

  it("says when the reports hold no test", () => {
    expect(reportMarkdown(readTestReport([], { name: "empty" }))).toBe("### Test report: empty (no tests)\n\nNo test cases in the reports.\n");
  });
});

describe("oneLine and testTitle", () => {
  it("joins a message's lines", () => {
    expect(oneLine("Expected values to be strictly equal:\n\n9 !== 8\n")).toBe("Expected values to be strictly equal: 9 !== 8");
    expect(oneLine("assert -2 == -3\n +  where -2 = add(-1, -1)")).toBe("assert -2 == -3; +  where -2 = add(-1, -1)");
    expect(oneLine("x".repeat(300))).toHaveLength(201);
  });

  it("names a test by its suite, else its class, without repeating a prefix the name has", () => {
    expect(testTitle({ suite: "cart > discounts", classname: "test", name: "applies a coupon" })).toBe("cart > discounts > applies a coupon");
    expect(testTitle({ suite: "", classname: "tests.test_calc", name: "test_add" })).toBe("tests.test_calc > test_add");
    expect(testTitle({ suite: "", classname: "test", name: "top level" })).toBe("top level");
    expect(testTitle({ suite: "cart", classname: "cart adds", name: "cart adds" })).toBe("cart adds");
  });
});
