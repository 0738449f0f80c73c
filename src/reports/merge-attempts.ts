// Flaky tests across attempts of a job: a test case that failed (or errored)
// in an earlier attempt and passed in a later one. Pure.
import { caseKey } from "./junit.js";
import type { FlakyTest, TestReport } from "./model.js";

/**
 * The reports of one job's attempts (one report name) → the latest attempt's
 * report, its flaky tests added: those that failed in an earlier attempt and
 * passed in a later one, marked `flaky` among its cases too. Reports may come
 * in any order; undefined when there are none.
 */
export function mergeAttempts(reports: readonly TestReport[]): TestReport | undefined {
  const ordered = [...reports].sort((a, b) => a.attempt - b.attempt);
  const latest = ordered.at(-1);
  if (!latest) return undefined;
  const failedIn = new Map<string, number[]>();
  const found = new Map<string, FlakyTest>();
  for (const report of ordered) {
    const passedHere = new Set<string>();
    const failedHere = new Set<string>();
    for (const c of report.cases) {
      const key = caseKey(c);
      if (c.status === "passed") passedHere.add(key);
      else if (c.status === "failed" || c.status === "errored") failedHere.add(key);
    }
    for (const key of passedHere) {
      const earlier = failedIn.get(key);
      if (earlier && earlier.length > 0 && !found.has(key)) {
        const c = report.cases.find((x) => caseKey(x) === key);
        if (c) found.set(key, { suite: c.suite, classname: c.classname, name: c.name, failedAttempts: [...earlier], passedAttempt: report.attempt, source: "attempts" });
      }
    }
    for (const key of failedHere) failedIn.set(key, [...(failedIn.get(key) ?? []), report.attempt]);
  }
  if (found.size === 0 && ordered.length === 1) return latest;
  const flaky = [...found.values(), ...latest.flaky.filter((f) => !found.has(caseKey(f)))];
  const flakyKeys = new Set(flaky.map(caseKey));
  return {
    ...latest,
    cases: latest.cases.map((c) => (flakyKeys.has(caseKey(c)) ? { ...c, flaky: true } : c)),
    flaky,
  };
}

/** The reports of one job's attempts, any names → one merged report per name (see mergeAttempts), in the order names first appear. */
export function mergeJobAttempts(reports: readonly TestReport[]): TestReport[] {
  const byName = new Map<string, TestReport[]>();
  for (const r of reports) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  return [...byName.values()].map((group) => mergeAttempts(group)).filter((r): r is TestReport => r !== undefined);
}
