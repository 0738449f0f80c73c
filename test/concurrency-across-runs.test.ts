// Two `slipway run` processes sharing a data directory (as the server's runs
// do) obey one concurrency group.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeRepo, runCli } from "./helpers/cli.js";

const workflow = (cancel: boolean) => `on: workflow_dispatch
concurrency:
  group: deploy-\${{ github.ref }}
  cancel-in-progress: ${cancel}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: sleep 1.5
`;

interface RunJson {
  id: number;
  conclusion: string;
  reason: string | null;
  startedAt: string | null;
  completedAt: string | null;
}

describe("concurrency groups across slipway run processes", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function twoRuns(cancel: boolean): Promise<[RunJson, RunJson]> {
    const repo = makeRepo({ ".github/workflows/deploy.yml": workflow(cancel) });
    const data = mkdtempSync(join(tmpdir(), "slipway-data-"));
    dirs.push(repo, data);
    const first = runCli(["run", "workflow_dispatch", "--data-dir", data, "--json"], { cwd: repo });
    // The second starts once the first holds the group.
    await new Promise((r) => setTimeout(r, 800));
    const second = runCli(["run", "workflow_dispatch", "--data-dir", data, "--json"], { cwd: repo });
    await Promise.all([first, second]);
    const runs = JSON.parse((await runCli(["runs", "--data-dir", data, "--json"], { cwd: repo })).stdout) as RunJson[];
    const [b, a] = runs;
    if (!a || !b) throw new Error(`expected two runs, got ${runs.length}`);
    return [a, b];
  }

  it("runs the second after the first", async () => {
    const [a, b] = await twoRuns(false);
    expect([a.conclusion, b.conclusion]).toEqual(["success", "success"]);
    // Both runs exist from the start; the second's job waits for the group.
    expect(Date.parse(b.completedAt ?? "") - Date.parse(a.completedAt ?? "")).toBeGreaterThanOrEqual(1400);
  });

  it("cancels the first with cancel-in-progress", async () => {
    const [a, b] = await twoRuns(true);
    expect(a.conclusion).toBe("cancelled");
    expect(b.conclusion).toBe("success");
  });
});
