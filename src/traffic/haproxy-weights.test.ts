// Percent splits → HAProxy's integer server weights.
import { describe, expect, it } from "vitest";
import { canaryPercent, MAX_WEIGHT, serverWeights } from "./haproxy-weights.js";

describe("serverWeights", () => {
  it("keeps every split from 1% to 99% within 0.1 point for 1–6 instances per release", () => {
    let worst = 0;
    for (let stable = 1; stable <= 6; stable++) {
      for (let canary = 1; canary <= 6; canary++) {
        for (let percent = 1; percent <= 99; percent++) {
          const w = serverWeights(percent, stable, canary);
          expect(w.stable).toHaveLength(stable);
          expect(w.canary).toHaveLength(canary);
          expect(Math.max(...w.stable, ...w.canary)).toBeLessThanOrEqual(MAX_WEIGHT);
          // Weights within a release differ by one at most.
          expect(Math.max(...w.stable) - Math.min(...w.stable)).toBeLessThanOrEqual(1);
          expect(Math.max(...w.canary) - Math.min(...w.canary)).toBeLessThanOrEqual(1);
          const share = canaryPercent(w.stable, w.canary);
          worst = Math.max(worst, Math.abs(share - percent));
        }
      }
    }
    expect(worst).toBeLessThan(0.1);
  });

  it("gives all the traffic to one side at 0% and 100%, or when the other has no instance", () => {
    expect(serverWeights(0, 2, 1)).toEqual({ stable: [100, 100], canary: [0] });
    expect(serverWeights(100, 2, 1)).toEqual({ stable: [0, 0], canary: [100] });
    expect(serverWeights(30, 2, 0)).toEqual({ stable: [100, 100], canary: [] });
    expect(serverWeights(30, 0, 2)).toEqual({ stable: [], canary: [100, 100] });
  });

  it("handles fractional percentages and splits beyond 1..256", () => {
    const w = serverWeights(12.5, 1, 1);
    expect(w.stable[0]! / w.canary[0]!).toBe(7);
    const tiny = serverWeights(0.1, 10, 1);
    expect(canaryPercent(tiny.stable, tiny.canary)).toBeCloseTo(0.1, 1);
    const even = serverWeights(50, 2, 2);
    expect(new Set([...even.stable, ...even.canary]).size).toBe(1);
  });
});
