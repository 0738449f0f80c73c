// The control loop (`slipway up`): for every environment and service it
// compares the desired state (the state repository) with what runs (the
// deployments in the store, the supervised processes, the router) and
// converges: it promotes releases along the environment chain through their
// gates, drives rollouts, rolls back and reverts Git when one fails, and
// detects and heals drift.
//
// One tick every `intervalMs` (default 10 s), and at once when the state
// repository's main branch moves. Rollouts run beside the ticks, one per
// environment and service; the tick leaves a service alone while its rollout
// runs.
import { watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { measure, runCheck, sendAlert, startLoad, type DeliveryConfig, type EnvironmentSpec, type LoadHandle } from "../delivery/index.js";
import { StateRepositoryError, type DesiredEntry, type StateRepository } from "../gitops/index.js";
import { ReleaseSchemaCache, type Phase } from "../migrations/index.js";
import type { SecretStore } from "../secrets/index.js";
import type { DeliveryEvent, ReleaseRecord, RolloutRecord, Store } from "../store/index.js";
import { ProcessSupervisor } from "../targets/index.js";
import { createRouter, type TrafficRouter } from "../traffic/index.js";
import { applyReleaseMigrations, describeMigrationRun } from "./migrate.js";
import { checkGates, checkMigrationGate, commitPromotion, storedRelease, nextRelease, releaseName } from "./promotion.js";
import { driveRollout, RolloutParked, type Interrupt, type RolloutOutcome } from "./rollout.js";
import { configHash, effectiveService, type EffectiveService } from "./service-config.js";
import { ServiceSlot } from "./slot.js";
import { makeResolver, type Resolve } from "./values.js";

export interface ControlLoopOptions {
  dataDir: string;
  store: Store;
  stateRepo: StateRepository;
  /** slipway.yml, loaded; `reloadConfig` is called each tick when given. */
  config: DeliveryConfig;
  reloadConfig?: () => Promise<DeliveryConfig | undefined>;
  /** The repository whose commits the releases come from: the migration gate reads their migrations there (no migration gate without it). */
  repoDir?: string;
  secrets?: SecretStore;
  intervalMs?: number;
  /** The router of every environment, over slipway.yml's `router` (`slipway up --router`). */
  router?: "builtin" | "haproxy";
  /** The name automatic promotions and rollbacks are committed by. */
  actor?: string;
  /** Every event, as it is recorded (the CLI narrates them). */
  onEvent?: (event: DeliveryEvent) => void;
  /** Runs a workflow file as a check (`checks: - workflow: e2e.yml`). */
  runWorkflow?: (workflow: string, inputs: Record<string, string>, env: Record<string, string>) => Promise<{ ok: boolean; reason: string; runId?: number }>;
  now?: () => Date;
  /** Requests per second sent to a service's router while it rolls out (demos, `slipway up --traffic`); none by default. */
  traffic?: number;
  /** `slipway up --approve ENV`: approve, as this person, every release waiting for these environments' approval. */
  approveAs?: { envs: string[]; by: string; groups: string[] };
}

interface Target {
  env: string;
  service: string;
  slot: ServiceSlot;
  router: TrafficRouter;
  driving?: Promise<void>;
  /** The last drift report, so an unchanged one is not repeated every tick. */
  drift?: string;
  /** Gate reasons last reported per release, so a waiting promotion is reported once. */
  waiting?: string;
  /** The router was started and given the stable release's instances. */
  started?: boolean;
  /** The last migration failure reported, so a retry that fails the same way is not reported again every tick. */
  migrationFailure?: string;
  /** The deployed release's contract migrations still to apply: retried with backoff until they are. */
  contract?: PendingContract;
}

interface PendingContract {
  release: string;
  failures: number;
  /** Date.now() of the next attempt. */
  next: number;
  /** The failure alert was sent (a success then sends the resolve). */
  alerted: boolean;
}

/** The longest wait between two attempts at a failing contract migration. */
const CONTRACT_RETRY_MAX_MS = 10 * 60_000;

export class ControlLoop {
  private readonly o: Required<Pick<ControlLoopOptions, "intervalMs" | "actor" | "now">> & ControlLoopOptions;
  private config: DeliveryConfig;
  readonly supervisor: ProcessSupervisor;
  private readonly targets = new Map<string, Target>();
  /** What the migration gate read with git, per commit and folder (a commit never changes): not read again every tick. */
  private readonly migrationReads = new ReleaseSchemaCache();
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** After stop(): the store may be closed by the caller; events are dropped. */
  private closed = false;

  constructor(options: ControlLoopOptions) {
    this.o = { intervalMs: 10_000, actor: "slipway", now: () => new Date(), ...options };
    this.config = options.config;
    this.supervisor = new ProcessSupervisor({
      dataDir: options.dataDir,
      onEvent: (e) => this.onSupervisorEvent(e),
    });
  }

  /** Re-adopts the processes of a previous run, resumes unfinished rollouts, and starts ticking. */
  async start(): Promise<void> {
    const adoption = await this.supervisor.adopt();
    for (const i of adoption.adopted) this.event(i.env, i.service, "adopted", `adopted instance ${i.id} of ${i.release} (pid ${i.pid}) left running by the previous Slipway`);
    for (const i of adoption.lost) this.event(i.env, i.service, "lost", `instance ${i.id} of ${i.release} stopped while Slipway was down`);
    if (adoption.killed.length > 0) this.event("-", "-", "orphans", `stopped ${adoption.killed.length} process(es) started by a previous Slipway that it never recorded`);
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
    try {
      this.watcher = watch(join(this.o.stateRepo.gitDir, "refs", "heads"), () => void this.tick());
    } catch {
      // A remote state repository: polled every interval instead.
    }
  }

  /**
   * Stops ticking and waits for running rollouts to reach a pause point.
   * Service processes keep running (the next start adopts them), and so does
   * HAProxy with its table (the next start re-attaches); the built-in router
   * stops with this process.
   */
  async stop(): Promise<void> {
    await this.halt("detach");
  }

  /** Everything: the routers (HAProxy too) and the service processes stop as well (tests). */
  async shutdown(): Promise<void> {
    await this.halt("close");
    await this.supervisor.stopAll();
  }

  private async halt(routers: "detach" | "close"): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
    await this.ticking;
    // Rollouts park at their next wait; a heal or a start in progress ends by itself.
    await Promise.all([...this.targets.values()].map((t) => t.driving));
    for (const t of this.targets.values()) await (routers === "close" ? t.router.close() : t.router.detach());
    this.supervisor.close();
    this.closed = true;
  }

  /** One reconciliation pass; concurrent calls run one more pass after the current one. */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (err) {
          this.event("-", "-", "error", `reconciliation failed: ${(err as Error).message}`);
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** Resolves when no rollout is running (tests). */
  async idle(): Promise<void> {
    for (;;) {
      const driving = [...this.targets.values()].map((t) => t.driving).filter((d) => d !== undefined);
      if (driving.length === 0 && !this.ticking) return;
      await Promise.all([...driving, this.ticking]);
    }
  }

  /** The routers of every environment's services (for `/metrics`). */
  routers(): TrafficRouter[] {
    return [...this.targets.values()].map((t) => t.router);
  }

  target(env: string, service: string): Target | undefined {
    return this.targets.get(`${env}/${service}`);
  }

  private async pass(): Promise<void> {
    if (this.o.reloadConfig) {
      const fresh = await this.o.reloadConfig();
      if (fresh) this.config = fresh;
    }
    let desired = await this.o.stateRepo.readDesired();
    for (const d of desired.diagnostics) this.event("-", "-", "invalid-state", `${d.file}:${d.line}:${d.column}: ${d.message}`);
    if (await this.promote(desired.states)) desired = await this.o.stateRepo.readDesired();
    for (const env of this.config.environmentOrder) {
      for (const service of Object.keys(this.config.services)) {
        const entry = desired.states.find((s) => s.env === env && s.service === service);
        await this.reconcile(env, service, entry);
      }
    }
  }

  // ---- promotion along the environment chain ----------------------------------------------

  /** Commits automatic promotions whose gates are open; true when it committed one. */
  private async promote(states: DesiredEntry[]): Promise<boolean> {
    let committed = false;
    for (const envName of this.config.environmentOrder) {
      const env = this.config.environments[envName];
      // auto: deploy at once (continuous deployment); approval: deploy once approved (continuous delivery); neither: `slipway promote` only.
      if (!env || (!env.auto && !env.approval)) continue;
      for (const service of Object.keys(this.config.services)) {
        if (this.o.store.activeRollout(envName, service)) continue;
        const desired = states.find((s) => s.env === envName && s.service === service)?.state;
        const deployment = this.o.store.getDeployment(envName, service);
        if (desired && deployment?.digest !== desired.digest) continue; // the last promotion is not deployed yet
        const release = nextRelease(this.o.store, env, service, desired);
        if (!release) continue;
        const target = this.ensureTarget(envName, service);
        const migrations = this.o.repoDir ? await checkMigrationGate(this.o.store, this.config, env, release, this.o.repoDir, this.migrationReads) : undefined;
        const check = () =>
          checkGates(this.o.store, env, release, { now: this.o.now(), ...(migrations ? { migrations } : {}), ...(this.o.repoDir ? { supplyChain: { repoRoot: this.o.repoDir } } : {}) });
        let gates = check();
        const approver = this.o.approveAs;
        if (!gates.open && env.approval && approver?.envs.includes(envName)) {
          this.o.store.putApproval({ env: envName, release: releaseName(release), by: approver.by, groups: approver.groups, decision: "approve", comment: "approved with slipway up --approve" });
          this.event(envName, service, "approved", `${approver.by} approved ${releaseName(release)} for ${envName} (slipway up --approve ${envName})`);
          gates = check();
        }
        if (!gates.open) {
          const why = `${releaseName(release)} waits for ${envName}: ${gates.reasons.join("; ")}`;
          if (target && target.waiting !== why) this.event(envName, service, "waiting", why, { release: releaseName(release), awaitingApproval: gates.awaitingApproval });
          if (target) target.waiting = why;
          continue;
        }
        if (target) target.waiting = undefined;
        const reason = env.after.length === 0 ? `new release ${releaseName(release)}` : `${releaseName(release)} succeeded in ${env.after.join(", ")}`;
        const result = await commitPromotion(this.o.stateRepo, this.config, { env: envName, release, actor: this.o.actor, reason, approvals: gates.approvals });
        this.event(envName, service, "promoted", `promoted ${releaseName(release)} to ${envName} (state commit ${result.commit.slice(0, 12)}): ${reason}`, { commit: result.commit });
        committed = true;
      }
    }
    return committed;
  }

  // ---- reconciliation of one environment's service ----------------------------------------

  private ensureTarget(env: string, service: string): Target | undefined {
    const key = `${env}/${service}`;
    const existing = this.targets.get(key);
    if (existing) return existing;
    const spec = this.config.environments[env];
    if (!spec || !this.config.services[service]) return undefined;
    const eff = effectiveService(this.config, env, service);
    const deployment = this.o.store.getDeployment(env, service);
    const port = eff.port ?? deployment?.port ?? undefined;
    const router = createRouter({ kind: this.o.router ?? spec.router, env, service, port: port ?? 0, dataDir: this.o.dataDir });
    const slot = new ServiceSlot({
      env,
      service,
      store: this.o.store,
      dataDir: this.o.dataDir,
      supervisor: this.supervisor,
      router,
      run: eff,
      resolve: this.resolver(env),
      restart: spec.selfHeal,
      ...(spec.sticky ? { sticky: "header" in spec.sticky ? { header: spec.sticky.header } : { cookie: spec.sticky.cookie } } : {}),
    });
    const target: Target = { env, service, slot, router };
    this.targets.set(key, target);
    return target;
  }

  private async reconcile(env: string, service: string, entry: DesiredEntry | undefined): Promise<void> {
    const spec = this.config.environments[env];
    if (!spec) return;
    const deployment = this.o.store.getDeployment(env, service);
    if (!entry && !deployment?.release) return; // nothing desired, nothing runs
    const target = this.ensureTarget(env, service);
    if (!target || target.driving) return;
    if (!target.started) {
      await target.slot.ready();
      // A new router (Slipway restarted): the stable release's running instances get the traffic at once.
      if (deployment?.release) await target.slot.restore(deployment.release);
      // A contract migration may have been left pending by the previous Slipway (stopped, or failing): try it again.
      if (deployment?.release && entry?.state.release === deployment.release) target.contract = { release: deployment.release, failures: 0, next: 0, alerted: false };
      target.started = true;
    }
    if (deployment?.port !== target.router.port) {
      this.o.store.putDeployment({ env, service, release: deployment?.release ?? null, digest: deployment?.digest ?? null, configHash: deployment?.configHash ?? null, port: target.router.port });
    }

    const active = this.o.store.activeRollout(env, service);
    if (active) {
      this.event(env, service, "resumed", `resuming the rollout of ${active.toRelease} at step ${active.step + 1} (${active.weight}%): the step starts again`);
      this.drive(target, active, spec);
      return;
    }
    if (!entry) {
      this.report(target, spec, `nothing is desired for ${service} in ${env}, but ${deployment?.release ?? "a release"} runs`, async () => {
        await target.slot.stopAll();
        this.o.store.putDeployment({ env, service, release: null, digest: null, configHash: null, port: target.router.port });
      });
      return;
    }
    const eff = effectiveService(this.config, env, service);
    const hash = configHash(eff);
    const want = entry.state;
    if (deployment?.digest !== want.digest || deployment.release !== want.release || deployment.configHash !== want.configHash) {
      if (want.configHash !== hash && deployment?.digest === want.digest) {
        // The state repository asks for a configuration slipway.yml does not have (or the reverse).
        this.report(target, spec, `the state repository's config hash for ${service} in ${env} differs from slipway.yml's; promote again to record the current configuration`, undefined);
        return;
      }
      const release = storedRelease(this.o.store, service, want.release);
      if (!release || release.digest !== want.digest) {
        this.report(target, spec, `the state repository asks for ${want.release} (${want.digest.slice(0, 19)}…), which this Slipway does not have; make it with \`slipway release create\` or fix the state file`, undefined);
        return;
      }
      // Expand and data migrations first: the release running now keeps working with them. Retried every tick until they apply.
      if (!(await this.migrate(target, spec, release, ["expand", "data"], "before the rollout"))) return;
      const history = await this.o.stateRepo.history(env);
      const commit = history.find((h) => h.service === service)?.commit ?? null;
      const record = this.o.store.createRollout({
        env,
        service,
        fromRelease: deployment?.release ?? null,
        fromDigest: deployment?.digest ?? null,
        toRelease: want.release,
        toDigest: want.digest,
        strategy: deployment?.release ? spec.strategy.kind : "initial",
        stateCommit: commit,
      });
      const how = deployment?.release ? `${spec.strategy.kind} from ${deployment.release}` : "first deploy";
      this.event(env, service, "rollout-started", `rolling out ${want.release} to ${env} (${how})`, { rollout: record.id });
      this.drive(target, record, spec);
      return;
    }
    if (target.contract && (target.contract.release !== want.release || Date.now() >= target.contract.next)) await this.applyContract(target, spec);
    await this.checkDrift(target, spec, want.release, eff);
  }

  private drive(target: Target, record: RolloutRecord, spec: EnvironmentSpec): void {
    const { env, service, slot } = target;
    const eff = effectiveService(this.config, env, service);
    const resolve = this.resolver(env);
    const traffic: LoadHandle | undefined = this.o.traffic && record.fromRelease ? startLoad({ url: slot.url(), rps: this.o.traffic, connections: 16 }) : undefined;
    const run = driveRollout(record, {
      store: this.o.store,
      runtime: slot,
      strategy: spec.strategy,
      instances: eff.instances,
      automaticRollback: spec.rollback.automatic,
      measure: async (analysis, release, windowMs) => {
        const m = await measure(analysis, { env, service, release, windowMs }, { builtin: (r, w) => target.router.stats(r, w), resolve });
        return { verdict: m.verdict, values: m.values, reason: m.reason };
      },
      checks: async () => {
        const results = [];
        for (const check of spec.checks) {
          const r = await runCheck(check, {
            baseUrl: slot.url(),
            environment: env,
            release: record.toRelease,
            ...(this.o.runWorkflow ? { runWorkflow: this.o.runWorkflow } : {}),
            healthProbe: async () => {
              const trouble = slot.trouble(record.toRelease);
              return trouble ? { ok: false, reason: trouble } : { ok: true };
            },
          });
          results.push({ ok: r.ok, name: r.name, reason: r.reason });
          if (!r.ok) break;
        }
        return results;
      },
      wait: (ms, watchRelease) => this.wait(target, ms, watchRelease),
      notify: (kind, message, details) => {
        this.event(env, service, kind, message, details);
        if ((details as { alert?: boolean } | undefined)?.alert) void this.alert(spec, "trigger", env, service, record.toRelease, message);
      },
    });
    target.driving = run
      .then((outcome) => this.finishRollout(target, spec, record, outcome))
      .catch((err: unknown) => {
        if (err instanceof RolloutParked) return;
        this.event(env, service, "error", `the rollout of ${record.toRelease} stopped on an unexpected error: ${(err as Error).message}`);
      })
      .finally(async () => {
        if (traffic) {
          const r = await traffic.stop();
          this.event(env, service, "traffic", `generated traffic during the rollout: ${r.completed} requests, ${r.errors} errors (${(r.errorRate * 100).toFixed(1)}%), p99 ${r.latency.p99?.toFixed(1) ?? "-"} ms`);
        }
        target.driving = undefined;
        if (!this.stopped) void this.tick();
      });
  }

  /** Waits for `ms`, returning early on a command for this service or trouble with `release`'s instances. */
  private async wait(target: Target, ms: number | undefined, release: string): Promise<Interrupt | undefined> {
    const end = ms === undefined ? Infinity : Date.now() + ms;
    for (;;) {
      if (this.stopped) return { kind: "park" }; // the next Slipway resumes the rollout
      const command = this.o.store.takeCommands(target.env, target.service)[0];
      if (command) return { kind: command.kind, by: command.by, reason: command.reason };
      const trouble = target.slot.trouble(release);
      if (trouble) return { kind: "trouble", reason: trouble };
      const left = end - Date.now();
      if (left <= 0) return undefined;
      await new Promise((r) => setTimeout(r, Math.min(left, 200)));
    }
  }

  private async finishRollout(target: Target, spec: EnvironmentSpec, record: RolloutRecord, outcome: RolloutOutcome): Promise<void> {
    const { env, service } = target;
    if (outcome.phase === "succeeded") {
      const eff = effectiveService(this.config, env, service);
      this.o.store.putDeployment({ env, service, release: record.toRelease, digest: record.toDigest, configHash: configHash(eff), port: target.router.port });
      this.event(env, service, "rollout-succeeded", `${record.toRelease} is stable in ${env}`);
      // The previous release has left: contract migrations may break only what nothing runs any more.
      target.contract = { release: record.toRelease, failures: 0, next: 0, alerted: false };
      const contracted = await this.applyContract(target, spec);
      const last = this.o.store.lastAlertEvent(env, service);
      if (contracted && last?.kind === "alert-trigger") await this.alert(spec, "resolve", env, service, record.toRelease, `${record.toRelease} deployed successfully to ${env}`);
      return;
    }
    this.event(env, service, `rollout-${outcome.phase}`, `${record.toRelease} ${outcome.phase.replace("-", " ")} in ${env}: ${outcome.reason}`);
    await this.revert(target, record, outcome);
    await this.alert(spec, "trigger", env, service, record.toRelease, `${record.toRelease} ${outcome.phase.replace("-", " ")} in ${env}: ${outcome.reason}`);
  }

  /**
   * Applies the deployed release's pending contract migrations. A failure
   * triggers the environment's alerts once and is retried with backoff
   * (the tick's interval, doubling, at most 10 minutes); the success after
   * it resolves the alert. True when nothing is pending any more.
   */
  private async applyContract(target: Target, spec: EnvironmentSpec): Promise<boolean> {
    const pending = target.contract;
    if (!pending) return true;
    const { env, service } = target;
    const deployed = this.o.store.getDeployment(env, service)?.release;
    const release = deployed === pending.release ? storedRelease(this.o.store, service, pending.release) : undefined;
    if (!release) {
      target.contract = undefined; // another release runs now: its own rollout brings its contract migrations
      return true;
    }
    if (await this.migrate(target, spec, release, ["contract"], "after the rollout")) {
      target.contract = undefined;
      if (pending.alerted) await this.alert(spec, "resolve", env, service, pending.release, `contract migrations of ${pending.release} applied in ${env}`);
      return true;
    }
    pending.failures += 1;
    pending.next = Date.now() + Math.min(this.o.intervalMs * 2 ** (pending.failures - 1), CONTRACT_RETRY_MAX_MS);
    if (!pending.alerted) {
      pending.alerted = true;
      await this.alert(spec, "trigger", env, service, pending.release, `${target.migrationFailure ?? `contract migrations of ${pending.release} failed`} (in ${env}); retried with backoff`);
    }
    return false;
  }

  /**
   * Applies the release's migrations of these phases (migrate.ts), with an
   * event for what was applied; false, with a `migrations-failed` event
   * (once per distinct reason), when they could not be.
   */
  private async migrate(target: Target, spec: EnvironmentSpec, release: ReleaseRecord, phases: Phase[], when: string): Promise<boolean> {
    const { env, service } = target;
    if (!this.o.repoDir) return true;
    try {
      const result = await applyReleaseMigrations({ config: this.config, env: spec, release, repoDir: this.o.repoDir, resolve: this.resolver(env), cache: this.migrationReads, phases });
      target.migrationFailure = undefined;
      if (result && (result.applied.length > 0 || result.pending.length > 0)) {
        this.event(env, service, "migrations-applied", describeMigrationRun(result, when), { release: releaseName(release), phases, applied: result.applied.map((m) => m.file), pending: result.pending.map((m) => m.file) });
      }
      return true;
    } catch (err) {
      const reason = `migrations of ${releaseName(release)} ${when} failed: ${(err as Error).message}`;
      if (target.migrationFailure !== reason) this.event(env, service, "migrations-failed", reason, { release: releaseName(release), phases });
      target.migrationFailure = reason;
      return false;
    }
  }

  /** Puts Git back to what runs: a revert of the promotion commit, or a rollback commit when the file changed since. */
  private async revert(target: Target, record: RolloutRecord, outcome: RolloutOutcome): Promise<void> {
    const { env, service } = target;
    const reason = `${record.toRelease} ${outcome.phase.replace("-", " ")}: ${outcome.reason}`;
    try {
      if (record.stateCommit) {
        const r = await this.o.stateRepo.revertCommit(record.stateCommit, this.o.actor, reason);
        this.event(env, service, "reverted", `state repository: reverted ${record.stateCommit.slice(0, 12)} (commit ${r.commit.slice(0, 12)})`, { commit: r.commit });
        return;
      }
    } catch (err) {
      if (!(err instanceof StateRepositoryError) || err.code !== "conflict") {
        this.event(env, service, "error", `could not revert the state repository: ${(err as Error).message}`);
        return;
      }
    }
    // The desired state changed again since (or there was no commit to revert): record the rollback to what runs.
    const deployment = this.o.store.getDeployment(env, service);
    const stable = deployment?.release ? storedRelease(this.o.store, service, deployment.release) : undefined;
    if (!stable) return;
    const desired = (await this.o.stateRepo.readDesired(env)).states.find((s) => s.service === service);
    if (desired && desired.state.release !== record.toRelease) return; // someone already asked for something else: that wins
    const r = await commitPromotion(this.o.stateRepo, this.config, { env, release: stable, actor: this.o.actor, reason, approvals: [], action: "rollback" });
    this.event(env, service, "reverted", `state repository: ${service} in ${env} set back to ${releaseName(stable)} (commit ${r.commit.slice(0, 12)})`, { commit: r.commit });
  }

  // ---- drift -------------------------------------------------------------------------------

  private async checkDrift(target: Target, spec: EnvironmentSpec, release: string, eff: EffectiveService): Promise<void> {
    const problems = await target.slot.drift(release, eff.instances);
    if (problems.length === 0) {
      if (target.drift !== undefined) this.event(target.env, target.service, "sync", `in sync: ${release} runs as desired`, { state: "Synced" });
      target.drift = undefined;
      return;
    }
    this.report(target, spec, problems.join("; "), () => target.slot.heal(release, eff.instances));
  }

  /** Reports drift once per distinct reason (status OutOfSync) and heals it when the environment self-heals. */
  private report(target: Target, spec: EnvironmentSpec, reason: string, heal: (() => Promise<void>) | undefined): void {
    const { env, service } = target;
    if (target.drift !== reason) {
      this.event(env, service, "drift", `out of sync: ${reason}`, { state: "OutOfSync", reason, selfHeal: spec.selfHeal });
      target.drift = reason;
    }
    if (!spec.selfHeal || !heal) return;
    target.driving = heal()
      .then(() => {
        this.event(env, service, "healed", `healed: ${reason}`);
        target.drift = undefined;
        this.event(env, service, "sync", `in sync after healing`, { state: "Synced" });
      })
      .catch((err: unknown) => this.event(env, service, "error", `healing failed: ${(err as Error).message}`))
      .finally(() => {
        target.driving = undefined;
      });
  }

  private onSupervisorEvent(e: { kind: string; env: string; service: string; message: string }): void {
    if (e.kind === "exit" || e.kind === "unhealthy" || e.kind === "restart") this.event(e.env, e.service, `instance-${e.kind}`, e.message);
  }

  // ---- alerts and events -------------------------------------------------------------------

  private async alert(spec: EnvironmentSpec, action: "trigger" | "resolve", env: string, service: string, release: string, summary: string): Promise<void> {
    const resolve = this.resolver(env);
    for (const name of spec.rollback.alert) {
      const channel = this.config.alerts[name];
      if (!channel) continue;
      try {
        const r = await sendAlert(channel, { action, env, service, release, summary, reason: summary }, { resolve });
        this.event(env, service, `alert-${action}`, `${action} sent to ${name}${r.ok ? "" : ` failed after ${r.attempts} attempt(s): ${r.error ?? `HTTP ${r.status}`}`}`);
      } catch (err) {
        this.event(env, service, "error", `alert ${name}: ${(err as Error).message}`);
      }
    }
  }

  /** Reads `env:` and `secret:` values for an environment (its secrets first). */
  private resolver(env: string): Resolve {
    return makeResolver({ ...(this.o.secrets ? { secrets: this.o.secrets } : {}), environment: env });
  }

  private event(env: string, service: string, kind: string, message: string, details?: unknown): void {
    if (this.closed) return;
    const e = this.o.store.addEvent({ env, service, kind, message, details: details ?? null });
    this.o.onEvent?.(e);
  }
}
