// Runs one check of slipway.yml against an environment and enforces its
// timeout: a check still running when its timeout ends is cancelled and fails
// with "timed out after 2m". A check that cannot run (no workflow runner, no
// health probe) fails with the reason: a check is never silently passed.
import { formatDuration } from "../duration.js";
import type { Check } from "../model.js";
import { formatElapsed, type CheckResult } from "./check-result.js";
import { runHealthPeriod, type HealthProbe } from "./health.js";
import { runLoad, summarizeLoad } from "./load.js";
import { joinUrl, runSmoke } from "./smoke.js";
import { evaluateThresholds } from "./thresholds.js";

/** The variable a workflow check's jobs find the environment's URL in. */
export const ENVIRONMENT_URL_VARIABLE = "SLIPWAY_ENVIRONMENT_URL";

/** Runs a workflow file (`.github/workflows/<workflow>`) with these inputs and extra environment variables for its jobs. */
export type RunWorkflow = (
  workflow: string,
  inputs: Record<string, string>,
  env: Record<string, string>,
  signal?: AbortSignal,
) => Promise<{ ok: boolean; reason: string; runId?: number }>;

export interface CheckContext {
  /** Where the environment answers, e.g. its router's stable URL `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Cancels the check (it then fails with "cancelled"). */
  signal?: AbortSignal;
  runWorkflow?: RunWorkflow;
  /** The instances' health, for health checks. */
  healthProbe?: HealthProbe;
  /** Time between health probes. Default 1 s. */
  healthIntervalMs?: number;
  /** Failing health probes in a row that fail a health check. Default 1. */
  healthFailureThreshold?: number;
  /** How long each smoke request may take (never more than the check's timeout). Default 30 s. */
  requestTimeoutMs?: number;
  /** Given to workflow checks as SLIPWAY_ENVIRONMENT and SLIPWAY_RELEASE when set. */
  environment?: string;
  release?: string;
}

type Outcome = Omit<CheckResult, "name" | "kind" | "durationMs">;

async function runWorkflowCheck(check: Extract<Check, { kind: "workflow" }>, ctx: CheckContext, signal: AbortSignal): Promise<Outcome> {
  if (!ctx.runWorkflow) return { ok: false, reason: `cannot run the workflow ${check.workflow}: no workflow runner is connected here` };
  const env: Record<string, string> = { [ENVIRONMENT_URL_VARIABLE]: ctx.baseUrl };
  if (ctx.environment !== undefined) env.SLIPWAY_ENVIRONMENT = ctx.environment;
  if (ctx.release !== undefined) env.SLIPWAY_RELEASE = ctx.release;
  const r = await ctx.runWorkflow(check.workflow, check.inputs, env, signal);
  const run = r.runId !== undefined ? ` (run ${r.runId})` : "";
  const reason = r.reason.trim() || (r.ok ? "succeeded" : "failed");
  return { ok: r.ok, reason: `${check.workflow}${run}: ${reason}`, details: { ...(r.runId !== undefined ? { runId: r.runId } : {}), env } };
}

async function runLoadCheck(check: Extract<Check, { kind: "load" }>, ctx: CheckContext, signal: AbortSignal): Promise<Outcome> {
  const report = await runLoad({ url: joinUrl(ctx.baseUrl, check.path), rps: check.rps, durationMs: check.duration, connections: check.connections, signal });
  const verdict = evaluateThresholds(report, check.thresholds);
  const summary = summarizeLoad(report);
  const details = { report, thresholds: verdict.results };
  if (report.sent === 0) return { ok: false, reason: `no request was sent (${summary})`, details };
  const problems: string[] = [];
  if (!verdict.ok) problems.push(verdict.reason);
  if (report.dropped > 0) {
    problems.push(`${report.dropped} of ${report.scheduled} requests could not be sent: all ${report.connections} connections stayed busy waiting for answers, so the service did not take ${check.rps} requests per second`);
  }
  if (problems.length > 0) return { ok: false, reason: `${problems.join("; ")} (${summary})`, details };
  return { ok: true, reason: `${verdict.reason} (${summary})`, details };
}

async function runHealthCheck(check: Extract<Check, { kind: "health" }>, ctx: CheckContext, signal: AbortSignal): Promise<Outcome> {
  if (!ctx.healthProbe) return { ok: false, reason: "cannot watch health: no health probe is connected here" };
  const r = await runHealthPeriod({
    durationMs: check.duration,
    intervalMs: ctx.healthIntervalMs ?? 1000,
    probe: ctx.healthProbe,
    ...(ctx.healthFailureThreshold !== undefined ? { failureThreshold: ctx.healthFailureThreshold } : {}),
    signal,
  });
  return { ok: r.ok, reason: r.reason, details: { probes: r.probes, failures: r.failures } };
}

function runKind(check: Check, ctx: CheckContext, signal: AbortSignal): Promise<Outcome> {
  switch (check.kind) {
    case "smoke":
      return runSmoke(check.requests, ctx.baseUrl, { timeoutMs: Math.min(check.timeout, ctx.requestTimeoutMs ?? 30_000), signal, name: check.name });
    case "workflow":
      return runWorkflowCheck(check, ctx, signal);
    case "load":
      return runLoadCheck(check, ctx, signal);
    case "health":
      return runHealthCheck(check, ctx, signal);
  }
}

export async function runCheck(check: Check, ctx: CheckContext): Promise<CheckResult> {
  const started = performance.now();
  const result = (o: Outcome): CheckResult => ({ name: check.name, kind: check.kind, ok: o.ok, reason: o.reason, durationMs: performance.now() - started, ...(o.details !== undefined ? { details: o.details } : {}) });
  if (ctx.signal?.aborted) return result({ ok: false, reason: "cancelled before it started" });

  const inner = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onCancel: (() => void) | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), check.timeout)));
  const cancelled = new Promise<"cancelled">((resolve) => {
    onCancel = () => resolve("cancelled");
    ctx.signal?.addEventListener("abort", onCancel, { once: true });
  });
  const work = runKind(check, ctx, inner.signal).catch((err: unknown): Outcome => ({ ok: false, reason: `the check could not run: ${(err as Error)?.message ?? String(err)}` }));
  try {
    const outcome = await Promise.race([work, timedOut, cancelled]);
    if (outcome === "timeout") {
      inner.abort();
      return result({ ok: false, reason: `timed out after ${formatDuration(check.timeout)}` });
    }
    if (outcome === "cancelled") {
      inner.abort();
      return result({ ok: false, reason: `cancelled after ${formatElapsed(performance.now() - started)}` });
    }
    return result(outcome);
  } finally {
    clearTimeout(timer);
    if (onCancel) ctx.signal?.removeEventListener("abort", onCancel);
  }
}
