// Sliding-window statistics per release: requests, errors and a latency
// histogram in one-second buckets, kept for HISTORY_SECONDS, from which
// `stats(release, windowMs)` sums a window and reads percentiles. The latency
// histogram is log-linear (4% wide buckets from 0.02 ms to ~2 min), so a
// percentile is within ~2% of the true value whatever the scale.
import { HISTORY_SECONDS, type LatencyPercentiles, type WindowStats } from "./router.js";

const MIN_MS = 0.02;
const GROWTH = 1.04;
const LOG_GROWTH = Math.log(GROWTH);
/** Bucket 0 holds values below MIN_MS; bucket i ≥ 1 holds [MIN_MS·GROWTH^(i-1), MIN_MS·GROWTH^i); the last one everything above. */
export const LATENCY_BUCKETS = 2 + Math.ceil(Math.log(120_000 / MIN_MS) / LOG_GROWTH);

export function latencyBucket(ms: number): number {
  if (!(ms >= MIN_MS)) return 0;
  const i = 1 + Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH);
  return i < LATENCY_BUCKETS ? i : LATENCY_BUCKETS - 1;
}

function bucketLow(i: number): number {
  return i === 0 ? 0 : MIN_MS * GROWTH ** (i - 1);
}

interface Second {
  /** The second (ms since the epoch / 1000, floored) this slot holds; -1 when unused. */
  second: number;
  requests: number;
  errors: number;
  samples: number;
  histogram: Uint32Array | undefined;
}

class ReleaseHistory {
  readonly ring: Second[] = [];
  constructor() {
    for (let i = 0; i < HISTORY_SECONDS; i++) this.ring.push({ second: -1, requests: 0, errors: 0, samples: 0, histogram: undefined });
  }

  at(second: number): Second {
    const slot = this.ring[second % HISTORY_SECONDS] as Second;
    if (slot.second !== second) {
      slot.second = second;
      slot.requests = 0;
      slot.errors = 0;
      slot.samples = 0;
      slot.histogram?.fill(0);
    }
    return slot;
  }
}

export class WindowedStats {
  private readonly releases = new Map<string, ReleaseHistory>();

  private history(release: string): ReleaseHistory {
    let h = this.releases.get(release);
    if (!h) {
      h = new ReleaseHistory();
      this.releases.set(release, h);
    }
    return h;
  }

  /** One request answered (or failed) in `ms`. */
  record(release: string, ms: number, error: boolean, nowMs: number): void {
    const s = this.history(release).at(Math.floor(nowMs / 1000));
    s.requests++;
    if (error) s.errors++;
    s.samples++;
    (s.histogram ??= new Uint32Array(LATENCY_BUCKETS))[latencyBucket(ms)]!++;
  }

  /** Requests and errors counted elsewhere (HAProxy's `show stat`), without latency. */
  addCounts(release: string, requests: number, errors: number, nowMs: number): void {
    if (requests === 0 && errors === 0) return;
    const s = this.history(release).at(Math.floor(nowMs / 1000));
    s.requests += requests;
    s.errors += errors;
  }

  /** One latency sample without counting a request (HAProxy's logs). */
  addLatency(release: string, ms: number, nowMs: number): void {
    const s = this.history(release).at(Math.floor(nowMs / 1000));
    s.samples++;
    (s.histogram ??= new Uint32Array(LATENCY_BUCKETS))[latencyBucket(ms)]!++;
  }

  /**
   * The last `windowMs` up to `nowMs`, rounded out to whole seconds: every
   * one-second bucket that overlaps the window counts (so a 1 s window holds
   * the current and the previous second).
   */
  stats(release: string, windowMs: number, nowMs: number): WindowStats {
    const h = this.releases.get(release);
    const empty: WindowStats = { requests: 0, errors: 0, latency: { p50: null, p90: null, p95: null, p99: null } };
    if (!h || !(windowMs > 0)) return empty;
    const now = Math.floor(nowMs / 1000);
    const first = Math.max(now - HISTORY_SECONDS + 1, Math.floor((nowMs - windowMs) / 1000));
    let requests = 0;
    let errors = 0;
    let samples = 0;
    const merged = new Float64Array(LATENCY_BUCKETS);
    for (let sec = first; sec <= now; sec++) {
      const s = h.ring[sec % HISTORY_SECONDS] as Second;
      if (s.second !== sec) continue;
      requests += s.requests;
      errors += s.errors;
      if (s.samples > 0 && s.histogram) {
        samples += s.samples;
        const hist = s.histogram;
        for (let i = 0; i < LATENCY_BUCKETS; i++) if (hist[i] !== 0) merged[i]! += hist[i]!;
      }
    }
    return { requests, errors, latency: percentiles(merged, samples) };
  }

  releasesSeen(): string[] {
    return [...this.releases.keys()];
  }
}

/** p50/p90/p95/p99 of a merged histogram, interpolated geometrically inside the bucket. */
export function percentiles(histogram: ArrayLike<number>, total: number): LatencyPercentiles {
  if (total === 0) return { p50: null, p90: null, p95: null, p99: null };
  const q = (p: number): number => {
    const rank = Math.max(1, Math.ceil(p * total));
    let seen = 0;
    for (let i = 0; i < histogram.length; i++) {
      const n = histogram[i] as number;
      if (n === 0) continue;
      if (seen + n >= rank) {
        const low = bucketLow(i);
        if (i === 0) return MIN_MS;
        if (i === histogram.length - 1) return low;
        const high = low * GROWTH;
        const within = (rank - seen) / n;
        return round(low * (high / low) ** within);
      }
      seen += n;
    }
    return round(bucketLow(histogram.length - 1));
  };
  return { p50: q(0.5), p90: q(0.9), p95: q(0.95), p99: q(0.99) };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
