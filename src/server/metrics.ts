// The server's Prometheus metrics (text format 0.0.4): HTTP requests by route
// and status with a latency histogram, counted in this process; runs and jobs
// by status and the queue depth, read from the store at each scrape.
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Jobs take seconds to hours. */
const JOB_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export class ServerMetrics {
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  private readonly launches = new Map<string, number>();
  private readonly jobs = new Map<string, Histogram>();

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `method="${method}",route="${escape(route)}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    observe(this.durations, `method="${method}",route="${escape(route)}"`, BUCKETS, seconds);
  }

  /** A finished job's duration, by its conclusion. */
  observeJob(conclusion: string, seconds: number): void {
    observe(this.jobs, `conclusion="${escape(conclusion)}"`, JOB_BUCKETS, seconds);
  }

  observeLaunch(result: "started" | "failed" | "no_workflows"): void {
    this.launches.set(result, (this.launches.get(result) ?? 0) + 1);
  }

  /** The exposition text; `gauges` are the values read at scrape time. */
  render(gauges: {
    runs: Record<string, number>;
    queued: number;
    launchesWaiting: number;
    launchesRunning: number;
    /** The runner agents' job queue. */
    agentJobs: { queued: number; leased: number };
    rollouts: Array<{ env: string; service: string; release: string; phase: string; weight: number }>;
  }): string {
    const out: string[] = [];
    out.push("# HELP slipway_http_requests_total HTTP requests served, by route and status.", "# TYPE slipway_http_requests_total counter");
    for (const [k, v] of this.requests) out.push(`slipway_http_requests_total{${k}} ${v}`);
    out.push("# HELP slipway_http_request_duration_seconds Time to answer an HTTP request.", "# TYPE slipway_http_request_duration_seconds histogram");
    out.push(...exposition("slipway_http_request_duration_seconds", this.durations, BUCKETS));
    out.push("# HELP slipway_job_duration_seconds How long finished jobs of the server's runs took, by conclusion.", "# TYPE slipway_job_duration_seconds histogram");
    out.push(...exposition("slipway_job_duration_seconds", this.jobs, JOB_BUCKETS));
    out.push(
      "# HELP slipway_rollout The latest rollout of each environment and service: 1 for its phase (progressing, paused, succeeded, failed, rolled-back, aborted).",
      "# TYPE slipway_rollout gauge",
    );
    for (const r of gauges.rollouts) out.push(`slipway_rollout{env="${escape(r.env)}",service="${escape(r.service)}",release="${escape(r.release)}",phase="${escape(r.phase)}"} 1`);
    out.push("# HELP slipway_rollout_weight Percent of traffic on the release being rolled out.", "# TYPE slipway_rollout_weight gauge");
    for (const r of gauges.rollouts) out.push(`slipway_rollout_weight{env="${escape(r.env)}",service="${escape(r.service)}",release="${escape(r.release)}"} ${r.weight}`);
    out.push("# HELP slipway_event_launches_total Events (pushes, dispatches) whose runs were started, by result.", "# TYPE slipway_event_launches_total counter");
    for (const [k, v] of this.launches) out.push(`slipway_event_launches_total{result="${k}"} ${v}`);
    out.push("# HELP slipway_runs Runs in the store that are not completed, by status.", "# TYPE slipway_runs gauge");
    for (const [k, v] of Object.entries(gauges.runs)) out.push(`slipway_runs{status="${k}"} ${v}`);
    out.push(
      "# HELP slipway_queue_depth Work waiting to start: queued runs and events waiting for a launch slot.",
      "# TYPE slipway_queue_depth gauge",
      `slipway_queue_depth ${gauges.queued + gauges.launchesWaiting}`,
      "# HELP slipway_event_launches Events whose runs are running or waiting to start.",
      "# TYPE slipway_event_launches gauge",
      `slipway_event_launches{state="running"} ${gauges.launchesRunning}`,
      `slipway_event_launches{state="waiting"} ${gauges.launchesWaiting}`,
      "# HELP slipway_agent_jobs Jobs in the runner agents' queue: waiting for an agent (queued) and running on one (leased).",
      "# TYPE slipway_agent_jobs gauge",
      `slipway_agent_jobs{state="queued"} ${gauges.agentJobs.queued}`,
      `slipway_agent_jobs{state="leased"} ${gauges.agentJobs.leased}`,
    );
    return out.join("\n") + "\n";
  }
}

function observe(histograms: Map<string, Histogram>, key: string, buckets: readonly number[], value: number): void {
  let h = histograms.get(key);
  if (!h) {
    h = { counts: buckets.map(() => 0), sum: 0, count: 0 };
    histograms.set(key, h);
  }
  buckets.forEach((b, i) => {
    if (value <= b) h.counts[i] = (h.counts[i] ?? 0) + 1;
  });
  h.sum += value;
  h.count++;
}

/** A histogram's _bucket, _sum and _count lines. */
function exposition(name: string, histograms: Map<string, Histogram>, buckets: readonly number[]): string[] {
  const out: string[] = [];
  for (const [k, h] of histograms) {
    buckets.forEach((b, i) => out.push(`${name}_bucket{${k},le="${b}"} ${h.counts[i] ?? 0}`));
    out.push(`${name}_bucket{${k},le="+Inf"} ${h.count}`, `${name}_sum{${k}} ${h.sum}`, `${name}_count{${k}} ${h.count}`);
  }
  return out;
}

function escape(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
