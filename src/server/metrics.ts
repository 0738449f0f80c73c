// The server's Prometheus metrics (text format 0.0.4): HTTP requests by route
// and status with a latency histogram, counted in this process; runs and jobs
// by status and the queue depth, read from the store at each scrape.
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export class ServerMetrics {
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  private readonly launches = new Map<string, number>();

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `method="${method}",route="${escape(route)}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const hkey = `method="${method}",route="${escape(route)}"`;
    let h = this.durations.get(hkey);
    if (!h) {
      h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.durations.set(hkey, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= (BUCKETS[i] as number)) h.counts[i] = (h.counts[i] ?? 0) + 1;
    h.sum += seconds;
    h.count++;
  }

  observeLaunch(result: "started" | "failed" | "no_workflows"): void {
    this.launches.set(result, (this.launches.get(result) ?? 0) + 1);
  }

  /** The exposition text; `gauges` are the values read at scrape time. */
  render(gauges: { runs: Record<string, number>; queued: number; launchesWaiting: number; launchesRunning: number }): string {
    const out: string[] = [];
    out.push("# HELP slipway_http_requests_total HTTP requests served, by route and status.", "# TYPE slipway_http_requests_total counter");
    for (const [k, v] of this.requests) out.push(`slipway_http_requests_total{${k}} ${v}`);
    out.push("# HELP slipway_http_request_duration_seconds Time to answer an HTTP request.", "# TYPE slipway_http_request_duration_seconds histogram");
    for (const [k, h] of this.durations) {
      BUCKETS.forEach((b, i) => out.push(`slipway_http_request_duration_seconds_bucket{${k},le="${b}"} ${h.counts[i] ?? 0}`));
      out.push(`slipway_http_request_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`);
      out.push(`slipway_http_request_duration_seconds_sum{${k}} ${h.sum}`, `slipway_http_request_duration_seconds_count{${k}} ${h.count}`);
    }
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
    );
    return out.join("\n") + "\n";
  }
}

function escape(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
