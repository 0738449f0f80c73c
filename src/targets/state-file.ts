// What the supervisor keeps on disk under `<dataDir>/targets/`, so a
// restarted Slipway finds the processes it left running:
//
//   instances.json  the instances: how each was started (command, folder,
//                   port, health check), its pid and the pid's start time.
//                   Written whole to a temporary file, then renamed over the
//                   old one: a reader sees the old list or the new, never half.
//                   It holds no environment values (they may be secrets): an
//                   adopted instance's environment is read from the running
//                   process.
//   supervisor-id   a random token written once per data directory; every
//                   instance carries it in SLIPWAY_SUPERVISOR, so the scan for
//                   orphans touches this data directory's processes only.
//   supervisor.lock the pid (and start time) of the supervisor that owns the
//                   data directory; a second one is refused while it lives.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HealthCheck } from "../delivery/index.js";
import { processRunning, readStat } from "./proc.js";
import { TargetError } from "./target-error.js";

/** One instance as recorded in instances.json. */
export interface InstanceRecord {
  id: string;
  env: string;
  service: string;
  /** `web#3`. */
  release: string;
  digest: string;
  /** The release folder. */
  dir: string;
  command: string | string[];
  /** Relative to `dir`. */
  cwd: string;
  port: number;
  health: HealthCheck;
  stopTimeout: number;
  /** Restart the instance when it exits. */
  restart: boolean;
  /** The running process (leader of its own process group), null when none runs. */
  pid: number | null;
  /** Start time of `pid` in clock ticks since boot: the pid's identity. */
  startTime: number | null;
  /** When the current process started (ISO 8601). */
  startedAt: string;
  restarts: number;
  log: string;
  /** Set when stop() began: after a restart of Slipway it is not adopted but killed. */
  stopping?: boolean;
}

interface StateFileContent {
  version: 1;
  /** The next instance number (ids are `<env>.<service>.<n>`). */
  next: number;
  instances: InstanceRecord[];
}

export class StateFile {
  readonly dir: string;
  readonly file: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, "targets");
    this.file = join(this.dir, "instances.json");
  }

  /**
   * The recorded instances and the next instance number. A file that cannot
   * be parsed is moved aside (`instances.json.corrupt-<time>`) and counts as
   * empty: its processes are then unrecorded, and the orphan scan stops them.
   */
  read(): { next: number; instances: InstanceRecord[]; movedAside?: string } {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { next: 1, instances: [] };
      throw new TargetError(`cannot read ${this.file}: ${(err as Error).message}; check the data directory's permissions`);
    }
    try {
      const parsed = JSON.parse(text) as StateFileContent;
      if (parsed.version !== 1 || !Array.isArray(parsed.instances) || !Number.isInteger(parsed.next)) throw new Error("unexpected shape");
      return { next: parsed.next, instances: parsed.instances };
    } catch {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      renameSync(this.file, aside);
      return { next: 1, instances: [], movedAside: aside };
    }
  }

  write(next: number, instances: InstanceRecord[]): void {
    mkdirSync(this.dir, { recursive: true });
    const content: StateFileContent = { version: 1, next, instances };
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(content, null, 2) + "\n", { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  /** This data directory's token (made on first use). */
  token(): string {
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, "supervisor-id");
    try {
      writeFileSync(file, randomBytes(12).toString("hex") + "\n", { flag: "wx", mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const token = readFileSync(file, "utf8").trim();
    if (!/^[0-9a-f]{24}$/.test(token)) throw new TargetError(`${file} does not hold a supervisor token; delete it (stop the services first: its processes are found by it)`);
    return token;
  }

  /**
   * Takes the data directory's supervisor lock for this process, or throws
   * when a living process holds it. `nonce` tells two supervisors of one
   * process apart (tests); a lock of a dead process is taken over.
   */
  lock(nonce: string): void {
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, "supervisor.lock");
    const mine = JSON.stringify({ pid: process.pid, startTime: readStat(process.pid)?.startTime ?? null, nonce });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, mine + "\n", { flag: "wx", mode: 0o600 });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      let holder: { pid?: number; startTime?: number | null; nonce?: string } = {};
      try {
        holder = JSON.parse(readFileSync(file, "utf8")) as typeof holder;
      } catch {
        // unreadable or half-written by a process that died: stale
      }
      if (holder.nonce === nonce) return;
      const alive = typeof holder.pid === "number" && processRunning(holder.pid, holder.startTime ?? undefined);
      if (alive) {
        throw new TargetError(
          `another Slipway process (pid ${holder.pid}) supervises the services of this data directory (${file}); stop it first, or give this one another --data-dir`,
        );
      }
      try {
        unlinkSync(file);
      } catch {
        // taken over by someone else meanwhile: the next attempt tells
      }
    }
    throw new TargetError(`could not take the supervisor lock ${file}; another Slipway process is starting on this data directory, try again`);
  }

  unlock(nonce: string): void {
    const file = join(this.dir, "supervisor.lock");
    try {
      const holder = JSON.parse(readFileSync(file, "utf8")) as { nonce?: string };
      if (holder.nonce === nonce) unlinkSync(file);
    } catch {
      // not there, or not ours
    }
  }
}
