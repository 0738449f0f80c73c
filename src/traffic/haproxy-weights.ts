// Percent split → HAProxy server weights. HAProxy weights are integers
// 0..256 per server. With several instances per release, the stable and the
// canary servers get total weights S and C (spread as evenly as integers
// allow over each release's servers) chosen so that C / (C + S) is as close
// as possible to the asked percentage; equal weights per release are
// preferred when they are as accurate (within 0.05 point).

/** HAProxy's largest server weight. */
export const MAX_WEIGHT = 256;
/** The weight of every server of a release that takes all the traffic. */
export const FULL_WEIGHT = 100;
/** Equal per-server weights are kept when their split is off by less than this (percentage points). */
const EVEN_TOLERANCE = 0.05;

export interface ServerWeights {
  /** Weight of each stable server, in order. */
  stable: number[];
  /** Weight of each canary server, in order. */
  canary: number[];
}

/** `total` spread over `n` servers: the first `total % n` get one more. */
function spread(total: number, n: number): number[] {
  const base = Math.floor(total / n);
  const extra = total % n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}

/** Server weights for `percent` (0..100) of the requests to `canaryCount` canary servers, the rest to `stableCount` stable ones. */
export function serverWeights(percent: number, stableCount: number, canaryCount: number): ServerWeights {
  if (canaryCount === 0 || percent <= 0) return { stable: spread(FULL_WEIGHT * stableCount, stableCount), canary: spread(0, canaryCount) };
  if (stableCount === 0 || percent >= 100) return { stable: spread(0, stableCount), canary: spread(FULL_WEIGHT * canaryCount, canaryCount) };
  const want = percent / 100;
  const maxC = MAX_WEIGHT * canaryCount;
  const maxS = MAX_WEIGHT * stableCount;
  let best = { c: 1, s: maxS, error: Infinity };
  let even = { c: 1, s: maxS, error: Infinity };
  for (let c = 1; c <= maxC; c++) {
    const exact = (c * (100 - percent)) / percent;
    for (const s of [Math.floor(exact), Math.ceil(exact)]) {
      if (s < 1 || s > maxS) continue;
      const error = Math.abs(c / (c + s) - want);
      // Among equal errors, larger totals: finer steps for consistent hashing.
      const better = (b: typeof best) => error < b.error - 1e-12 || (Math.abs(error - b.error) <= 1e-12 && c + s > b.c + b.s);
      if (better(best)) best = { c, s, error };
      if (c % canaryCount === 0 && s % stableCount === 0 && better(even)) even = { c, s, error };
    }
  }
  if (best.error === Infinity) {
    // Beyond what the weights can express: the nearest extreme.
    best = want < 0.5 ? { c: 1, s: maxS, error: 0 } : { c: maxC, s: 1, error: 0 };
  }
  const pick = even.error * 100 <= EVEN_TOLERANCE || even.error <= best.error ? even : best;
  return { stable: spread(pick.s, stableCount), canary: spread(pick.c, canaryCount) };
}

/** The canary's share in percent that server weights give (what HAProxy actually does), rounded to 0.01. */
export function canaryPercent(stableWeights: number[], canaryWeights: number[]): number {
  const s = stableWeights.reduce((a, b) => a + b, 0);
  const c = canaryWeights.reduce((a, b) => a + b, 0);
  if (s + c === 0) return 0;
  return Math.round((c / (s + c)) * 10_000) / 100;
}
