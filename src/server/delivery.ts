// Delivery inside the server (`slipway server --deliver OWNER/NAME`): the
// control loop of `slipway up`, for one hosted repository or mirror whose
// default branch holds the slipway.yml. Its runs (started by pushes) make
// the releases, as `slipway run` does on the default branch; the loop
// promotes them along the environments, behind their gates, and the API
// lets people approve and promote (release-manager) and watch (viewer).
//
// slipway.yml and the workflows are read from a checkout of the default
// branch in `<dataDir>/deliver/OWNER/NAME`, refreshed on every tick (a
// fetch from the local bare repository: cheap); a slipway.yml with errors
// keeps the last good one running and is reported.
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { ControlLoop, checkGates, checkMigrationGate, commitPromotion, deliveryStatus, releaseName, workflowCheckRunner } from "../control/index.js";
import { loadDeliveryConfig, type DeliveryConfig } from "../delivery/index.js";
import { git, type HostedRepositories } from "../git/index.js";
import { openStateRepository, type StateRepository } from "../gitops/index.js";
import { SecretStore } from "../secrets/index.js";
import type { ReleaseRecord, Store } from "../store/index.js";
import { HttpError } from "./api.js";
import type { Logger } from "./log.js";

export interface ServerDeliveryOptions {
  dataDir: string;
  store: Store;
  repos: HostedRepositories;
  repository: string;
  log: Logger;
  cli: string;
  intervalMs?: number;
}

export class ServerDelivery {
  private loop: ControlLoop | undefined;
  private stateRepo: StateRepository | undefined;
  private config: DeliveryConfig | undefined;
  /** Why slipway.yml cannot be used, when it cannot. */
  configError: string | undefined;
  private readonly dir: string;

  constructor(private readonly o: ServerDeliveryOptions) {
    this.dir = join(o.dataDir, "deliver", o.repository);
  }

  get repository(): string {
    return this.o.repository;
  }

  async start(): Promise<void> {
    this.stateRepo = await openStateRepository({ dataDir: this.o.dataDir, create: true });
    await this.refresh();
    this.loop = new ControlLoop({
      dataDir: this.o.dataDir,
      store: this.o.store,
      stateRepo: this.stateRepo,
      config: this.config ?? emptyConfig(join(this.dir, "slipway.yml")),
      reloadConfig: async () => {
        await this.refresh();
        return this.config;
      },
      secrets: new SecretStore(this.o.store, this.o.dataDir),
      // The checkout of the default branch: policy key files and the releases' migrations are read there.
      repoDir: this.dir,
      runWorkflow: workflowCheckRunner(this.dir, this.o.dataDir, this.o.cli),
      intervalMs: this.o.intervalMs ?? 10_000,
      onEvent: (e) => this.o.log.info("delivery", { repository: this.o.repository, ...e }),
    });
    await this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }

  /** Checks out the default branch's tip and loads its slipway.yml. */
  private async refresh(): Promise<void> {
    if (!this.o.repos.exists(this.o.repository)) {
      this.configError = `no repository ${this.o.repository} yet: create it (POST /api/repos) and push a slipway.yml to its default branch`;
      return;
    }
    const bare = this.o.repos.path(this.o.repository);
    const branch = await this.o.repos.defaultBranch(this.o.repository);
    const sha = await this.o.repos.resolve(this.o.repository, `refs/heads/${branch}`);
    if (!sha) {
      this.configError = `${this.o.repository} has no ${branch} branch yet: push one with a slipway.yml`;
      return;
    }
    if (!existsSync(join(this.dir, ".git"))) {
      mkdirSync(dirname(this.dir), { recursive: true });
      await git(dirname(this.dir), ["clone", "--quiet", "--no-checkout", bare, this.dir]);
    }
    await git(this.dir, ["fetch", "--quiet", "origin", `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
    await git(this.dir, ["checkout", "--quiet", "--force", "-B", branch, sha]);
    const { config, diagnostics } = loadDeliveryConfig(this.dir);
    if (config) {
      this.config = config;
      this.configError = undefined;
    } else {
      const first = diagnostics.find((d) => d.severity === "error");
      this.configError = first ? `${first.file}:${first.line}:${first.column}: ${first.message}` : `no slipway.yml on ${branch} of ${this.o.repository}`;
    }
  }

  async status(): Promise<unknown> {
    if (!this.stateRepo) throw new HttpError(503, "delivery is starting");
    const s = await deliveryStatus(this.o.store, this.stateRepo, this.config);
    return { repository: this.o.repository, ...(this.configError ? { configError: this.configError } : {}), ...s };
  }

  async history(env: string | undefined): Promise<unknown> {
    if (!this.stateRepo) throw new HttpError(503, "delivery is starting");
    return this.stateRepo.history(env);
  }

  decide(env: string, ref: string, by: string, groups: string[], decision: "approve" | "reject", comment: string | null): unknown {
    const config = this.ready();
    const spec = config.environments[env];
    if (!spec) throw new HttpError(404, `${config.file} has no environment '${env}'; its environments: ${config.environmentOrder.join(", ")}`);
    if (!spec.approval) throw new HttpError(409, `environment '${env}' needs no approval (${config.file} sets no \`approval\` for it)`);
    const release = this.release(ref);
    this.o.store.putApproval({ env, release: releaseName(release), by, groups, decision, comment });
    const gates = checkGates(this.o.store, spec, release, { now: new Date(), supplyChain: { repoRoot: this.dir } });
    void this.loop?.tick();
    return { env, release: releaseName(release), by, decision, gatesOpen: gates.open, reasons: gates.reasons };
  }

  async promote(env: string, ref: string, actor: string, reason: string | undefined, overrideWindow: string | undefined): Promise<unknown> {
    const config = this.ready();
    const spec = config.environments[env];
    if (!spec) throw new HttpError(404, `${config.file} has no environment '${env}'; its environments: ${config.environmentOrder.join(", ")}`);
    const release = this.release(ref);
    const active = this.o.store.activeRollout(env, release.service);
    if (active) throw new HttpError(409, `${active.toRelease} is rolling out in ${env}: let it finish, or abort it first`);
    const migrations = await checkMigrationGate(this.o.store, config, spec, release, this.dir);
    const gates = checkGates(this.o.store, spec, release, {
      now: new Date(),
      supplyChain: { repoRoot: this.dir },
      ...(migrations ? { migrations } : {}),
      ...(overrideWindow ? { windowOverride: { by: actor, reason: overrideWindow } } : {}),
    });
    if (!gates.open) throw new HttpError(409, `${releaseName(release)} cannot go to ${env} yet: ${gates.reasons.join("; ")}`);
    const result = await commitPromotion(this.stateRepo as StateRepository, config, { env, release, actor, reason: reason ?? `promoted by ${actor}`, approvals: gates.approvals });
    void this.loop?.tick();
    return { promoted: releaseName(release), env, commit: result.commit, created: result.created };
  }

  private ready(): DeliveryConfig {
    if (!this.config) throw new HttpError(409, `delivery of ${this.o.repository} has no usable slipway.yml: ${this.configError ?? "not loaded yet"}`);
    return this.config;
  }

  /** `web#3`, or `3` when there is one service. */
  private release(ref: string): ReleaseRecord {
    const config = this.ready();
    const services = Object.keys(config.services);
    const hash = ref.indexOf("#");
    const service = hash >= 0 ? ref.slice(0, hash) : services.length === 1 ? services[0] : undefined;
    const num = Number(hash >= 0 ? ref.slice(hash + 1) : ref);
    if (!service || !config.services[service]) throw new HttpError(404, `no service for release '${ref}': name it as SERVICE#NUMBER (services: ${services.join(", ")})`);
    const found = this.o.store.listReleases(service).find((r) => r.number === num);
    if (!found) throw new HttpError(404, `no release ${service}#${String(num)} (see GET /api/delivery)`);
    return found;
  }
}

/** Until the default branch has a valid slipway.yml: nothing to deliver. */
function emptyConfig(file: string): DeliveryConfig {
  return { file, services: {}, environments: {}, environmentOrder: [], alerts: {} };
}
