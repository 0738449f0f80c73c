// `slipway status`: per environment and service, what is desired (the state
// repository), what runs (the store), the rollout in progress or the last one,
// the traffic split, the last analysis verdict with its numbers, and whether
// what runs matches what is desired (sync state and drift). Read-only: it
// works whether or not `slipway up` runs.
import type { DeliveryConfig } from "../delivery/index.js";
import type { StateRepository } from "../gitops/index.js";
import type { Store } from "../store/index.js";

/** Measurements of a rollout shown over time, at most. */
export const ANALYSIS_POINTS = 200;

export type SyncState = "Synced" | "OutOfSync" | "Progressing" | "Missing";

export interface ServiceStatus {
  env: string;
  service: string;
  desired: { release: string; digest: string } | null;
  stable: string | null;
  port: number | null;
  rollout: {
    id: number;
    from: string | null;
    to: string;
    strategy: string;
    phase: string;
    step: number;
    weight: number;
    reason: string | null;
    startedAt: string;
    finishedAt: string | null;
  } | null;
  /** Percent of requests per release. */
  weights: Record<string, number>;
  lastVerdict: { verdict: string; reason: string; measured: Record<string, number | null>; at: string } | null;
  /** The analysis of the latest rollout over time (its last ANALYSIS_POINTS measurements): the board's chart of error rate and p99. */
  analysis: { rollout: number; release: string; points: Array<{ at: string; step: number; verdict: string; measured: Record<string, number | null> }> } | null;
  sync: SyncState;
  reason: string;
  /** A promotion waiting at a gate, in words. */
  waiting: string | null;
  /** The release (`web#3`) waiting for this environment's approvals, when that is what it waits for (the UI offers Approve and Reject). */
  awaitingApproval: string | null;
}

export async function deliveryStatus(store: Store, repo: StateRepository, config: DeliveryConfig | undefined): Promise<{ commit: string | undefined; services: ServiceStatus[] }> {
  const desired = repo.exists ? await repo.readDesired() : { commit: undefined, states: [], diagnostics: [] };
  const pairs = new Map<string, { env: string; service: string }>();
  const add = (env: string, service: string) => pairs.set(`${env}/${service}`, { env, service });
  for (const env of config?.environmentOrder ?? []) for (const service of Object.keys(config?.services ?? {})) add(env, service);
  for (const d of desired.states) add(d.env, d.service);
  for (const d of store.listDeployments()) add(d.env, d.service);

  const services: ServiceStatus[] = [];
  for (const { env, service } of pairs.values()) {
    const want = desired.states.find((s) => s.env === env && s.service === service)?.state;
    const deployment = store.getDeployment(env, service);
    const rollout = store.listRollouts({ env, service, limit: 1 })[0];
    const measurements = rollout ? store.listMeasurements(rollout.id, ANALYSIS_POINTS) : [];
    const measurement = measurements.at(-1);
    const events = store.listEvents({ env, service, limit: 50 });
    const stable = deployment?.release ?? null;
    const active = rollout && rollout.finishedAt === null ? rollout : undefined;

    const weights: Record<string, number> = {};
    if (active && active.fromRelease && active.fromRelease !== active.toRelease) {
      weights[active.fromRelease] = 100 - active.weight;
      weights[active.toRelease] = active.weight;
    } else if (active) weights[active.toRelease] = active.weight;
    else if (stable) weights[stable] = 100;

    let sync: SyncState;
    let reason: string;
    if (active) {
      sync = "Progressing";
      reason = active.reason ?? `${active.strategy} rollout of ${active.toRelease}: step ${active.step + 1}, ${active.weight}%`;
    } else if (!want && !stable) {
      sync = "Missing";
      reason = "not deployed";
    } else if (!want) {
      sync = "OutOfSync";
      reason = `${stable} runs but nothing is desired`;
    } else if (want.digest !== deployment?.digest || want.release !== stable) {
      sync = "OutOfSync";
      reason = stable ? `${want.release} is desired, ${stable} runs` : `${want.release} is desired, nothing runs yet`;
    } else {
      const last = [...events].reverse().find((e) => e.kind === "drift" || e.kind === "sync" || e.kind === "rollout-succeeded");
      const drift = last?.kind === "drift";
      sync = drift ? "OutOfSync" : "Synced";
      reason = drift ? last.message.replace(/^out of sync: /, "") : `${stable} runs as desired`;
    }
    const lastWaiting = [...events].reverse().find((e) => e.kind === "waiting" || e.kind === "promoted");
    services.push({
      env,
      service,
      desired: want ? { release: want.release, digest: want.digest } : null,
      stable,
      port: deployment?.port ?? null,
      rollout: rollout
        ? {
            id: rollout.id,
            from: rollout.fromRelease,
            to: rollout.toRelease,
            strategy: rollout.strategy,
            phase: rollout.phase,
            step: rollout.step,
            weight: rollout.weight,
            reason: rollout.reason,
            startedAt: rollout.startedAt,
            finishedAt: rollout.finishedAt,
          }
        : null,
      weights,
      lastVerdict: measurement ? { verdict: measurement.verdict, reason: measurement.reason, measured: measurement.measured, at: measurement.at } : null,
      analysis:
        rollout && measurements.length > 0
          ? { rollout: rollout.id, release: rollout.toRelease, points: measurements.map((m) => ({ at: m.at, step: m.step, verdict: m.verdict, measured: m.measured })) }
          : null,
      sync,
      reason,
      waiting: lastWaiting?.kind === "waiting" ? lastWaiting.message : null,
      awaitingApproval: lastWaiting?.kind === "waiting" ? approvalAwaited(lastWaiting.details) : null,
    });
  }
  const order = config?.environmentOrder ?? [];
  services.sort((a, b) => (order.indexOf(a.env) - order.indexOf(b.env)) || a.env.localeCompare(b.env) || a.service.localeCompare(b.service));
  return { commit: desired.commit, services };
}

/** The release a `waiting` event's details say waits for approvals, if any. */
function approvalAwaited(details: unknown): string | null {
  const d = details as { release?: unknown; awaitingApproval?: unknown } | null;
  return d?.awaitingApproval === true && typeof d.release === "string" ? d.release : null;
}
