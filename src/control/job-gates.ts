// Environment protection for workflow jobs, as GitHub's deployment
// protection rules: a job with `environment: NAME`, where slipway.yml defines
// that environment, starts only once the environment's gates are open for
// its run — its deployment windows, and its `approval` (required reviewers,
// no self-review, timeout), given for the run as a whole (`slipway approve
// NAME run:RUN`, one review for every job of the run that targets it). Until
// then the job waits without a slot and gets nothing of the environment: its
// secrets and variables reach it only when it starts. A rejection or an
// expired approval fails the job.
import { setTimeout as delay } from "node:timers/promises";
import { evaluateApproval, evaluateWindows, type DeliveryConfig, type EnvironmentSpec } from "../delivery/index.js";
import type { Store } from "../store/index.js";
import { approvalDecisions } from "./promotion.js";

/** What approvals of a run's jobs are recorded under (the `release` of an approval record). */
export function runApprovalSubject(runId: number): string {
  return `run:${runId}`;
}

export type JobGateState = { state: "open"; reason: string } | { state: "waiting"; reason: string } | { state: "closed"; reason: string };

/** The gates of `env` for the jobs of run `runId`, now. Pure but for the store's approvals. */
export function jobEnvironmentGates(store: Store, env: EnvironmentSpec, runId: number, o: { actor: string; now: Date; requestedAt: Date }): JobGateState {
  const reasons: string[] = [];
  if (env.approval) {
    const subject = runApprovalSubject(runId);
    const verdict = evaluateApproval(env.approval, { author: o.actor, decisions: approvalDecisions(store, env.name, subject), now: o.now, requestedAt: o.requestedAt });
    if (verdict.state === "rejected" || verdict.state === "expired") return { state: "closed", reason: `environment ${env.name}: ${verdict.reason}` };
    if (verdict.state === "pending") {
      return { state: "waiting", reason: `environment ${env.name}: ${verdict.reason} (slipway approve ${env.name} ${subject})` };
    }
    reasons.push(verdict.reason);
  }
  if (env.windows.length > 0) {
    const window = evaluateWindows(env.windows, o.now);
    if (!window.open) return { state: "waiting", reason: `environment ${env.name}: ${window.reason}` };
    reasons.push(window.reason);
  }
  return { state: "open", reason: reasons.length > 0 ? `environment ${env.name}: ${reasons.join("; ")}` : `environment ${env.name} has no gates` };
}

export interface WaitForGatesOptions {
  store: Store;
  /** slipway.yml's model, or why it could not be read (then jobs with an environment it may define fail: closed, not open). */
  config: DeliveryConfig | { error: string } | undefined;
  environment: string;
  runId: number;
  actor: string;
  signal: AbortSignal;
  /** Told each new reason the job waits for. */
  waiting: (reason: string) => void;
  now?: () => Date;
  pollMs?: number;
}

/** Waits until the environment's gates are open for the run's job; `open: false` with the reason when they close or the job is cancelled. */
export async function waitForEnvironmentGates(o: WaitForGatesOptions): Promise<{ open: true } | { open: false; reason: string }> {
  if (!o.config) return { open: true };
  if ("error" in o.config) return { open: false, reason: `slipway.yml has errors, so the gates of environment ${o.environment} cannot be checked: ${o.config.error} (fix: slipway lint)` };
  const env = o.config.environments[o.environment];
  // An environment slipway.yml does not define has no protection rules, as on GitHub.
  if (!env) return { open: true };
  const now = o.now ?? (() => new Date());
  const requestedAt = now();
  let last = "";
  for (;;) {
    if (o.signal.aborted) return { open: false, reason: `cancelled while waiting for environment ${env.name}` };
    const gate = jobEnvironmentGates(o.store, env, o.runId, { actor: o.actor, now: now(), requestedAt });
    if (gate.state === "open") return { open: true };
    if (gate.state === "closed") return { open: false, reason: gate.reason };
    if (gate.reason !== last) o.waiting((last = gate.reason));
    await delay(o.pollMs ?? 1000, undefined, { signal: o.signal }).catch(() => undefined);
  }
}
