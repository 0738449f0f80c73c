// `slipway approve ENV RELEASE` and `slipway reject ENV RELEASE`: record a
// person's decision on a release waiting for an environment's approval gate.
// `slipway approve ENV run:RUN`: on the jobs of a workflow run that wait for
// that environment (`environment:` in the workflow; control/job-gates.ts).
// Who decides is --as, else $SLIPWAY_ACTOR, else the login name; their groups
// come from --group and $SLIPWAY_GROUPS (see docs/gates-and-checks.md).
import { checkGates, releaseName, runApprovalSubject } from "../control/index.js";
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
    const by = actorName(opts.as);
    const run = /^run:([1-9][0-9]*)$/.exec(ref);
    if (run) {
      const record = ctx.store.getRun(Number(run[1]));
      if (!record) throw new UsageError(`there is no run ${run[1]}; \`slipway runs\` lists them`);
      const subject = runApprovalSubject(record.id);
      ctx.store.putApproval({ env, release: subject, by, groups: actorGroups(opts.group), decision, comment: opts.comment ?? null });
      // The run decides (it knows who started it, for prevent_self_review) and starts its waiting jobs within a second.
      if (opts.json) process.stdout.write(JSON.stringify({ env, run: record.id, by, decision }, null, 2) + "\n");
      else {
        const p = paint(process.stdout);
        process.stdout.write(`${decision === "approve" ? p.green("approved") : p.red("rejected")} run ${record.id}'s jobs for ${env} as ${by}\n`);
      }
      return EXIT.ok;
    }
    const release = findRelease(ctx.store, ctx.config, ref);
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
