import { describe, expect, it } from "vitest";
import { medianDurations, remainingPath } from "./critical-path.js";

describe("critical path", () => {
  it("takes the median of earlier durations per job", () => {
    const d = medianDurations([
      { jobKey: "a", ms: 10 },
      { jobKey: "a", ms: 30 },
      { jobKey: "a", ms: 20 },
      { jobKey: "b", ms: 5 },
      { jobKey: "b", ms: 7 },
    ]);
    expect(Object.fromEntries(d)).toEqual({ a: 20, b: 6 });
  });

  it("gives each job its longest remaining path: own duration plus the longest chain of dependents", () => {
    // lint(1) ──────────────► report(1)
    // build(5) ─► test(10) ─► report
    // docs(2)
    const jobs = [
      { id: "lint", needs: [] },
      { id: "build", needs: [] },
      { id: "docs", needs: [] },
      { id: "test", needs: ["build"] },
      { id: "report", needs: ["lint", "test"] },
    ];
    const p = remainingPath(jobs, new Map([["lint", 1], ["build", 5], ["docs", 2], ["test", 10], ["report", 1]]));
    expect(Object.fromEntries(p)).toEqual({ lint: 2, build: 16, docs: 2, test: 11, report: 1 });
    // Started in order of priority: build first, then lint/docs.
    expect([...p].sort((a, b) => b[1] - a[1]).map(([id]) => id)[0]).toBe("build");
  });

  it("counts a job never timed as the median of the others, and survives a cycle", () => {
    const p = remainingPath(
      [
        { id: "a", needs: [] },
        { id: "new", needs: [] },
      ],
      new Map([["a", 4]]),
    );
    expect(p.get("new")).toBe(4);
    expect(remainingPath([{ id: "x", needs: ["y"] }, { id: "y", needs: ["x"] }], new Map()).size).toBe(2);
  });
});
