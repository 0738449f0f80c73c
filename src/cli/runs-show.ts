// `slipway runs show RUN [--json]`: one run — workflow, event, ref, sha,
// result and times — its jobs with their conclusions, and the test reports
// its jobs stored (slipway/test-report): totals, failures with message and
// file:line, flaky tests, coverage — and its annotations.
import { openDataStore, type AnnotationRecord, type JobRecord, type RunRecord } from "../store/index.js";
import {
  formatCoverage,
  location,
  oneLine,
  runTestReports,
  testTitle,
  totalsLine,
  type RunTestReports,
  type TestReport,
} from "../reports/index.js";
import { dataDirFor, EXIT, UsageError, workDir, type GlobalOptions } from "./common.js";
import { paint, table, type Painter } from "./style.js";

/** Failures printed per report (all of them are in --json). */
const MAX_PRINTED_FAILURES = 30;

export interface RunsShowJson {
  run: RunRecord;
  jobs: (JobRecord & { testReports: TestReport[] })[];
  tests: Omit<RunTestReports, "jobs" | "runId">;
  annotations: AnnotationRecord[];
}

export async function runsShowCommand(runArg: string, opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const runId = Number(runArg);
  if (!Number.isInteger(runId) || runId < 1) throw new UsageError(`RUN must be a run id (see \`slipway runs\`), got '${runArg}'`);
  const dataDir = dataDirFor(opts, workDir(opts));
  // The store stays open until the reports are read (withStore closes it when its function returns).
  const store = openDataStore(dataDir);
  let run: RunRecord;
  let jobs: JobRecord[];
  let reports: RunTestReports;
  let annotations: AnnotationRecord[];
  try {
    const found = store.getRun(runId);
    if (!found) throw new UsageError(`no run ${runId} in ${dataDir} (see \`slipway runs\`)`);
    run = found;
    jobs = store.listJobs(runId);
    reports = (await runTestReports(dataDir, store, runId)) as RunTestReports;
    annotations = store.listAnnotations(runId);
  } finally {
    store.close();
  }
  const byJob = new Map(reports.jobs.map((j) => [j.jobId, j.reports]));
  if (opts.json) {
    const json: RunsShowJson = {
      run,
      jobs: jobs.map((j) => ({ ...j, testReports: byJob.get(j.id) ?? [] })),
      tests: { totals: reports.totals, flaky: reports.flaky },
      annotations,
    };
    process.stdout.write(JSON.stringify(json, null, 2) + "\n");
    return EXIT.ok;
  }
  const p = paint(process.stdout);
  process.stdout.write(formatRun(run, jobs, reports, p, annotations));
  return EXIT.ok;
}

function seconds(from: string | null, to: string | null): string {
  if (!from || !to) return "";
  return `${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)}s`;
}

function time(at: string | null): string {
  return at ? at.replace("T", " ").slice(0, 19) : "-";
}

function result(p: Painter, conclusion: string | null, status: string): string {
  const state = conclusion ?? status;
  return state === "success" ? p.green(state) : state === "failure" ? p.red(state) : state === "cancelled" ? p.yellow(state) : state;
}

export function formatRun(run: RunRecord, jobs: JobRecord[], reports: RunTestReports, p: Painter, annotations: AnnotationRecord[] = []): string {
  const out: string[] = [];
  out.push(p.bold(`Run ${run.id}: ${run.workflowName} (${run.workflowPath})`) + ` — ${result(p, run.conclusion, run.status)}${run.reason ? p.dim(` — ${run.reason}`) : ""}`);
  const details: [string, string][] = [
    ["repository", run.repository ?? "-"],
    ["event", run.event],
    ["ref", run.ref],
    ["sha", run.sha],
    ["created", time(run.createdAt)],
    ["started", time(run.startedAt)],
    ["completed", `${time(run.completedAt)}${run.startedAt && run.completedAt ? ` (${seconds(run.startedAt, run.completedAt)})` : ""}`],
  ];
  for (const [k, v] of details) out.push(`  ${k.padEnd(10)} ${v}`);
  out.push("");
  if (jobs.length === 0) {
    out.push("No jobs.");
  } else {
    const byJob = new Map(reports.jobs.map((j) => [j.jobId, j.reports]));
    const rows = jobs.map((j) => {
      const tests = (byJob.get(j.id) ?? []).map((r) => testsCell(r)).join("; ");
      return [String(j.id), j.name, j.conclusion ?? j.status, String(j.attempt), seconds(j.startedAt, j.completedAt), tests];
    });
    const text = table(["JOB", "NAME", "RESULT", "ATTEMPT", "TIME", "TESTS"], rows);
    out.push(text.replace(/\b(success|failure|cancelled)\b/g, (m) => result(p, m, m)).trimEnd());
  }
  for (const job of reports.jobs) {
    for (const report of job.reports) {
      out.push("", ...formatReport(report, job.jobId, job.name, p));
    }
  }
  if (reports.jobs.length > 1) {
    out.push("", p.bold(`All tests: ${totalsLine(reports.totals)}${reports.flaky > 0 ? `, ${reports.flaky} flaky` : ""}`));
  }
  if (annotations.length > 0) {
    const names = new Map(jobs.map((j) => [j.id, j.name]));
    out.push("", p.bold("Annotations"));
    for (const a of annotations) {
      const mark = a.level === "error" ? p.red("✗ error") : a.level === "warning" ? p.yellow("⚠ warning") : p.dim("ℹ notice");
      const where = a.file ? `${a.file}${a.line ? `:${a.line}${a.col ? `:${a.col}` : ""}` : ""}` : "";
      out.push(`  ${mark} ${names.get(a.jobId) ?? `job ${a.jobId}`}${a.step ? p.dim(` · ${a.step}`) : ""}${where ? ` ${p.cyan(where)}` : ""}: ${a.title ? `${a.title}: ` : ""}${oneLine(a.message)}`);
    }
  }
  return out.join("\n") + "\n";
}

function testsCell(r: TestReport): string {
  const t = r.totals;
  if (t.tests === 0) return r.coverage.length > 0 ? "coverage only" : "no tests";
  const bad = t.failed + t.errored;
  return `${t.tests} tests, ${bad > 0 ? `${bad} failed` : "all passed"}${r.flaky.length > 0 ? `, ${r.flaky.length} flaky` : ""}`;
}

function formatReport(report: TestReport, jobId: number, jobName: string, p: Painter): string[] {
  const out: string[] = [];
  const title = report.name === jobName ? `Test report: ${jobName} (job ${jobId})` : `Test report: ${report.name} — ${jobName} (job ${jobId})`;
  out.push(p.bold(title));
  if (report.totals.tests > 0 || report.coverage.length === 0) out.push(`  ${totalsLine(report.totals)}`);
  if (report.failures.length > 0) {
    out.push("  Failures:");
    for (const f of report.failures.slice(0, MAX_PRINTED_FAILURES)) {
      const where = location(f);
      const message = oneLine(f.message);
      out.push(`    ${p.red("✗")} ${testTitle(f)}${f.kind === "error" ? p.dim(" (error)") : ""}`);
      out.push(`      ${where ? `${p.cyan(where)}: ` : ""}${message}`);
    }
    const more = report.failures.length - MAX_PRINTED_FAILURES + report.omittedFailures;
    if (more > 0) out.push(p.dim(`    … and ${more} more (--json lists them)`));
  }
  if (report.flaky.length > 0) {
    out.push("  Flaky:");
    for (const f of report.flaky) {
      const how =
        f.source === "attempts"
          ? `failed in attempt ${f.failedAttempts.join(", ")}, passed in attempt ${f.passedAttempt}`
          : "failed, then passed when the test runner ran it again";
      out.push(`    ${p.yellow("~")} ${testTitle(f)} ${p.dim(`(${how})`)}`);
    }
  }
  for (const c of report.coverage) {
    out.push(`  Coverage (${c.format}): lines ${formatCoverage(c.lines)}, branches ${formatCoverage(c.branches)}, functions ${formatCoverage(c.functions)}`);
  }
  for (const d of report.diagnostics) {
    out.push(p.yellow(`  ${d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file}: ${d.message}`));
  }
  if (report.artifact) out.push(p.dim(`  Report files: artifact ${report.artifact.name} (ID ${report.artifact.id})`));
  return out;
}
