// `slipway rollback ENV [SERVICE] [--to RELEASE]`: a promotion of an older
// release, committed to the state repository with action `rollback`. By
// default the release that was stable before the current one. During a
// rollout it aborts the rollout instead (traffic back to the stable release).
// Rollbacks skip approvals and deployment windows: they are the way out.
import { commitPromotion, releaseName } from "../control/index.js";
import { EXIT, UsageError } from "./common.js";
import { actorName, findRelease, openDelivery, pickService, requireEnvironment, type DeliveryOptions } from "./delivery-context.js";
import { paint } from "./style.js";

export interface RollbackOptions extends DeliveryOptions {
  to?: string;
  reason?: string;
  as?: string;
}

export async function rollbackCommand(env: string, service: string | undefined, opts: RollbackOptions): Promise<number> {
  const ctx = await openDelivery(opts);
  try {
    requireEnvironment(ctx.config, env);
    const name = pickService(ctx.config, service);
    const actor = actorName(opts.as);
    const p = paint(process.stdout);
    const active = ctx.store.activeRollout(env, name);
    if (active) {
      ctx.store.addCommand({ env, service: name, kind: "abort", by: actor, reason: opts.reason ?? "rollback requested" });
      process.stdout.write(`${p.green("✓")} ${active.toRelease} is rolling out in ${env}: asked the control loop to abort it (traffic back to ${active.fromRelease ?? "nothing"})\n`);
      return EXIT.ok;
    }
    const stable = ctx.store.getDeployment(env, name)?.release ?? null;
    let target;
    if (opts.to !== undefined) {
      target = findRelease(ctx.store, ctx.config, opts.to, name);
    } else {
      const previous = ctx.store
        .listRollouts({ env, service: name })
        .filter((r) => r.phase === "succeeded" && r.toRelease !== stable)
        .map((r) => r.toRelease)[0];
      if (!previous) throw new UsageError(`${name} has no earlier release that ran in ${env} to go back to; name one with --to ${name}#NUMBER`);
      target = findRelease(ctx.store, ctx.config, previous, name);
    }
    if (releaseName(target) === stable) throw new UsageError(`${stable} already runs in ${env}`);
    const reason = opts.reason ?? `rolled back by ${actor}${stable ? ` from ${stable}` : ""}`;
    const result = await commitPromotion(ctx.repo, ctx.config, { env, release: target, actor, reason, approvals: [], action: "rollback" });
    if (opts.json) process.stdout.write(JSON.stringify({ env, release: releaseName(target), commit: result.commit }, null, 2) + "\n");
    else process.stdout.write(`${p.green("✓")} ${name} in ${env} goes back to ${releaseName(target)}: state commit ${result.commit.slice(0, 12)}\n`);
    return EXIT.ok;
  } finally {
    ctx.close();
  }
}
