// Report files → one TestReport. Each file's format is told by its content:
// an lcov tracefile, or XML whose root is <testsuites>/<testsuite> (JUnit) or
// <coverage> (Cobertura). Pure: the caller reads the files.
import type { Diagnostic } from "../diagnostics/index.js";
import { coberturaFromXml, isCoberturaRoot } from "./cobertura.js";
import { isJUnitRoot, junitFromXml, type JUnitResult } from "./junit.js";
import { looksLikeLcov, parseLcov } from "./lcov.js";
import { MAX_FAILURES, type CoverageFile, type CoverageFormat, type CoverageSummary, type FlakyTest, type TestCaseResult, type TestReport, type TestTotals } from "./model.js";
import { parseXml } from "./xml.js";

export interface ReportFileInput {
  /** The file's name as shown (relative to the workspace). */
  file: string;
  text: string;
}

export type ReportFormat = "junit" | "lcov" | "cobertura";

export interface ParsedReportFile {
  file: string;
  /** Null when the file could not be read as any known report. */
  format: ReportFormat | null;
  junit?: JUnitResult;
  coverage?: CoverageFile;
  diagnostics: Diagnostic[];
}

/** Parses one report file of any known format; never throws. `root` (the workspace) makes absolute paths in it relative. */
export function parseReportFile(input: ReportFileInput, options: { root?: string } = {}): ParsedReportFile {
  const { file, text } = input;
  if (looksLikeLcov(text)) {
    const lcov = parseLcov(text, file);
    return { file, format: "lcov", ...(lcov.coverage ? { coverage: lcov.coverage } : {}), diagnostics: lcov.diagnostics };
  }
  const body = text.replace(/^\uFEFF/, "").trimStart();
  if (!body.startsWith("<")) {
    return {
      file,
      format: null,
      diagnostics: [
        {
          code: "report-format",
          severity: "error",
          message: body === "" ? "the file is empty" : "not a JUnit XML, Cobertura XML or lcov report",
          file,
          line: 0,
          column: 0,
        },
      ],
    };
  }
  const xml = parseXml(text, file);
  if (!xml.root) return { file, format: null, diagnostics: [xml.diagnostic] };
  if (isCoberturaRoot(xml.root)) {
    const cobertura = coberturaFromXml(xml.root, file);
    return { file, format: "cobertura", ...(cobertura.coverage ? { coverage: cobertura.coverage } : {}), diagnostics: cobertura.diagnostics };
  }
  if (isJUnitRoot(xml.root)) {
    const junit = junitFromXml(xml.root, { file, ...(options.root ? { root: options.root } : {}) });
    return { file, format: "junit", junit, diagnostics: junit.diagnostics };
  }
  return {
    file,
    format: null,
    diagnostics: [
      {
        code: "report-format",
        severity: "error",
        message: `not a JUnit or Cobertura report: the root element is <${xml.root.name}> (expected <testsuites>, <testsuite> or <coverage>)`,
        file,
        line: 0,
        column: 0,
      },
    ],
  };
}

export interface BuildReportOptions {
  name: string;
  attempt?: number;
  artifact?: { name: string; id: number } | null;
  createdAt?: string;
}

/** Sums parsed files into one report. */
export function buildTestReport(files: readonly ParsedReportFile[], options: BuildReportOptions): TestReport {
  const cases: TestCaseResult[] = [];
  const failures = [];
  const flaky: FlakyTest[] = [];
  const coverageFiles: CoverageFile[] = [];
  const diagnostics: Diagnostic[] = [];
  let duration = 0;
  for (const f of files) {
    diagnostics.push(...f.diagnostics);
    if (f.junit) {
      cases.push(...f.junit.cases);
      failures.push(...f.junit.failures);
      flaky.push(...f.junit.flaky);
      duration += f.junit.duration;
    }
    if (f.coverage) coverageFiles.push(f.coverage);
  }
  return {
    version: 1,
    name: options.name,
    attempt: options.attempt ?? 1,
    files: files.map((f) => f.file),
    totals: totalsOf(cases, duration),
    failures: failures.slice(0, MAX_FAILURES),
    omittedFailures: Math.max(0, failures.length - MAX_FAILURES),
    coverage: summarizeCoverage(coverageFiles),
    cases,
    flaky,
    diagnostics,
    artifact: options.artifact ?? null,
    createdAt: options.createdAt ?? new Date().toISOString(),
  };
}

/** Parses and sums report files: `parseReportFile` on each, then `buildTestReport`. */
export function readTestReport(inputs: readonly ReportFileInput[], options: BuildReportOptions & { root?: string }): TestReport {
  const root = options.root;
  return buildTestReport(
    inputs.map((input) => parseReportFile(input, root ? { root } : {})),
    options,
  );
}

export function totalsOf(cases: readonly TestCaseResult[], duration: number): TestTotals {
  const totals: TestTotals = { tests: cases.length, passed: 0, failed: 0, errored: 0, skipped: 0, duration: round(duration) };
  for (const c of cases) totals[c.status]++;
  return totals;
}

/** Coverage per format, each the sum of its files. */
export function summarizeCoverage(files: readonly CoverageFile[]): CoverageSummary[] {
  const formats: CoverageFormat[] = ["lcov", "cobertura"];
  const out: CoverageSummary[] = [];
  for (const format of formats) {
    const of = files.filter((f) => f.format === format);
    if (of.length === 0) continue;
    const sum = (pick: (f: CoverageFile) => { covered: number; total: number }) => ({
      covered: of.reduce((a, f) => a + pick(f).covered, 0),
      total: of.reduce((a, f) => a + pick(f).total, 0),
    });
    const withFunctions = of.filter((f) => f.functions !== null);
    out.push({
      format,
      lines: sum((f) => f.lines),
      branches: sum((f) => f.branches),
      functions:
        withFunctions.length === 0
          ? null
          : {
              covered: withFunctions.reduce((a, f) => a + (f.functions?.covered ?? 0), 0),
              total: withFunctions.reduce((a, f) => a + (f.functions?.total ?? 0), 0),
            },
      files: of,
    });
  }
  return out;
}

/** A percentage with one decimal, or null when there is nothing to count. */
export function percent(counts: { covered: number; total: number } | null): number | null {
  if (!counts || counts.total === 0) return null;
  return Math.round((counts.covered / counts.total) * 1000) / 10;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
