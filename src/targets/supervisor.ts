// The process target's supervisor: runs instances of releases as OS
// processes on this host and keeps them running.
//
// Each instance is a process started in the release folder, in its own
// session and process group, with PORT and the SLIPWAY_* variables set and
// its stdout and stderr appended straight to its log file (so it outlives
// Slipway). The supervisor checks its health over HTTP, restarts it with
// exponential backoff when it exits, stops it gracefully (SIGTERM to the
// group, SIGKILL after the stop timeout) and records every instance in
// `<dataDir>/targets/instances.json`. After Slipway restarts, `adopt()` takes
// back the recorded processes that still run, reports the others lost, and
// kills the processes of this data directory that no record names (no
// orphans). docs/process-target.md describes all of it for users.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, closeSync, mkdirSync, openSync, readSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { NAME, NAME_FIX, type HealthCheck } from "../delivery/index.js";
import { formatMs, probe, times, type ProbeResult } from "./health.js";
import { findMarked, groupMembers, processesIn, processRunning, readCwd, readEnviron, readStat, signalGroup, signalProcess } from "./proc.js";
import { StateFile, type InstanceRecord } from "./state-file.js";
import { TargetError } from "./target-error.js";

export interface InstanceSpec {
  env: string;
  service: string;
  /** `web#3`. */
  release: string;
  /** The release's `sha256:` digest. */
  digest: string;
  /** The release folder (materializeRelease). */
  dir: string;
  /** A shell command (run with `sh -c`) or an argument vector. */
  command: string | string[];
  /** Working directory relative to `dir` (default `.`). */
  cwd?: string;
  /** Variables for the process, on top of a few of Slipway's own (PATH, HOME, LANG…). */
  environment?: Record<string, string>;
  /** The port the instance listens on (PORT); a free loopback port when absent. */
  port?: number;
  health: HealthCheck;
  /** On stop: SIGTERM, then SIGKILL after this many milliseconds. */
  stopTimeout: number;
  /** Restart the process when it exits (default true). */
  restart?: boolean;
}

export type InstanceState =
  /** Running, not yet healthy (health checks run). */
  | "starting"
  | "healthy"
  /** Running, but failed its health checks (or was not healthy within `startTimeout`). */
  | "unhealthy"
  /** Has just exited (the state exit events see); next comes backoff, or failed when it is not restarted. */
  | "crashed"
  /** Exited; restarts after the backoff delay. */
  | "backoff"
  | "stopping"
  | "stopped"
  /** Exited and not restarted (restart off, or it cannot be started); stays until stopped. */
  | "failed";

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  at: string;
  /** `exited with code 1 after 3.2s`, `was killed by SIGKILL after 1m`. */
  description: string;
}

export interface InstanceStatus {
  /** `<env>.<service>.<n>`. */
  id: string;
  env: string;
  service: string;
  release: string;
  digest: string;
  dir: string;
  /** The running process (and its process group), null when none runs. */
  pid: number | null;
  port: number;
  state: InstanceState;
  /** How often the supervisor restarted it after an exit. */
  restarts: number;
  /** When the current (or last) process started. */
  startedAt: string;
  lastExit: ExitInfo | null;
  /** Why it is in its state, in words; empty when healthy. */
  reason: string;
  /** Taken over from a previous Slipway process by adopt(). */
  adopted: boolean;
  /** The instance's log file (stdout and stderr). */
  log: string;
}

export type TargetEventKind = "started" | "healthy" | "unhealthy" | "exit" | "restart" | "failed" | "stopped" | "adopted" | "lost" | "orphan-killed";

export interface TargetEvent {
  kind: TargetEventKind;
  /** The instance id (for an orphan: the one in its marker, or `-`). */
  id: string;
  env: string;
  service: string;
  release: string;
  pid: number | null;
  message: string;
  at: string;
}

/** A process of this data directory that the supervisor does not run (drift). */
export interface Stray {
  pid: number;
  /** From the process's SLIPWAY_ENV, when it has one. */
  env: string | undefined;
  service: string | undefined;
  release: string | undefined;
  /** The instance id in its marker, when it carries one. */
  instance: string | undefined;
  reason: string;
}

export interface AdoptionResult {
  /** Recorded instances whose process still runs: supervised again. */
  adopted: InstanceStatus[];
  /** Recorded instances whose process is gone (or is another process now): forgotten; the control loop starts replacements. */
  lost: InstanceRecord[];
  /** Pids of this data directory's processes that no record names, killed. */
  killed: number[];
}

export interface SupervisorOptions {
  dataDir: string;
  onEvent?: (event: TargetEvent) => void;
  /** Restart delays: `initialMs` doubling up to `maxMs`; back to `initialMs` after an instance stayed healthy `resetAfterMs`. */
  backoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  /** How often an adopted process (not Slipway's child) is checked for being alive (default 500 ms). */
  pollMs?: number;
}

/** Restart backoff: 1 s, 2 s, 4 s … 30 s; reset after 60 s healthy. */
export const BACKOFF = { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 60_000 } as const;
/** How long stop() waits for a process group to vanish after SIGKILL before it reports the group stuck. */
const KILL_WAIT_MS = 10_000;
/** Variables of Slipway's own environment that instances get; everything else (secrets, keys) stays out. */
const INHERITED = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR"];
const LOG_MARK = "[slipway] ";

type Waited = { kind: "healthy"; check: string } | { kind: "exit"; description: string; tail: string } | { kind: "stopped"; why: string };

interface Instance {
  rec: InstanceRecord;
  /** The full environment to (re)start with; undefined when unknown (an adopted process whose environment could not be read). */
  env: Record<string, string> | undefined;
  state: InstanceState;
  reason: string;
  adopted: boolean;
  lastExit: ExitInfo | null;
  child?: ChildProcess;
  /** Bumped at every launch and stop: callbacks of an older generation are ignored. */
  generation: number;
  timers: Set<NodeJS.Timeout>;
  okStreak: number;
  failStreak: number;
  lastProbe?: ProbeResult;
  /** How many checks in a row gave `lastProbe.summary`. */
  sameProbe: number;
  healthySince?: number;
  startedMs: number;
  /** Exits since the instance was last healthy for `resetAfterMs`: the backoff exponent. */
  crashStreak: number;
  /** waitHealthy's listeners: told when the instance becomes healthy, exits or is stopped. */
  waiters: Set<(event: Waited) => void>;
  stopping?: Promise<InstanceStatus>;
  /** Between spawn() and knowing the pid. */
  launching?: boolean;
}

export class ProcessSupervisor {
  readonly dataDir: string;
  private readonly state: StateFile;
  private readonly onEvent: ((event: TargetEvent) => void) | undefined;
  private readonly backoff: { initialMs: number; maxMs: number; resetAfterMs: number };
  private readonly pollMs: number;
  private readonly instances = new Map<string, Instance>();
  private readonly nonce = randomBytes(8).toString("hex");
  private token = "";
  private next = 1;
  private opening: Promise<AdoptionResult> | undefined;
  private closed = false;

  constructor(options: SupervisorOptions) {
    this.dataDir = resolve(options.dataDir);
    this.state = new StateFile(this.dataDir);
    this.onEvent = options.onEvent;
    this.backoff = { ...BACKOFF, ...options.backoff };
    this.pollMs = options.pollMs ?? 500;
  }

  /** The token in every instance's SLIPWAY_SUPERVISOR (this data directory's; known after adopt()). */
  get supervisorToken(): string {
    return this.token;
  }

  // ---- start-up: adoption ------------------------------------------------------------------

  /**
   * Takes over the data directory (its supervisor lock) and what a previous
   * Slipway left running, by one rule:
   *  1. a recorded instance whose pid runs, has the recorded start time and
   *     carries the instance's marker is adopted: monitored again, health
   *     checks resume (healthy at once if its first check passes, else
   *     unhealthy), restarted when it exits;
   *  2. every other recorded instance is lost: forgotten (its log stays),
   *     except one that was being stopped, which is just forgotten;
   *  3. every other process carrying this data directory's token
   *     (SLIPWAY_SUPERVISOR) is killed with its process group (SIGKILL).
   * Called once; later calls (and start()) return the first result.
   */
  adopt(): Promise<AdoptionResult> {
    if (this.closed) return Promise.reject(this.closedError());
    this.opening ??= this.open();
    return this.opening;
  }

  private async open(): Promise<AdoptionResult> {
    this.state.lock(this.nonce);
    try {
      this.token = this.state.token();
      const { next, instances: records, movedAside } = this.state.read();
      this.next = next;
      if (movedAside) this.emit("lost", { id: "-", env: "-", service: "-", release: "-" }, null, `${this.state.file} could not be read and was moved to ${movedAside}; its processes are treated as orphans`);
      const adopted: Instance[] = [];
      const lost: InstanceRecord[] = [];
      for (const rec of records) {
        // One the previous Slipway was stopping is neither adopted nor lost: the scan below finishes its stop.
        if (rec.stopping) continue;
        const env = rec.pid !== null && rec.startTime !== null && processRunning(rec.pid, rec.startTime) ? readEnviron(rec.pid) : undefined;
        if (rec.pid !== null && env?.SLIPWAY_INSTANCE === rec.id && env.SLIPWAY_SUPERVISOR === this.token) {
          const inst = this.newInstance(rec, env, true);
          this.instances.set(rec.id, inst);
          adopted.push(inst);
        } else {
          lost.push(rec);
        }
      }
      const keep = new Set(adopted.map((i) => i.rec.id));
      const killed: number[] = [];
      for (const p of findMarked("SLIPWAY_SUPERVISOR", this.token)) {
        const id = p.env.SLIPWAY_INSTANCE ?? "-";
        if (keep.has(id)) continue;
        if (p.pgrp === p.pid) signalGroup(p.pid, "SIGKILL");
        else signalProcess(p.pid, "SIGKILL");
        killed.push(p.pid);
        this.emit("orphan-killed", { id, env: p.env.SLIPWAY_ENV ?? "-", service: p.env.SLIPWAY_SERVICE ?? "-", release: p.env.SLIPWAY_RELEASE ?? "-" }, p.pid, `killed process ${p.pid} (instance ${id}): started by a previous Slipway on this data directory that never recorded it`);
      }
      this.save();
      for (const rec of lost) this.emit("lost", rec, rec.pid, `instance ${rec.id} of ${rec.release}${rec.pid === null ? "" : ` (pid ${rec.pid})`} is no longer running; it stopped while Slipway was down`);
      await Promise.all(adopted.map((inst) => this.resume(inst)));
      return { adopted: adopted.map((i) => this.status(i)), lost, killed };
    } catch (err) {
      this.state.unlock(this.nonce);
      throw err;
    }
  }

  /** First health check of an adopted instance, then monitoring as usual. */
  private async resume(inst: Instance): Promise<void> {
    const gen = inst.generation;
    const { rec } = inst;
    const result = await probe(rec.port, rec.health.path, rec.health.timeout);
    if (gen !== inst.generation) return;
    this.record(inst, result);
    if (result.ok) {
      inst.state = "healthy";
      inst.reason = "";
      inst.healthySince = Date.now();
      inst.okStreak = rec.health.healthyThreshold;
    } else {
      inst.state = "unhealthy";
      inst.reason = `${result.summary} when Slipway adopted it`;
    }
    this.emit("adopted", rec, rec.pid, `adopted instance ${rec.id} of ${rec.release} (pid ${rec.pid}, port ${rec.port}), ${inst.state}${inst.reason ? `: ${inst.reason}` : ""}`);
    this.watchAdopted(inst);
    this.scheduleCheck(inst, rec.health.interval);
  }

  /** An adopted process is not our child: its exit is noticed by polling. */
  private watchAdopted(inst: Instance): void {
    const gen = inst.generation;
    const pid = inst.rec.pid;
    const startTime = inst.rec.startTime ?? undefined;
    if (pid === null) return;
    const timer = setInterval(() => {
      if (gen !== inst.generation) return clearInterval(timer);
      if (!processRunning(pid, startTime)) {
        clearInterval(timer);
        inst.timers.delete(timer);
        this.exited(inst, gen, null, null);
      }
    }, this.pollMs);
    timer.unref();
    inst.timers.add(timer);
  }

  // ---- starting ----------------------------------------------------------------------------

  /** Starts one instance; resolves once its process runs (see waitHealthy). Throws TargetError when it cannot start. */
  async start(spec: InstanceSpec): Promise<InstanceStatus> {
    await this.adopt();
    if (this.closed) throw this.closedError();
    const what = `${spec.service} (${spec.release}) in ${spec.env}`;
    for (const [field, value] of [
      ["environment", spec.env],
      ["service", spec.service],
    ] as const) {
      if (!NAME.test(value)) throw new TargetError(`cannot start ${what}: invalid ${field} name '${value}'; ${NAME_FIX}`);
    }
    const cwd = spec.cwd ?? ".";
    this.checkFolder(spec.dir, cwd, what);
    if (typeof spec.command === "string" ? spec.command.trim() === "" : spec.command.length === 0 || !spec.command[0]) {
      throw new TargetError(`cannot start ${what}: its command is empty; set run.command in slipway.yml`);
    }
    let port = spec.port;
    // Checked again after the await: a concurrent start() may have taken the port meanwhile.
    while (port === undefined || (spec.port === undefined && this.portTaken(port))) port = await this.freePort();
    const id = `${spec.env}.${spec.service}.${this.next++}`;
    const log = join(this.dataDir, "logs", "targets", spec.env, spec.service, `${id}.log`);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && (INHERITED.includes(k) || k.startsWith("LC_"))) env[k] = v;
    env.PATH ??= "/usr/local/bin:/usr/bin:/bin";
    Object.assign(env, spec.environment ?? {}, {
      PORT: String(port),
      SLIPWAY_ENV: spec.env,
      SLIPWAY_SERVICE: spec.service,
      SLIPWAY_RELEASE: spec.release,
      SLIPWAY_INSTANCE: id,
      SLIPWAY_SUPERVISOR: this.token,
    });
    const rec: InstanceRecord = {
      id,
      env: spec.env,
      service: spec.service,
      release: spec.release,
      digest: spec.digest,
      dir: resolve(spec.dir),
      command: spec.command,
      cwd,
      port,
      health: spec.health,
      stopTimeout: spec.stopTimeout,
      restart: spec.restart ?? true,
      pid: null,
      startTime: null,
      startedAt: new Date().toISOString(),
      restarts: 0,
      log,
    };
    const inst = this.newInstance(rec, env, false);
    this.instances.set(id, inst);
    this.save();
    try {
      await this.launch(inst);
    } catch (err) {
      inst.generation++;
      this.instances.delete(id);
      this.save();
      throw err;
    }
    this.emit("started", rec, rec.pid, `started instance ${id} of ${rec.release} (pid ${rec.pid}, port ${port})`);
    return this.status(inst);
  }

  private checkFolder(dir: string, cwd: string, what: string): void {
    const folder = resolve(dir);
    const full = resolve(folder, cwd);
    const rel = relative(folder, full);
    if (rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) {
      throw new TargetError(`cannot start ${what}: run.cwd '${cwd}' leads outside the release folder; give a path inside the release`);
    }
    const stats = statSync(full, { throwIfNoEntry: false });
    if (!stats?.isDirectory()) {
      throw new TargetError(
        folder === full
          ? `cannot start ${what}: the release folder ${folder} does not exist; unpack the release first (materializeRelease)`
          : `cannot start ${what}: run.cwd '${cwd}' is not a folder in the release (${full}); fix run.cwd in slipway.yml or add the folder to the artifact`,
      );
    }
  }

  /** Starts the instance's process (first start or restart). */
  private async launch(inst: Instance): Promise<void> {
    const gen = ++inst.generation;
    inst.launching = true;
    try {
      await this.spawnProcess(inst, gen);
    } finally {
      inst.launching = false;
    }
  }

  private async spawnProcess(inst: Instance, gen: number): Promise<void> {
    const { rec } = inst;
    if (!inst.env) throw new TargetError(`cannot restart instance ${rec.id}: its environment was not readable when Slipway adopted it; deploy ${rec.release} again`);
    this.checkFolder(rec.dir, rec.cwd, `instance ${rec.id} of ${rec.release}`);
    const [file, args] = typeof rec.command === "string" ? ["/bin/sh", ["-c", rec.command]] : [rec.command[0] ?? "", rec.command.slice(1)];
    mkdirSync(join(rec.log, ".."), { recursive: true });
    const fd = openSync(rec.log, "a", 0o600);
    let child: ChildProcess;
    try {
      appendFileSync(fd, `${LOG_MARK}${new Date().toISOString()} starting ${rec.id} of ${rec.release} on port ${rec.port}: ${display(rec.command)}\n`);
      // detached: setsid() in the child, so the instance leads its own session
      // and process group, and neither Ctrl-C nor Slipway's death reaches it.
      child = spawn(file, args, { cwd: resolve(rec.dir, rec.cwd), env: inst.env, detached: true, stdio: ["ignore", fd, fd] });
    } finally {
      closeSync(fd);
    }
    await new Promise<void>((resolvePromise, reject) => {
      child.once("spawn", () => {
        // Listened to only once the process exists: a failed spawn also emits 'exit'.
        child.on("exit", (code, signal) => this.exited(inst, gen, code, signal));
        resolvePromise();
      });
      child.once("error", (err: NodeJS.ErrnoException) => {
        const program = typeof rec.command === "string" ? "/bin/sh" : file;
        const fix =
          err.code === "ENOENT"
            ? `\`${program}\` was not found (PATH=${inst.env?.PATH ?? ""}); install it or give its full path in run.command`
            : err.code === "EACCES"
              ? `\`${program}\` is not executable; give the file execute permission in the artifact (chmod +x) and make a new release`
              : err.message;
        reject(new TargetError(`cannot start instance ${rec.id} of ${rec.release}: ${fix}`));
      });
    });
    child.unref();
    const pid = child.pid ?? null;
    if (gen !== inst.generation) {
      // Stopped (or the supervisor closed) while the process was being created.
      if (pid !== null && !this.closed) signalGroup(pid, "SIGKILL");
      throw new TargetError(`instance ${rec.id} of ${rec.release} was stopped while it was starting`);
    }
    inst.child = child;
    rec.pid = pid;
    rec.startTime = pid === null ? null : (readStat(pid)?.startTime ?? null);
    rec.startedAt = new Date().toISOString();
    inst.startedMs = Date.now();
    inst.state = "starting";
    inst.reason = "not yet healthy: no health check has passed";
    inst.okStreak = 0;
    inst.failStreak = 0;
    inst.sameProbe = 0;
    inst.lastProbe = undefined;
    inst.healthySince = undefined;
    this.save();
    this.scheduleCheck(inst, Math.min(rec.health.interval, 200));
    const startTimer = setTimeout(() => {
      inst.timers.delete(startTimer);
      if (gen !== inst.generation || inst.state !== "starting") return;
      inst.state = "unhealthy";
      inst.reason = `not healthy ${formatMs(rec.health.startTimeout)} after it started: ${this.probeText(inst)}`;
      this.emit("unhealthy", rec, rec.pid, `instance ${rec.id} of ${rec.release} is unhealthy: ${inst.reason}`);
    }, rec.health.startTimeout);
    startTimer.unref();
    inst.timers.add(startTimer);
  }

  // ---- health ------------------------------------------------------------------------------

  private scheduleCheck(inst: Instance, delay: number): void {
    const gen = inst.generation;
    const timer = setTimeout(async () => {
      inst.timers.delete(timer);
      if (gen !== inst.generation) return;
      const { health, port } = inst.rec;
      const result = await probe(port, health.path, health.timeout);
      if (gen !== inst.generation) return;
      this.observe(inst, result);
      this.scheduleCheck(inst, health.interval);
    }, delay);
    timer.unref();
    inst.timers.add(timer);
  }

  private record(inst: Instance, result: ProbeResult): void {
    inst.sameProbe = inst.lastProbe?.summary === result.summary ? inst.sameProbe + 1 : 1;
    inst.lastProbe = result;
  }

  /** `GET /healthz returned 500 three times`. */
  private probeText(inst: Instance): string {
    return inst.lastProbe ? `${inst.lastProbe.summary} ${times(inst.sameProbe)}` : "no health check has answered yet";
  }

  private observe(inst: Instance, result: ProbeResult): void {
    const { rec } = inst;
    this.record(inst, result);
    if (result.ok) {
      inst.okStreak++;
      inst.failStreak = 0;
      if (inst.state !== "healthy" && inst.okStreak >= rec.health.healthyThreshold) {
        inst.state = "healthy";
        inst.reason = "";
        inst.healthySince = Date.now();
        this.emit("healthy", rec, rec.pid, `instance ${rec.id} of ${rec.release} is healthy (${result.summary})`);
        for (const w of [...inst.waiters]) w({ kind: "healthy", check: result.summary });
      }
      return;
    }
    inst.failStreak++;
    inst.okStreak = 0;
    if (inst.state === "starting") {
      inst.reason = `not yet healthy: ${this.probeText(inst)}`;
    } else if (inst.state === "unhealthy") {
      // One that never became healthy keeps saying so, with the latest check.
      const never = inst.reason.startsWith("not healthy ");
      inst.reason = never ? `not healthy ${formatMs(rec.health.startTimeout)} after it started: ${this.probeText(inst)}` : this.probeText(inst);
    } else if (inst.state === "healthy" && inst.failStreak >= rec.health.unhealthyThreshold) {
      inst.state = "unhealthy";
      inst.reason = this.probeText(inst);
      inst.healthySince = undefined;
      this.emit("unhealthy", rec, rec.pid, `instance ${rec.id} of ${rec.release} is unhealthy: ${inst.reason}`);
    }
  }

  /**
   * Resolves when the instance is healthy, or not: it exited before it became
   * healthy, was stopped, or `timeoutMs` passed. The reason is in words.
   */
  waitHealthy(id: string, timeoutMs: number): Promise<{ healthy: boolean; reason: string }> {
    const inst = this.instances.get(id);
    if (!inst) return Promise.resolve({ healthy: false, reason: `there is no instance ${id} (stopped, or never started)` });
    if (inst.state === "healthy") return Promise.resolve({ healthy: true, reason: inst.lastProbe?.summary ?? "healthy" });
    if (inst.state === "failed" || inst.state === "stopping" || inst.state === "stopped") return Promise.resolve({ healthy: false, reason: inst.reason || inst.state });
    return new Promise((resolvePromise) => {
      const finish = (healthy: boolean, reason: string) => {
        clearTimeout(timer);
        inst.waiters.delete(waiter);
        resolvePromise({ healthy, reason });
      };
      const waiter = (event: Waited) => {
        if (event.kind === "healthy") finish(true, event.check);
        else if (event.kind === "exit") finish(false, `${event.description} before it became healthy${event.tail ? `; last log lines: ${event.tail}` : ""}`);
        else finish(false, `${event.why} before it became healthy`);
      };
      const timer = setTimeout(() => finish(false, `not healthy after ${formatMs(timeoutMs)}: ${this.probeText(inst)}`), timeoutMs);
      inst.waiters.add(waiter);
    });
  }

  // ---- exits and restarts ------------------------------------------------------------------

  private exited(inst: Instance, gen: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (gen !== inst.generation || this.closed) return;
    const { rec } = inst;
    inst.generation++;
    this.clearTimers(inst);
    inst.child = undefined;
    const pid = rec.pid;
    const ran = formatMs(Date.now() - inst.startedMs);
    const description =
      code !== null
        ? `exited with code ${code} after ${ran}`
        : signal !== null
          ? `was killed by ${signal} after ${ran}`
          : `exited (exit code unknown: Slipway adopted it after a restart)`;
    inst.lastExit = { code, signal, at: new Date().toISOString(), description };
    try {
      appendFileSync(rec.log, `${LOG_MARK}${inst.lastExit.at} ${rec.id} ${description}\n`);
    } catch {
      // the log folder was removed: the exit is still reported as an event
    }
    const tail = lastLogLines(rec.log);
    const text = `${description}${tail ? `; last log lines: ${tail}` : ""}`;
    const healthyFor = inst.healthySince === undefined ? 0 : Date.now() - inst.healthySince;
    inst.healthySince = undefined;
    inst.state = "crashed";
    inst.reason = text;
    rec.pid = null;
    rec.startTime = null;
    this.save();
    this.emit("exit", rec, pid, `instance ${rec.id} of ${rec.release} (pid ${pid}) ${text}`);
    for (const w of [...inst.waiters]) w({ kind: "exit", description, tail });
    // What the process left in its group (workers of a shell) would hold the port: it goes too.
    if (pid !== null) signalGroup(pid, "SIGKILL");

    if (!rec.restart || !inst.env) {
      inst.state = "failed";
      inst.reason = `${text}; not restarted: ${!rec.restart ? "restarts are off for it (self_heal: false)" : "its environment could not be read when Slipway adopted it"}`;
      this.emit("failed", rec, pid, `instance ${rec.id} of ${rec.release} ${inst.reason}`);
      return;
    }
    if (healthyFor >= this.backoff.resetAfterMs) inst.crashStreak = 0;
    const delay = Math.min(this.backoff.initialMs * 2 ** inst.crashStreak, this.backoff.maxMs);
    inst.crashStreak++;
    inst.state = "backoff";
    inst.reason = `${text}; restarting in ${formatMs(delay)}`;
    const restartGen = inst.generation;
    const timer = setTimeout(() => {
      inst.timers.delete(timer);
      if (restartGen !== inst.generation || this.closed) return;
      void this.restart(inst, pid, delay);
    }, delay);
    timer.unref();
    inst.timers.add(timer);
  }

  private async restart(inst: Instance, oldPid: number | null, delay: number): Promise<void> {
    const { rec } = inst;
    const gen = inst.generation;
    if (oldPid !== null) await waitGone(oldPid, KILL_WAIT_MS);
    if (gen !== inst.generation || this.closed) return;
    rec.restarts++;
    this.emit("restart", rec, null, `restarting instance ${rec.id} of ${rec.release} (restart ${rec.restarts}, after ${formatMs(delay)} of backoff)`);
    try {
      await this.launch(inst);
    } catch (err) {
      if (this.closed || inst.state === "stopping" || !this.instances.has(rec.id)) return;
      inst.generation++;
      inst.state = "failed";
      inst.reason = (err as Error).message;
      this.save();
      this.emit("failed", rec, null, inst.reason);
      for (const w of [...inst.waiters]) w({ kind: "stopped", why: `it could not be restarted (${inst.reason})` });
    }
  }

  // ---- stopping ----------------------------------------------------------------------------

  /**
   * Stops an instance: SIGTERM to its process group, SIGKILL after
   * `timeoutMs` (default: its stopTimeout) if the group still runs; resolves
   * when no process of the group (nor any other carrying its marker) is left.
   * The instance is then forgotten (list() and instances.json).
   */
  stop(id: string, options: { timeoutMs?: number } = {}): Promise<InstanceStatus> {
    const inst = this.instances.get(id);
    if (!inst) return Promise.reject(new TargetError(`there is no instance ${id} to stop; list() shows the running instances`));
    inst.stopping ??= this.doStop(inst, options.timeoutMs ?? inst.rec.stopTimeout).finally(() => {
      inst.stopping = undefined;
    });
    return inst.stopping;
  }

  private async doStop(inst: Instance, timeoutMs: number): Promise<InstanceStatus> {
    const { rec } = inst;
    inst.generation++;
    this.clearTimers(inst);
    const previous = inst.state;
    inst.state = "stopping";
    inst.reason = "stopping";
    rec.stopping = true;
    this.save();
    for (const w of [...inst.waiters]) w({ kind: "stopped", why: "it was stopped" });
    let how = previous === "backoff" || previous === "failed" ? "it was not running" : "it exited after SIGTERM";
    const pid = rec.pid;
    if (pid !== null) {
      signalGroup(pid, "SIGTERM");
      if (!(await waitGone(pid, timeoutMs))) {
        signalGroup(pid, "SIGKILL");
        how = `it was still running ${formatMs(timeoutMs)} after SIGTERM and was killed with SIGKILL`;
        if (!(await waitGone(pid, KILL_WAIT_MS))) {
          inst.state = "failed";
          inst.reason = `process group ${pid} is still there ${formatMs(KILL_WAIT_MS)} after SIGKILL (stuck in the kernel?); see \`ps -o pid,stat,wchan -g ${pid}\``;
          this.save();
          throw new TargetError(`cannot stop instance ${rec.id} of ${rec.release}: ${inst.reason}`);
        }
      }
    }
    // Processes of the instance that left its group (daemons) carry its marker.
    for (const p of findMarked("SLIPWAY_INSTANCE", rec.id)) if (p.env.SLIPWAY_SUPERVISOR === this.token) killTree(p.pid, p.pgrp);
    inst.child?.removeAllListeners("exit");
    inst.child = undefined;
    try {
      appendFileSync(rec.log, `${LOG_MARK}${new Date().toISOString()} ${rec.id} stopped: ${how}\n`);
    } catch {
      // log folder removed
    }
    inst.state = "stopped";
    inst.reason = `stopped: ${how}`;
    rec.pid = null;
    rec.startTime = null;
    this.instances.delete(rec.id);
    this.save();
    this.emit("stopped", rec, pid, `stopped instance ${rec.id} of ${rec.release}: ${how}`);
    return this.status(inst);
  }

  /** Stops every instance (in parallel), then kills any other process of this data directory. */
  async stopAll(): Promise<void> {
    const results = await Promise.allSettled([...this.instances.keys()].map((id) => this.stop(id)));
    if (this.token) for (const p of findMarked("SLIPWAY_SUPERVISOR", this.token)) killTree(p.pid, p.pgrp);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /**
   * Stops supervising: timers stop, processes keep running (the next
   * supervisor on this data directory adopts them), the lock is released.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const inst of this.instances.values()) {
      inst.generation++;
      this.clearTimers(inst);
      inst.child?.removeAllListeners("exit");
      for (const w of [...inst.waiters]) w({ kind: "stopped", why: "Slipway's supervisor was closed" });
    }
    if (this.opening) this.state.unlock(this.nonce);
  }

  // ---- what runs ---------------------------------------------------------------------------

  list(): InstanceStatus[] {
    return [...this.instances.values()].map((i) => this.status(i));
  }

  get(id: string): InstanceStatus | undefined {
    const inst = this.instances.get(id);
    return inst && this.status(inst);
  }

  /**
   * Processes that run without this supervisor (drift): those carrying this
   * data directory's token but no instance it runs (a copy started by hand
   * with an instance's environment, or one left by another Slipway), and
   * those working in a release folder without any marker (started by hand
   * from `<dataDir>/releases/`).
   */
  strays(): Stray[] {
    if (!this.token) return [];
    const found: Stray[] = [];
    const marked = findMarked("SLIPWAY_SUPERVISOR", this.token);
    const seen = new Set(marked.map((p) => p.pid));
    for (const p of marked) {
      const id = p.env.SLIPWAY_INSTANCE;
      const inst = id === undefined ? undefined : this.instances.get(id);
      // Its own process, or one being started (its pid is not known yet).
      if (inst && (inst.rec.pid !== null || inst.launching)) continue;
      found.push({
        pid: p.pid,
        env: p.env.SLIPWAY_ENV,
        service: p.env.SLIPWAY_SERVICE,
        release: p.env.SLIPWAY_RELEASE,
        instance: id,
        reason: `carries the marker of instance ${id ?? "?"}, which this Slipway does not run (started out of band, or left over)`,
      });
    }
    const releases = join(this.dataDir, "releases");
    for (const pid of processesIn(releases)) {
      if (seen.has(pid)) continue;
      const env = readEnviron(pid);
      const cwd = relative(releases, readCwd(pid) ?? releases);
      found.push({
        pid,
        env: env?.SLIPWAY_ENV,
        service: cwd.split(sep)[0] || undefined,
        release: undefined,
        instance: undefined,
        reason: `works in the release folder ${join(releases, cwd)} but was not started by Slipway`,
      });
    }
    return found;
  }

  /** Stops a stray (SIGTERM to it and its group if it leads one, SIGKILL after `timeoutMs`); false when it is gone already. */
  async killStray(pid: number, timeoutMs = 10_000): Promise<boolean> {
    if (!this.strays().some((s) => s.pid === pid)) {
      if (!processRunning(pid)) return false;
      throw new TargetError(`process ${pid} is not a stray of this data directory (strays() lists them); Slipway kills only processes of its own services`);
    }
    const leader = readStat(pid)?.pgrp === pid;
    if (leader) signalGroup(pid, "SIGTERM");
    else signalProcess(pid, "SIGTERM");
    const gone = leader ? await waitGone(pid, timeoutMs) : await waitFor(() => !processRunning(pid), timeoutMs);
    if (!gone) {
      if (leader) signalGroup(pid, "SIGKILL");
      else signalProcess(pid, "SIGKILL");
      await waitFor(() => !processRunning(pid), KILL_WAIT_MS);
    }
    return true;
  }

  // ---- helpers -----------------------------------------------------------------------------

  private newInstance(rec: InstanceRecord, env: Record<string, string> | undefined, adopted: boolean): Instance {
    return {
      rec,
      env,
      state: "starting",
      reason: "",
      adopted,
      lastExit: null,
      generation: 0,
      timers: new Set(),
      okStreak: 0,
      failStreak: 0,
      sameProbe: 0,
      startedMs: Date.parse(rec.startedAt) || Date.now(),
      crashStreak: 0,
      waiters: new Set(),
    };
  }

  private status(inst: Instance): InstanceStatus {
    const { rec } = inst;
    return {
      id: rec.id,
      env: rec.env,
      service: rec.service,
      release: rec.release,
      digest: rec.digest,
      dir: rec.dir,
      pid: rec.pid,
      port: rec.port,
      state: inst.state,
      restarts: rec.restarts,
      startedAt: rec.startedAt,
      lastExit: inst.lastExit,
      reason: inst.reason,
      adopted: inst.adopted,
      log: rec.log,
    };
  }

  private clearTimers(inst: Instance): void {
    for (const t of inst.timers) clearTimeout(t);
    inst.timers.clear();
  }

  /** Writes instances.json (also after close(): stop() and stopAll() still record what they stopped). */
  private save(): void {
    this.state.write(
      this.next,
      [...this.instances.values()].map((i) => i.rec),
    );
  }

  private emit(kind: TargetEventKind, who: Pick<InstanceRecord, "id" | "env" | "service" | "release">, pid: number | null, message: string): void {
    if (!this.onEvent) return;
    try {
      this.onEvent({ kind, id: who.id, env: who.env, service: who.service, release: who.release, pid, message, at: new Date().toISOString() });
    } catch {
      // a listener's failure must not stop supervision
    }
  }

  private closedError(): TargetError {
    return new TargetError("this process supervisor was closed; create a new ProcessSupervisor (it adopts the running instances)");
  }

  private portTaken(port: number): boolean {
    return [...this.instances.values()].some((i) => i.rec.port === port);
  }

  /** A free loopback port, not one of this supervisor's instances. */
  private async freePort(): Promise<number> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = await new Promise<number>((resolvePromise, reject) => {
        const server = createServer();
        server.unref();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
          const address = server.address();
          server.close(() => resolvePromise(typeof address === "object" && address ? address.port : 0));
        });
      });
      if (port > 0 && !this.portTaken(port)) return port;
    }
    throw new TargetError("found no free loopback port for a new instance; set a port or free some");
  }
}

/** Waits until no living process is left in the group; false after `timeoutMs`. */
function waitGone(pgid: number, timeoutMs: number): Promise<boolean> {
  return waitFor(() => groupMembers(pgid).length === 0, timeoutMs);
}

async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGKILL to a process and, when it leads one, its group. */
function killTree(pid: number, pgrp: number): void {
  if (pgrp === pid) signalGroup(pid, "SIGKILL");
  else signalProcess(pid, "SIGKILL");
}

/** The last few lines the process wrote (Slipway's own lines left out), joined with ` | `. */
export function lastLogLines(log: string, count = 5): string {
  let fd: number;
  try {
    fd = openSync(log, "r");
  } catch {
    return "";
  }
  try {
    const size = statSync(log).size;
    const length = Math.min(size, 4096);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer
      .toString("utf8")
      .split("\n")
      .map((l) => l.trimEnd())
      .filter((l) => l !== "" && !l.startsWith(LOG_MARK));
    const text = lines.slice(-count).join(" | ");
    return text.length > 600 ? `…${text.slice(-600)}` : text;
  } finally {
    closeSync(fd);
  }
}

function display(command: string | string[]): string {
  return typeof command === "string" ? command : command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}
