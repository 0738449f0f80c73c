// Where test reports are kept: `<job log directory>/test-report.json`, next
// to the job's `summary.md` (one file per job, holding each report the job's
// `slipway/test-report` steps wrote), and the run's reports as the CLI and
// the server's API show them (attempts of a job merged, flaky tests found).
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import { dirname, join } from "node:path";
import { jobLogDir, type Conclusion, type JobRecord, type Store } from "../store/index.js";
import { mergeJobAttempts } from "./merge-attempts.js";
import type { TestReport, TestTotals } from "./model.js";

export const TEST_REPORT_FILE = "test-report.json";

interface JobReportFile {
  version: 1;
  reports: TestReport[];
}

export function jobReportPath(logDir: string): string {
  return join(logDir, TEST_REPORT_FILE);
}

/** The reports a job stored (none when it stored none, or the file cannot be read). */
export async function readJobTestReports(logDir: string): Promise<TestReport[]> {
  let text: string;
  try {
    text = await fsp.readFile(jobReportPath(logDir), "utf8");
  } catch {
    return [];
  }
  try {
    const parsed = JSON.parse(text) as Partial<JobReportFile>;
    return Array.isArray(parsed.reports) ? parsed.reports : [];
  } catch {
    return [];
  }
}

/** Adds a report to the job's file, replacing one of the same name and attempt; written atomically. */
export async function saveJobTestReport(logDir: string, report: TestReport): Promise<void> {
  const reports = (await readJobTestReports(logDir)).filter((r) => !(r.name === report.name && r.attempt === report.attempt));
  reports.push(report);
  const file: JobReportFile = { version: 1, reports };
  const path = jobReportPath(logDir);
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${TEST_REPORT_FILE}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
  try {
    await fsp.writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o644 });
    await fsp.rename(tmp, path);
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

export interface JobTestReports {
  /** The latest attempt's job id. */
  jobId: number;
  jobKey: string;
  name: string;
  attempt: number;
  conclusion: Conclusion | null;
  /** One per report name, attempts merged (flaky tests marked). */
  reports: TestReport[];
}

export interface RunTestReports {
  runId: number;
  /** Summed over every job's reports. */
  totals: TestTotals;
  flaky: number;
  /** Only the jobs that stored a report. */
  jobs: JobTestReports[];
}

/**
 * The test reports of a run's jobs, for `slipway runs show` and the API:
 * attempts of a job (same key, matrix values and name) merged, so a test that failed in one
 * attempt and passed in a later one is flaky. Undefined for an unknown run.
 */
export async function runTestReports(dataDir: string, store: Store, runId: number): Promise<RunTestReports | undefined> {
  if (!store.getRun(runId)) return undefined;
  const groups = new Map<string, JobRecord[]>();
  // The attempts of one job share its key, matrix values and name (two jobs may share a display name).
  for (const job of store.listJobs(runId)) {
    const key = `${job.jobKey}\u0000${job.matrix ?? ""}\u0000${job.name}`;
    groups.set(key, [...(groups.get(key) ?? []), job]);
  }
  const jobs: JobTestReports[] = [];
  for (const attempts of groups.values()) {
    attempts.sort((a, b) => a.attempt - b.attempt || a.id - b.id);
    const all: TestReport[] = [];
    for (const job of attempts) {
      const logDir = job.logPath ?? jobLogDir(dataDir, runId, job.id);
      // The job record's attempt is the one that counts (a re-run job gets a new record).
      for (const report of await readJobTestReports(logDir)) all.push({ ...report, attempt: job.attempt });
    }
    if (all.length === 0) continue;
    const latest = attempts.at(-1) as JobRecord;
    jobs.push({ jobId: latest.id, jobKey: latest.jobKey, name: latest.name, attempt: latest.attempt, conclusion: latest.conclusion, reports: mergeJobAttempts(all) });
  }
  const totals: TestTotals = { tests: 0, passed: 0, failed: 0, errored: 0, skipped: 0, duration: 0 };
  let flaky = 0;
  for (const job of jobs) {
    for (const r of job.reports) {
      totals.tests += r.totals.tests;
      totals.passed += r.totals.passed;
      totals.failed += r.totals.failed;
      totals.errored += r.totals.errored;
      totals.skipped += r.totals.skipped;
      totals.duration += r.totals.duration;
      flaky += r.flaky.length;
    }
  }
  totals.duration = Math.round(totals.duration * 1000) / 1000;
  return { runId, totals, flaky, jobs };
}
