// How step processes are started.
//
// Spawning from Node forks Slipway's own process: with its heap, code and
// SQLite page cache that costs ~10 ms per step on a small VM, blocks the
// event loop meanwhile, and makes every page Slipway writes afterwards fault
// once (copy-on-write). So Slipway starts one small Perl process, the
// spawner (spawner-script.ts, protocol described there), and asks it to fork and
// exec each step process. The spawner relays the step's stdout and stderr
// (real pipes, as with a direct spawn) and its exit status. perl-base is
// Essential on Debian and Ubuntu; when there is no perl, or with
// SLIPWAY_SPAWNER=node, steps are spawned from Node as before.
//
// Both return a StepChild, the part of Node's ChildProcess the executors
// use, with the same events in the same order: "exit" before "close",
// "error" (and nothing else) when the process could not be started.

import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { constants as osConstants } from "node:os";
import { lookupExecutable, signalName } from "./executor.js";
import { SPAWNER_SCRIPT } from "./spawner-script.js";

export interface ChildOutput {
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  /** Stop reading: a process still writing gets EPIPE / SIGPIPE. */
  destroy(): void;
}

export interface StepChild {
  readonly pid?: number | undefined;
  readonly stdout: ChildOutput | null;
  readonly stderr: ChildOutput | null;
  on(event: "exit", listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  on(event: "close", listener: () => void): unknown;
  on(event: "error", listener: (error: NodeJS.ErrnoException) => void): unknown;
  /** The process exists and `pid` is known (the spawner reports it after the fork). */
  on(event: "spawn", listener: () => void): unknown;
}

/** Keep reading the child's output without keeping Slipway alive for it. */
export function unrefOutput(child: StepChild): void {
  for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
}

export interface StepLaunch {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** "auto": the Perl spawner when perl is installed, else Node; "node": always Node. */
export type SpawnerChoice = "auto" | "node";

/** The default choice: SLIPWAY_SPAWNER=node forces Node. */
export function defaultSpawner(): SpawnerChoice {
  return process.env.SLIPWAY_SPAWNER === "node" ? "node" : "auto";
}

/**
 * Starts a process in a new session (its own process group), stdin from
 * /dev/null, stdout and stderr piped. Throws only for arguments that can
 * never be passed to a process (a NUL byte).
 */
export function spawnStep(launch: StepLaunch, choice: SpawnerChoice = defaultSpawner()): StepChild {
  checkNoNul(launch);
  const spawner = choice === "auto" ? perlSpawner() : undefined;
  if (spawner !== undefined) return spawner.start(launch);
  return spawnFromNode(launch);
}

/** Starts the spawner now, so its start-up overlaps Slipway's own (it is otherwise started at the first step). */
export function prepareSpawner(choice: SpawnerChoice = defaultSpawner()): void {
  if (choice === "auto") perlSpawner();
}

export function spawnFromNode(launch: StepLaunch): ChildProcess {
  return spawn(launch.command, launch.args, {
    cwd: launch.cwd,
    env: launch.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    windowsHide: true,
  });
}

function checkNoNul(launch: StepLaunch): void {
  const fields = [launch.command, launch.cwd, ...launch.args];
  for (const [name, value] of Object.entries(launch.env)) {
    if (name.includes("\0") || value.includes("\0")) throw new TypeError(`the environment variable ${JSON.stringify(name.replace(/\0/g, "\\0"))} contains a NUL byte`);
  }
  for (const field of fields) if (field.includes("\0")) throw new TypeError(`the argument ${JSON.stringify(field.replace(/\0/g, "\\0"))} contains a NUL byte`);
}

// ---------------------------------------------------------------------------

let current: PerlSpawner | undefined | null = null;

function perlSpawner(): PerlSpawner | undefined {
  if (current !== null && current?.broken !== true) return current;
  if (current?.broken === true) {
    current = undefined;
    return undefined;
  }
  const perl = lookupExecutable("perl", { PATH: process.env.PATH ?? "/usr/bin:/bin" }, "/");
  current = perl.ok ? new PerlSpawner(perl.path) : undefined;
  return current;
}

class HelperOutput implements ChildOutput {
  constructor(private readonly owner: HelperChild) {}
  readonly listeners: Array<(chunk: Buffer) => void> = [];
  on(_event: "data", listener: (chunk: Buffer) => void): this {
    this.listeners.push(listener);
    return this;
  }
  destroy(): void {
    this.owner.destroyOutput();
  }
  unref(): void {
    this.owner.unref();
  }
}

class HelperChild extends EventEmitter implements StepChild {
  pid: number | undefined;
  readonly stdout: HelperOutput = new HelperOutput(this);
  readonly stderr: HelperOutput = new HelperOutput(this);
  exited = false;
  closed = false;
  referenced = true;

  constructor(
    private readonly spawner: PerlSpawner,
    readonly id: number,
    readonly command: string,
  ) {
    super();
  }

  destroyOutput(): void {
    if (this.closed) return;
    this.spawner.send(`D ${this.id} 0\n`);
  }

  unref(): void {
    if (!this.referenced) return;
    this.referenced = false;
    this.spawner.updateRef();
  }
}

class PerlSpawner {
  broken = false;
  private readonly process: ChildProcess;
  private readonly children = new Map<number, HelperChild>();
  private nextId = 1;
  private buffered: Buffer = Buffer.alloc(0);

  constructor(perl: string) {
    const numbers = SYSCALLS[process.arch] ?? [0, 0, 0, 0];
    this.process = spawn(perl, ["-e", SPAWNER_SCRIPT, ...numbers.map(String)], { cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, stdio: ["pipe", "pipe", "inherit"] });
    this.process.stdout?.on("data", (chunk: Buffer) => this.receive(chunk));
    this.process.on("error", () => this.fail("could not be started"));
    this.process.on("exit", (code, signal) => this.fail(`exited unexpectedly (${signal ?? `exit code ${code}`})`));
    this.process.stdin?.on("error", () => {
      // EPIPE after the spawner died: reported by the exit handler.
    });
    this.updateRef();
  }

  start(launch: StepLaunch): StepChild {
    const id = this.nextId++;
    const child = new HelperChild(this, id, launch.command);
    const found = lookupExecutable(launch.command, launch.env, launch.cwd);
    if (!found.ok) {
      process.nextTick(() => child.emit("error", errnoError(launch.command, found.exitCode === 127 ? "ENOENT" : "EACCES")));
      return child;
    }
    const fields = [launch.cwd, found.path, String(launch.args.length + 1), launch.command, ...launch.args];
    for (const [name, value] of Object.entries(launch.env)) fields.push(`${name}=${value}`);
    const payload = Buffer.from(fields.join("\0"));
    this.children.set(id, child);
    this.updateRef();
    this.send(Buffer.concat([Buffer.from(`R ${id} ${payload.length}\n`), payload]));
    return child;
  }

  send(request: string | Buffer): void {
    if (!this.broken) this.process.stdin?.write(request);
  }

  /** Slipway's event loop is held open only while a step's process is running or its output is awaited. */
  updateRef(): void {
    const active = [...this.children.values()].some((child) => child.referenced);
    const handles = [this.process, this.process.stdin, this.process.stdout] as Array<{ ref?: () => void; unref?: () => void } | null>;
    for (const handle of handles) {
      if (active) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    let offset = 0;
    for (;;) {
      const newline = this.buffered.indexOf(10, offset);
      if (newline < 0) break;
      const header = this.buffered.toString("latin1", offset, newline).split(" ");
      const [type, idText, value, errno] = header;
      const child = this.children.get(Number(idText));
      if (type === "O" || type === "E") {
        const length = Number(value);
        if (this.buffered.length < newline + 1 + length) break;
        const data = this.buffered.subarray(newline + 1, newline + 1 + length);
        offset = newline + 1 + length;
        const output = type === "O" ? child?.stdout : child?.stderr;
        for (const listener of output?.listeners ?? []) listener(data);
        continue;
      }
      offset = newline + 1;
      if (child === undefined) continue;
      if (type === "S") {
        child.pid = Number(value);
        child.emit("spawn");
      } else if (type === "F") {
        this.forget(child);
        const code = errnoName(Number(errno));
        const error =
          value === "chdir" ? Object.assign(new Error(`cannot change to the working directory: ${code}`), { code: "ECHDIR" }) : errnoError(child.command, code);
        child.emit("error", error);
      } else if (type === "X") {
        const status = Number(value);
        const signo = status & 0x7f;
        child.exited = true;
        child.emit("exit", signo === 0 ? status >> 8 : null, signo === 0 ? null : ((signalName(signo) as NodeJS.Signals | undefined) ?? null));
        if (child.closed) this.close(child);
      } else if (type === "C") {
        child.closed = true;
        if (child.exited) this.close(child);
      }
    }
    this.buffered = offset === this.buffered.length ? Buffer.alloc(0) : this.buffered.subarray(offset);
  }

  private close(child: HelperChild): void {
    this.forget(child);
    child.emit("close");
  }

  private forget(child: HelperChild): void {
    this.children.delete(child.id);
    this.updateRef();
  }

  private fail(what: string): void {
    if (this.broken) return;
    this.broken = true;
    const children = [...this.children.values()];
    this.children.clear();
    for (const child of children) {
      const error = Object.assign(new Error(`Slipway's process spawner (perl) ${what}`), { code: "ESPAWNER" });
      if (child.pid === undefined) child.emit("error", error);
      else {
        for (const listener of child.stderr.listeners) listener(Buffer.from(`${error.message}\n`));
        if (!child.exited) {
          // Nothing is left to report its exit: end it rather than leave it behind.
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {
            // already gone
          }
          child.emit("exit", null, "SIGKILL");
        }
        child.emit("close");
      }
    }
  }
}

/**
 * System call numbers where Slipway knows them: setsid, dup3,
 * sched_setaffinity, sched_getaffinity. Elsewhere the spawner uses Perl's
 * POSIX module and does not pin itself to a CPU.
 */
const SYSCALLS: Partial<Record<string, [setsid: number, dup3: number, setaffinity: number, getaffinity: number]>> = {
  x64: [112, 292, 203, 204],
  arm64: [157, 24, 122, 123],
};

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

function errnoError(command: string, code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`spawn ${command} ${code}`), { code, syscall: `spawn ${command}`, path: command });
}
