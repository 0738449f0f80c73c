import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHostExecutor } from "./index.js";
import { capture, runExecutorCases } from "./executor.case.js";

runExecutorCases("host", ({ killGraceMs }) => createHostExecutor({ killGraceMs }), { backgroundOutlivesStep: true });
runExecutorCases("host, spawned from Node", ({ killGraceMs }) => createHostExecutor({ killGraceMs, spawner: "node" }), { backgroundOutlivesStep: true });

describe("host executor", () => {
  let workspace = "";
  beforeEach(() => {
    workspace = mkdtempSync(join(tmpdir(), "slipway-host-"));
  });
  afterEach(() => rmSync(workspace, { recursive: true, force: true }));

  it("is named host", () => {
    expect(createHostExecutor().name).toBe("host");
  });

  it("reports a process that ended by a signal with the signal's name", async () => {
    const { result } = await capture(createHostExecutor(), { command: "bash", args: ["-c", "kill -USR1 $$"], cwd: workspace });
    expect(result).toMatchObject({ exitCode: null, signal: "SIGUSR1", timedOut: false, cancelled: false });
  });

  it("runs the step in a process group of its own", async () => {
    const { stdout } = await capture(createHostExecutor(), {
      command: "bash",
      args: ["-c", "ps -o pgid= -p $$"],
      cwd: workspace,
    });
    const ownGroup = Number(
      (await capture(createHostExecutor(), { command: "ps", args: ["-o", "pgid=", "-p", String(process.pid)], cwd: workspace })).stdout.trim(),
    );
    expect(Number(stdout.trim())).not.toBe(ownGroup);
  });
});
