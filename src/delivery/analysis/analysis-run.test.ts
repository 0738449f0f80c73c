// A run of measurements judged with Argo Rollouts' failureLimit,
// consecutiveErrorLimit and (default 0) inconclusiveLimit.
import { describe, expect, it } from "vitest";
import { AnalysisRun, assessRun } from "./analysis-run.js";
import type { Verdict } from "./types.js";

const m = (verdict: Verdict, reason = `${verdict} reason`) => ({ verdict, reason });
const defaults = { failureLimit: 0, consecutiveErrorLimit: 4 };

describe("assessRun", () => {
  it("is running while measurements pass, successful once complete", () => {
    expect(assessRun(defaults, [m("pass"), m("pass")]).phase).toBe("running");
    const done = assessRun(defaults, [m("pass"), m("pass")], { complete: true });
    expect(done.phase).toBe("successful");
    expect(done.reason).toBe("successful: 2 measurements: 2 passed, 0 failed (failure_limit 0), 0 inconclusive, 0 could not be taken");
  });

  it("fails on the first failed measurement with failure_limit 0", () => {
    const s = assessRun(defaults, [m("pass"), m("fail", "error rate 20.0% ≥ 1%")]);
    expect(s.phase).toBe("failed");
    expect(s.reason).toBe("1 failed measurement, more than failure_limit 0: error rate 20.0% ≥ 1%");
  });

  it("tolerates failure_limit failures: failed only when failed > failure_limit", () => {
    const limits = { failureLimit: 2, consecutiveErrorLimit: 4 };
    expect(assessRun(limits, [m("fail"), m("pass"), m("fail")]).phase).toBe("running");
    expect(assessRun(limits, [m("fail"), m("pass"), m("fail")], { complete: true }).phase).toBe("successful");
    const s = assessRun(limits, [m("fail"), m("fail"), m("pass"), m("fail", "third")]);
    expect(s.phase).toBe("failed");
    expect(s.reason).toBe("3 failed measurements, more than failure_limit 2: third");
  });

  it("errors only when consecutive errors exceed consecutive_error_limit (default 4: the fifth in a row)", () => {
    expect(assessRun(defaults, [m("error"), m("error"), m("error"), m("error")]).phase).toBe("running");
    const s = assessRun(defaults, [m("error"), m("error"), m("error"), m("error"), m("error", "Prometheus did not answer")]);
    expect(s.phase).toBe("error");
    expect(s.consecutiveErrors).toBe(5);
    expect(s.reason).toBe("5 measurements in a row could not be taken, more than consecutive_error_limit 4: Prometheus did not answer");
  });

  it("resets the consecutive error count on any measurement taken", () => {
    const s = assessRun(defaults, [m("error"), m("error"), m("error"), m("error"), m("pass"), m("error"), m("error")]);
    expect(s.phase).toBe("running");
    expect(s.errors).toBe(6);
    expect(s.consecutiveErrors).toBe(2);
    expect(assessRun({ failureLimit: 3, consecutiveErrorLimit: 1 }, [m("error"), m("fail"), m("error")]).phase).toBe("running");
  });

  it("with consecutive_error_limit 0 the first error ends the run", () => {
    expect(assessRun({ failureLimit: 0, consecutiveErrorLimit: 0 }, [m("error")]).phase).toBe("error");
  });

  it("is inconclusive on the first inconclusive measurement, and it is never successful", () => {
    const s = assessRun(defaults, [m("pass"), m("inconclusive", "only 7 requests in 30s")], { complete: true });
    expect(s.phase).toBe("inconclusive");
    expect(s.reason).toBe("inconclusive: only 7 requests in 30s");
  });

  it("checks failures before inconclusive and errors, as Argo Rollouts does", () => {
    const run = new AnalysisRun({ failureLimit: 0, consecutiveErrorLimit: 0 });
    expect(run.add(m("fail")).phase).toBe("failed");
    // A decided run stays decided.
    expect(run.add(m("pass")).phase).toBe("failed");
    expect(run.status(true).phase).toBe("failed");
  });
});

describe("AnalysisRun", () => {
  it("resumes after an inconclusive run when a person decides to go on", () => {
    const run = new AnalysisRun(defaults);
    expect(run.add(m("inconclusive")).phase).toBe("inconclusive");
    expect(run.add(m("pass")).phase).toBe("inconclusive"); // paused: nothing counts until someone decides
    expect(run.resume().phase).toBe("running");
    expect(run.add(m("pass")).phase).toBe("running");
    expect(run.add(m("inconclusive", "again")).reason).toBe("inconclusive: again");
    expect(run.resume().phase).toBe("running");
    expect(run.status(true)).toMatchObject({ phase: "successful", count: 3, passed: 1, inconclusive: 2 });
  });

  it("resume does not undo a failure", () => {
    const run = new AnalysisRun(defaults, [m("fail")]);
    expect(run.resume().phase).toBe("failed");
  });

  it("honours an inconclusive limit when given", () => {
    const run = new AnalysisRun({ ...defaults, inconclusiveLimit: 1 });
    expect(run.add(m("inconclusive")).phase).toBe("running");
    expect(run.add(m("inconclusive")).phase).toBe("inconclusive");
  });

  it("rebuilds from stored measurements after a restart", () => {
    const run = new AnalysisRun({ failureLimit: 1, consecutiveErrorLimit: 4 }, [m("fail"), m("pass")]);
    expect(run.status().failed).toBe(1);
    expect(run.add(m("fail")).phase).toBe("failed");
  });
});
