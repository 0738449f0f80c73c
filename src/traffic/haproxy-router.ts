// The HAProxy router: Slipway writes haproxy.cfg under
// `<dataDir>/traffic/<env>/<service>/`, starts HAProxy (master-worker,
// daemonized, so it outlives Slipway) and from then on changes server
// addresses, weights and states only through HAProxy's runtime API — no
// reload for a new table. Request counts and 5xx come from `show stat` (read
// every second); latency samples from one log line per request sent over UDP
// to this process. A later start() re-attaches to a running HAProxy and reads
// its table back. docs/routers.md describes the files and processes.
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { BACKEND, TABLE_KEY, UNUSED_ADDR, UNUSED_PORT, noBackendResponse, readMeta, renderConfig, renderMap, slotIndex, slotName, type ConfigMeta, type SlotConfig } from "./haproxy-config.js";
import { parseInfo, parseMap, parseServersState, parseStat, runtimeCommand, serving, type ServerState } from "./haproxy-api.js";
import { canaryPercent, serverWeights } from "./haproxy-weights.js";
import { formatRouterMetrics, RouterMetrics, type ExtraFamily } from "./metrics.js";
import { normalizeTable, RouterError, validateOptions, validateTable, type Backend, type RouteTable, type RouterOptions, type TrafficRouter, type WindowStats } from "./router.js";
import { WindowedStats } from "./window-stats.js";

export const HAPROXY_PATH = "/usr/sbin/haproxy";
const DEFAULT_SLOTS = 16;
/** Unix socket paths longer than this do not fit sockaddr_un (108 bytes with the terminator). */
const MAX_SOCKET_PATH = 100;
/** Runtime API commands sent in one connection (joined with `;`). */
const BATCH = 24;

type Role = "stable" | "canary";

interface Label {
  id: string;
  release: string;
  host: string;
  /** The address HAProxy was given for `host`. */
  addr: string;
  role: Role;
}

interface Counters {
  c1: number;
  c2: number;
  c3: number;
  c4: number;
  c5: number;
  other: number;
  abrt: number;
  retries: number;
}

interface Slot {
  index: number;
  addr: string;
  port: number;
  weight: number;
  enabled: boolean;
  /** The backend the slot serves, or served last while in maintenance (for requests still in flight and late counts). */
  label: Label | undefined;
  /** When the slot was taken out of service (0: never used); free slots are reused oldest first. */
  freedAt: number;
  last: Counters | undefined;
  scur: number;
}

function encodeLabel(l: Label): string {
  return new URLSearchParams({ id: l.id, release: l.release, host: l.host, addr: l.addr, role: l.role }).toString();
}

function decodeLabel(text: string | undefined): Label | undefined {
  if (text === undefined || text === "-" || text === "") return undefined;
  const p = new URLSearchParams(text);
  const id = p.get("id");
  const release = p.get("release");
  const role = p.get("role");
  if (!id || !release || (role !== "stable" && role !== "canary")) return undefined;
  return { id, release, host: p.get("host") ?? p.get("addr") ?? "", addr: p.get("addr") ?? "", role };
}

function encodeTable(t: RouteTable): string {
  const p = new URLSearchParams({ stable: t.stable.release });
  if (t.canary) {
    p.set("canary", t.canary.release);
    p.set("weight", String(t.canary.weight));
  }
  return p.toString();
}

function counters(row: Record<string, string>): Counters {
  const n = (k: string) => Number(row[k]) || 0;
  return { c1: n("hrsp_1xx"), c2: n("hrsp_2xx"), c3: n("hrsp_3xx"), c4: n("hrsp_4xx"), c5: n("hrsp_5xx"), other: n("hrsp_other"), abrt: n("srv_abrt"), retries: n("wretr") + n("wredis") };
}

const ZERO: Counters = { c1: 0, c2: 0, c3: 0, c4: 0, c5: 0, other: 0, abrt: 0, retries: 0 };

function minus(a: Counters, b: Counters | undefined): Counters {
  if (b === undefined) return ZERO;
  const keys = Object.keys(a) as (keyof Counters)[];
  // A counter that went down means HAProxy's worker was replaced (reload, restart): everything it shows is new.
  if (keys.some((k) => a[k] < b[k])) return a;
  const out = { ...ZERO };
  for (const k of keys) out[k] = a[k] - b[k];
  return out;
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

/** The HAProxy program to run: `explicit`, /usr/sbin/haproxy, or `haproxy` on PATH. */
export function findHaproxy(explicit?: string): string {
  const candidates = explicit ? [explicit] : [HAPROXY_PATH, ...(process.env.PATH ?? "").split(delimiter).filter(Boolean).map((d) => join(d, "haproxy"))];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new RouterError(
    "haproxy",
    explicit
      ? `HAProxy is not at ${explicit} (or not executable): install it (apt-get install haproxy) or point haproxyPath at it`
      : `HAProxy is not installed (looked for ${HAPROXY_PATH} and haproxy on PATH): install it (apt-get install haproxy), or use the built-in router (--router builtin)`,
  );
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

export class HaproxyRouter implements TrafficRouter {
  readonly kind = "haproxy" as const;
  private readonly where: string;
  readonly dir: string;
  readonly configFile: string;
  readonly mapFile: string;
  readonly pidFile: string;
  private readonly errorFile: string;
  private bin = "";
  private meta: ConfigMeta | undefined;
  private slots: Slot[] = [];
  private table: RouteTable = { stable: { release: "-", backends: [] } };
  private masterPid = 0;
  private udp: dgram.Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private polling: Promise<void> | undefined;
  private lastPoll = 0;
  private backendLast: Counters | undefined;
  private retries = 0;
  private readonly window = new WindowedStats();
  private readonly metrics = new RouterMetrics();
  private started = false;
  private closed = false;

  constructor(private readonly o: RouterOptions) {
    validateOptions(o);
    this.where = `${o.env}/${o.service}`;
    this.dir = join(o.dataDir, "traffic", o.env, o.service);
    this.configFile = join(this.dir, "haproxy.cfg");
    this.mapFile = join(this.dir, "slots.map");
    this.pidFile = join(this.dir, "haproxy.pid");
    this.errorFile = join(this.dir, "503.http");
  }

  get port(): number {
    return this.meta?.port ?? this.o.port;
  }

  /** The master process of HAProxy (0 before start). */
  get pid(): number {
    return this.masterPid;
  }

  private get socket(): string {
    if (!this.meta) throw new RouterError("not-started", `the HAProxy router of ${this.where} is not started: call start() first`);
    return this.meta.socket;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private cmd(command: string): Promise<string> {
    return runtimeCommand(this.socket, command).catch((err: Error) => {
      throw new RouterError("haproxy", `HAProxy of ${this.where}: ${err.message}`);
    });
  }

  // --- life cycle ---

  async start(): Promise<void> {
    if (this.closed) throw new RouterError("closed", `the router of ${this.where} was closed: create a new one`);
    if (this.started) return;
    await this.serial(async () => {
      mkdirSync(this.dir, { recursive: true });
      this.bin = findHaproxy(this.o.haproxyPath);
      const running = await this.runningInstance();
      if (running) await this.attach(running.pid, running.meta);
      else await this.launch();
      this.started = true;
    });
    const every = this.o.statsIntervalMs ?? 1000;
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), every);
    this.timer.unref();
  }

  /** A HAProxy started for this service by an earlier Slipway that still answers, or undefined (a stale one is stopped). */
  private async runningInstance(): Promise<{ pid: number; meta: ConfigMeta } | undefined> {
    if (!existsSync(this.pidFile) || !existsSync(this.configFile)) return undefined;
    const pid = Number(readFileSync(this.pidFile, "utf8").trim());
    const meta = readMeta(readFileSync(this.configFile, "utf8"));
    if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid) || !commandLine(pid).includes(this.configFile)) return undefined;
    if (meta) {
      try {
        await runtimeCommand(meta.socket, "show info", 2_000);
        return { pid, meta };
      } catch {
        // It runs but does not answer: stop it and start afresh.
      }
    }
    await this.stopProcess(pid);
    return undefined;
  }

  private async attach(pid: number, meta: ConfigMeta): Promise<void> {
    this.masterPid = pid;
    this.meta = meta;
    await this.readBack();
    let reload = false;
    const port = await this.bindLogs(meta.logPort).catch(async () => {
      reload = true;
      return this.bindLogs(0);
    });
    const want = this.settings(this.o.port === 0 ? meta.port : this.o.port, port, meta.slots, meta.sticky);
    if (JSON.stringify({ ...want, slots: 0 }) !== JSON.stringify({ ...meta, slots: 0 })) reload = true;
    if (reload) {
      if (want.port !== meta.port && !(await portFree(want.host, want.port))) throw new RouterError("port-in-use", `port ${want.port} on ${want.host} for ${this.where} is in use by another process: stop it, or give ${this.where} another port`);
      this.meta = want;
      await this.reload();
    }
    for (const s of this.slots) s.last = undefined;
    this.backendLast = undefined;
    await this.poll();
  }

  private settings(port: number, logPort: number, slots: number, sticky: ConfigMeta["sticky"]): ConfigMeta {
    const host = this.o.host ?? "127.0.0.1";
    const short = join(tmpdir(), `slipway-haproxy-${createHash("sha256").update(this.dir).digest("hex").slice(0, 16)}`);
    const long = join(this.dir, "admin.sock").length > MAX_SOCKET_PATH;
    const socket = long ? `${short}.sock` : join(this.dir, "admin.sock");
    const masterSocket = long ? `${short}-master.sock` : join(this.dir, "master.sock");
    return {
      version: 1,
      env: this.o.env,
      service: this.o.service,
      host,
      port,
      logPort,
      socket,
      masterSocket,
      mapFile: this.mapFile,
      slots,
      ...(sticky ? { sticky } : {}),
      ...(this.o.threads ? { threads: this.o.threads } : {}),
      retries: this.o.retries ?? 3,
      connectTimeoutMs: this.o.connectTimeoutMs ?? 5_000,
      backendTimeoutMs: this.o.backendTimeoutMs ?? 60_000,
    };
  }

  private async launch(): Promise<void> {
    rmSync(this.pidFile, { force: true });
    const logPort = await this.bindLogs(0);
    const host = this.o.host ?? "127.0.0.1";
    const count = this.o.slots ?? DEFAULT_SLOTS;
    this.slots = Array.from({ length: count }, (_, index) => ({ index, addr: UNUSED_ADDR, port: UNUSED_PORT, weight: 1, enabled: false, label: undefined, freedAt: 0, last: undefined, scur: 0 }));
    this.table = { stable: { release: "-", backends: [] } };
    for (let attempt = 0; ; attempt++) {
      const port = this.o.port === 0 ? await freePort(host) : this.o.port;
      this.meta = this.settings(port, logPort, count, undefined);
      try {
        await this.spawnHaproxy();
        break;
      } catch (err) {
        // A free port picked for us may be taken before HAProxy binds it: pick another.
        if (!(err instanceof RouterError && err.code === "port-in-use" && this.o.port === 0 && attempt < 3)) throw err;
      }
    }
    this.backendLast = undefined;
    await this.poll();
  }

  private writeFiles(): void {
    const meta = this.meta!;
    writeAtomic(this.errorFile, noBackendResponse(this.o.env, this.o.service));
    writeAtomic(this.mapFile, renderMap(this.slots.map((s) => (s.label ? encodeLabel(s.label) : undefined)), encodeTable(this.table)));
    const slots: SlotConfig[] = this.slots.map((s) => ({ addr: s.addr, port: s.port, weight: s.weight, enabled: s.enabled }));
    writeAtomic(this.configFile, renderConfig(meta, slots, this.errorFile));
  }

  /** `haproxy -c`: a configuration HAProxy refuses is reported with HAProxy's own words. */
  private async checkConfig(): Promise<void> {
    const { code, output } = await this.run(["-c", "-q", "-f", this.configFile]);
    if (code !== 0) throw new RouterError("haproxy", `HAProxy refuses the configuration Slipway wrote for ${this.where} (${this.configFile}): ${output.trim() || `exit ${code}`}`);
  }

  private run(args: string[]): Promise<{ code: number; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.bin, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
      let output = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
      child.once("error", (err) => reject(new RouterError("haproxy", `cannot run ${this.bin}: ${err.message}`)));
      // With -D the daemon may keep the pipes: the parent's exit is what counts.
      child.once("exit", (code) => {
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          resolve({ code: code ?? 1, output });
        }, 20);
      });
    });
  }

  private async spawnHaproxy(): Promise<void> {
    this.writeFiles();
    await this.checkConfig();
    const { code, output } = await this.run(["-W", "-D", "-S", `${this.meta!.masterSocket},mode,600`, "-p", this.pidFile, "-f", this.configFile]);
    const meta = this.meta!;
    if (code !== 0) {
      if (/cannot bind socket|Address already in use/i.test(output)) throw new RouterError("port-in-use", `port ${meta.port} on ${meta.host} for ${this.where} is in use by another process: stop it, or give ${this.where} another port`);
      throw new RouterError("haproxy", `HAProxy for ${this.where} did not start (${this.bin}, ${this.configFile}): ${output.trim() || `exit ${code}`}`);
    }
    // Ready when the worker's runtime API answers and the master runs its loop (before that a reload signal would kill it).
    const deadline = Date.now() + 10_000;
    for (const [socket, command] of [
      [meta.socket, "show info"],
      [meta.masterSocket, "show proc"],
    ] as const) {
      while (true) {
        try {
          await runtimeCommand(socket, command, 1_000);
          break;
        } catch (err) {
          if (Date.now() > deadline) throw new RouterError("haproxy", `HAProxy for ${this.where} started but ${socket} does not answer: ${(err as Error).message}`);
          await sleep(25);
        }
      }
    }
    const pid = Number(readFileSync(this.pidFile, "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 1) throw new RouterError("haproxy", `HAProxy for ${this.where} wrote no process id to ${this.pidFile}`);
    this.masterPid = pid;
  }

  /** A new configuration through the master (SIGUSR2): the new worker takes over the listening sockets, the old one finishes its requests. */
  private async reload(): Promise<void> {
    this.writeFiles();
    await this.checkConfig();
    await this.poll().catch(() => undefined);
    const before = parseInfo(await this.cmd("show info")).get("Pid");
    // Through the master's CLI: no signal can reach the master while it re-executes itself (a signal
    // then is lost, or kills it).
    const master = this.meta!.masterSocket;
    await runtimeCommand(master, "reload", 5_000).catch(() => undefined);
    // Done when the new worker answers and the master runs its loop again (its CLI answers).
    const deadline = Date.now() + 15_000;
    while (true) {
      await sleep(25);
      const pid = await runtimeCommand(this.socket, "show info", 1_000)
        .then((t) => parseInfo(t).get("Pid"))
        .catch(() => undefined);
      if (pid !== undefined && pid !== before) {
        const procs = await runtimeCommand(master, "show proc", 1_000).catch(() => "");
        if (new RegExp(`^${pid}\\s+worker\\b`, "m").test(procs)) break;
      }
      if (Date.now() > deadline) throw new RouterError("haproxy", `HAProxy for ${this.where} did not take its new configuration within 15 s (master pid ${this.masterPid}; check ${this.configFile} with haproxy -c)`);
    }
    // The new worker counts from zero.
    for (const s of this.slots) s.last = { ...ZERO };
    this.backendLast = { ...ZERO };
  }

  /** Binds the UDP socket HAProxy logs to (`port` 0: any); resolves with the port. */
  private bindLogs(port: number): Promise<number> {
    this.udp?.close();
    this.udp = undefined;
    return new Promise((resolve, reject) => {
      const udp = dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
      udp.once("error", (err) => {
        udp.close();
        reject(err);
      });
      udp.on("message", (msg) => this.onLog(msg));
      udp.bind(port, "127.0.0.1", () => {
        udp.removeAllListeners("error");
        udp.on("error", () => undefined);
        udp.unref();
        this.udp = udp;
        resolve(udp.address().port);
      });
    });
  }

  /** One request's log line: `slipway <server> <status> <Ta ms>`. */
  private onLog(msg: Buffer): void {
    const line = msg.toString("latin1");
    if (!line.startsWith("slipway ")) return;
    const parts = line.trimEnd().split(" ");
    const index = slotIndex(parts[1] ?? "");
    const ta = Number(parts[3]);
    if (index < 0 || !(ta >= 0)) return;
    const label = this.slots[index]?.label;
    if (!label) return;
    this.window.addLatency(label.release, ta, Date.now());
    this.metrics.release(label.release).observe(ta / 1000);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    this.stopWatching();
    if (this.masterPid > 0) await this.stopProcess(this.masterPid);
    rmSync(this.pidFile, { force: true });
    if (this.meta) {
      rmSync(this.meta.socket, { force: true });
      rmSync(this.meta.masterSocket, { force: true });
    }
  }

  async detach(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    this.stopWatching();
  }

  private stopWatching(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.udp?.close();
    this.udp = undefined;
  }

  /** Soft stop (SIGUSR1: listeners closed at once, requests in flight finish), then SIGKILL after 12 s. */
  private async stopProcess(pid: number): Promise<void> {
    const send = (signal: NodeJS.Signals) => {
      try {
        process.kill(pid, signal);
      } catch {
        // gone
      }
    };
    send("SIGUSR1");
    const deadline = Date.now() + 12_000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(20);
    if (isAlive(pid)) {
      send("SIGKILL");
      while (isAlive(pid) && Date.now() < deadline + 2_000) await sleep(20);
    }
  }

  private ensureStarted(): void {
    if (this.closed) throw new RouterError("closed", `the router of ${this.where} was closed: create a new one`);
    if (!this.started) throw new RouterError("not-started", `the HAProxy router of ${this.where} is not started: call start() first`);
  }

  /** HAProxy died (killed, machine restarted)? Start it again from the configuration, which holds the last table. */
  private async ensureRunning(): Promise<void> {
    if (this.masterPid > 0 && isAlive(this.masterPid)) return;
    for (const s of this.slots) s.last = { ...ZERO };
    this.backendLast = { ...ZERO };
    await this.spawnHaproxy();
  }

  // --- reading HAProxy's state ---

  /** Slots, labels and table from the runtime API (after attaching). */
  private async readBack(): Promise<void> {
    const meta = this.meta!;
    const [stateText, mapText] = await Promise.all([this.cmd(`show servers state ${BACKEND}`), this.cmd(`show map ${meta.mapFile}`)]);
    const servers = parseServersState(stateText);
    const map = parseMap(mapText);
    const now = Date.now();
    this.slots = Array.from({ length: meta.slots }, (_, index) => {
      const s = servers.find((x) => x.name === slotName(index));
      const label = decodeLabel(map.get(slotName(index)));
      const enabled = s !== undefined && serving(s);
      return { index, addr: s?.addr ?? UNUSED_ADDR, port: s?.port ?? UNUSED_PORT, weight: s?.weight ?? 1, enabled, label, freedAt: enabled || !label ? 0 : now, last: undefined, scur: 0 };
    });
    this.table = this.tableFrom(servers, map);
  }

  private tableFrom(servers: ServerState[], map: Map<string, string>): RouteTable {
    const facts = new URLSearchParams(map.get(TABLE_KEY) ?? "");
    const groups: Record<Role, { backends: Backend[]; weights: number[] }> = { stable: { backends: [], weights: [] }, canary: { backends: [], weights: [] } };
    for (const s of servers) {
      const index = slotIndex(s.name);
      if (index < 0 || !serving(s)) continue;
      const label = decodeLabel(map.get(s.name));
      if (!label) continue;
      const g = groups[label.role];
      g.backends.push({ id: label.id, release: label.release, host: label.addr === s.addr ? label.host : s.addr, port: s.port });
      g.weights.push(s.weight);
    }
    const table: RouteTable = { stable: { release: facts.get("stable") ?? "-", backends: groups.stable.backends } };
    const canary = facts.get("canary");
    if (canary !== null) {
      const asked = Number(facts.get("weight") ?? 0);
      const expected = serverWeights(asked, groups.stable.backends.length, groups.canary.backends.length);
      const sorted = (ws: number[]) => [...ws].sort((a, b) => a - b).join(",");
      const exact = sorted(groups.stable.weights) === sorted(expected.stable) && sorted(groups.canary.weights) === sorted(expected.canary);
      const stableOnly = groups.canary.backends.length === 0 || groups.stable.backends.length === 0;
      table.canary = { release: canary, backends: groups.canary.backends, weight: exact || stableOnly ? asked : canaryPercent(groups.stable.weights, groups.canary.weights) };
    } else if (groups.canary.backends.length > 0) {
      table.canary = { release: groups.canary.backends[0]!.release, backends: groups.canary.backends, weight: canaryPercent(groups.stable.weights, groups.canary.weights) };
    }
    const sticky = this.meta?.sticky;
    if (sticky?.header) table.sticky = { header: sticky.header };
    else if (sticky?.cookie) table.sticky = { cookie: sticky.cookie };
    return normalizeTable(table);
  }

  async current(): Promise<RouteTable> {
    this.ensureStarted();
    return this.serial(async () => {
      await this.ensureRunning();
      const [stateText, mapText] = await Promise.all([this.cmd(`show servers state ${BACKEND}`), this.cmd(`show map ${this.meta!.mapFile}`)]);
      return this.tableFrom(parseServersState(stateText), parseMap(mapText));
    });
  }

  /** Reads `show stat` now (serialized with changes). */
  private refresh(): Promise<void> {
    if (!this.started || this.closed) return Promise.resolve();
    this.polling ??= this.serial(() => this.poll()).finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  /** `show stat`: per-slot counters since the last read, attributed to the slot's release; requests in flight. */
  private async poll(): Promise<void> {
    const rows = parseStat(await this.cmd("show stat")).filter((r) => r.pxname === BACKEND);
    const now = Date.now();
    this.lastPoll = now;
    const served = { ...ZERO };
    let backendRow: Record<string, string> | undefined;
    for (const row of rows) {
      if (row.svname === "BACKEND") {
        backendRow = row;
        continue;
      }
      const slot = this.slots[slotIndex(row.svname ?? "")];
      if (!slot) continue;
      const cur = counters(row);
      const d = minus(cur, slot.last);
      slot.last = cur;
      slot.scur = Number(row.scur) || 0;
      for (const k of Object.keys(d) as (keyof Counters)[]) served[k] += d[k];
      if (slot.label) this.count(slot.label.release, d, now);
    }
    if (backendRow) {
      const cur = counters(backendRow);
      const d = minus(cur, this.backendLast);
      this.backendLast = cur;
      this.retries += d.retries;
      // Answers no server gave (503 without backend): counted for the stable release.
      const own = { ...ZERO };
      for (const k of ["c1", "c2", "c3", "c4", "c5", "other"] as const) own[k] = Math.max(0, d[k] - served[k]);
      this.count(this.table.stable.release, own, now);
    }
  }

  private count(release: string, d: Counters, now: number): void {
    const requests = d.c1 + d.c2 + d.c3 + d.c4 + d.c5 + d.other;
    if (requests === 0 && d.abrt === 0) return;
    this.window.addCounts(release, requests, d.c5 + d.other + d.abrt, now);
    const m = this.metrics.release(release);
    if (d.c1) m.addRequests("1xx", d.c1);
    if (d.c2) m.addRequests("2xx", d.c2);
    if (d.c3) m.addRequests("3xx", d.c3);
    if (d.c4) m.addRequests("4xx", d.c4);
    if (d.c5 + d.other) m.addRequests("5xx", d.c5 + d.other);
  }

  inFlight(backendId: string): number {
    if (this.started && !this.closed && Date.now() - this.lastPoll > 20) void this.refresh().catch(() => undefined);
    let n = 0;
    for (const s of this.slots) if (s.label?.id === backendId) n += s.scur;
    return n;
  }

  async drained(ids: string[], timeoutMs: number): Promise<boolean> {
    this.ensureStarted();
    const deadline = Date.now() + timeoutMs;
    while (true) {
      await this.refresh();
      if (!this.slots.some((s) => s.label !== undefined && ids.includes(s.label.id) && s.scur > 0)) return true;
      if (Date.now() >= deadline) return false;
      await sleep(25);
    }
  }

  stats(release: string, windowMs: number): WindowStats {
    return this.window.stats(release, windowMs, Date.now());
  }

  metricsText(): string {
    const t = this.table;
    const groups = t.canary ? [t.stable, t.canary] : [t.stable];
    const weight = t.canary?.weight ?? 0;
    const inFlight = new Map<string, number>();
    for (const s of this.slots) if (s.label) inFlight.set(s.label.release, (inFlight.get(s.label.release) ?? 0) + s.scur);
    const extra: ExtraFamily[] = [
      {
        name: "slipway_router_weight_percent",
        help: "Share of new requests the route table sends to the release (stable: 100 minus the canary's weight).",
        type: "gauge",
        samples: groups.map((g, i) => ({ labels: { release: g.release, role: i === 0 ? "stable" : "canary" }, value: i === 0 ? 100 - weight : weight })),
      },
      {
        name: "slipway_router_backends",
        help: "Backends (instances) of the release in the route table.",
        type: "gauge",
        samples: groups.map((g) => ({ labels: { release: g.release }, value: g.backends.length })),
      },
      {
        name: "slipway_router_in_flight_requests",
        help: "Requests being answered, by release (HAProxy's scur per server, read every second).",
        type: "gauge",
        samples: [...inFlight].map(([release, value]) => ({ labels: { release }, value })),
      },
      {
        name: "slipway_router_retries_total",
        help: "Requests sent again after a failed attempt (HAProxy's wretr + wredis).",
        type: "counter",
        samples: [{ labels: {}, value: this.retries }],
      },
    ];
    return formatRouterMetrics(this.o.env, this.o.service, this.metrics, extra, "Time from a request's arrival at the router to the end of its response, by release (HAProxy router: from its per-request logs, 1 ms resolution).");
  }

  // --- changing the table ---

  async apply(table: RouteTable): Promise<void> {
    this.ensureStarted();
    validateTable(table, this.where);
    const addrs = new Map<string, string>();
    for (const b of [...table.stable.backends, ...(table.canary?.backends ?? [])]) {
      if (net.isIP(b.host) !== 0) addrs.set(b.id, b.host);
      else {
        try {
          addrs.set(b.id, (await lookup(b.host)).address);
        } catch (err) {
          throw new RouterError("bad-table", `route table for ${this.where}: backend ${b.id}'s host '${b.host}' does not resolve (${(err as Error).message}): use an IP address or a resolvable name`);
        }
      }
    }
    await this.serial(async () => {
      await this.ensureRunning();
      await this.poll();
      try {
        await this.change(table, addrs);
      } catch (err) {
        // HAProxy may have taken part of the change: what it does is the truth from here on.
        await this.readBack().catch(() => undefined);
        throw err;
      }
    });
  }

  private async change(table: RouteTable, addrs: Map<string, string>): Promise<void> {
    const meta = this.meta!;
    const stable = table.stable.backends;
    const canary = table.canary?.backends ?? [];
    const weights = serverWeights(table.canary?.weight ?? 0, stable.length, canary.length);
    const wanted: { b: Backend; role: Role; addr: string; weight: number }[] = [
      ...stable.map((b, i) => ({ b, role: "stable" as const, addr: addrs.get(b.id)!, weight: weights.stable[i]! })),
      ...canary.map((b, i) => ({ b, role: "canary" as const, addr: addrs.get(b.id)!, weight: weights.canary[i]! })),
    ];
    const taken = new Set<Slot>();
    const plan: { slot: Slot; w: (typeof wanted)[number]; fresh: boolean }[] = [];
    const rest: typeof wanted = [];
    for (const w of wanted) {
      const slot = this.slots.find((s) => s.enabled && !taken.has(s) && s.label?.id === w.b.id && s.addr === w.addr && s.port === w.b.port && s.label.release === w.b.release);
      if (slot) {
        taken.add(slot);
        plan.push({ slot, w, fresh: false });
      } else rest.push(w);
    }
    const free = this.slots.filter((s) => !s.enabled && !taken.has(s)).sort((a, b) => a.freedAt - b.freedAt);
    const needed = this.slots.length + Math.max(0, rest.length - free.length);
    let reload = false;
    if (needed > this.slots.length) {
      const count = Math.max(needed, this.slots.length * 2);
      for (let index = this.slots.length; index < count; index++) {
        const slot: Slot = { index, addr: UNUSED_ADDR, port: UNUSED_PORT, weight: 1, enabled: false, label: undefined, freedAt: 0, last: { ...ZERO }, scur: 0 };
        this.slots.push(slot);
        free.push(slot);
      }
      reload = true;
    }
    for (const w of rest) {
      const slot = free.shift()!;
      taken.add(slot);
      plan.push({ slot, w, fresh: true });
    }
    const sticky = table.sticky?.header !== undefined ? { header: table.sticky.header } : table.sticky?.cookie !== undefined ? { cookie: table.sticky.cookie } : undefined;
    if (JSON.stringify(sticky ?? null) !== JSON.stringify(meta.sticky ?? null)) reload = true;

    const commands: string[] = [];
    const be = BACKEND;
    const now = Date.now();
    for (const { slot, w, fresh } of plan) {
      const label: Label = { id: w.b.id, release: w.b.release, host: w.b.host, addr: w.addr, role: w.role };
      const labelText = encodeLabel(label);
      const name = slotName(slot.index);
      if (fresh) {
        commands.push(`set server ${be}/${name} addr ${w.addr} port ${w.b.port}`, `set server ${be}/${name} weight ${w.weight}`, `set map ${meta.mapFile} ${name} ${labelText}`, `set server ${be}/${name} state ready`);
      } else {
        if (slot.weight !== w.weight) commands.push(`set server ${be}/${name} weight ${w.weight}`);
        if (!slot.label || encodeLabel(slot.label) !== labelText) commands.push(`set map ${meta.mapFile} ${name} ${labelText}`);
      }
      slot.addr = w.addr;
      slot.port = w.b.port;
      slot.weight = w.weight;
      slot.enabled = true;
      slot.label = label;
    }
    for (const slot of this.slots) {
      if (!slot.enabled || taken.has(slot)) continue;
      commands.push(`set server ${be}/${slotName(slot.index)} state maint`);
      slot.enabled = false;
      slot.freedAt = now;
    }
    this.table = normalizeTable(table);
    commands.push(`set map ${meta.mapFile} ${TABLE_KEY} ${encodeTable(this.table)}`);

    if (reload) {
      this.meta = { ...meta, slots: this.slots.length, ...(sticky ? { sticky } : {}) };
      if (!sticky) delete this.meta.sticky;
      await this.reload();
      return;
    }
    const answers: string[] = [];
    for (let i = 0; i < commands.length; i += BATCH) answers.push(await this.cmd(commands.slice(i, i + BATCH).join(";")));
    this.writeFiles();
    await this.verify(plan.map((p) => p.slot), answers.join("").trim());
    // Requests in flight on the slots just taken out, as they are now (what inFlight() and drained() report).
    await this.poll();
  }

  /** Reads the servers back: every planned slot serves with its address and weight, every other one is out of service. */
  private async verify(active: Slot[], answers: string): Promise<void> {
    const servers = parseServersState(await this.cmd(`show servers state ${BACKEND}`));
    const problems: string[] = [];
    for (const slot of this.slots) {
      const s = servers.find((x) => x.name === slotName(slot.index));
      if (!s) {
        problems.push(`${slotName(slot.index)} is missing`);
        continue;
      }
      if (active.includes(slot)) {
        if (!serving(s)) problems.push(`${slotName(slot.index)} (${slot.label?.id}) is not serving (op ${s.opState}, admin ${s.adminState})`);
        if (s.addr !== slot.addr || s.port !== slot.port) problems.push(`${slotName(slot.index)} (${slot.label?.id}) points at ${s.addr}:${s.port}, not ${slot.addr}:${slot.port}`);
        if (s.weight !== slot.weight) problems.push(`${slotName(slot.index)} (${slot.label?.id}) has weight ${s.weight}, not ${slot.weight}`);
      } else if (serving(s)) problems.push(`${slotName(slot.index)} still serves though no backend is assigned to it`);
    }
    if (problems.length > 0) {
      const said = answers
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !/^no need to change the addr/.test(l))
        .join("; ");
      throw new RouterError("haproxy", `HAProxy of ${this.where} did not take the route table: ${problems.join("; ")}${said ? ` (HAProxy said: ${said})` : ""}`);
    }
  }
}
