// The state of one workflow run as a DAG of jobs, and the pure decisions
// taken on it: which jobs are ready, what the status functions return for a
// job, how matrix instances aggregate, and the run's conclusion.
//
// GitHub semantics implemented here:
// - a job is ready when every job in its `needs` has completed;
// - job-level success() is true when every need succeeded; failure() is
//   true when any ancestor (transitively) failed; cancelled() when the run
//   was cancelled; always() is true. The parser adds the implicit
//   `success() &&` to a job `if` that calls no status function;
// - a job whose `if` is false is skipped, and so (by the implicit success())
//   are the jobs that need it;
// - a job with `continue-on-error` that fails counts as a success for the
//   jobs that need it and for the run, but keeps its own failure conclusion.

export type JobResult = "success" | "failure" | "cancelled" | "skipped";

export interface JobNode {
  key: string;
  needs: string[];
}

export interface JobNodeState {
  key: string;
  status: "waiting" | "running" | "done";
  /** Result as the job itself concluded. */
  result?: JobResult;
  /** Result as seen by dependants and the run (continue-on-error turns failure into success). */
  effectiveResult?: JobResult;
  outputs: Record<string, string>;
}

export interface RunState {
  nodes: Map<string, JobNodeState>;
  order: JobNode[];
  cancelled: boolean;
}

export function createRunState(jobs: JobNode[]): RunState {
  const nodes = new Map<string, JobNodeState>();
  for (const j of jobs) nodes.set(j.key, { key: j.key, status: "waiting", outputs: {} });
  return { nodes, order: jobs, cancelled: false };
}

/** Jobs waiting whose needs have all completed, in workflow order. */
export function readyJobs(state: RunState): JobNode[] {
  return state.order.filter((j) => {
    const node = state.nodes.get(j.key);
    return node?.status === "waiting" && j.needs.every((n) => state.nodes.get(n)?.status === "done");
  });
}

function ancestors(state: RunState, key: string, seen = new Set<string>()): Set<string> {
  const job = state.order.find((j) => j.key === key);
  for (const n of job?.needs ?? []) {
    if (!seen.has(n)) {
      seen.add(n);
      ancestors(state, n, seen);
    }
  }
  return seen;
}

export interface StatusFunctions {
  success: () => boolean;
  failure: () => boolean;
  cancelled: () => boolean;
  always: () => boolean;
}

export function jobStatusFunctions(state: RunState, key: string): StatusFunctions {
  const job = state.order.find((j) => j.key === key);
  const needs = job?.needs ?? [];
  return {
    success: () => !state.cancelled && needs.every((n) => state.nodes.get(n)?.effectiveResult === "success"),
    failure: () => [...ancestors(state, key)].some((n) => state.nodes.get(n)?.effectiveResult === "failure"),
    cancelled: () => state.cancelled,
    always: () => true,
  };
}

/** The `needs` context for a job: result and outputs of each direct need. */
export function needsContext(state: RunState, key: string): Record<string, { result: string; outputs: Record<string, string> }> {
  const job = state.order.find((j) => j.key === key);
  const out: Record<string, { result: string; outputs: Record<string, string> }> = {};
  for (const n of job?.needs ?? []) {
    const node = state.nodes.get(n);
    out[n] = { result: node?.effectiveResult ?? "skipped", outputs: node?.outputs ?? {} };
  }
  return out;
}

export function markRunning(state: RunState, key: string): void {
  const node = state.nodes.get(key);
  if (node) node.status = "running";
}

export function markDone(state: RunState, key: string, result: JobResult, effective: JobResult, outputs: Record<string, string>): void {
  const node = state.nodes.get(key);
  if (!node) return;
  node.status = "done";
  node.result = result;
  node.effectiveResult = effective;
  node.outputs = outputs;
}

/**
 * Aggregates the results of a job's matrix instances, as GitHub does:
 * any failure → failure, else any cancelled → cancelled, else all skipped →
 * skipped, else success.
 */
export function aggregateResults(results: JobResult[]): JobResult {
  if (results.length === 0) return "skipped";
  if (results.includes("failure")) return "failure";
  if (results.includes("cancelled")) return "cancelled";
  if (results.every((r) => r === "skipped")) return "skipped";
  return "success";
}

/** The conclusion of the run from its jobs' effective results. */
export function runConclusion(state: RunState): JobResult {
  const results = [...state.nodes.values()].map((n) => n.effectiveResult ?? "skipped");
  if (results.includes("failure")) return "failure";
  if (state.cancelled || results.includes("cancelled")) return "cancelled";
  return results.every((r) => r === "skipped") && results.length > 0 ? "skipped" : "success";
}
