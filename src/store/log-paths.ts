// Where a job's logs live: `<data>/logs/<run>/<job>/`, one file per step
// (`<n>.log`, `<n>.attempt<k>.log` for attempt k > 1 of a job an agent ran
// again, `job.log` for lines outside any step). `slipway logs`, the API, the
// UI, the agents' routes and the test reports all read and write this layout;
// a step record's `logPath` names one of these files.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The job summary (GITHUB_STEP_SUMMARY of every step, masked) in a job's log folder. */
export const JOB_SUMMARY_FILE = "summary.md";

/** The folder of a job's logs in the data directory. */
export function jobLogDir(dataDir: string, runId: number, jobId: number): string {
  return join(dataDir, "logs", String(runId), String(jobId));
}

/** The log file of step `n` (`"job"`: the lines outside any step) on `attempt` of its job. */
export function stepLogPath(logDir: string, n: number | "job", attempt = 1): string {
  return join(logDir, `${n}${attempt > 1 ? `.attempt${attempt}` : ""}.log`);
}

/**
 * The lines a runner agent wrote outside any step (`job.log`, one per
 * attempt: preparing the repository, fetching artifacts, sending reports,
 * errors before the first step), in attempt order; "" when there are none.
 */
export function jobLevelLog(logDir: string | null): string {
  if (!logDir) return "";
  let text = "";
  for (let attempt = 1; ; attempt++) {
    const file = stepLogPath(logDir, "job", attempt);
    if (!existsSync(file)) {
      if (attempt > 1) break;
      continue;
    }
    text += readFileSync(file, "utf8");
  }
  return text;
}
