// Test reports: what a job's JUnit XML and coverage files say, as plain JSON
// (stored with the job as `test-report.json`, shown by `slipway runs show`
// and the server's API).
import type { Diagnostic } from "../diagnostics/index.js";

export type CaseStatus = "passed" | "failed" | "errored" | "skipped";

/** One test case's result, kept for flaky detection across attempts. */
export interface TestCaseResult {
  /** Enclosing test suites, outermost first, joined by " > " ("" for a test outside any suite). */
  suite: string;
  classname: string;
  name: string;
  status: CaseStatus;
  /** Seconds. */
  duration: number;
  file?: string;
  line?: number;
  /** Failed (or errored) in an earlier attempt, or an earlier run by the test runner, and then passed. */
  flaky?: boolean;
}

export interface TestFailure {
  suite: string;
  classname: string;
  name: string;
  /** `failure`: an assertion failed; `error`: the test could not run to its assertions (an exception, a broken fixture). */
  kind: "failure" | "error";
  message: string;
  /** The exception's type, when the report names it (`AssertionError`). */
  type?: string;
  /** Relative to the workspace when it is inside it. */
  file?: string;
  line?: number;
  /** The first lines of the failure's text (stack trace, diff). */
  details: string;
  /** The report file it came from, relative to the workspace. */
  report: string;
}

export interface TestTotals {
  tests: number;
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
  /** Seconds. */
  duration: number;
}

export interface CoverageCounts {
  covered: number;
  total: number;
}

export type CoverageFormat = "lcov" | "cobertura";

/** What one coverage file says, summed over its source files. */
export interface CoverageFile {
  format: CoverageFormat;
  /** The coverage file, relative to the workspace. */
  report: string;
  lines: CoverageCounts;
  branches: CoverageCounts;
  /** Null when the format or the tool does not count functions (coverage.py's Cobertura). */
  functions: CoverageCounts | null;
  /** Source files covered by the report. */
  sources: number;
}

/** The coverage of one format: the sum of its files (lcov files of several packages add up). */
export interface CoverageSummary {
  format: CoverageFormat;
  lines: CoverageCounts;
  branches: CoverageCounts;
  functions: CoverageCounts | null;
  files: CoverageFile[];
}

export interface FlakyTest {
  suite: string;
  classname: string;
  name: string;
  /** Attempts (of the job) in which it failed, and the one in which it passed; empty when the test runner itself re-ran it. */
  failedAttempts: number[];
  passedAttempt: number | null;
  /** Where it was seen failing then passing: across attempts of the job, or inside one report (a runner's own retry). */
  source: "attempts" | "rerun";
}

export interface TestReport {
  version: 1;
  /** The report's name: the action's `name` input, by default the job's name. */
  name: string;
  /** The job's attempt that produced it (1 for the first). */
  attempt: number;
  /** Report files read, relative to the workspace. */
  files: string[];
  totals: TestTotals;
  failures: TestFailure[];
  /** Failures beyond those kept in `failures` (the report keeps at most MAX_FAILURES). */
  omittedFailures: number;
  coverage: CoverageSummary[];
  cases: TestCaseResult[];
  flaky: FlakyTest[];
  /** Problems reading the files: malformed XML, an lcov line that is not lcov, a file that is no known report. */
  diagnostics: Diagnostic[];
  /** The run's artifact holding the raw report files, when they were kept. */
  artifact: { name: string; id: number } | null;
  createdAt: string;
}

/** Failures kept per report; the rest are counted in `omittedFailures`. */
export const MAX_FAILURES = 500;
/** Lines of a failure's text kept in `details`. */
export const DETAIL_LINES = 12;
