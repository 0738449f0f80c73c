// Test reports: JUnit XML (the dialects of Surefire, pytest, jest-junit,
// Vitest, Node's test runner, go-junit-report), lcov and Cobertura coverage
// → a TestReport; flaky tests across attempts; where a job keeps its reports
// and how a run's reports are read back (`slipway runs show`, the API).
export {
  DETAIL_LINES,
  MAX_FAILURES,
  type CaseStatus,
  type CoverageCounts,
  type CoverageFile,
  type CoverageFormat,
  type CoverageSummary,
  type FlakyTest,
  type TestCaseResult,
  type TestFailure,
  type TestReport,
  type TestTotals,
} from "./model.js";
export { parseJUnit, caseKey, type JUnitOptions, type JUnitResult } from "./junit.js";
export { parseLcov, type LcovResult } from "./lcov.js";
export { parseCobertura, type CoberturaResult } from "./cobertura.js";
export { locateFailure, type LocationHint, type SourceLocation } from "./location.js";
export {
  buildTestReport,
  parseReportFile,
  percent,
  readTestReport,
  summarizeCoverage,
  totalsOf,
  type BuildReportOptions,
  type ParsedReportFile,
  type ReportFileInput,
  type ReportFormat,
} from "./test-report.js";
export { mergeAttempts, mergeJobAttempts } from "./merge-attempts.js";
export { formatCoverage, formatSeconds, location, oneLine, reportMarkdown, testTitle, totalsLine } from "./markdown.js";
export { resolveSourceFiles } from "./resolve-sources.js";
export {
  TEST_REPORT_FILE,
  jobReportPath,
  readJobTestReports,
  runTestReports,
  saveJobTestReport,
  type JobTestReports,
  type RunTestReports,
} from "./job-reports.js";
