import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCobertura, parseLcov, parseReportFile, readTestReport } from "./index.js";

const FIXTURES = join(import.meta.dirname, "../../test/fixtures/reports");
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");

describe("parseLcov", () => {
  it("sums LF/LH, BRF/BRH and FNF/FNH over the records", () => {
    expect(parseLcov(fixture("lcov.info"), "coverage/lcov.info")).toEqual({
      coverage: {
        format: "lcov",
        report: "coverage/lcov.info",
        lines: { covered: 10, total: 12 },
        branches: { covered: 2, total: 4 },
        functions: { covered: 3, total: 4 },
        sources: 2,
      },
      diagnostics: [],
    });
  });

  it("counts DA, BRDA and FN/FNDA lines when a record has no totals (lcov 2's FNL/FNA too)", () => {
    const text = [
      "SF:a.js",
      "FN:1,f",
      "FN:5,g",
      "FNDA:2,f",
      "FNDA:0,g",
      "DA:1,2",
      "DA:2,0",
      "DA:3,1",
      "BRDA:2,0,0,1",
      "BRDA:2,0,1,-",
      "end_of_record",
      "SF:b.js",
      "FNL:0,1,3",
      "FNA:0,4,h",
      "DA:1,1",
      "end_of_record",
    ].join("\n");
    expect(parseLcov(text, "lcov.info").coverage).toMatchObject({
      lines: { covered: 3, total: 4 },
      branches: { covered: 1, total: 2 },
      functions: { covered: 2, total: 3 },
      sources: 2,
    });
  });

  it("reads what it can of a malformed file and says where the rest is wrong", () => {
    const r = parseLcov(fixture("malformed.info"), "malformed.info");
    expect(r.coverage?.lines).toEqual({ covered: 2, total: 3 });
    expect(r.diagnostics.map((d) => `${d.line}: ${d.message}`)).toEqual([
      "4: malformed DA line: 'DA:2,not-a-number'",
      "5: not an lcov line: 'this line is not lcov'",
      "2: record without end_of_record",
      "8: the last record has no end_of_record (is the file cut short?)",
    ]);
  });

  it("gives an error and no coverage for a file without records", () => {
    const r = parseLcov("TN:\n", "empty.info");
    expect(r.coverage).toBeNull();
    expect(r.diagnostics).toEqual([{ code: "report-lcov", severity: "error", message: "no coverage records (SF: … end_of_record) in the file", file: "empty.info", line: 0, column: 0 }]);
  });
});

describe("parseCobertura", () => {
  it("reads istanbul's Cobertura: root totals, methods as functions", () => {
    expect(parseCobertura(fixture("cobertura-istanbul.xml"), "coverage/cobertura-coverage.xml")).toEqual({
      coverage: {
        format: "cobertura",
        report: "coverage/cobertura-coverage.xml",
        lines: { covered: 10, total: 12 },
        branches: { covered: 2, total: 4 },
        functions: { covered: 3, total: 4 },
        sources: 2,
      },
      diagnostics: [],
    });
  });

  it("reads coverage.py's Cobertura, which counts no functions", () => {
    expect(parseCobertura(fixture("cobertura-coveragepy.xml"), "coverage.xml").coverage).toEqual({
      format: "cobertura",
      report: "coverage.xml",
      lines: { covered: 8, total: 9 },
      branches: { covered: 3, total: 4 },
      functions: null,
      sources: 1,
    });
  });

  it("counts <line> elements and condition-coverage when the root has only rates", () => {
    const xml = `<coverage line-rate="0.5" branch-rate="0.5"><packages><package name="p"><classes>
      <class name="A" filename="src/a.c"><lines>
        <line number="1" hits="3"/><line number="2" hits="0"/>
        <line number="3" hits="1" branch="true" condition-coverage="50% (1/2)"/><line number="4" hits="0"/>
      </lines></class></classes></package></packages></coverage>`;
    expect(parseCobertura(xml, "gcovr.xml").coverage).toMatchObject({ lines: { covered: 2, total: 4 }, branches: { covered: 1, total: 2 }, functions: null, sources: 1 });
  });

  it("gives a diagnostic with line and column for malformed XML", () => {
    const r = parseCobertura(fixture("cobertura-istanbul.xml").replace("</classes>", ""), "coverage.xml");
    expect(r.coverage).toBeNull();
    expect(r.diagnostics[0]).toMatchObject({ code: "report-xml", file: "coverage.xml", line: 55, column: 5 });
  });
});

describe("parseReportFile and readTestReport", () => {
  it("tells the format by the content", () => {
    const formats = ["vitest.xml", "lcov.info", "cobertura-coveragepy.xml", "not-a-report.xml", "malformed.xml"].map(
      (name) => parseReportFile({ file: name, text: fixture(name) }).format,
    );
    expect(formats).toEqual(["junit", "lcov", "cobertura", null, null]);
    expect(parseReportFile({ file: "notes.txt", text: "all tests passed\n" }).diagnostics[0]?.message).toBe("not a JUnit XML, Cobertura XML or lcov report");
  });

  it("sums the files into one report: totals, failures, coverage per format, diagnostics", () => {
    const names = ["vitest.xml", "node.xml", "lcov.info", "cobertura-istanbul.xml", "cobertura-coveragepy.xml", "malformed.xml"];
    const report = readTestReport(
      names.map((name) => ({ file: `reports/${name}`, text: fixture(name) })),
      { name: "unit", attempt: 2, createdAt: "2026-11-27T00:00:00.000Z", root: "/home/runner/work/app/app" },
    );
    expect(report.totals).toEqual({ tests: 11, passed: 4, failed: 4, errored: 0, skipped: 3, duration: 0.042 });
    expect(report.failures.map((f) => `${f.file}:${f.line}`)).toEqual(["src/math.test.ts:10", "src/user.test.ts:4", "test/cart.test.mjs:15", "test/cart.test.mjs:25"]);
    expect(report.coverage.map((c) => [c.format, c.lines, c.branches, c.functions, c.files.length])).toEqual([
      ["lcov", { covered: 10, total: 12 }, { covered: 2, total: 4 }, { covered: 3, total: 4 }, 1],
      ["cobertura", { covered: 18, total: 21 }, { covered: 5, total: 8 }, { covered: 3, total: 4 }, 2],
    ]);
    expect(report.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}`)).toEqual(["reports/malformed.xml:23:5"]);
    expect(report).toMatchObject({ version: 1, name: "unit", attempt: 2, omittedFailures: 0, artifact: null, files: names.map((n) => `reports/${n}`) });
    expect(report.cases).toHaveLength(11);
  });
});
