// `slipway up`: the delivery control loop in the foreground. It promotes
// releases along the environments of slipway.yml, rolls them out, rolls back
// on failure, and keeps what runs equal to the state repository, narrating
// each event (JSON lines with --json). Ctrl-C stops the loop; the service
// processes keep running and the next `slipway up` adopts them
// (docs/process-target.md).
import { ControlLoop, workflowCheckRunner } from "../control/index.js";
import { loadDeliveryConfig, parseDuration } from "../delivery/index.js";
import { SecretStore } from "../secrets/index.js";
import type { DeliveryEvent } from "../store/index.js";
import { serveMetrics } from "../traffic/index.js";
import { EXIT, UsageError } from "./common.js";
import { actorGroups, actorName, openDelivery, requireEnvironment, type DeliveryOptions } from "./delivery-context.js";
import { paint } from "./style.js";


export interface UpOptions extends DeliveryOptions {
  interval?: string;
  router?: string;
  metricsPort?: string;
  once?: boolean;
  traffic?: string;
  approve?: string[];
  group?: string[];
}

export async function upCommand(opts: UpOptions): Promise<number> {
  const parsed = opts.interval === undefined ? undefined : parseDuration(opts.interval);
  const intervalMs = parsed === undefined ? 10_000 : parsed.ok ? parsed.value : undefined;
  if (intervalMs === undefined || intervalMs < 100) throw new UsageError(`--interval expects a duration such as 10s or 500ms, got '${opts.interval}'`);
  const router = opts.router;
  if (router !== undefined && router !== "builtin" && router !== "haproxy") throw new UsageError(`--router expects builtin or haproxy, got '${router}'`);
  const metricsPort = opts.metricsPort === undefined ? undefined : Number(opts.metricsPort);
  if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort > 0 && metricsPort < 65536)) throw new UsageError(`--metrics-port expects a port number, got '${opts.metricsPort}'`);

  const traffic = opts.traffic === undefined ? undefined : Number(opts.traffic);
  if (traffic !== undefined && !(traffic > 0 && traffic <= 10_000)) throw new UsageError(`--traffic expects requests per second from 1 to 10000, got '${opts.traffic}'`);
  const ctx = await openDelivery(opts);
  for (const env of opts.approve ?? []) requireEnvironment(ctx.config, env);
  let failures = 0;
  const p = paint(process.stdout);
  const say = (e: DeliveryEvent) => {
    if (/^rollout-(rolled-back|failed|aborted)$/.test(e.kind)) failures++;
    if (opts.json) {
      process.stdout.write(JSON.stringify(e) + "\n");
      return;
    }
    const where = e.env === "-" ? "" : p.dim(`${e.env}/${e.service} `);
    const mark = /failed|rolled-back|aborted|error|drift|inconclusive/.test(e.kind) ? p.red("✗") : /succeeded|healed|sync|promoted/.test(e.kind) ? p.green("✓") : p.dim("•");
    process.stdout.write(`${p.dim(e.at.slice(11, 19))} ${mark} ${where}${e.message}\n`);
  };
  const loop = new ControlLoop({
    dataDir: ctx.dataDir,
    store: ctx.store,
    stateRepo: ctx.repo,
    config: ctx.config,
    reloadConfig: async () => loadDeliveryConfig(ctx.repoDir).config,
    repoDir: ctx.repoDir,
    secrets: new SecretStore(ctx.store, ctx.dataDir),
    intervalMs,
    ...(router !== undefined ? { router } : {}),
    ...(traffic !== undefined ? { traffic } : {}),
    runWorkflow: workflowCheckRunner(ctx.repoDir, ctx.dataDir),
    ...(opts.approve?.length ? { approveAs: { envs: opts.approve, by: actorName(), groups: actorGroups(opts.group) } } : {}),
    onEvent: say,
  });
  const metrics = metricsPort === undefined ? undefined : serveMetrics(metricsPort, () => loop.routers());
  try {
    await loop.start();
    if (opts.once) {
      await loop.idle();
      return failures > 0 ? EXIT.failed : EXIT.ok;
    }
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    return EXIT.ok;
  } finally {
    metrics?.close();
    await loop.stop();
    ctx.close();
  }
}
