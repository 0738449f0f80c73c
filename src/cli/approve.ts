// `slipway approve ENV RELEASE` and `slipway reject ENV RELEASE`: record a
// person's decision on a release waiting for an environment's approval gate.
// Who decides is --as, else $SLIPWAY_ACTOR, else the login name; their groups
// come from --group and $SLIPWAY_GROUPS (see docs/gates-and-checks.md).
import { checkGates, releaseName } from "../control/index.js";
import { EXIT, UsageError } from "./common.js";
import { actorGroups, actorName, findRelease, openDelivery, requireEnvironment, type DeliveryOptions } from "./delivery-context.js";
import { paint } from "./style.js";

export interface ApproveOptions extends DeliveryOptions {
  comment?: string;
  as?: string;
  group?: string[];
}

export async function approveCommand(decision: "approve" | "reject", env: string, ref: string, opts: ApproveOptions): Promise<number> {
  const ctx = await openDelivery(opts);
  try {
    requireEnvironment(ctx.config, env);
    const spec = ctx.config.environments[env];
    if (!spec?.approval) throw new UsageError(`environment '${env}' needs no approval (${ctx.config.file} sets no \`approval\` for it)`);
    const release = findRelease(ctx.store, ctx.config, ref);
    const by = actorName(opts.as);
    ctx.store.putApproval({ env, release: releaseName(release), by, groups: actorGroups(opts.group), decision, comment: opts.comment ?? null });
    const gates = checkGates(ctx.store, spec, release, { now: new Date(), supplyChain: { repoRoot: ctx.repoDir } });
    if (opts.json) {
      process.stdout.write(JSON.stringify({ env, release: releaseName(release), by, decision, gatesOpen: gates.open, reasons: gates.reasons }, null, 2) + "\n");
    } else {
      const p = paint(process.stdout);
      const verb = decision === "approve" ? p.green("approved") : p.red("rejected");
      process.stdout.write(`${verb} ${releaseName(release)} for ${env} as ${by}\n  ${gates.reasons.join("\n  ")}\n`);
    }
    return EXIT.ok;
  } finally {
    ctx.close();
  }
}
