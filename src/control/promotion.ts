// Promotion: the decision to run a release in an environment, written as a
// commit in the state repository. Which release an environment gets next
// (the newest release that succeeded in every environment it comes `after`),
// the gates before it (approval, deployment windows) and the commit itself.
import { existsSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { dirname, resolve } from "node:path";
import { evaluateApproval, evaluateSignaturePolicy, evaluateWindows, policyApplies, evaluateMigrationGate, type ApprovalDecision, type DeliveryConfig, type EnvironmentSpec, type MigrationGateVerdict, type RunningRelease } from "../delivery/index.js";
import { releaseEvidence } from "../release/index.js";
import { keysById, readPublicKeyFile } from "../supply-chain/index.js";
import type { DesiredState, StateRepository, CommitResult } from "../gitops/index.js";
import { contractChanges, defaultQueriesDir, locateRepo, releaseMigrations, releaseQueries, ReleaseSchemaCache } from "../migrations/index.js";
import type { ReleaseRecord, Store } from "../store/index.js";
import { configHash, effectiveService } from "./service-config.js";

export const releaseName = (r: Pick<ReleaseRecord, "service" | "number">): string => `${r.service}#${r.number}`;

/** `web#3` → 3, or undefined when it is not a release name of that service. */
export function releaseNumber(service: string, name: string): number | undefined {
  const m = /^(.+)#([1-9][0-9]*)$/.exec(name);
  return m && m[1] === service ? Number(m[2]) : undefined;
}

/** The stored release named `web#3` of `service`, if there is one. */
export function storedRelease(store: Store, service: string, name: string): ReleaseRecord | undefined {
  const number = releaseNumber(service, name);
  return number === undefined ? undefined : store.getRelease(service, number);
}

/**
 * The release an environment should get next, if any: for an environment
 * without `after`, the service's newest release; otherwise the newest release
 * whose rollout succeeded in every environment it comes after. Never an older
 * release than the one desired now, and never one already tried here (a
 * release rolled back from an environment is not promoted to it again
 * automatically; `slipway promote` can).
 */
export function nextRelease(store: Store, env: EnvironmentSpec, service: string, desired: DesiredState | undefined): ReleaseRecord | undefined {
  const current = desired ? (releaseNumber(service, desired.release) ?? 0) : 0;
  const tried = new Set(store.listRollouts({ env: env.name, service }).map((r) => r.toRelease));
  const passed = env.after.map(
    (before) =>
      new Set(
        store
          .listRollouts({ env: before, service })
          .filter((r) => r.phase === "succeeded")
          .map((r) => r.toRelease),
      ),
  );
  for (const release of store.listReleases(service)) {
    if (release.number <= current) return undefined;
    const name = releaseName(release);
    if (tried.has(name)) continue;
    if (passed.every((set) => set.has(name))) return release;
  }
  return undefined;
}

export interface GateResult {
  open: boolean;
  /** Why it is closed, or what let it through, in words. */
  reasons: string[];
  /** Names of the people whose approvals counted. */
  approvals: string[];
  /** The environment's approval gate waits for decisions (neither approved, rejected nor expired). */
  awaitingApproval: boolean;
}

/** When a release became eligible for an environment: it succeeded in the last of those it comes after, or was made. Approval timeouts count from then. */
export function eligibleSince(store: Store, env: EnvironmentSpec, release: ReleaseRecord): Date {
  const name = releaseName(release);
  const times = env.after.flatMap((before) =>
    store
      .listRollouts({ env: before, service: release.service })
      .filter((r) => r.toRelease === name && r.phase === "succeeded" && r.finishedAt !== null)
      .map((r) => Date.parse(r.finishedAt as string)),
  );
  return new Date(times.length > 0 ? Math.max(...times) : Date.parse(release.createdAt));
}

/** The recorded decisions on `subject` (a release's name, or `run:N`) for an environment, as the approval gate reads them. */
export function approvalDecisions(store: Store, env: string, subject: string): ApprovalDecision[] {
  return store.listApprovals(env, subject).map((a) => ({ by: a.by, groups: a.groups, decision: a.decision, at: a.at, ...(a.comment ? { comment: a.comment } : {}) }));
}

/**
 * Approval, deployment windows and the signature policy of an environment for
 * a release. The policy gate re-hashes the release's files and verifies its
 * bundles offline; `supplyChain` says where the blobs (default: the store's
 * data directory) and the policy's key files (default: the current folder) are.
 */
export function checkGates(
  store: Store,
  env: EnvironmentSpec,
  release: ReleaseRecord,
  options: { now: Date; windowOverride?: { by: string; reason: string }; supplyChain?: { dataDir?: string; repoRoot?: string }; migrations?: MigrationGateVerdict },
): GateResult {
  const reasons: string[] = [];
  let open = true;
  let approvals: string[] = [];
  let awaitingApproval = false;
  const window = evaluateWindows(env.windows, options.now, options.windowOverride);
  if (env.windows.length > 0 || options.windowOverride) reasons.push(window.reason);
  if (!window.open) open = false;
  if (env.approval) {
    const verdict = evaluateApproval(env.approval, { author: release.createdBy, decisions: approvalDecisions(store, env.name, releaseName(release)), now: options.now, requestedAt: eligibleSince(store, env, release) });
    reasons.push(verdict.reason);
    approvals = verdict.counted;
    awaitingApproval = verdict.state === "pending";
    if (verdict.state !== "approved") open = false;
  }
  if (policyApplies(env.policy)) {
    const verdict = checkSignaturePolicy(store, env, release, options.supplyChain ?? {});
    reasons.push(verdict.reason);
    if (!verdict.open) open = false;
  }
  // The migration gate's verdict is read beforehand (it needs git): see checkMigrationGate.
  if (options.migrations) {
    reasons.push(options.migrations.reason);
    if (!options.migrations.open) open = false;
  }
  return { open, reasons, approvals, awaitingApproval };
}

/**
 * The signature policy gate (delivery/gates/signature.ts) over the release's
 * evidence (verified now, or remembered while its blobs are unchanged: see
 * release/attest.ts releaseEvidence). policy.keys are read as `slipway verify
 * --key` reads them (PEM, ECDSA P-256).
 */
function checkSignaturePolicy(store: Store, env: EnvironmentSpec, release: ReleaseRecord, where: { dataDir?: string; repoRoot?: string }): { open: boolean; reason: string } {
  const dataDir = where.dataDir ?? store.dataDir;
  let keys: Map<string, KeyObject> | undefined;
  if (env.policy.keys.length > 0) {
    const read: KeyObject[] = [];
    for (const file of env.policy.keys) {
      // The repository: the caller's, else the current folder, else the one holding the default data directory (`<repo>/.slipway`).
      const candidates = where.repoRoot !== undefined ? [resolve(where.repoRoot, file)] : [resolve(file), resolve(dirname(dataDir), file)];
      const path = candidates.find((p) => existsSync(p)) ?? (candidates[0] as string);
      try {
        read.push(readPublicKeyFile(path));
      } catch (err) {
        return { open: false, reason: `policy refuses the release: the key file ${file} (policy.keys of ${env.name}, read at ${path}) cannot be used: ${(err as Error).message.split("\n")[0] ?? ""}; add the public key PEM there` };
      }
    }
    keys = keysById(read);
  }
  const evidence = releaseEvidence(store, dataDir, release, keys);
  const verdict = evaluateSignaturePolicy(env.policy, evidence);
  const problems = evidence.problems.length > 0 ? ` (${evidence.problems.join("; ")})` : "";
  return { open: verdict.open, reason: `${verdict.reason}${problems}` };
}

/** The desired state a promotion of `release` to `env` writes. */
export function desiredStateFor(config: DeliveryConfig, env: string, release: ReleaseRecord): DesiredState {
  const spec = config.environments[env];
  if (!spec) throw new Error(`environment '${env}' is not in ${config.file}`);
  return {
    release: releaseName(release),
    digest: release.digest,
    configHash: configHash(effectiveService(config, env, release.service)),
    strategy: spec.strategy.kind,
  };
}

/** Commits the promotion of `release` to `env` in the state repository. */
export function commitPromotion(
  repo: StateRepository,
  config: DeliveryConfig,
  input: { env: string; release: ReleaseRecord; actor: string; reason: string; approvals: string[]; action?: "promote" | "rollback" },
): Promise<CommitResult> {
  return repo.commitDesired({
    env: input.env,
    service: input.release.service,
    state: desiredStateFor(config, input.env, input.release),
    action: input.action ?? "promote",
    actor: input.actor,
    reason: input.reason,
    ...(input.release.runId !== null ? { run: input.release.runId } : {}),
    approvals: input.approvals,
  });
}

/**
 * The migration gate of `env` for `release` (delivery/gates/migrations.ts):
 * reads, with git in `repoDir`, the migrations of the release's commit and the
 * migrations and queries of every release running in the environment (the
 * stable one and both sides of an unfinished rollout). Undefined when the
 * service has no `migrations`. Pass the verdict to checkGates. What is read
 * is kept in `cache` per commit and folder: a caller that asks again (the
 * control loop, at every tick) passes the same cache.
 */
export async function checkMigrationGate(
  store: Store,
  config: DeliveryConfig,
  env: EnvironmentSpec,
  release: ReleaseRecord,
  repoDir: string,
  cache = new ReleaseSchemaCache(),
): Promise<MigrationGateVerdict | undefined> {
  const spec = config.services[release.service]?.migrations;
  if (!spec) return undefined;
  const queriesDir = defaultQueriesDir(spec.dir);
  const name = releaseName(release);
  const closed = (reason: string): MigrationGateVerdict => ({ open: env.migrations.unsafe === "warn", reason: `migrations: ${reason}`, blockers: [] });
  if (!release.sourceCommit) return closed(`${name} has no source commit, so its migrations cannot be read; make releases from a run or in a git checkout`);
  try {
    const repo = await locateRepo(repoDir);
    // Only the migrations of the release to promote matter: what its own queries use does not.
    const mine = await releaseMigrations(repo, release.sourceCommit, spec.dir, cache);
    if (mine.missingCommit !== undefined) return closed(`${name}: ${mine.missingCommit}`);
    const names = new Set<string>();
    const deployment = store.getDeployment(env.name, release.service);
    if (deployment?.release) names.add(deployment.release);
    const rollout = store.activeRollout(env.name, release.service);
    if (rollout) for (const n of [rollout.fromRelease, rollout.toRelease]) if (n) names.add(n);
    names.delete(name);
    const running: RunningRelease[] = [];
    for (const n of names) {
      const record = storedRelease(store, release.service, n);
      if (!record?.sourceCommit) {
        running.push({ release: n, migrations: [], unknown: "no source commit is recorded for it" });
        continue;
      }
      const theirs = await releaseMigrations(repo, record.sourceCommit, spec.dir, cache);
      const queries = await releaseQueries(repo, record.sourceCommit, queriesDir, cache);
      running.push({ release: n, migrations: theirs.migrations.map((m) => m.version), ...(queries.uses ? { uses: queries.uses } : {}), ...(queries.unknown ? { unknown: queries.unknown } : {}) });
    }
    return evaluateMigrationGate(env.migrations, { env: env.name, release: name, contract: contractChanges(mine.migrations), running });
  } catch (e) {
    return closed(`cannot read the migrations of ${name}: ${(e as Error).message}`);
  }
}
