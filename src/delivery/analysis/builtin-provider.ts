// The built-in provider: the numbers Slipway's own router keeps per release
// (requests, 5xx answers, latency percentiles over a sliding window).
import { ProviderError, type MeasureTarget, type MetricProvider, type Quantile, type WindowStats } from "./types.js";

export type RouterStats = (release: string, windowMs: number) => WindowStats | Promise<WindowStats>;

export class BuiltinProvider implements MetricProvider {
  readonly description = "the built-in router";

  constructor(private readonly stats: RouterStats | undefined) {}

  async window(target: MeasureTarget, _quantiles: readonly Quantile[], _at: Date): Promise<WindowStats> {
    if (!this.stats) {
      throw new ProviderError(`the built-in router of ${target.service} in ${target.env} is not running, so it has no metrics for ${target.release}`);
    }
    let s: WindowStats;
    try {
      s = await this.stats(target.release, target.windowMs);
    } catch (err) {
      throw new ProviderError(`the built-in router could not report on ${target.release}: ${(err as Error).message}`);
    }
    if (!isCount(s?.requests) || !isCount(s?.errors) || typeof s.latency !== "object" || s.latency === null) {
      throw new ProviderError(`the built-in router reported malformed numbers for ${target.release}: ${JSON.stringify(s)}`);
    }
    const ms = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
    return { requests: s.requests, errors: Math.min(s.errors, s.requests), latency: { p50: ms(s.latency.p50), p90: ms(s.latency.p90), p95: ms(s.latency.p95), p99: ms(s.latency.p99) } };
  }
}

function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 0;
}
