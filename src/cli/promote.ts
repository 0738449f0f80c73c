// `slipway promote ENV RELEASE`: promote a release to an environment (a
// commit in the state repository, after the environment's gates).
// `slipway promote ENV [SERVICE]`: let a paused rollout go on (or skip the
// rest of its current step). `slipway abort ENV [SERVICE]`: stop a rollout and
// send traffic back to the stable release.
import { checkGates, checkMigrationGate, commitPromotion, releaseName } from "../control/index.js";
import { EXIT, UsageError } from "./common.js";
import { actorName, findRelease, openDelivery, pickService, requireEnvironment, type DeliveryOptions } from "./delivery-context.js";
import { paint } from "./style.js";

export interface PromoteOptions extends DeliveryOptions {
  reason?: string;
  overrideWindow?: string;
  as?: string;
}

export async function promoteCommand(env: string, what: string | undefined, opts: PromoteOptions): Promise<number> {
  const ctx = await openDelivery(opts);
  try {
    requireEnvironment(ctx.config, env);
    const actor = actorName(opts.as);
    if (what === undefined || !/#|^[0-9]+$/.test(what)) {
      // Go on with a paused rollout.
      const service = pickService(ctx.config, what);
      const active = ctx.store.activeRollout(env, service);
      if (!active) throw new UsageError(`no rollout of ${service} is in progress in ${env}; to promote a release give it: slipway promote ${env} ${service}#NUMBER`);
      ctx.store.addCommand({ env, service, kind: "promote", by: actor, reason: opts.reason ?? null });
      return done(opts, { requested: "promote", rollout: active.id, release: active.toRelease }, `asked the control loop to promote ${active.toRelease} in ${env} (${active.phase} at ${active.weight}%)`);
    }
    const release = findRelease(ctx.store, ctx.config, what);
    const active = ctx.store.activeRollout(env, release.service);
    if (active) throw new UsageError(`${active.toRelease} is rolling out in ${env}: let it finish, or \`slipway abort ${env} ${release.service}\` first`);
    const spec = ctx.config.environments[env];
    if (!spec) throw new UsageError(`no environment '${env}'`);
    const now = new Date();
    const migrations = await checkMigrationGate(ctx.store, ctx.config, spec, release, ctx.repoDir);
    const gates = checkGates(ctx.store, spec, release, {
      now,
      supplyChain: { repoRoot: ctx.repoDir },
      ...(migrations ? { migrations } : {}),
      ...(opts.overrideWindow !== undefined ? { windowOverride: { by: actor, reason: opts.overrideWindow } } : {}),
    });
    if (!gates.open) {
      process.stderr.write(`slipway: ${releaseName(release)} cannot go to ${env} yet: ${gates.reasons.join("; ")}\n`);
      return EXIT.failed;
    }
    const reason = opts.reason ?? `promoted by ${actor}`;
    const result = await commitPromotion(ctx.repo, ctx.config, { env, release, actor, reason, approvals: gates.approvals });
    return done(
      opts,
      { promoted: releaseName(release), env, commit: result.commit, created: result.created, gates: gates.reasons },
      result.created
        ? `promoted ${releaseName(release)} to ${env}: state commit ${result.commit.slice(0, 12)}; the control loop (slipway up) rolls it out`
        : `${releaseName(release)} is already desired in ${env}; nothing to commit`,
    );
  } finally {
    ctx.close();
  }
}

export async function abortCommand(env: string, service: string | undefined, opts: PromoteOptions): Promise<number> {
  const ctx = await openDelivery(opts);
  try {
    requireEnvironment(ctx.config, env);
    const name = pickService(ctx.config, service);
    const active = ctx.store.activeRollout(env, name);
    if (!active) throw new UsageError(`no rollout of ${name} is in progress in ${env}; to go back to an older release use \`slipway rollback ${env} ${name}\``);
    ctx.store.addCommand({ env, service: name, kind: "abort", by: actorName(opts.as), reason: opts.reason ?? null });
    return done(opts, { requested: "abort", rollout: active.id, release: active.toRelease }, `asked the control loop to abort ${active.toRelease} in ${env}: traffic goes back to ${active.fromRelease ?? "nothing"}`);
  } finally {
    ctx.close();
  }
}

function done(opts: PromoteOptions, json: unknown, text: string): number {
  if (opts.json) process.stdout.write(JSON.stringify(json, null, 2) + "\n");
  else process.stdout.write(`${paint(process.stdout).green("✓")} ${text}\n`);
  return EXIT.ok;
}
