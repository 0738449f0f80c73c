import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../store/index.js";
import {
  buildTestReport,
  mergeAttempts,
  mergeJobAttempts,
  readJobTestReports,
  runTestReports,
  saveJobTestReport,
  type CaseStatus,
  type TestCaseResult,
  type TestReport,
} from "./index.js";

function testCase(name: string, status: CaseStatus, suite = "api"): TestCaseResult {
  return { suite, classname: `tests.${suite}`, name, status, duration: 0.01 };
}

function report(attempt: number, cases: TestCaseResult[], name = "unit"): TestReport {
  const r = buildTestReport([], { name, attempt, createdAt: "2026-11-27T00:00:00.000Z" });
  const count = (s: CaseStatus) => cases.filter((c) => c.status === s).length;
  return {
    ...r,
    cases,
    totals: { tests: cases.length, passed: count("passed"), failed: count("failed"), errored: count("errored"), skipped: count("skipped"), duration: 0.1 },
  };
}

describe("mergeAttempts", () => {
  it("marks a test that failed in an earlier attempt and passed in a later one as flaky", () => {
    const merged = mergeAttempts([
      report(1, [testCase("loads", "passed"), testCase("retries", "failed"), testCase("times out", "errored")]),
      report(2, [testCase("loads", "passed"), testCase("retries", "passed"), testCase("times out", "errored")]),
    ]);
    expect(merged?.attempt).toBe(2);
    expect(merged?.flaky).toEqual([{ suite: "api", classname: "tests.api", name: "retries", failedAttempts: [1], passedAttempt: 2, source: "attempts" }]);
    expect(merged?.cases.map((c) => [c.name, c.status, c.flaky ?? false])).toEqual([
      ["loads", "passed", false],
      ["retries", "passed", true],
      ["times out", "errored", false],
    ]);
    expect(merged?.totals).toMatchObject({ tests: 3, passed: 2, errored: 1 });
  });

  it("takes attempts in any order and names every attempt that failed before the pass", () => {
    const merged = mergeAttempts([
      report(3, [testCase("connects", "passed")]),
      report(1, [testCase("connects", "errored")]),
      report(2, [testCase("connects", "failed")]),
    ]);
    expect(merged?.attempt).toBe(3);
    expect(merged?.flaky).toEqual([{ suite: "api", classname: "tests.api", name: "connects", failedAttempts: [1, 2], passedAttempt: 3, source: "attempts" }]);
  });

  it("does not mark a test that passed then failed, failed throughout, or was skipped then passed", () => {
    const merged = mergeAttempts([
      report(1, [testCase("a", "passed"), testCase("b", "failed"), testCase("c", "skipped")]),
      report(2, [testCase("a", "failed"), testCase("b", "failed"), testCase("c", "passed")]),
    ]);
    expect(merged?.flaky).toEqual([]);
    expect(merged?.cases.some((c) => c.flaky)).toBe(false);
  });

  it("tells tests apart by suite, class and name", () => {
    const merged = mergeAttempts([
      report(1, [testCase("works", "failed", "cart")]),
      report(2, [testCase("works", "passed", "api"), testCase("works", "failed", "cart")]),
    ]);
    expect(merged?.flaky).toEqual([]);
  });

  it("keeps the flaky tests the test runner found itself (Surefire's flakyFailure) and a single attempt as it is", () => {
    const single = report(1, [{ ...testCase("fetches", "passed"), flaky: true }]);
    single.flaky = [{ suite: "api", classname: "tests.api", name: "fetches", failedAttempts: [], passedAttempt: null, source: "rerun" }];
    expect(mergeAttempts([single])).toBe(single);
    const second = { ...single, attempt: 2, cases: [...single.cases, { ...testCase("stores", "passed"), flaky: true }] };
    second.flaky = [...single.flaky, { suite: "api", classname: "tests.api", name: "stores", failedAttempts: [], passedAttempt: null, source: "rerun" }];
    const merged = mergeAttempts([report(1, [testCase("fetches", "failed"), testCase("stores", "passed")]), second]);
    expect(merged?.flaky).toEqual([
      { suite: "api", classname: "tests.api", name: "fetches", failedAttempts: [1], passedAttempt: 2, source: "attempts" },
      { suite: "api", classname: "tests.api", name: "stores", failedAttempts: [], passedAttempt: null, source: "rerun" },
    ]);
    expect(mergeAttempts([])).toBeUndefined();
  });

  it("merges per report name", () => {
    const merged = mergeJobAttempts([
      report(1, [testCase("x", "failed")], "unit"),
      report(1, [testCase("y", "passed")], "e2e"),
      report(2, [testCase("x", "passed")], "unit"),
    ]);
    expect(merged.map((r) => [r.name, r.attempt, r.flaky.length])).toEqual([
      ["unit", 2, 1],
      ["e2e", 1, 0],
    ]);
  });
});

describe("job reports in the store's log directories", () => {
  let dataDir: string;
  let store: Store;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "slipway-reports-"));
    store = openStore(dataDir);
  });
  afterEach(() => {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function job(runId: number, name: string, attempt: number, jobKey = "test"): { id: number; logDir: string } {
    const j = store.createJob({ runId, jobKey, name, matrix: null, attempt, environment: null });
    const logDir = join(dataDir, "logs", String(runId), String(j.id));
    store.startJob(j.id, logDir);
    store.finishJob(j.id, { conclusion: attempt === 1 ? "failure" : "success" });
    return { id: j.id, logDir };
  }

  it("keeps one file per job, a report replacing the one of the same name and attempt", async () => {
    const logDir = join(dataDir, "logs", "1", "1");
    expect(await readJobTestReports(logDir)).toEqual([]);
    await saveJobTestReport(logDir, report(1, [testCase("a", "failed")], "unit"));
    await saveJobTestReport(logDir, report(1, [testCase("b", "passed")], "e2e"));
    await saveJobTestReport(logDir, report(1, [testCase("a", "passed")], "unit"));
    const reports = await readJobTestReports(logDir);
    expect(reports.map((r) => [r.name, r.cases[0]?.status])).toEqual([
      ["e2e", "passed"],
      ["unit", "passed"],
    ]);
    writeFileSync(join(logDir, "test-report.json"), "{ not json");
    expect(await readJobTestReports(logDir)).toEqual([]);
  });

  it("reads a run's reports with the attempts of a job merged: a test that failed, then passed on a retry, is flaky", async () => {
    const run = store.createRun({ workflowPath: ".github/workflows/ci.yml", workflowName: "CI", event: "push", ref: "refs/heads/main", sha: "a".repeat(40) });
    const first = job(run.id, "test (20)", 1);
    const second = job(run.id, "test (20)", 2);
    job(run.id, "lint", 1, "lint"); // no report
    // Another job of the workflow with the same display name: not an attempt of the first.
    const other = job(run.id, "test (20)", 1, "e2e");
    await saveJobTestReport(first.logDir, report(1, [testCase("loads", "passed"), testCase("retries", "failed")]));
    await saveJobTestReport(second.logDir, report(1, [testCase("loads", "passed"), testCase("retries", "passed")]));
    await saveJobTestReport(other.logDir, report(1, [testCase("retries", "failed")]));

    const result = await runTestReports(dataDir, store, run.id);
    expect(result).toMatchObject({ runId: run.id, flaky: 1, totals: { tests: 3, passed: 2, failed: 1 } });
    expect(result?.jobs.map((j) => [j.jobKey, j.jobId, j.reports[0]?.flaky.length])).toEqual([
      ["test", second.id, 1],
      ["e2e", other.id, 0],
    ]);
    expect(result?.jobs[0]).toMatchObject({ jobId: second.id, name: "test (20)", attempt: 2, conclusion: "success" });
    expect(result?.jobs[0]?.reports[0]?.flaky).toEqual([
      { suite: "api", classname: "tests.api", name: "retries", failedAttempts: [1], passedAttempt: 2, source: "attempts" },
    ]);
    expect(await runTestReports(dataDir, store, 999)).toBeUndefined();
  });
});
