// The host executor: runs a step's process directly on this machine, in its
// own process group so that a timeout or cancellation reaches everything the
// step started.
//
// End of a step: the step ends when its main process (the group leader)
// exits. As on GitHub's runner, whatever it left running (`./server &`) keeps
// running for the next steps of the job: the group is not killed. Its
// stdout/stderr are waited for at most DRAIN_TIMEOUT_MS (a background process
// usually keeps the pipes open); after that, output is no longer forwarded to
// the step but the pipes are still read (so the background process does not
// die of SIGPIPE) until they close. The job runner ends such processes when
// the job ends (they carry the job's RUNNER_TRACKING_ID, as on GitHub). A
// timeout or cancellation still signals the whole group. (The sandbox
// executor keeps killing the group on leader exit: its PID namespace ends
// with the step anyway.)

import { StringDecoder } from "node:string_decoder";
import { performance } from "node:perf_hooks";
import {
  DEFAULT_KILL_GRACE_MS,
  DRAIN_TIMEOUT_MS,
  checkWorkingDirectory,
  lookupExecutable,
  type Executor,
  type HostExecutorOptions,
  type ProcessResult,
  type ProcessSpec,
} from "./executor.js";
import { defaultSpawner, spawnStep, unrefOutput, type SpawnerChoice, type StepChild } from "./spawner.js";

export function createHostExecutor(options: HostExecutorOptions = {}): Executor {
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const spawner = options.spawner ?? defaultSpawner();
  return {
    name: "host",
    run(spec) {
      if (spec.signal?.aborted) return Promise.resolve(cancelledBeforeStart());
      const cwdProblem = checkWorkingDirectory(spec.cwd);
      if (cwdProblem !== undefined) return Promise.resolve(startFailure(spec, 1, cwdProblem));
      return runProcessGroup(spec, {
        command: spec.command,
        args: spec.args,
        cwd: spec.cwd,
        env: spec.env,
        killGraceMs,
        signalGroup: signalProcessGroup,
        killGroupOnExit: false,
        spawner,
      });
    },
  };
}

/** How to launch and stop one process group; shared by the host and sandbox executors. */
export interface GroupLaunch {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  killGraceMs: number;
  /** How the process is started (see spawner.ts); default {@link defaultSpawner}. */
  spawner?: SpawnerChoice;
  /** Sends `signal` to everything the step started (the leader has pid `pid`). */
  signalGroup(pid: number, signal: NodeJS.Signals): void;
  /**
   * Kill what is left of the group when the leader exits (default true). The
   * host executor leaves background processes running until the job ends.
   */
  killGroupOnExit?: boolean;
  /** Turns the leader's exit status into the step's; `signalled` tells whether Slipway sent a signal. */
  mapExit?(code: number | null, signal: NodeJS.Signals | null, signalled: boolean): { exitCode: number | null; signal: string | null };
}

/** process.kill(-pid): the whole process group; a group that is already gone is fine. */
export function signalProcessGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}

export function startFailure(spec: ProcessSpec, exitCode: number, message: string): ProcessResult {
  spec.onStderr(`${message}\n`);
  return { exitCode, signal: null, timedOut: false, cancelled: false, durationMs: 0 };
}

/** The result of a step cancelled before its process was started. */
export function cancelledBeforeStart(): ProcessResult {
  return { exitCode: null, signal: null, timedOut: false, cancelled: true, durationMs: 0 };
}

export function runProcessGroup(spec: ProcessSpec, launch: GroupLaunch): Promise<ProcessResult> {
  const started = performance.now();
  if (spec.signal?.aborted) return Promise.resolve(cancelledBeforeStart());
  return new Promise<ProcessResult>((resolvePromise) => {
    let child: StepChild;
    try {
      child = spawnStep({ command: launch.command, args: launch.args, cwd: launch.cwd, env: launch.env }, launch.spawner);
    } catch (error) {
      // Invalid arguments (e.g. a NUL byte in an environment value).
      resolvePromise(startFailure(spec, 1, `cannot run '${spec.command}': ${(error as Error).message}`));
      return;
    }

    const stdoutDecoder = new StringDecoder("utf8");
    const stderrDecoder = new StringDecoder("utf8");
    let timedOut = false;
    let cancelled = false;
    let signalled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: NodeJS.ErrnoException | undefined;
    let finished = false;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    // After the step finished, output of processes it left behind is read and dropped.
    child.stdout?.on("data", (chunk: Buffer) => {
      if (!finished) emit(spec.onStdout, stdoutDecoder.write(chunk));
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      if (!finished) emit(spec.onStderr, stderrDecoder.write(chunk));
    });

    // A stop asked before the spawner has reported the pid (it forks
    // asynchronously) is carried out when it does: else the step would run on.
    let stopWhenSpawned = false;
    const terminate = (): void => {
      if (signalled || exit !== undefined) return;
      if (child.pid === undefined) {
        stopWhenSpawned = true;
        return;
      }
      signalled = true;
      launch.signalGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => {
        if (exit === undefined && child.pid !== undefined) launch.signalGroup(child.pid, "SIGKILL");
      }, launch.killGraceMs);
    };
    const onAbort = (): void => {
      if (timedOut || exit !== undefined) return;
      cancelled = true;
      terminate();
    };

    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      spec.signal?.removeEventListener("abort", onAbort);
      emit(spec.onStdout, stdoutDecoder.end());
      emit(spec.onStderr, stderrDecoder.end());
      const durationMs = Math.round(performance.now() - started);
      if (spawnError !== undefined) {
        const failure = describeSpawnError(spec, spawnError);
        spec.onStderr(`${failure.message}\n`);
        resolvePromise({ exitCode: failure.exitCode, signal: null, timedOut, cancelled, durationMs });
        return;
      }
      const code = exit?.code ?? null;
      const sig = exit?.signal ?? null;
      const mapped = launch.mapExit ? launch.mapExit(code, sig, signalled) : { exitCode: code, signal: sig };
      resolvePromise({ ...mapped, timedOut, cancelled, durationMs });
    };

    child.on("spawn", () => {
      if (stopWhenSpawned) terminate();
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      // Only a failure to start reaches here (signals are sent with process.kill).
      if (child.pid === undefined) {
        spawnError = error;
        finish();
      }
    });
    child.on("exit", (code, sig) => {
      exit = { code, signal: sig };
      // A step Slipway stopped (timeout, cancellation) loses everything it started.
      const killRest = launch.killGroupOnExit !== false || signalled;
      if (killRest && child.pid !== undefined) launch.signalGroup(child.pid, "SIGKILL");
      drainTimer = setTimeout(() => {
        if (killRest) {
          child.stdout?.destroy();
          child.stderr?.destroy();
        } else {
          // Background processes of the step hold the pipes: keep draining
          // them without holding Slipway's event loop open.
          unrefOutput(child);
        }
        finish();
      }, DRAIN_TIMEOUT_MS);
    });
    child.on("close", () => {
      if (exit !== undefined || spawnError !== undefined) finish();
    });

    if (spec.timeoutMs !== undefined) {
      timeoutTimer = setTimeout(() => {
        if (cancelled || exit !== undefined) return;
        timedOut = true;
        terminate();
      }, Math.max(0, spec.timeoutMs));
    }
    spec.signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function emit(sink: (chunk: string) => void, text: string): void {
  if (text !== "") sink(text);
}

function describeSpawnError(spec: ProcessSpec, error: NodeJS.ErrnoException): { exitCode: number; message: string } {
  const found = lookupExecutable(spec.command, spec.env, spec.cwd);
  if (error.code === "ENOENT" || error.code === "EACCES") {
    if (!found.ok) return { exitCode: found.exitCode, message: found.message };
    // The file exists: its interpreter (#!) is missing or it cannot be executed.
    const exitCode = error.code === "ENOENT" ? 127 : 126;
    const reason = error.code === "ENOENT" ? "its interpreter (#! line) was not found" : "permission denied";
    return { exitCode, message: `cannot run '${spec.command}' (${found.path}): ${reason}` };
  }
  return { exitCode: 1, message: `cannot run '${spec.command}': ${error.message}` };
}
