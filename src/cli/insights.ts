// `slipway insights [--json] [-n RUNS]`: where CI time goes, over the recent
// completed runs of each workflow in the data directory: duration per job
// (median and slowest), the critical path (engine/critical-path.ts, by those
// medians), the slowest steps, and the cache hit rate of actions/cache steps
// (read from their logs: "Cache restored from key" is a hit, "Cache not
// found" a miss).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadWorkflowFile } from "../workflow/index.js";
import { medianDurations, remainingPath } from "../engine/index.js";
import type { Store } from "../store/index.js";
import { dataDirFor, EXIT, UsageError, withStore, workDir, type GlobalOptions } from "./common.js";
import { paint, table } from "./style.js";

export interface InsightsOptions extends GlobalOptions {
  json?: boolean;
  limit?: string;
}

interface WorkflowInsights {
  workflow: string;
  name: string;
  runs: number;
  jobs: Array<{ job: string; runs: number; medianMs: number; maxMs: number }>;
  /** Job ids along the longest path, first to last, and its length. */
  criticalPath: { jobs: string[]; ms: number };
  slowestSteps: Array<{ job: string; step: string; medianMs: number }>;
  cache: { hits: number; misses: number; hitRate: number | null };
}

export async function insightsCommand(opts: InsightsOptions): Promise<number> {
  const limit = Number(opts.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit expects a positive integer, got '${opts.limit}'`);
  const dataDir = dataDirFor(opts, workDir(opts));
  const dir = workDir(opts);
  const dags = new Map<string, Array<{ id: string; needs: string[] }>>();
  const wfDir = join(dir, ".github", "workflows");
  for (const f of existsSync(wfDir) ? readdirSync(wfDir).filter((x) => /\.ya?ml$/.test(x)) : []) {
    const { workflow } = await loadWorkflowFile(join(wfDir, f), `.github/workflows/${f}`);
    if (workflow) dags.set(workflow.path, workflow.jobs.map((j) => ({ id: j.id, needs: j.needs })));
  }
  return withStore(dataDir, (store) => {
    const result = insights(store, limit, dags);
    if (opts.json) {
      process.stdout.write(JSON.stringify({ workflows: result }, null, 2) + "\n");
      return EXIT.ok;
    }
    if (result.length === 0) {
      process.stdout.write("no completed runs yet; `slipway run` makes some\n");
      return EXIT.ok;
    }
    const p = paint(process.stdout);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
    for (const w of result) {
      process.stdout.write(p.bold(`${w.name} (${w.workflow}), last ${w.runs} run(s)\n`));
      process.stdout.write(table(["JOB", "RUNS", "MEDIAN", "SLOWEST"], w.jobs.map((j) => [j.job, String(j.runs), s(j.medianMs), s(j.maxMs)])));
      process.stdout.write(`critical path: ${w.criticalPath.jobs.join(" → ")} (${s(w.criticalPath.ms)})\n`);
      if (w.slowestSteps.length > 0) process.stdout.write(`slowest steps: ${w.slowestSteps.map((x) => `${x.job} › ${x.step} ${s(x.medianMs)}`).join("; ")}\n`);
      if (w.cache.hitRate !== null) process.stdout.write(`cache: ${w.cache.hits} hit(s), ${w.cache.misses} miss(es), ${Math.round(w.cache.hitRate * 100)}% hits\n`);
      process.stdout.write("\n");
    }
    return EXIT.ok;
  });
}

/** `dags`: workflow path → its jobs' `needs`, from the workflow files. */
export function insights(store: Store, limit: number, dags: ReadonlyMap<string, ReadonlyArray<{ id: string; needs: readonly string[] }>> = new Map()): WorkflowInsights[] {
  const byWorkflow = new Map<string, ReturnType<Store["listRuns"]>>();
  for (const r of store.listRuns({ status: "completed", limit: 2000 })) {
    const list = byWorkflow.get(r.workflowPath) ?? [];
    if (list.length < limit) list.push(r);
    byWorkflow.set(r.workflowPath, list);
  }
  const out: WorkflowInsights[] = [];
  for (const [workflow, runs] of byWorkflow) {
    const jobSamples: Array<{ jobKey: string; ms: number }> = [];
    const stepSamples = new Map<string, { job: string; step: string; ms: number[] }>();
    const needs = new Map<string, Set<string>>();
    let hits = 0;
    let misses = 0;
    for (const run of runs) {
      const jobs = store.listJobs(run.id);
      for (const j of jobs) {
        if (!needs.has(j.jobKey)) needs.set(j.jobKey, new Set());
        if (!j.startedAt || !j.completedAt) continue;
        jobSamples.push({ jobKey: j.jobKey, ms: Date.parse(j.completedAt) - Date.parse(j.startedAt) });
        for (const st of store.listSteps(j.id)) {
          if (st.startedAt && st.completedAt) {
            const key = `${j.jobKey}\0${st.name}`;
            const e = stepSamples.get(key) ?? { job: j.jobKey, step: st.name, ms: [] };
            e.ms.push(Date.parse(st.completedAt) - Date.parse(st.startedAt));
            stepSamples.set(key, e);
          }
          if (/actions\/cache(\/restore)?@/.test(st.name) && st.logPath && existsSync(st.logPath)) {
            const log = readFileSync(st.logPath, "utf8");
            if (/Cache restored from key/.test(log)) hits++;
            else if (/Cache not found/.test(log)) misses++;
          }
        }
      }
    }
    const medians = medianDurations(jobSamples);
    const jobs = [...medians].map(([job, medianMs]) => {
      const all = jobSamples.filter((x) => x.jobKey === job).map((x) => x.ms);
      return { job, runs: all.length, medianMs, maxMs: Math.max(...all) };
    });
    jobs.sort((a, b) => b.medianMs - a.medianMs);
    // The DAG is the workflow file's `needs:` as it is now (a job no longer in it keeps no edges).
    for (const j of dags.get(workflow) ?? []) for (const n of j.needs) needs.get(j.id)?.add(n);
    const paths = remainingPath(
      [...needs].map(([id, n]) => ({ id, needs: [...n] })),
      medians,
    );
    const path: string[] = [];
    let next = [...paths].sort((a, b) => b[1] - a[1])[0]?.[0];
    while (next !== undefined) {
      path.push(next);
      const current = next;
      next = [...needs].filter(([, n]) => n.has(current)).sort((a, b) => (paths.get(b[0]) ?? 0) - (paths.get(a[0]) ?? 0))[0]?.[0];
    }
    const slowestSteps = [...stepSamples.values()]
      .map((e) => ({ job: e.job, step: e.step, medianMs: medianDurations(e.ms.map((ms) => ({ jobKey: "x", ms }))).get("x") ?? 0 }))
      .sort((a, b) => b.medianMs - a.medianMs)
      .slice(0, 5);
    out.push({
      workflow,
      name: runs[0]?.workflowName ?? workflow,
      runs: runs.length,
      jobs,
      criticalPath: { jobs: path, ms: path[0] ? (paths.get(path[0]) ?? 0) : 0 },
      slowestSteps,
      cache: { hits, misses, hitRate: hits + misses > 0 ? hits / (hits + misses) : null },
    });
  }
  return out;
}
