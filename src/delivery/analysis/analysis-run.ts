// The measurements of one rollout judged together, as Argo Rollouts judges an
// AnalysisRun's metric (analysis/analysis.go, assessMetricStatus): failed when
// failed measurements > failure_limit, inconclusive when inconclusive
// measurements > inconclusive limit (0: the first one), error when
// consecutive errors > consecutive_error_limit, checked in that order after
// every measurement; a finished phase stays. Running otherwise, successful
// when the caller says the run is complete.
import type { Analysis } from "../model.js";
import type { Measurement, Verdict } from "./types.js";

/** running: go on measuring; successful: the rollout may finish; failed, error: roll back; inconclusive: pause until a person decides. */
export type RunPhase = "running" | "successful" | "failed" | "error" | "inconclusive";

export interface RunLimits {
  failureLimit: Analysis["failureLimit"];
  consecutiveErrorLimit: Analysis["consecutiveErrorLimit"];
  /** Inconclusive measurements tolerated before the run is inconclusive; Argo Rollouts' default, 0. */
  inconclusiveLimit?: number;
}

export interface RunStatus {
  phase: RunPhase;
  /** Measurements taken. */
  count: number;
  passed: number;
  failed: number;
  inconclusive: number;
  errors: number;
  consecutiveErrors: number;
  /** The phase in words, with the measurement that decided it. */
  reason: string;
}

type Judged = Pick<Measurement, "verdict" | "reason">;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Judges measurements one by one; `resume()` is a person's decision to go on after an inconclusive run. */
export class AnalysisRun {
  private readonly counts: Record<Verdict, number> = { pass: 0, fail: 0, inconclusive: 0, error: 0 };
  private consecutiveErrors = 0;
  /** Inconclusive measurements a person has already decided on (`resume`). */
  private acknowledged = 0;
  private decided: { phase: Exclude<RunPhase, "running" | "successful">; reason: string } | undefined;

  constructor(
    private readonly limits: RunLimits,
    history: readonly Judged[] = [],
  ) {
    for (const m of history) this.add(m);
  }

  /** Counts a measurement and returns the run's status. Once failed, error or inconclusive, the run stays so (until `resume` for inconclusive). */
  add(m: Judged): RunStatus {
    if (this.decided) return this.status();
    this.counts[m.verdict]++;
    this.consecutiveErrors = m.verdict === "error" ? this.consecutiveErrors + 1 : 0;
    const { failureLimit, consecutiveErrorLimit } = this.limits;
    const inconclusiveLimit = this.limits.inconclusiveLimit ?? 0;
    if (this.counts.fail > failureLimit) {
      this.decided = { phase: "failed", reason: `${plural(this.counts.fail, "failed measurement")}, more than failure_limit ${failureLimit}: ${m.reason}` };
    } else if (this.counts.inconclusive - this.acknowledged > inconclusiveLimit) {
      this.decided = { phase: "inconclusive", reason: `inconclusive: ${m.reason}` };
    } else if (this.consecutiveErrors > consecutiveErrorLimit) {
      this.decided = { phase: "error", reason: `${plural(this.consecutiveErrors, "measurement")} in a row could not be taken, more than consecutive_error_limit ${consecutiveErrorLimit}: ${m.reason}` };
    }
    return this.status();
  }

  /** A person decided to go on after an inconclusive run (`slipway promote`): the inconclusive measurements so far no longer count. */
  resume(): RunStatus {
    if (this.decided?.phase === "inconclusive") {
      this.acknowledged = this.counts.inconclusive;
      this.decided = undefined;
    }
    return this.status();
  }

  /** The run's status; `complete` when no more measurements will come (the last step was measured), which makes a running run successful. */
  status(complete = false): RunStatus {
    const base = {
      count: this.counts.pass + this.counts.fail + this.counts.inconclusive + this.counts.error,
      passed: this.counts.pass,
      failed: this.counts.fail,
      inconclusive: this.counts.inconclusive,
      errors: this.counts.error,
      consecutiveErrors: this.consecutiveErrors,
    };
    if (this.decided) return { ...base, ...this.decided };
    const tally = `${plural(base.count, "measurement")}: ${base.passed} passed, ${base.failed} failed (failure_limit ${this.limits.failureLimit}), ${base.inconclusive} inconclusive, ${base.errors} could not be taken`;
    return { ...base, phase: complete ? "successful" : "running", reason: complete ? `successful: ${tally}` : tally };
  }
}

/** The status of a run after these measurements (a pure fold over AnalysisRun). */
export function assessRun(limits: RunLimits, measurements: readonly Judged[], options: { complete?: boolean } = {}): RunStatus {
  return new AnalysisRun(limits, measurements).status(options.complete ?? false);
}
