// Critical-path scheduling: with one slot, the job on the longest remaining
// path (by the durations of earlier runs) starts first.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../src/store/index.js";
import { makeRepo, runCli } from "./helpers/cli.js";

const WORKFLOW = `on: push
jobs:
  long:
    runs-on: ubuntu-latest
    steps: [{ run: "sleep 1.2" }]
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/cache@v4
        with: { path: .cache, key: fixed-key }
      - run: mkdir -p .cache && echo x > .cache/x && sleep 0.1
  b:
    needs: a
    runs-on: ubuntu-latest
    steps: [{ run: "sleep 0.1" }]
`;

describe("critical-path scheduling", () => {
  it("starts the job on the longest remaining path first once earlier runs have timed the jobs", async () => {
    const repo = makeRepo({ ".github/workflows/ci.yml": WORKFLOW });
    const data = mkdtempSync(join(tmpdir(), "slipway-critical-"));
    try {
      const order = async () => {
        const res = await runCli(["run", "--parallel", "1", "--json", "--data-dir", data], { cwd: repo });
        expect(res.code, res.stderr).toBe(0);
        const runId = (JSON.parse(res.stdout) as { runs: Array<{ id: number }> }).runs[0]?.id as number;
        const store = openStore(data);
        try {
          return store
            .listJobs(runId)
            .sort((a, b) => (a.startedAt ?? "").localeCompare(b.startedAt ?? ""))
            .map((j) => j.jobKey);
        } finally {
          store.close();
        }
      };
      // Never timed: every job counts the same, so the longer chain (a → b) goes first.
      expect(await order()).toEqual(["a", "long", "b"]);
      // Timed: long (1.2 s) is the critical path, a → b (0.2 s) waits.
      expect(await order()).toEqual(["long", "a", "b"]);

      // slipway insights over those two runs.
      const res = await runCli(["insights", "--json", "--data-dir", data], { cwd: repo });
      expect(res.code, res.stderr).toBe(0);
      const [w] = (JSON.parse(res.stdout) as { workflows: Array<{ runs: number; jobs: Array<{ job: string; runs: number; medianMs: number }>; criticalPath: { jobs: string[]; ms: number }; cache: { hits: number; misses: number; hitRate: number } }> }).workflows;
      expect(w?.runs).toBe(2);
      expect(w?.jobs.map((j) => `${j.job}:${j.runs}`)).toEqual(["long:2", "a:2", "b:2"]);
      expect(w?.criticalPath.jobs).toEqual(["long"]);
      expect(w?.criticalPath.ms).toBeGreaterThanOrEqual(1200);
      expect(w?.cache).toEqual({ hits: 1, misses: 1, hitRate: 0.5 });
      const text = await runCli(["insights", "--data-dir", data], { cwd: repo });
      expect(text.stdout).toContain("critical path: long (");
    } finally {
      rmSync(repo, { recursive: true, force: true });
      rmSync(data, { recursive: true, force: true });
    }
  });
});
