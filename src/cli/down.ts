// `slipway down`: stops every service instance of this data directory
// (gracefully: SIGTERM, then SIGKILL after the service's stop timeout). The
// desired state is not changed: the next `slipway up` starts them again.
import { ProcessSupervisor } from "../targets/index.js";
import { dataDirFor, EXIT, workDir } from "./common.js";
import type { DeliveryOptions } from "./delivery-context.js";
import { paint } from "./style.js";

export async function downCommand(opts: DeliveryOptions): Promise<number> {
  const supervisor = new ProcessSupervisor({ dataDir: dataDirFor(opts, workDir(opts)) });
  try {
    const adoption = await supervisor.adopt();
    const running = supervisor.list();
    await supervisor.stopAll();
    const strays = supervisor.strays();
    for (const s of strays) await supervisor.killStray(s.pid);
    if (opts.json) {
      process.stdout.write(JSON.stringify({ stopped: running.map((i) => ({ id: i.id, env: i.env, service: i.service, release: i.release })), strays: strays.map((s) => s.pid), orphans: adoption.killed }, null, 2) + "\n");
    } else {
      const p = paint(process.stdout);
      process.stdout.write(`${p.green("✓")} stopped ${running.length} instance(s)${strays.length + adoption.killed.length > 0 ? ` and ${strays.length + adoption.killed.length} stray process(es)` : ""}\n`);
    }
    return EXIT.ok;
  } finally {
    supervisor.close();
  }
}
