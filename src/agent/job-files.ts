// The files a job leaves in its log folder besides the step logs — its
// summary and its test reports (slipway/test-report) — sent to the server,
// which keeps them where a job run by `slipway run` keeps them: the run page,
// the API and `slipway runs show` read them there.
import { statSync } from "node:fs";
import { join } from "node:path";
import { TEST_REPORT_FILE } from "../reports/index.js";
import { JOB_SUMMARY_FILE } from "../store/index.js";
import type { AgentClient } from "./client.js";

/** Sends the job's summary and test reports, those it has; the names sent. Throws with the reason when the server refuses one. */
export async function sendJobFiles(client: AgentClient, job: { id: number; attempt: number; agent: string }, logDir: string, signal: AbortSignal): Promise<string[]> {
  const sent: string[] = [];
  for (const file of [JOB_SUMMARY_FILE, TEST_REPORT_FILE]) {
    const path = join(logDir, file);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      continue; // the job made none
    }
    if (size === 0) continue;
    const query = new URLSearchParams({ name: job.agent, attempt: String(job.attempt) });
    const a = await client.putFileRetry(`/api/agents/jobs/${job.id}/reports/${file}?${query.toString()}`, path, { signal, what: `${file} of job ${job.id}`, max5xx: 5 });
    if (!a) throw new Error(`${file} was not sent: the agent is stopping`);
    if (a.status !== 200) throw new Error(`the server refused ${file}: HTTP ${a.status}: ${String(a.json.error ?? "")}`);
    sent.push(file);
  }
  return sent;
}
