// `slipway agent --server URL --token T --labels a,b [--executor host|sandbox]`:
// a runner agent that leases jobs from a Slipway server (agent/).
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Agent, type AgentLog } from "../agent/index.js";
import { createHostExecutor, createSandboxExecutor, sandboxAvailable, type Executor } from "../executor/index.js";
import { createStepFilesRoot, createWorkRoot, removeAbandonedWorkRoots } from "../runner/index.js";
import { EXIT, retentionPolicy, UsageError } from "./common.js";

export interface AgentCommandOptions {
  server?: string;
  token?: string;
  labels?: string;
  name?: string;
  executor?: string;
  network?: boolean;
  workDir?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export async function agentCommand(opts: AgentCommandOptions): Promise<number> {
  const server = opts.server ?? process.env.SLIPWAY_SERVER;
  if (!server || !/^https?:\/\/[^/]+/.test(server)) throw new UsageError(`--server expects the server's URL, http(s)://host[:port] (or set SLIPWAY_SERVER), got '${server ?? ""}'`);
  const token = opts.token ?? process.env.SLIPWAY_AGENT_TOKEN ?? process.env.SLIPWAY_TOKEN;
  if (!token) throw new UsageError("--token is missing: give an agent token (or set SLIPWAY_AGENT_TOKEN); an admin makes one with `slipway tokens create --name agent-1 --role developer --group agents`");
  const labels = (opts.labels ?? "").split(",").map((l) => l.trim()).filter((l) => l !== "");
  const badLabel = labels.find((l) => l.length > 100 || /[\s,]/.test(l));
  if (badLabel !== undefined) throw new UsageError(`--labels: '${badLabel}' is not a label (no spaces, at most 100 characters); separate labels with commas`);
  if (opts.name !== undefined && !NAME.test(opts.name)) throw new UsageError(`--name '${opts.name}' is not an agent name: letters, digits, '.', '_' and '-', up to 63`);
  const retention = retentionPolicy();
  const kind = opts.executor ?? "host";
  if (kind !== "host" && kind !== "sandbox") throw new UsageError(`--executor must be host or sandbox, got '${kind}'`);
  const workDir = resolve(opts.workDir ?? join(tmpdir(), `slipway-agent-${opts.name ?? process.pid}`));
  mkdirSync(workDir, { recursive: true });

  const baseEnv = stepEnv();
  // Job workspaces: outside the work directory, so steps never see the mirrors and data (removed when the agent stops).
  const workRoot = createWorkRoot();
  const stepFilesRoot = createStepFilesRoot();
  let executor: Executor = createHostExecutor();
  if (kind === "sandbox") {
    const ok = await sandboxAvailable();
    if (!ok.ok) throw new UsageError(`--executor sandbox: bubblewrap is not usable here: ${ok.reason ?? "unknown reason"} (install it with apt-get install bubblewrap)`);
    const home = join(workDir, "home");
    mkdirSync(home, { recursive: true });
    baseEnv.HOME = home;
    // Steps see the host read-only, cannot read the agent's mirrors and data, and have no network unless --network.
    executor = createSandboxExecutor({ workspace: workRoot, writable: stepFilesRoot ? [home, stepFilesRoot] : [home], hidden: [join(workDir, "repos"), join(workDir, "data")], network: opts.network === true });
  }
  const log: AgentLog = (level, msg, fields = {}) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + "\n");
  // Those of agents and runs killed before they could delete theirs (step scripts may hold secrets), in the background.
  void removeAbandonedWorkRoots().then((folders) => {
    if (folders.length > 0) log("info", "deleted the work folders of agents and runs that are gone", { folders });
  });
  const agent = new Agent({ server, token, labels, executor, workDir, log, baseEnv, workRoot, ...(stepFilesRoot ? { stepFilesRoot } : {}), retention, ...(opts.name !== undefined ? { name: opts.name } : {}) });

  let terms = 0;
  const onTerm = () => {
    terms++;
    if (terms === 1) {
      log("info", "SIGTERM: taking no more jobs; the current one finishes (send SIGTERM again to cancel it)");
      agent.stop();
    } else {
      log("warn", "cancelling the current job");
      agent.cancel();
    }
  };
  const onInt = () => {
    log("warn", "SIGINT: cancelling the current job and stopping");
    agent.cancel();
  };
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  try {
    await agent.run();
  } catch (err) {
    // The server refused the agent (a revoked token, a token not in the group): nothing to retry.
    process.stderr.write(`slipway agent: ${(err as Error).message}\n`);
    return EXIT.failed;
  } finally {
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onInt);
    for (const root of [workRoot, stepFilesRoot]) if (root) rmSync(root, { recursive: true, force: true });
  }
  return EXIT.ok;
}

/** The environment steps inherit: the agent's, less its token and Slipway's own settings. */
function stepEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith("SLIPWAY_") || k.startsWith("GITHUB_") || k.startsWith("RUNNER_") || k.startsWith("INPUT_") || k.startsWith("STATE_")) continue;
    if (/^npm_/i.test(k)) continue;
    env[k] = v;
  }
  return env;
}
