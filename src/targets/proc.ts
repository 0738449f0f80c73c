// What the supervisor learns about processes from Linux's /proc: whether a
// process still runs and is the one that was started (its start time, in
// clock ticks since boot, never changes while it lives and a reused pid gets
// a new one), the members of a process group, a process's environment (the
// marker variables Slipway gives every instance) and its working directory.
//
// Zombies count as gone: a process that exited but was not reaped (its
// parent, e.g. an init that does not reap, never waited for it) runs no code
// and holds no port.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface ProcStat {
  pid: number;
  /** One letter: R running, S sleeping, D disk wait, T stopped, Z zombie, X dead… */
  state: string;
  /** The process group id. */
  pgrp: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  startTime: number;
}

/** /proc/<pid>/stat, parsed; undefined when the process does not exist. */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const pgrp = Number(fields[2]);
  const startTime = Number(fields[19]);
  if (state === undefined || !Number.isInteger(pgrp) || !Number.isInteger(startTime)) return undefined;
  return { pid, state, pgrp, startTime };
}

function isDead(stat: ProcStat | undefined): boolean {
  return stat === undefined || stat.state === "Z" || stat.state === "X" || stat.state === "x";
}

/** Whether `pid` runs (not a zombie) and, when `startTime` is given, is the process that started then. */
export function processRunning(pid: number, startTime?: number): boolean {
  const stat = readStat(pid);
  if (isDead(stat)) return false;
  return startTime === undefined || stat?.startTime === startTime;
}

function allPids(): number[] {
  try {
    return readdirSync("/proc")
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

/** The living (non-zombie) processes of a process group. */
export function groupMembers(pgid: number): number[] {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    // ESRCH: no process at all in the group (the common case, no scan needed).
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return [];
  }
  return allPids().filter((pid) => {
    const stat = readStat(pid);
    return stat !== undefined && stat.pgrp === pgid && !isDead(stat);
  });
}

/** Sends a signal to every process of a group; false when the group is empty. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Sends a signal to one process; false when it is gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** A process's environment as it was exec'd; undefined when it is gone or not ours to read. */
export function readEnviron(pid: number): Record<string, string> | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined;
  }
  const env: Record<string, string> = {};
  for (const entry of raw.toString("utf8").split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** A process's working directory; undefined when it is gone or not ours to read. */
export function readCwd(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

export interface MarkedProcess {
  pid: number;
  pgrp: number;
  /** The process's environment (holds the marker variables). */
  env: Record<string, string>;
}

/**
 * The living processes whose environment holds `NAME=value` (the marker of
 * one data directory's instances), except this process. Reads only
 * environments that contain the bytes, so a scan of a few hundred processes
 * takes a few milliseconds.
 */
export function findMarked(name: string, value: string): MarkedProcess[] {
  const needle = Buffer.from(`${name}=${value}\0`);
  const found: MarkedProcess[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    let raw: Buffer;
    try {
      raw = readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue; // gone meanwhile, or another user's
    }
    // The marker may be the first variable (no NUL before it) or any later one.
    if (!(raw.subarray(0, needle.length).equals(needle) || raw.includes(Buffer.concat([Buffer.from([0]), needle])))) continue;
    const stat = readStat(pid);
    if (isDead(stat) || stat === undefined) continue;
    const env = readEnviron(pid);
    if (env) found.push({ pid, pgrp: stat.pgrp, env });
  }
  return found;
}

/** Living processes whose working directory is `dir` or inside it. */
export function processesIn(dir: string): number[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return allPids().filter((pid) => {
    if (pid === process.pid) return false;
    const cwd = readCwd(pid);
    return cwd !== undefined && (cwd === dir || cwd.startsWith(prefix)) && processRunning(pid);
  });
}
