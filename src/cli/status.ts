// `slipway status [--json]`: per environment and service, the stable release,
// the rollout phase and weights, the last verdict with its numbers, and the
// sync/drift state. Reads the store and the state repository; `slipway up`
// need not run.
import { deliveryStatus, type ServiceStatus } from "../control/index.js";
import { EXIT } from "./common.js";
import { openDelivery, type DeliveryOptions } from "./delivery-context.js";
import { paint, table } from "./style.js";

export async function statusCommand(opts: DeliveryOptions): Promise<number> {
  const ctx = await openDelivery(opts, { create: false });
  try {
    const status = await deliveryStatus(ctx.store, ctx.repo, ctx.config);
    if (opts.json) {
      process.stdout.write(JSON.stringify(status, null, 2) + "\n");
      return EXIT.ok;
    }
    const p = paint(process.stdout);
    const sync = (s: ServiceStatus) =>
      s.sync === "Synced" ? p.green(s.sync) : s.sync === "OutOfSync" ? p.red(s.sync) : s.sync === "Progressing" ? p.yellow(s.sync) : p.dim(s.sync);
    const rows = status.services.map((s) => [
      s.env,
      s.service,
      s.stable ?? "-",
      s.desired?.release ?? "-",
      s.rollout ? `${s.rollout.strategy} ${s.rollout.phase}${s.rollout.finishedAt ? "" : ` (step ${s.rollout.step + 1})`}` : "-",
      Object.entries(s.weights).map(([r, w]) => `${r} ${w}%`).join(", ") || "-",
      s.lastVerdict ? `${s.lastVerdict.verdict}: ${s.lastVerdict.reason}` : "-",
      sync(s),
    ]);
    process.stdout.write(table(["ENV", "SERVICE", "STABLE", "DESIRED", "ROLLOUT", "TRAFFIC", "LAST VERDICT", "SYNC"], rows));
    for (const s of status.services) {
      if (s.sync !== "Synced" && s.sync !== "Missing") process.stdout.write(`${s.env}/${s.service}: ${s.reason}\n`);
      if (s.waiting) process.stdout.write(`${s.env}/${s.service}: ${s.waiting}\n`);
    }
    return EXIT.ok;
  } finally {
    ctx.close();
  }
}
