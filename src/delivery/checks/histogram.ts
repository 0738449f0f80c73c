// A latency histogram of fixed size (log-linear buckets, as HdrHistogram):
// exact below 256 µs, then 128 buckets per power of two, so a percentile is
// within 0.4% of the true value however long the load runs.

const SUB_BITS = 7;
const SUB = 1 << SUB_BITS; // 128
const LINEAR = SUB * 2; // values below 256 µs have a bucket each
const MAX_EXPONENT = 40; // up to 2^47 µs, about four years

export interface LatencySummary {
  /** Milliseconds; null when nothing was recorded. */
  min: number | null;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(LINEAR + MAX_EXPONENT * SUB);
  count = 0;
  private sumUs = 0;
  private minUs = Infinity;
  private maxUs = 0;

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    const us = Math.max(0, Math.round(ms * 1000));
    this.counts[LatencyHistogram.index(us)]! += 1;
    this.count++;
    this.sumUs += us;
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  static index(us: number): number {
    if (us < LINEAR) return us;
    const exponent = Math.min(Math.floor(Math.log2(us)) - SUB_BITS, MAX_EXPONENT); // ≥ 1
    const mantissa = Math.min(Math.floor(us / 2 ** exponent), 2 * SUB - 1); // 128..255
    return LINEAR + (exponent - 1) * SUB + (mantissa - SUB);
  }

  /** The middle of a bucket's range, in µs. */
  static middle(index: number): number {
    if (index < LINEAR) return index;
    const exponent = Math.floor((index - LINEAR) / SUB) + 1;
    const mantissa = ((index - LINEAR) % SUB) + SUB;
    const low = mantissa * 2 ** exponent;
    return low + (2 ** exponent - 1) / 2;
  }

  /** The latency (ms) at or below which `p` percent of the recorded values lie (nearest rank). */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(Math.max(LatencyHistogram.middle(i), this.minUs), this.maxUs) / 1000;
    }
    return this.maxUs / 1000;
  }

  summary(): LatencySummary {
    if (this.count === 0) return { min: null, mean: null, p50: null, p90: null, p95: null, p99: null, max: null };
    return {
      min: this.minUs / 1000,
      mean: this.sumUs / this.count / 1000,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: this.maxUs / 1000,
    };
  }
}
