// The sandbox executor: runs a step's process under bubblewrap.
//
// The step sees the host's root read-only, a fresh /dev, /proc and /tmp, and
// can write only to its workspace and the `writable` directories (bound at the
// same paths). It runs in its own PID namespace (when its main process exits,
// everything else it started is killed by the kernel), in a new session, and
// without network unless `network` is true. bwrap dies with Slipway
// (--die-with-parent), and the sandbox with it.
//
// Environment: passed as bwrap's own environment (spawn env), not as
// --setenv arguments, which would show secrets in /proc/<pid>/cmdline to every
// user of the host. bwrap always sets PWD to the --chdir directory, so the
// step is started through `/usr/bin/env -u PWD -- [PWD=<the spec's>] command`
// to keep the environment exactly the spec's.
//
// Running as root (as in this container) needs no extra flags; as another
// user bwrap creates a user namespace itself, which needs unprivileged user
// namespaces (kernel.unprivileged_userns_clone=1, and on Ubuntu 24.04 an
// AppArmor profile allowing bwrap). sandboxAvailable() tells which it is.

import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import {
  DEFAULT_KILL_GRACE_MS,
  checkWorkingDirectory,
  lookupExecutable,
  signalName,
  type Executor,
  type ProcessSpec,
  type SandboxOptions,
} from "./executor.js";
import { cancelledBeforeStart, runProcessGroup, signalProcessGroup, startFailure } from "./host-executor.js";

const ENV_PROGRAM = "/usr/bin/env";

export function createSandboxExecutor(options: SandboxOptions): Executor {
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  return {
    name: "sandbox",
    run(spec) {
      if (spec.signal?.aborted) return Promise.resolve(cancelledBeforeStart());
      const bwrap = findBwrap();
      if (bwrap === undefined) {
        return Promise.resolve(startFailure(spec, 1, "cannot run the step in a sandbox: bubblewrap (bwrap) is not installed; install it (apt-get install bubblewrap) or use the host executor"));
      }
      const cwdProblem = checkWorkingDirectory(spec.cwd);
      if (cwdProblem !== undefined) return Promise.resolve(startFailure(spec, 1, cwdProblem));
      const found = lookupExecutable(spec.command, spec.env, spec.cwd);
      if (!found.ok) return Promise.resolve(startFailure(spec, found.exitCode, found.message));
      try {
        for (const dir of [options.workspace, ...options.writable]) mkdirSync(dir, { recursive: true });
      } catch (error) {
        return Promise.resolve(startFailure(spec, 1, `cannot prepare the sandbox: ${(error as Error).message}`));
      }
      return runProcessGroup(spec, {
        command: bwrap,
        args: [
          ...bwrapArgs({ ...options, binds: [options.workspace, ...options.writable] }, spec.cwd),
          "--",
          ...envWrapper(spec),
          // env would take a command containing "=" for an assignment: give it the resolved path then.
          spec.command.includes("=") ? found.path : spec.command,
          ...spec.args,
        ],
        cwd: spec.cwd,
        env: spec.env,
        killGraceMs,
        signalGroup: signalSandbox,
        mapExit(code, signal, signalled) {
          // bwrap reports a child killed by signal N as exit code 128+N; when
          // Slipway sent the signal, report it as the signal it was.
          if (signalled && code !== null && code > 128) {
            const name = signalName(code - 128);
            if (name !== undefined) return { exitCode: null, signal: name };
          }
          return { exitCode: code, signal };
        },
      });
    },
  };
}

/** The bubblewrap arguments before `--`: `binds` are the writable directories. */
export function bwrapArgs(options: { binds: string[]; hidden?: string[]; network: boolean }, cwd: string): string[] {
  const args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp"];
  for (const hidden of options.hidden ?? []) {
    const path = resolve(hidden);
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      continue; // nothing there to hide
    }
    if (isDirectory) args.push("--tmpfs", path);
    else args.push("--ro-bind", "/dev/null", path);
  }
  for (const dir of options.binds) {
    const path = resolve(dir);
    args.push("--bind", path, path);
  }
  if (!options.network) args.push("--unshare-net");
  args.push("--unshare-pid", "--die-with-parent", "--new-session", "--chdir", cwd);
  return args;
}

/** bwrap sets PWD; this puts back the spec's (or none). */
function envWrapper(spec: ProcessSpec): string[] {
  const pwd = spec.env.PWD;
  return [ENV_PROGRAM, "-u", "PWD", "--", ...(pwd === undefined ? [] : [`PWD=${pwd}`])];
}

let bwrapPath: string | undefined | null = null;

/** bwrap on Slipway's own PATH (not the step's). */
function findBwrap(): string | undefined {
  if (bwrapPath !== null) return bwrapPath;
  bwrapPath = undefined;
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(delimiter)) {
    if (dir === "") continue;
    const file = join(dir, "bwrap");
    try {
      if (statSync(file).isFile()) {
        bwrapPath = file;
        break;
      }
    } catch {
      // not here
    }
  }
  return bwrapPath;
}

/**
 * SIGTERM goes to every process inside the sandbox's PID namespace (so a
 * step can shut down cleanly, wherever its children went); SIGKILL goes to
 * bwrap itself, whose death takes the namespace down (die-with-parent, then
 * the kernel kills every process of a namespace whose init has died).
 */
function signalSandbox(bwrapPid: number, signal: NodeJS.Signals): void {
  if (signal === "SIGKILL") {
    signalProcessGroup(bwrapPid, "SIGKILL");
    return;
  }
  const members = sandboxProcesses(bwrapPid);
  if (members === undefined) {
    // The sandbox is not set up yet: end bwrap itself.
    signalProcessGroup(bwrapPid, signal);
    return;
  }
  for (const pid of members) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Host pids of the processes inside bwrap's PID namespace, except its init; undefined when there is none yet. */
function sandboxProcesses(bwrapPid: number): number[] | undefined {
  const pids = listPids();
  const init = pids.find((pid) => parentPid(pid) === bwrapPid);
  if (init === undefined) return undefined;
  const namespace = pidNamespace(init);
  if (namespace === undefined || namespace === pidNamespace(bwrapPid)) return undefined;
  return pids.filter((pid) => pid !== init && pidNamespace(pid) === namespace);
}

function listPids(): number[] {
  try {
    return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return [];
  }
}

function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // pid (comm) state ppid ...; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[1] === undefined ? undefined : Number(fields[1]);
  } catch {
    return undefined;
  }
}

function pidNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

let availability: Promise<{ ok: boolean; reason?: string }> | undefined;

/** Whether bubblewrap exists and can create the sandbox here (checked once per process). */
export function sandboxAvailable(): Promise<{ ok: boolean; reason?: string }> {
  availability ??= probeSandbox();
  return availability;
}

function probeSandbox(): Promise<{ ok: boolean; reason?: string }> {
  const bwrap = findBwrap();
  if (bwrap === undefined) {
    return Promise.resolve({ ok: false, reason: "bubblewrap (bwrap) is not installed: install it with `apt-get install bubblewrap`" });
  }
  const args = [...bwrapArgs({ binds: [], network: false }, "/"), "--", ENV_PROGRAM, "true"];
  return new Promise((resolvePromise) => {
    let stderr = "";
    const child = spawn(bwrap, args, { stdio: ["ignore", "ignore", "pipe"], env: { PATH: "/usr/bin:/bin" } });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (error) => resolvePromise({ ok: false, reason: `cannot start ${bwrap}: ${error.message}` }));
    child.on("close", (code, signal) => {
      if (code === 0) {
        resolvePromise({ ok: true });
        return;
      }
      const detail = stderr.trim() || (signal !== null ? `killed by ${signal}` : `exit code ${code}`);
      resolvePromise({
        ok: false,
        reason: `${bwrap} cannot create a sandbox here: ${detail} (it needs root or unprivileged user namespaces; inside a container, CAP_SYS_ADMIN)`,
      });
    });
  });
}
