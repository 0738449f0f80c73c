// One rollout: the move of an environment's service from its stable release
// to a new one by the environment's strategy (rolling, blue-green, canary),
// with analysis at every canary step, the environment's checks once the new
// release has all the traffic, and the way back to the stable release when
// something fails or someone aborts.
//
// The rollout's progress (phase, step, weight) is written to the store after
// every move, so a restarted Slipway resumes it: the step in progress starts
// again from its beginning (its analysis interval restarts; metrics of the
// router that died with Slipway are gone). Reverting the state repository
// and sending alerts is the caller's part (controller.ts), on the outcome.
import type { Analysis, Strategy } from "../delivery/index.js";
import type { RolloutPhase, RolloutRecord, Store, Verdict } from "../store/index.js";

/** An instance of the service in this environment, as the rollout sees it. */
export interface SlotInstance {
  id: string;
  release: string;
  port: number;
  healthy: boolean;
}

/** What a rollout drives: the environment's instances and router for one service. */
export interface SlotRuntime {
  /** Live instances of a release (starting, healthy or restarting; not stopped). */
  instances(release: string): SlotInstance[];
  /** Starts `count` instances of a release and waits until each is healthy; throws RolloutFailure when one never is. */
  start(release: string, count: number): Promise<SlotInstance[]>;
  /** Points the router at these instances: all of `stable`, `canary.weight`% of requests to the canary ones. */
  route(stable: { release: string; ids: string[] }, canary?: { release: string; ids: string[]; weight: number }): Promise<void>;
  /** Waits until the router has no request in flight to these instances (they must already be out of the route), then stops them gracefully. */
  retire(ids: string[]): Promise<void>;
  /** Why a release's instances are not well (crashed, unhealthy), or undefined. */
  trouble(release: string): string | undefined;
  /** The router's stable URL, for checks. */
  url(): string;
  /** Serves these instances alone on `port` (blue-green's preview) until the returned function is called. */
  preview?(port: number, release: string, ids: string[]): Promise<{ url: string; close: () => Promise<void> }>;
}

export interface Measurement {
  verdict: Verdict;
  values: Record<string, number | null>;
  reason: string;
}

export interface CheckOutcome {
  ok: boolean;
  name: string;
  reason: string;
}

/** A command from `slipway promote` or `slipway abort`, seen while the rollout waits. */
export type Interrupt =
  | { kind: "promote" | "abort"; by: string; reason: string | null }
  | { kind: "trouble"; reason: string }
  /** Slipway is stopping: the rollout stops where it is, unfinished; the next start resumes it. */
  | { kind: "park" };

export interface RolloutDeps {
  store: Store;
  runtime: SlotRuntime;
  strategy: Strategy;
  /** Instances the service runs in this environment. */
  instances: number;
  /** Measures the analysis for `release` over the last `windowMs`. */
  measure: (analysis: Analysis, release: string, windowMs: number) => Promise<Measurement>;
  /** Runs the environment's checks against the router; empty when there are none. */
  checks: () => Promise<CheckOutcome[]>;
  /** Waits `ms` (forever when undefined), returning early with a command or trouble of `watch`. */
  wait: (ms: number | undefined, watch: string) => Promise<Interrupt | undefined>;
  /** Rolls back automatically on a failure (slipway.yml `rollback.automatic`); otherwise the rollout pauses. */
  automaticRollback: boolean;
  /** Tells people: an event in the store and, for pauses and failures, alerts. */
  notify: (kind: string, message: string, details?: unknown) => void;
}

export interface RolloutOutcome {
  phase: Extract<RolloutPhase, "succeeded" | "rolled-back" | "failed" | "aborted">;
  reason: string;
}

/** A failure that sends the rollout back to the stable release, with the reason in words. */
export class RolloutFailure extends Error {
  override readonly name = "RolloutFailure";
}

/** Thrown out of driveRollout when Slipway stops during a wait: the rollout stays unfinished in the store. */
export class RolloutParked extends Error {
  override readonly name = "RolloutParked";
}

class Aborted extends Error {
  constructor(readonly by: string, readonly why: string | null) {
    super(`aborted by ${by}${why ? `: ${why}` : ""}`);
  }
}

/** Drives the rollout from the step it is at to its end; returns how it ended (already written to the store). */
export async function driveRollout(record: RolloutRecord, deps: RolloutDeps): Promise<RolloutOutcome> {
  const r = new Drive(record, deps);
  return r.run();
}

class Drive {
  private record: RolloutRecord;
  private failures = 0;
  private consecutiveErrors = 0;
  /** Whether the new release got traffic (in this drive, or before a restart). */
  private routed: boolean;

  constructor(
    record: RolloutRecord,
    private readonly deps: RolloutDeps,
  ) {
    this.record = record;
    this.routed = record.weight > 0;
  }

  private get to(): string {
    return this.record.toRelease;
  }

  private get from(): string | null {
    return this.record.fromRelease;
  }

  private update(update: Parameters<Store["updateRollout"]>[1]): void {
    if (update.weight !== undefined && update.weight > 0) this.routed = true;
    this.record = this.deps.store.updateRollout(this.record.id, update);
  }

  private ids(release: string): string[] {
    return this.deps.runtime.instances(release).map((i) => i.id);
  }

  async run(): Promise<RolloutOutcome> {
    const { strategy } = this.deps;
    try {
      if (this.from === null || this.from === this.to) await this.replaceAll();
      else if (strategy.kind === "canary") await this.canary(strategy);
      else if (strategy.kind === "blue-green") await this.blueGreen(strategy);
      else await this.rolling(strategy);
      return this.finish("succeeded", `${this.to} runs with all the traffic`);
    } catch (err) {
      if (err instanceof Aborted) return this.rollBack("aborted", err.message);
      if (err instanceof RolloutFailure) {
        if (this.from === null || this.from === this.to) return this.failFirst(err.message);
        // Before the new release took any traffic, the stable release was never touched: the rollout failed.
        return this.rollBack(this.routed ? "rolled-back" : "failed", err.message);
      }
      throw err;
    }
  }

  /** Ensures `count` instances of the new release run and are healthy. */
  private async ensureNew(count: number): Promise<void> {
    const have = this.deps.runtime.instances(this.to).length;
    if (have < count) {
      this.deps.notify("instances", `starting ${count - have} instance(s) of ${this.to}`);
      await this.deps.runtime.start(this.to, count - have);
    }
  }

  /**
   * First deploy, or a new configuration of the same release: start the new
   * instances, check them, switch, retire the rest. On a failure the old
   * instances (if any) get the traffic back and the new ones are stopped.
   */
  private async replaceAll(): Promise<void> {
    const old = this.ids(this.from ?? this.to);
    let fresh: string[] = [];
    try {
      fresh = (await this.deps.runtime.start(this.to, this.deps.instances)).map((i) => i.id);
      await this.deps.runtime.route({ release: this.to, ids: fresh });
      this.update({ weight: 100 });
      await this.runChecks();
    } catch (err) {
      if (old.length > 0) await this.deps.runtime.route({ release: this.from ?? this.to, ids: old });
      if (fresh.length > 0) await this.deps.runtime.retire(fresh);
      throw err;
    }
    if (old.length > 0) await this.deps.runtime.retire(old);
  }

  private async canary(strategy: Extract<Strategy, { kind: "canary" }>): Promise<void> {
    const from = this.from as string;
    await this.ensureNew(this.deps.instances);
    for (let i = this.record.step; i < strategy.steps.length; i++) {
      const step = strategy.steps[i];
      if (!step) continue;
      this.update({ step: i, phase: "progressing" });
      if (step.kind === "pause") {
        const reason = step.duration === undefined ? "paused: waiting for `slipway promote`" : `paused for ${Math.round(step.duration / 1000)}s`;
        this.update({ phase: "paused", reason });
        this.deps.notify("paused", `${this.to} ${reason} at ${this.record.weight}%`);
        await this.waitFor(step.duration);
        continue;
      }
      await this.deps.runtime.route({ release: from, ids: this.ids(from) }, { release: this.to, ids: this.ids(this.to), weight: step.weight });
      this.update({ weight: step.weight });
      this.deps.notify("step", `${this.to} gets ${step.weight}% of requests (step ${i + 1} of ${strategy.steps.length})`);
      const interrupt = await this.waitFor(step.interval);
      if (interrupt === "promote") continue; // promoted by hand: the step's analysis is skipped
      if (strategy.analysis) await this.analyse(strategy.analysis, i, step.interval);
    }
    await this.deps.runtime.route({ release: this.to, ids: this.ids(this.to) });
    this.update({ weight: 100, step: strategy.steps.length });
    await this.runChecks();
    await this.deps.runtime.retire(this.ids(from));
  }

  private async blueGreen(strategy: Extract<Strategy, { kind: "blue-green" }>): Promise<void> {
    const from = this.from as string;
    await this.ensureNew(this.deps.instances);
    if (this.record.step === 0) {
      // Before the switch: the new release alone on its preview port, if one is set, for people and tests to try.
      const preview = strategy.previewPort !== undefined && this.deps.runtime.preview ? await this.deps.runtime.preview(strategy.previewPort, this.to, this.ids(this.to)) : undefined;
      if (preview) this.deps.notify("preview", `${this.to} answers on its preview URL ${preview.url} until the switch`);
      try {
        if (!strategy.autoPromote) {
          this.update({ phase: "paused", reason: "paused before the switch: waiting for `slipway promote`" });
          this.deps.notify("paused", `${this.to} is running beside ${from}, waiting for \`slipway promote\` to switch`);
          await this.waitFor(undefined);
        }
      } finally {
        await preview?.close();
      }
      this.update({ step: 1, phase: "progressing" });
    }
    await this.deps.runtime.route({ release: this.to, ids: this.ids(this.to) });
    this.update({ weight: 100 });
    this.deps.notify("switched", `switched all traffic from ${from} to ${this.to}; ${from} stays warm for ${Math.round(strategy.scaleDownDelay / 1000)}s`);
    const started = Date.now();
    await this.runChecks();
    if (strategy.analysis) {
      const window = Math.max(1000, strategy.scaleDownDelay - (Date.now() - started));
      await this.waitFor(window);
      await this.analyse(strategy.analysis, 1, window);
    } else {
      const left = strategy.scaleDownDelay - (Date.now() - started);
      if (left > 0) await this.waitFor(left);
    }
    this.update({ step: 2 });
    await this.deps.runtime.retire(this.ids(from));
  }

  /**
   * Kubernetes' rolling update: never more than `n + max_surge` instances
   * (surge rounded up from a percentage) nor fewer than `n - max_unavailable`
   * healthy ones (rounded down; when both come to 0, one may be unavailable).
   * Each round starts what the surge allows, then retires what availability
   * allows, traffic split by instance count; new instances count once healthy.
   */
  private async rolling(strategy: Extract<Strategy, { kind: "rolling" }>): Promise<void> {
    const from = this.from as string;
    const n = this.deps.instances;
    const surge = "count" in strategy.maxSurge ? strategy.maxSurge.count : Math.ceil((n * strategy.maxSurge.percent) / 100);
    let unavailable = "count" in strategy.maxUnavailable ? strategy.maxUnavailable.count : Math.floor((n * strategy.maxUnavailable.percent) / 100);
    if (surge === 0 && unavailable === 0) unavailable = 1;
    for (;;) {
      let fresh = this.ids(this.to);
      const old = this.ids(from);
      if (fresh.length >= n && old.length === 0) break;
      const starting = Math.max(0, Math.min(n - fresh.length, n + surge - (fresh.length + old.length)));
      if (starting > 0) await this.deps.runtime.start(this.to, starting);
      fresh = this.ids(this.to);
      const retiring = old.slice(0, Math.max(0, Math.min(old.length, fresh.length + old.length - (n - unavailable))));
      if (starting === 0 && retiring.length === 0) throw new RolloutFailure(`rolling update cannot go on: ${fresh.length} new and ${old.length} old instance(s), max_surge ${surge}, max_unavailable ${unavailable}`);
      const keep = old.filter((id) => !retiring.includes(id));
      const weight = keep.length === 0 ? 100 : Math.round((100 * fresh.length) / (fresh.length + keep.length));
      if (keep.length === 0) await this.deps.runtime.route({ release: this.to, ids: fresh });
      else if (fresh.length === 0) await this.deps.runtime.route({ release: from, ids: keep });
      else await this.deps.runtime.route({ release: from, ids: keep }, { release: this.to, ids: fresh, weight });
      this.update({ weight, step: fresh.length });
      this.deps.notify("step", `${fresh.length} of ${n} instance(s) run ${this.to} (${weight}% of requests)`);
      if (retiring.length > 0) await this.deps.runtime.retire(retiring);
      const trouble = this.deps.runtime.trouble(this.to);
      if (trouble) throw new RolloutFailure(trouble);
    }
    await this.runChecks();
  }

  /** Waits, handling commands: abort throws, promote returns "promote", trouble of the new release fails the rollout. */
  private async waitFor(ms: number | undefined): Promise<"promote" | undefined> {
    const interrupt = await this.deps.wait(ms, this.to);
    if (interrupt === undefined) return undefined;
    if (interrupt.kind === "abort") throw new Aborted(interrupt.by, interrupt.reason);
    if (interrupt.kind === "trouble") throw new RolloutFailure(interrupt.reason);
    if (interrupt.kind === "park") throw new RolloutParked(`${this.to} parked at step ${this.record.step + 1}`);
    this.deps.notify("promoted", `${interrupt.by} promoted ${this.to}${interrupt.reason ? `: ${interrupt.reason}` : ""}`);
    if (this.record.phase === "paused") this.update({ phase: "progressing", reason: null });
    return "promote";
  }

  /** One measurement, judged as Argo Rollouts does: failures over failure_limit or errors over consecutive_error_limit fail; inconclusive pauses. */
  private async analyse(analysis: Analysis, step: number, windowMs: number): Promise<void> {
    const m = await this.deps.measure(analysis, this.to, windowMs);
    this.deps.store.addMeasurement({ rolloutId: this.record.id, step, verdict: m.verdict, measured: m.values, reason: m.reason });
    this.deps.notify("analysis", `${this.to} step ${step + 1}: ${m.verdict}: ${m.reason}`, { verdict: m.verdict, values: m.values });
    if (m.verdict === "pass") {
      this.consecutiveErrors = 0;
      return;
    }
    if (m.verdict === "error") {
      this.consecutiveErrors++;
      if (this.consecutiveErrors > analysis.consecutiveErrorLimit) {
        throw new RolloutFailure(`analysis could not measure ${this.consecutiveErrors} times in a row (consecutive_error_limit ${analysis.consecutiveErrorLimit}): ${m.reason}`);
      }
      return;
    }
    this.consecutiveErrors = 0;
    if (m.verdict === "fail") {
      this.failures++;
      if (this.failures > analysis.failureLimit) await this.failed(`analysis failed: ${m.reason}`);
      return;
    }
    // Inconclusive: never a pass. Pause until someone decides.
    const reason = `inconclusive: ${m.reason.replace(/: inconclusive$/, "")}; \`slipway promote\` to go on or \`slipway abort\` to roll back`;
    this.update({ phase: "paused", reason });
    this.deps.notify("inconclusive", `${this.to} paused at ${this.record.weight}%: ${reason}`, { alert: true });
    await this.waitFor(undefined);
  }

  /** A failure: back to stable when rollback is automatic, else a pause with the reason until someone decides. */
  private async failed(reason: string): Promise<void> {
    if (this.deps.automaticRollback) throw new RolloutFailure(reason);
    const paused = `${reason}; automatic rollback is off: \`slipway abort\` to roll back or \`slipway promote\` to go on`;
    this.update({ phase: "paused", reason: paused });
    this.deps.notify("paused", `${this.to} paused at ${this.record.weight}%: ${paused}`, { alert: true });
    await this.waitFor(undefined);
  }

  private async runChecks(): Promise<void> {
    const results = await this.deps.checks();
    for (const c of results) this.deps.notify("check", `check ${c.name}: ${c.ok ? "passed" : "failed"}: ${c.reason}`, c);
    const bad = results.find((c) => !c.ok);
    if (bad) await this.failed(`check ${bad.name} failed: ${bad.reason}`);
  }

  /** Traffic back to the stable release (started again where needed), the new release stopped. */
  private async rollBack(phase: "rolled-back" | "aborted" | "failed", reason: string): Promise<RolloutOutcome> {
    const from = this.from as string;
    const { runtime } = this.deps;
    const missing = this.deps.instances - runtime.instances(from).length;
    if (missing > 0) {
      try {
        await runtime.start(from, missing);
      } catch (err) {
        // Keep what runs: the new release keeps its share rather than no instance at all.
        const why = `${reason}; rolling back failed too: ${(err as Error).message}`;
        return this.finish("failed", why);
      }
    }
    await runtime.route({ release: from, ids: this.ids(from) });
    this.update({ weight: 0 });
    this.deps.notify("traffic-back", `all traffic back to ${from}; stopping ${this.to}`);
    await runtime.retire(this.ids(this.to));
    return this.finish(phase, reason);
  }

  /** A first deploy (or a configuration change) that failed: replaceAll already put things back; nothing older to return to. */
  private failFirst(reason: string): RolloutOutcome {
    return this.finish("failed", reason);
  }

  private finish(phase: RolloutOutcome["phase"], reason: string): RolloutOutcome {
    this.update({ phase, reason, ...(phase === "succeeded" ? { weight: 100 } : {}) });
    return { phase, reason };
  }
}
