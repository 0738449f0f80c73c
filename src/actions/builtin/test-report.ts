// slipway/test-report: reads the JUnit XML and coverage files (lcov,
// Cobertura) a job's tests wrote, and
// - stores the report with the job (`test-report.json` in the job's log
//   directory, next to `summary.md`), for `slipway runs show` and the API;
// - keeps the raw files as an artifact of the run (`test-reports-<job id>`),
//   through the same code as actions/upload-artifact;
// - writes totals, failures with file:line, and coverage to the job summary;
// - raises an error annotation per failure (file and line where known).
//
// Failed tests do not fail this step (the test step failed already) unless
// `fail-on-failure: true`. No file matching a given input fails it unless
// `fail-on-empty: false`, and so do report files none of which can be read.
// Use it with `if: always()` so it runs after failed tests.
import { promises as fsp } from "node:fs";
import { dirname, isAbsolute, relative, sep } from "node:path";
import { formatDiagnostic } from "../../diagnostics/index.js";
import {
  buildTestReport,
  formatCoverage,
  location,
  oneLine,
  parseReportFile,
  percent,
  reportMarkdown,
  resolveSourceFiles,
  saveJobTestReport,
  testTitle,
  totalsLine,
  type ParsedReportFile,
  type TestReport,
} from "../../reports/index.js";
import { DEFAULT_RETENTION_DAYS, readArtifact, uploadArtifact } from "./artifacts.js";
import { ActionError, booleanInput, warn, type BuiltinAction, type BuiltinContext } from "./builtin-action.js";
import { findPaths, homeOf, inputLines, leastCommonAncestor } from "./paths.js";

/** Failures annotated per step (GitHub shows at most 50 annotations per step). */
const MAX_ANNOTATIONS = 50;
/** Failures listed in the step log. */
const MAX_LOGGED = 50;
/** Report files larger than this are not parsed (they are still kept in the artifact). */
const MAX_REPORT_BYTES = 64 * 1024 * 1024;

const JUNIT_EXTENSIONS = [".xml"];
const COVERAGE_EXTENSIONS = [".info", ".lcov", ".xml"];

/**
 * Files matching globs, as upload-artifact's `path` matches them; below a
 * matched directory only files with one of `extensions` are taken.
 */
async function selectFiles(ctx: BuiltinContext, patterns: string[], extensions: string[]): Promise<string[]> {
  const options = { cwd: ctx.workspace, home: homeOf(ctx.env) };
  const all = await findPaths(patterns, { ...options, implicitDescendants: true });
  const exact = await findPaths(patterns, { ...options, implicitDescendants: false });
  const named = new Set(exact.matches.filter((m) => !m.isDirectory).map((m) => m.path));
  const files = all.matches.filter((m) => !m.isDirectory && (named.has(m.path) || extensions.some((e) => m.path.toLowerCase().endsWith(e))));
  return [...new Set(files.map((m) => m.path))];
}

function shownName(workspace: string, file: string): string {
  const rel = relative(workspace, file);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? file : rel.split(sep).join("/");
}

async function readReport(ctx: BuiltinContext, file: string): Promise<ParsedReportFile> {
  const name = shownName(ctx.workspace, file);
  const unreadable = (message: string): ParsedReportFile => ({
    file: name,
    format: null,
    diagnostics: [{ code: "report-read", severity: "error", message, file: name, line: 0, column: 0 }],
  });
  let size: number;
  try {
    size = (await fsp.stat(file)).size;
  } catch (error) {
    return unreadable(`cannot read the file: ${(error as Error).message}`);
  }
  if (size > MAX_REPORT_BYTES) return unreadable(`the file is ${Math.round(size / 1024 / 1024)} MB; reports larger than ${MAX_REPORT_BYTES / 1024 / 1024} MB are kept but not read`);
  const text = await fsp.readFile(file, "utf8");
  return parseReportFile({ file: name, text }, { root: ctx.workspace });
}

/** Stores the files as the run's artifact `test-reports-<job id>` (`-2`, `-3`, … for a job's later reports). */
async function keepArtifact(ctx: BuiltinContext, files: string[]): Promise<{ name: string; id: number } | null> {
  if (files.length === 0) return null;
  const base = `test-reports-${ctx.job ? String(ctx.job.id) : ctx.run.jobKey}`;
  let name = base;
  for (let n = 2; await readArtifact(ctx.dataDir, ctx.run.id, name, { includeExpired: true }); n++) name = `${base}-${n}`;
  const rootDirectory = files.length === 1 ? dirname(files[0] as string) : leastCommonAncestor(files.map((f) => dirname(f)));
  const manifest = await uploadArtifact({
    dataDir: ctx.dataDir,
    runId: ctx.run.id,
    name,
    files,
    rootDirectory,
    retentionDays: Number(ctx.env.GITHUB_RETENTION_DAYS) || DEFAULT_RETENTION_DAYS,
  });
  ctx.log(`Kept ${files.length} report file${files.length === 1 ? "" : "s"} as artifact ${name} (ID ${manifest.id})`);
  return { name, id: manifest.id };
}

/** Every string in a JSON value, masked. */
function maskStrings<T>(value: T, mask: (text: string) => string): T {
  if (typeof value === "string") return mask(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => maskStrings(v, mask)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskStrings(v, mask)])) as T;
  }
  return value;
}

function logReport(ctx: BuiltinContext, report: TestReport): void {
  if (report.totals.tests > 0 || report.coverage.length === 0) ctx.log(totalsLine(report.totals));
  for (const f of report.failures.slice(0, MAX_LOGGED)) {
    const where = location(f);
    ctx.log(`  ${f.kind === "error" ? "error" : "failed"}: ${testTitle(f)}${where ? ` (${where})` : ""}: ${oneLine(f.message)}`);
  }
  const more = report.failures.length - MAX_LOGGED + report.omittedFailures;
  if (more > 0) ctx.log(`  … and ${more} more failures`);
  for (const f of report.flaky) ctx.log(`  flaky: ${testTitle(f)}`);
  for (const c of report.coverage) {
    ctx.log(`Coverage (${c.format}): lines ${formatCoverage(c.lines)}, branches ${formatCoverage(c.branches)}, functions ${formatCoverage(c.functions)}`);
  }
}

function annotate(ctx: BuiltinContext, report: TestReport): void {
  const failures = report.failures.slice(0, MAX_ANNOTATIONS);
  for (const f of failures) {
    const annotation = {
      level: "error" as const,
      message: oneLine(f.message, 1000),
      title: testTitle(f),
      ...(f.file && !isAbsolute(f.file) ? { file: f.file } : {}),
      ...(f.file && !isAbsolute(f.file) && f.line !== undefined ? { line: f.line } : {}),
    };
    if (ctx.annotate) ctx.annotate(annotation);
    else ctx.log(`Error: ${location(f) ? `${location(f)}: ` : ""}${annotation.title}: ${annotation.message}`);
  }
  const more = report.failures.length - failures.length + report.omittedFailures;
  if (more > 0) warn(ctx, `${more} more test failures were not annotated; see the job summary or \`slipway runs show\``);
}

async function main(ctx: BuiltinContext): Promise<void> {
  const junitPatterns = inputLines(ctx.inputs.path, true);
  const coveragePatterns = inputLines(ctx.inputs.coverage, true);
  if (junitPatterns.length === 0 && coveragePatterns.length === 0) throw new ActionError("Input required and not supplied: path");
  const failOnEmpty = booleanInput(ctx, "fail-on-empty", true);
  const failOnFailure = booleanInput(ctx, "fail-on-failure", false);
  const name = ctx.inputs.name?.trim() || ctx.job?.name || ctx.run.jobKey;

  const junitFiles = junitPatterns.length > 0 ? await selectFiles(ctx, junitPatterns, JUNIT_EXTENSIONS) : [];
  const coverageFiles = coveragePatterns.length > 0 ? await selectFiles(ctx, coveragePatterns, COVERAGE_EXTENSIONS) : [];
  const empty: string[] = [];
  if (junitPatterns.length > 0 && junitFiles.length === 0) empty.push(`No test report files were found with the provided path: ${junitPatterns.join(", ")}.`);
  if (coveragePatterns.length > 0 && coverageFiles.length === 0) empty.push(`No coverage files were found with the provided coverage: ${coveragePatterns.join(", ")}.`);
  if (empty.length > 0) {
    const message = `${empty.join(" ")} Did the tests run and write their reports there (relative to the workspace)?`;
    if (failOnEmpty) throw new ActionError(`${message} Set \`fail-on-empty: false\` to allow this.`);
    warn(ctx, message);
  }
  const files = [...new Set([...junitFiles, ...coverageFiles])];
  if (files.length === 0) return;

  const parsed: ParsedReportFile[] = [];
  for (const file of files) {
    const result = await readReport(ctx, file);
    ctx.log(`Read ${result.file}${result.format ? ` (${result.format === "junit" ? "JUnit XML" : result.format === "lcov" ? "lcov" : "Cobertura"})` : ""}`);
    parsed.push(result);
  }
  const artifact = await keepArtifact(ctx, files);
  let report = buildTestReport(parsed, { name, attempt: ctx.run.attempt, artifact });
  report = await resolveSourceFiles(report, ctx.workspace);
  if (ctx.mask) report = maskStrings(report, ctx.mask);

  for (const d of report.diagnostics) warn(ctx, formatDiagnostic(d));
  logReport(ctx, report);
  if (ctx.job) {
    await saveJobTestReport(ctx.job.logDir, report);
  } else {
    ctx.log("The report is not stored: this runner gives the action no job.");
  }
  const markdown = reportMarkdown(report);
  if (ctx.appendSummary) ctx.appendSummary(markdown);
  annotate(ctx, report);

  const t = report.totals;
  for (const [key, value] of Object.entries({ tests: t.tests, passed: t.passed, failed: t.failed, errored: t.errored, skipped: t.skipped, flaky: report.flaky.length })) {
    ctx.setOutput(key, String(value));
  }
  const coverage = report.coverage[0];
  ctx.setOutput("lines-coverage", coverage ? String(percent(coverage.lines) ?? "") : "");
  ctx.setOutput("branches-coverage", coverage ? String(percent(coverage.branches) ?? "") : "");
  if (artifact) {
    ctx.setOutput("artifact-name", artifact.name);
    ctx.setOutput("artifact-id", String(artifact.id));
  }

  if (parsed.every((p) => p.format === null || (!p.junit && !p.coverage))) {
    throw new ActionError(
      `None of the ${files.length} report file${files.length === 1 ? "" : "s"} could be read: ${report.diagnostics.map((d) => formatDiagnostic(d)).join("; ")}`,
    );
  }
  if (failOnFailure && t.failed + t.errored > 0) {
    throw new ActionError(`${t.failed + t.errored} of ${t.tests} tests failed (fail-on-failure is true)`);
  }
}

export const testReportAction: BuiltinAction = { name: "slipway/test-report", main };
