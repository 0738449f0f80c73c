// The shared test suite every Executor implementation runs (like hono's
// router/common.case.test.ts). Real processes: bash, sleep, node.

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Executor, ProcessResult, ProcessSpec } from "./executor.js";

export interface ExecutorCaseContext {
  /** A fresh temporary directory for the test, usable as the step's working directory. */
  workspace: string;
  /** Grace between SIGTERM and SIGKILL the executor must use. */
  killGraceMs: number;
}

export const TEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** A `sleep` whose command line is unique, so the test can find it in /proc from any PID namespace. */
export function uniqueSleep(): { arg: string; marker: string } {
  const arg = `1000.${Math.floor(Math.random() * 1e9)}`;
  return { arg, marker: `sleep\0${arg}\0` };
}

/** Host pids whose command line contains `marker`. */
export function findProcesses(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "latin1").includes(marker)) found.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

export async function waitForProcess(marker: string, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (findProcesses(marker).length > 0) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Processes that were killed may linger a moment as zombies of the sandbox's init; wait until they are reaped. */
export async function waitGone(marker: string, timeoutMs = 2_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (findProcesses(marker).length === 0) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

function killMarked(marker: string): void {
  for (const pid of findProcesses(marker)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

export interface Captured {
  result: ProcessResult;
  stdout: string;
  stderr: string;
  stdoutChunks: string[];
}

export async function capture(executor: Executor, spec: Partial<ProcessSpec> & Pick<ProcessSpec, "command" | "cwd">): Promise<Captured> {
  const stdoutChunks: string[] = [];
  const stderrChunks: string[] = [];
  const result = await executor.run({
    args: [],
    env: { PATH: TEST_PATH },
    ...spec,
    onStdout: (chunk) => {
      stdoutChunks.push(chunk);
      spec.onStdout?.(chunk);
    },
    onStderr: (chunk) => {
      stderrChunks.push(chunk);
      spec.onStderr?.(chunk);
    },
  });
  return { result, stdout: stdoutChunks.join(""), stderr: stderrChunks.join(""), stdoutChunks };
}

export interface ExecutorCaseOptions {
  /**
   * Background processes a step leaves (`server &`) outlive the step (the host
   * executor: the job runner ends them when the job ends, as GitHub does);
   * otherwise they end with the step (the sandbox's PID namespace).
   */
  backgroundOutlivesStep?: boolean;
}

export function runExecutorCases(label: string, factory: (ctx: ExecutorCaseContext) => Executor, options: ExecutorCaseOptions = {}): void {
  describe(`${label}: executor contract`, () => {
    let workspace = "";
    let executor: Executor;
    const markers: string[] = [];
    const killGraceMs = 400;

    beforeEach(() => {
      workspace = mkdtempSync(join(tmpdir(), "slipway-executor-"));
      executor = factory({ workspace, killGraceMs });
    });
    afterEach(() => {
      for (const marker of markers.splice(0)) killMarked(marker);
      rmSync(workspace, { recursive: true, force: true });
    });

    function sleeper(): { arg: string; marker: string } {
      const s = uniqueSleep();
      markers.push(s.marker);
      return s;
    }

    it("reports exit codes", async () => {
      const ok = await capture(executor, { command: "bash", args: ["-c", "exit 0"], cwd: workspace });
      expect(ok.result).toMatchObject({ exitCode: 0, signal: null, timedOut: false, cancelled: false });
      const failed = await capture(executor, { command: "bash", args: ["-c", "exit 3"], cwd: workspace });
      expect(failed.result.exitCode).toBe(3);
      expect(failed.result.durationMs).toBeGreaterThanOrEqual(0);
    });

    it("captures stdout and stderr separately", async () => {
      const { result, stdout, stderr } = await capture(executor, {
        command: "bash",
        args: ["-c", "echo out; echo err >&2; echo more"],
        cwd: workspace,
      });
      expect(result.exitCode).toBe(0);
      expect(stdout).toBe("out\nmore\n");
      expect(stderr).toBe("err\n");
    });

    it("reads all of a large output", async () => {
      const { result, stdout } = await capture(executor, {
        command: "bash",
        args: ["-c", "head -c 1000000 /dev/zero | tr '\\0' a"],
        cwd: workspace,
      });
      expect(result.exitCode).toBe(0);
      expect(stdout.length).toBe(1_000_000);
    });

    it("passes exactly the given environment", async () => {
      const env = { PATH: TEST_PATH, FOO: "bar baz", MULTI: "line1\nline2", EQ: "a=b", EMPTY: "" };
      const { result, stdout } = await capture(executor, {
        command: process.execPath,
        args: ["-e", "process.stdout.write(JSON.stringify(process.env))"],
        cwd: workspace,
        env,
      });
      expect(result.exitCode).toBe(0);
      expect(JSON.parse(stdout)).toEqual(env);

      const withPwd = { PATH: TEST_PATH, PWD: "/somewhere/else" };
      const second = await capture(executor, {
        command: process.execPath,
        args: ["-e", "process.stdout.write(JSON.stringify(process.env))"],
        cwd: workspace,
        env: withPwd,
      });
      expect(JSON.parse(second.stdout)).toEqual(withPwd);
    });

    it("runs in the given working directory and resolves relative commands there", async () => {
      const sub = join(workspace, "sub dir");
      mkdirSync(sub);
      const pwd = await capture(executor, { command: "/bin/pwd", cwd: sub });
      expect(pwd.stdout).toBe(`${realpathSync(sub)}\n`);

      writeFileSync(join(sub, "hello.sh"), "#!/bin/sh\necho hello \"$1\"\n");
      chmodSync(join(sub, "hello.sh"), 0o755);
      const script = await capture(executor, { command: "./hello.sh", args: ["world"], cwd: sub });
      expect(script.result.exitCode).toBe(0);
      expect(script.stdout).toBe("hello world\n");
    });

    it("resolves a missing executable as exit code 127 with a message", async () => {
      const { result, stderr } = await capture(executor, { command: "slipway-no-such-command", args: ["x"], cwd: workspace });
      expect(result).toMatchObject({ exitCode: 127, timedOut: false, cancelled: false });
      expect(stderr).toContain("slipway-no-such-command");
      expect(stderr).toMatch(/not found/);

      const byPath = await capture(executor, { command: join(workspace, "missing.sh"), cwd: workspace });
      expect(byPath.result.exitCode).toBe(127);
      expect(byPath.stderr).toContain("missing.sh");
    });

    it("resolves a file that is not executable as exit code 126", async () => {
      writeFileSync(join(workspace, "plain.sh"), "echo hi\n");
      const { result, stderr } = await capture(executor, { command: "./plain.sh", cwd: workspace });
      expect(result.exitCode).toBe(126);
      expect(stderr).toContain("plain.sh");
    });

    it("reports a missing working directory without starting anything", async () => {
      const { result, stderr } = await capture(executor, { command: "bash", args: ["-c", "true"], cwd: join(workspace, "nope") });
      expect(result.exitCode).toBe(1);
      expect(stderr).toContain("does not exist");
    });

    it("decodes UTF-8 split across chunks", async () => {
      // 😀 is F0 9F 98 80: the first write ends in the middle of it.
      const { stdout, stdoutChunks } = await capture(executor, {
        command: "bash",
        args: ["-c", "printf 'a\\360\\237'; sleep 0.3; printf '\\230\\200b\\n'"],
        cwd: workspace,
      });
      expect(stdout).toBe("a😀b\n");
      expect(stdoutChunks.length).toBeGreaterThanOrEqual(2);
      expect(stdout).not.toContain("\uFFFD");
    });

    it("kills the step and its children on timeout", async () => {
      const child = sleeper();
      const running = capture(executor, {
        command: "bash",
        args: ["-c", `sleep ${child.arg} & wait`],
        cwd: workspace,
        timeoutMs: 1_500,
      });
      expect(await waitForProcess(child.marker)).toBe(true);
      const { result } = await running;
      expect(result).toMatchObject({ timedOut: true, cancelled: false, exitCode: null, signal: "SIGTERM" });
      expect(result.durationMs).toBeGreaterThanOrEqual(1_400);
      expect(await waitGone(child.marker)).toBe(true);
    });

    it("cancels the whole process group through the AbortSignal", async () => {
      const first = sleeper();
      const second = sleeper();
      const controller = new AbortController();
      const running = capture(executor, {
        command: "bash",
        args: ["-c", `sleep ${first.arg} & sleep ${second.arg}`],
        cwd: workspace,
        signal: controller.signal,
      });
      expect(await waitForProcess(first.marker)).toBe(true);
      expect(await waitForProcess(second.marker)).toBe(true);
      const before = Date.now();
      controller.abort();
      const { result } = await running;
      expect(result).toMatchObject({ cancelled: true, timedOut: false, exitCode: null });
      expect(Date.now() - before).toBeLessThan(killGraceMs + 1_000);
      expect(await waitGone(first.marker)).toBe(true);
      expect(await waitGone(second.marker)).toBe(true);
    });

    it("sends SIGKILL after the grace period when SIGTERM is ignored", async () => {
      const child = sleeper();
      const running = capture(executor, {
        command: "bash",
        args: ["-c", `trap '' TERM; sleep ${child.arg}; echo survived`],
        cwd: workspace,
        timeoutMs: 500,
      });
      expect(await waitForProcess(child.marker)).toBe(true);
      const { result, stdout } = await running;
      expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGKILL" });
      expect(result.durationMs).toBeGreaterThanOrEqual(500 + killGraceMs - 50);
      expect(stdout).toBe("");
      expect(await waitGone(child.marker)).toBe(true);
    });

    it("cancels a step aborted while it is being started, before its pid is known", async () => {
      const child = sleeper();
      const controller = new AbortController();
      const before = Date.now();
      // executor.run starts the launch synchronously; the spawner reports the pid only later.
      const running = capture(executor, { command: "bash", args: ["-c", `sleep ${child.arg}`], cwd: workspace, signal: controller.signal });
      controller.abort();
      const { result } = await running;
      expect(result).toMatchObject({ cancelled: true, exitCode: null });
      expect(Date.now() - before).toBeLessThan(killGraceMs + 3_000);
      expect(await waitGone(child.marker)).toBe(true);
    });

    it("does not start a step whose signal is already aborted", async () => {
      const controller = new AbortController();
      controller.abort();
      const { result } = await capture(executor, {
        command: "bash",
        args: ["-c", `echo ran > '${join(workspace, "ran")}'`],
        cwd: workspace,
        signal: controller.signal,
      });
      expect(result).toMatchObject({ cancelled: true, exitCode: null });
      expect(readdirSync(workspace)).toEqual([]);
    });

    it(
      options.backgroundOutlivesStep
        ? "ends the step when its main process exits and leaves its background processes running"
        : "ends background processes of the step when its main process exits",
      async () => {
        const child = sleeper();
        const started = Date.now();
        const { result, stdout } = await capture(executor, {
          command: "bash",
          args: ["-c", `sleep ${child.arg} & echo started`],
          cwd: workspace,
        });
        expect(result.exitCode).toBe(0);
        expect(stdout).toBe("started\n");
        expect(Date.now() - started).toBeLessThan(3_000);
        if (options.backgroundOutlivesStep) expect(findProcesses(child.marker).length).toBeGreaterThan(0);
        else expect(await waitGone(child.marker)).toBe(true);
      },
    );

    it("does not hang on a daemon that left the process group but holds the output pipe", async () => {
      const daemon = sleeper();
      const started = Date.now();
      const { result, stdout } = await capture(executor, {
        command: "bash",
        args: ["-c", `setsid sleep ${daemon.arg} & echo started`],
        cwd: workspace,
      });
      expect(result.exitCode).toBe(0);
      expect(stdout).toBe("started\n");
      expect(Date.now() - started).toBeLessThan(4_000);
    });
  });
}
