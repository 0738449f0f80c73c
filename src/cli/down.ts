// `slipway down`: stops every service instance of this data directory
// (gracefully: SIGTERM, then SIGKILL after the service's stop timeout). The
// desired state is not changed: the next `slipway up` starts them again.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openDataStore } from "../store/index.js";
import { ProcessSupervisor } from "../targets/index.js";
import { createRouter } from "../traffic/index.js";
import { dataDirFor, EXIT, workDir } from "./common.js";
import type { DeliveryOptions } from "./delivery-context.js";
import { paint } from "./style.js";

export async function downCommand(opts: DeliveryOptions): Promise<number> {
  const dataDir = dataDirFor(opts, workDir(opts));
  // HAProxy routers outlive `slipway up` (the built-in ones do not): re-attach to each and stop it.
  const haproxies: string[] = [];
  const store = openDataStore(dataDir);
  try {
    for (const d of store.listDeployments()) {
      if (!existsSync(join(dataDir, "traffic", d.env, d.service, "haproxy.pid"))) continue;
      const router = createRouter({ kind: "haproxy", env: d.env, service: d.service, port: d.port ?? 0, dataDir });
      await router.start();
      await router.close();
      haproxies.push(`${d.env}/${d.service}`);
    }
  } finally {
    store.close();
  }
  const supervisor = new ProcessSupervisor({ dataDir });
  try {
    const adoption = await supervisor.adopt();
    const running = supervisor.list();
    await supervisor.stopAll();
    const strays = supervisor.strays();
    for (const s of strays) await supervisor.killStray(s.pid);
    if (opts.json) {
      process.stdout.write(JSON.stringify({ stopped: running.map((i) => ({ id: i.id, env: i.env, service: i.service, release: i.release })), strays: strays.map((s) => s.pid), orphans: adoption.killed, haproxy: haproxies }, null, 2) + "\n");
    } else {
      const p = paint(process.stdout);
      const extra = strays.length + adoption.killed.length > 0 ? ` and ${strays.length + adoption.killed.length} stray process(es)` : "";
      const routers = haproxies.length > 0 ? `; stopped HAProxy for ${haproxies.join(", ")}` : "";
      process.stdout.write(`${p.green("✓")} stopped ${running.length} instance(s)${extra}${routers}\n`);
    }
    return EXIT.ok;
  } finally {
    supervisor.close();
  }
}
