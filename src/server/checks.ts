// Required checks: the newest run's verdict on a named job for a commit of a
// repository (protected branches' pushes and change requests' merges).
import { checkMatches, type CheckStatus } from "../git/index.js";
import type { Store } from "../store/index.js";

/** The newest run's verdict on a required check for a commit of a repository. */
export function requiredCheckStatus(store: Store, repository: string, sha: string, name: string): CheckStatus {
  for (const run of store.listRuns({ repository, sha, limit: 100 })) {
    const jobs = store.listJobs(run.id).filter((j) => checkMatches(name, { key: j.jobKey, name: j.name, workflow: run.workflowName }));
    if (jobs.length === 0) continue;
    // A matrix job is one check by its id: every leg must pass.
    const latest = new Map<string, (typeof jobs)[number]>();
    for (const j of jobs) {
      const prev = latest.get(j.name);
      if (!prev || j.attempt > prev.attempt) latest.set(j.name, j);
    }
    const legs = [...latest.values()];
    const detail = (state: string) => `run ${run.id}, ${run.workflowName}: ${state}`;
    if (legs.some((j) => j.status !== "completed")) return { name, state: "pending", detail: detail("in progress") };
    const bad = legs.find((j) => j.conclusion !== "success");
    if (bad) return { name, state: "failure", detail: detail(`job ${bad.name} ${bad.conclusion ?? "unknown"}`) };
    return { name, state: "success", detail: detail("success") };
  }
  return { name, state: "missing", detail: `no run of ${repository} has a job '${name}' for this commit` };
}
