// `slipway logs RUN [JOB]`: the stored (masked) step logs.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { JOB_SUMMARY_FILE, jobLevelLog } from "../store/index.js";
import { dataDirFor, EXIT, UsageError, withStore, workDir, type GlobalOptions } from "./common.js";
import { paint } from "./style.js";

export async function logsCommand(runArg: string, jobArg: string | undefined, opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const runId = Number(runArg);
  if (!Number.isInteger(runId) || runId < 1) throw new UsageError(`RUN must be a run id (see \`slipway runs\`), got '${runArg}'`);
  const dataDir = dataDirFor(opts, workDir(opts));
  return withStore(dataDir, (store) => {
    const run = store.getRun(runId);
    if (!run) throw new UsageError(`no run ${runId} in ${dataDir} (see \`slipway runs\`)`);
    let jobs = store.listJobs(runId);
    if (jobArg !== undefined) {
      jobs = jobs.filter((j) => String(j.id) === jobArg || j.jobKey === jobArg || j.name === jobArg);
      if (jobs.length === 0) {
        const known = store.listJobs(runId).map((j) => `${j.id} (${j.name})`).join(", ");
        throw new UsageError(`run ${runId} has no job '${jobArg}'; its jobs: ${known || "none"}`);
      }
    }
    const p = paint(process.stdout);
    const result = jobs.map((j) => ({
      id: j.id,
      name: j.name,
      conclusion: j.conclusion,
      reason: j.reason,
      steps: store.listSteps(j.id).map((s) => ({
        number: s.number,
        name: s.name,
        conclusion: s.conclusion,
        log: s.logPath && existsSync(s.logPath) ? readFileSync(s.logPath, "utf8") : "",
      })),
      summary: j.logPath && existsSync(join(j.logPath, JOB_SUMMARY_FILE)) ? readFileSync(join(j.logPath, JOB_SUMMARY_FILE), "utf8") : "",
      outsideSteps: jobLevelLog(j.logPath),
    }));
    if (opts.json) {
      process.stdout.write(JSON.stringify({ run, jobs: result }, null, 2) + "\n");
      return EXIT.ok;
    }
    for (const j of result) {
      process.stdout.write(p.bold(`== ${j.name} (job ${j.id}): ${j.conclusion ?? "running"}${j.reason ? ` — ${j.reason}` : ""}\n`));
      for (const s of j.steps) {
        process.stdout.write(p.cyan(`-- ${s.number}. ${s.name}: ${s.conclusion ?? "running"}\n`));
        process.stdout.write(s.log);
      }
      if (j.outsideSteps) process.stdout.write(p.cyan("-- outside the steps (runner agent)\n") + j.outsideSteps);
      if (j.summary) process.stdout.write(p.cyan("-- summary\n") + j.summary);
    }
    return EXIT.ok;
  });
}
