// A real Prometheus for tests (Debian's /usr/bin/prometheus): started on a
// free port with a temporary configuration and data directory, scraping one
// target every second; stop() ends it (SIGTERM, SIGKILL after 5 s) and
// removes its directory.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./net.js";

export { freePort };

export const PROMETHEUS = "/usr/bin/prometheus";
export const HAVE_PROMETHEUS = existsSync(PROMETHEUS);

export interface RunningPrometheus {
  /** `http://127.0.0.1:PORT`. */
  address: string;
  /** What it wrote to stderr so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export async function until(check: () => Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(message());
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts Prometheus scraping `http://127.0.0.1:<targetPort>/metrics` every second; resolves once it is ready. */
export async function startPrometheus(targetPort: number): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "slipway-prometheus-"));
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "scrape_configs:",
      "  - job_name: slipway-router",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${targetPort}"]`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const child = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const address = `http://127.0.0.1:${port}`;
  try {
    await until(async () => (await fetch(`${address}/-/ready`)).ok, 20_000, () => `Prometheus did not become ready in 20 s: ${stderr}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, log: () => stderr, stop };
}
