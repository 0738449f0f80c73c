// One environment's service on this host: its supervised instances (the
// process target) behind its router. Rollouts drive it through SlotRuntime;
// the control loop also asks it for drift (what runs vs what is desired) and
// to heal it.
import type { Resolve } from "./values.js";
import type { Store } from "../store/index.js";
import { materializeRelease, type InstanceStatus, type ProcessSupervisor } from "../targets/index.js";
import { createRouter, type Backend, type RouteTable, type TrafficRouter } from "../traffic/index.js";
import { RolloutFailure, type SlotInstance, type SlotRuntime } from "./rollout.js";
import { storedRelease } from "./promotion.js";
import type { EffectiveService } from "./service-config.js";

export interface ServiceSlotOptions {
  env: string;
  service: string;
  store: Store;
  dataDir: string;
  supervisor: ProcessSupervisor;
  router: TrafficRouter;
  run: EffectiveService;
  resolve: Resolve;
  /** Restart crashed instances (the environment's `self_heal`). */
  restart: boolean;
  /** slipway.yml's `sticky`: the same header or cookie value keeps to one release while the weights stay. */
  sticky?: { header?: string; cookie?: string };
}

const GONE = new Set(["stopping", "stopped", "failed"]);
/** How long retire waits for requests in flight before stopping an instance anyway. */
const DRAIN_LIMIT_MS = 30_000;

export class ServiceSlot implements SlotRuntime {
  private started: Promise<void> | undefined;
  /** What this slot last told the router, to compare with what the router does (drift). */
  private table: RouteTable | undefined;

  constructor(private readonly o: ServiceSlotOptions) {}

  /** Starts the router (once). */
  ready(): Promise<void> {
    this.started ??= this.o.router.start();
    return this.started;
  }

  private mine(): InstanceStatus[] {
    return this.o.supervisor.list().filter((i) => i.env === this.o.env && i.service === this.o.service && !GONE.has(i.state));
  }

  instances(release: string): SlotInstance[] {
    return this.mine()
      .filter((i) => i.release === release)
      .map((i) => ({ id: i.id, release: i.release, port: i.port, healthy: i.state === "healthy" }));
  }

  async start(release: string, count: number): Promise<SlotInstance[]> {
    const { env, service, store, dataDir, run } = this.o;
    const record = storedRelease(store, service, release);
    if (!record) throw new RolloutFailure(`${release} is not a release of ${service} in this Slipway's store`);
    let dir: string;
    try {
      dir = await materializeRelease(dataDir, record);
    } catch (err) {
      throw new RolloutFailure(`cannot unpack ${release}: ${(err as Error).message}`);
    }
    let environment: Record<string, string>;
    try {
      environment = Object.fromEntries(Object.entries(run.variables).map(([k, v]) => [k, this.o.resolve(v)]));
    } catch (err) {
      throw new RolloutFailure(`${service} in ${env}: ${(err as Error).message}`);
    }
    const started: InstanceStatus[] = [];
    try {
      for (let k = 0; k < count; k++) {
        started.push(
          await this.o.supervisor.start({
            env,
            service,
            release,
            digest: record.digest,
            dir,
            command: run.command,
            cwd: run.cwd,
            environment,
            health: run.health,
            stopTimeout: run.stopTimeout,
            restart: this.o.restart,
          }),
        );
      }
      const results = await Promise.all(started.map((s) => this.o.supervisor.waitHealthy(s.id, run.health.startTimeout)));
      const bad = results.findIndex((r) => !r.healthy);
      if (bad >= 0) throw new RolloutFailure(`instance ${started[bad]?.id} of ${release} did not become healthy: ${results[bad]?.reason}`);
    } catch (err) {
      await Promise.all(started.map((s) => this.o.supervisor.stop(s.id).catch(() => undefined)));
      throw err;
    }
    const ids = new Set(started.map((s) => s.id));
    return this.instances(release).filter((i) => ids.has(i.id));
  }

  private backends(ids: string[]): Backend[] {
    const byId = new Map(this.mine().map((i) => [i.id, i]));
    return ids.flatMap((id) => {
      const i = byId.get(id);
      return i ? [{ id, release: i.release, host: "127.0.0.1", port: i.port }] : [];
    });
  }

  async route(stable: { release: string; ids: string[] }, canary?: { release: string; ids: string[]; weight: number }): Promise<void> {
    const table: RouteTable = {
      stable: { release: stable.release, backends: this.backends(stable.ids) },
      ...(canary ? { canary: { release: canary.release, backends: this.backends(canary.ids), weight: canary.weight } } : {}),
      ...(this.o.sticky ? { sticky: this.o.sticky } : {}),
    };
    await this.o.router.apply(table);
    this.table = table;
  }

  async retire(ids: string[]): Promise<void> {
    const deadline = Date.now() + DRAIN_LIMIT_MS;
    while (ids.some((id) => this.o.router.inFlight(id) > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(ids.map((id) => this.o.supervisor.stop(id).catch(() => undefined)));
  }

  trouble(release: string): string | undefined {
    const bad = this.o.supervisor
      .list()
      .find((i) => i.env === this.o.env && i.service === this.o.service && i.release === release && (i.state === "crashed" || i.state === "unhealthy" || i.state === "backoff" || i.state === "failed"));
    return bad ? `instance ${bad.id} of ${release} is ${bad.state}${bad.reason ? `: ${bad.reason}` : ""}` : undefined;
  }

  url(): string {
    return `http://127.0.0.1:${this.o.router.port}`;
  }

  /** Blue-green's preview: a router of the same kind on `port` sending everything to these instances, until closed. */
  async preview(port: number, release: string, ids: string[]): Promise<{ url: string; close: () => Promise<void> }> {
    const router = createRouter({ kind: this.o.router.kind, env: this.o.env, service: `${this.o.service}-preview`, port, dataDir: this.o.dataDir });
    await router.start();
    await router.apply({ stable: { release, backends: this.backends(ids) } });
    return { url: `http://127.0.0.1:${router.port}`, close: () => router.close() };
  }

  /** Differences between what runs and `release` with `count` instances, all the traffic, in words; empty when in sync. */
  async drift(release: string, count: number): Promise<string[]> {
    const problems: string[] = [];
    const live = this.instances(release);
    if (live.length < count) problems.push(`${count - live.length} of ${count} instance(s) of ${release} are not running`);
    const others = this.mine().filter((i) => i.release !== release);
    if (others.length > 0) problems.push(`${others.map((i) => `${i.id} (${i.release})`).join(", ")} run${others.length === 1 ? "s" : ""} though ${release} is desired`);
    const strays = this.strays();
    if (strays.length > 0) problems.push(`process(es) ${strays.map((s) => s.pid).join(", ")} of ${this.o.service} run without Slipway's supervision`);
    const actual = await this.o.router.current();
    const want = new Set(live.map((i) => i.id));
    const routed = actual.stable.backends.map((b) => b.id);
    if (actual.stable.release !== release || (actual.canary && actual.canary.weight > 0 && actual.canary.backends.length > 0)) {
      problems.push(`the router sends traffic to ${describe(actual)}, not all to ${release}`);
    } else if (routed.length !== want.size || routed.some((id) => !want.has(id))) {
      problems.push(`the router's backends (${routed.join(", ") || "none"}) are not the running instances of ${release} (${[...want].join(", ") || "none"})`);
    }
    return problems;
  }

  /** Processes of this service the supervisor does not run: marked for this environment, or working in one of the service's release folders (started by hand). */
  private strays(): { pid: number }[] {
    return this.o.supervisor.strays().filter((s) => s.service === this.o.service && (s.env === undefined || s.env === this.o.env));
  }

  /** Makes what runs equal to `release` with `count` instances and all the traffic. */
  async heal(release: string, count: number): Promise<void> {
    const missing = count - this.instances(release).length;
    if (missing > 0) await this.start(release, missing);
    const strays = this.strays();
    for (const s of strays) await this.o.supervisor.killStray(s.pid);
    const extra = this.instances(release).slice(count).map((i) => i.id);
    const ids = this.instances(release).map((i) => i.id).filter((id) => !extra.includes(id));
    await this.route({ release, ids });
    const others = this.mine().filter((i) => i.release !== release).map((i) => i.id);
    await this.retire([...others, ...extra]);
  }

  /** Routes all traffic to the running instances of `release`, if any (a router started after a restart). */
  async restore(release: string): Promise<void> {
    const ids = this.instances(release).map((i) => i.id);
    if (ids.length > 0) await this.route({ release, ids });
  }

  /** Stops every instance and empties the router (nothing desired any more). */
  async stopAll(): Promise<void> {
    const ids = this.mine().map((i) => i.id);
    await this.o.router.apply({ stable: { release: "-", backends: [] } });
    await this.retire(ids);
  }
}

function describe(t: RouteTable): string {
  const parts = [`${t.stable.release} (${t.stable.backends.length} backend(s))`];
  if (t.canary) parts.push(`${t.canary.release} at ${t.canary.weight}%`);
  return parts.join(" and ");
}
