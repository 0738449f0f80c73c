// Critical-path priorities: when more jobs are ready than there are slots,
// the one on the longest remaining path through the DAG (its own duration
// plus the longest chain of jobs that need it, in durations of earlier runs)
// starts first, so the run ends as early as it can. Jobs never seen before
// count the median of those seen (or 1 s when none were).

export interface CriticalPathJob {
  id: string;
  needs: readonly string[];
}

/** Median duration per job id of earlier runs (ms); undefined for a job never timed. */
export function medianDurations(samples: ReadonlyArray<{ jobKey: string; ms: number }>): Map<string, number> {
  const by = new Map<string, number[]>();
  for (const s of samples) if (Number.isFinite(s.ms) && s.ms >= 0) by.set(s.jobKey, [...(by.get(s.jobKey) ?? []), s.ms]);
  const out = new Map<string, number>();
  for (const [k, v] of by) {
    v.sort((a, b) => a - b);
    const mid = Math.floor(v.length / 2);
    out.set(k, v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2);
  }
  return out;
}

/** job id → length of the longest path from its start to the end of the run (ms). Cycles (refused earlier) count once. */
export function remainingPath(jobs: readonly CriticalPathJob[], durations: ReadonlyMap<string, number>): Map<string, number> {
  const known = [...durations.values()].sort((a, b) => a - b);
  const fallback = known.length > 0 ? (known[Math.floor(known.length / 2)] as number) : 1000;
  const dependents = new Map<string, string[]>();
  for (const j of jobs) for (const n of j.needs) dependents.set(n, [...(dependents.get(n) ?? []), j.id]);
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const length = (id: string): number => {
    const m = memo.get(id);
    if (m !== undefined) return m;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const tail = Math.max(0, ...(dependents.get(id) ?? []).map(length));
    visiting.delete(id);
    const total = (durations.get(id) ?? fallback) + tail;
    memo.set(id, total);
    return total;
  };
  return new Map(jobs.map((j) => [j.id, length(j.id)]));
}
