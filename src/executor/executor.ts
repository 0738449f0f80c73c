// The Executor interface: how the runner starts the process of one step.
// Implementations: host (a plain child process in its own process group) and
// sandbox (the same under bubblewrap namespaces). Both run the shared suite in
// executor.case.ts.

import { constants as osConstants } from "node:os";
import { accessSync, constants as fsConstants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";

export interface ProcessSpec {
  /** Executable: a name looked up in `env.PATH`, or a path (relative paths resolve against `cwd`). */
  command: string;
  args: string[];
  cwd: string;
  /** The complete environment: nothing is inherited from Slipway's own process. */
  env: Record<string, string>;
  /** Step timeout: the whole process group is terminated and the result is `timedOut`. */
  timeoutMs?: number;
  /**
   * Cancellation: SIGTERM to everything the step started, SIGKILL after the
   * executor's grace period (default {@link DEFAULT_KILL_GRACE_MS}); the result is `cancelled`.
   */
  signal?: AbortSignal;
  onStdout(chunk: string): void;
  onStderr(chunk: string): void;
}

export interface ProcessResult {
  /** Exit code of the step's process, null when it was ended by a signal (see `signal`). */
  exitCode: number | null;
  /** Name of the signal that ended the process, e.g. "SIGTERM". */
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
}

export interface Executor {
  readonly name: "host" | "sandbox";
  /** Runs one process to completion. Never rejects: failures to start are results (127, 126, 1) with a message on stderr. */
  run(spec: ProcessSpec): Promise<ProcessResult>;
}

export interface SandboxOptions {
  /** The job's workspace: bound writable at the same path. */
  workspace: string;
  /** Extra writable directories (runner temp, tool cache, HOME), bound at the same path; created when missing. */
  writable: string[];
  /** Share the host's network; when false the step gets an empty network namespace (only its own loopback). */
  network: boolean;
  /**
   * Host directories or files the step must not even read (e.g. Slipway's
   * data directory holding secrets): a directory is covered by an empty
   * tmpfs, a file by /dev/null; missing paths are skipped. The
   * workspace and writable binds are applied afterwards, so they may lie inside.
   */
  hidden?: string[];
  /** Grace between SIGTERM and SIGKILL on timeout or cancellation (default {@link DEFAULT_KILL_GRACE_MS}). */
  killGraceMs?: number;
}

export interface HostExecutorOptions {
  /** Grace between SIGTERM and SIGKILL on timeout or cancellation (default {@link DEFAULT_KILL_GRACE_MS}). */
  killGraceMs?: number;
  /** "auto" (default): started by the Perl spawner when perl is installed; "node": spawned from Node. See spawner.ts. */
  spawner?: "auto" | "node";
}

/**
 * Grace between SIGTERM and SIGKILL. The GitHub runner sends SIGINT, then
 * SIGTERM after 7.5 s, then kills after 2.5 s more; Slipway sends SIGTERM
 * once and SIGKILL 5 s later.
 */
export const DEFAULT_KILL_GRACE_MS = 5_000;

/**
 * After the step's main process has exited (and the rest of its process
 * group has been killed), how long to wait for stdout/stderr to close before
 * giving up on them: a daemon that left the group with setsid() but kept the
 * pipes open must not hang the step.
 */
export const DRAIN_TIMEOUT_MS = 1_000;

/** "SIGTERM" for 15, etc.; undefined for numbers that are not signals. */
export function signalName(signo: number): string | undefined {
  for (const [name, value] of Object.entries(osConstants.signals)) {
    if (value === signo) return name;
  }
  return undefined;
}

export type ExecutableLookup =
  | { ok: true; path: string }
  | { ok: false; exitCode: 126 | 127; message: string };

/**
 * Finds the file execvp would run for `command` with `env.PATH` (the same
 * default as glibc when PATH is unset), so a missing executable is reported
 * with a clear message and the shell's exit codes: 127 not found, 126 not executable.
 */
export function lookupExecutable(command: string, env: Record<string, string>, cwd: string): ExecutableLookup {
  if (command === "") return { ok: false, exitCode: 127, message: "cannot run the step: the command is empty" };
  const candidates: string[] = [];
  if (command.includes("/")) {
    candidates.push(isAbsolute(command) ? command : resolve(cwd, command));
  } else {
    const path = env.PATH ?? "/bin:/usr/bin";
    for (const dir of path.split(delimiter)) candidates.push(join(resolve(cwd, dir === "" ? "." : dir), command));
  }
  let notExecutable: string | undefined;
  for (const file of candidates) {
    // No exception for the usual case of a missing file: this runs for every step.
    if (statSync(file, { throwIfNoEntry: false })?.isFile() !== true) continue;
    try {
      accessSync(file, fsConstants.X_OK);
      return { ok: true, path: file };
    } catch {
      notExecutable ??= file;
    }
  }
  if (notExecutable !== undefined) {
    return { ok: false, exitCode: 126, message: `cannot run '${command}': ${notExecutable} is not executable (permission denied)` };
  }
  return { ok: false, exitCode: 127, message: missingExecutableMessage(command, env) };
}

export function missingExecutableMessage(command: string, env: Record<string, string>): string {
  if (command.includes("/")) return `cannot run '${command}': no such file`;
  return `cannot run '${command}': command not found in PATH (${env.PATH ?? "PATH is not set"})`;
}

/** Checks the working directory before starting anything; returns a message when it is unusable. */
export function checkWorkingDirectory(cwd: string): string | undefined {
  try {
    if (!statSync(cwd).isDirectory()) return `cannot run the step: working directory ${cwd} is not a directory`;
  } catch {
    return `cannot run the step: working directory ${cwd} does not exist`;
  }
  return undefined;
}
