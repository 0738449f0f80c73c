// `slipway history [ENV]`: the audit trail of promotions and rollbacks, read
// from the state repository's Git history.
import { openStateRepository, validateName } from "../gitops/index.js";
import { dataDirFor, EXIT, workDir, type GlobalOptions } from "./common.js";
import { table } from "./style.js";

export interface HistoryOptions extends GlobalOptions {
  json?: boolean;
  /** Another state repository (path or URL) instead of <data dir>/state.git. */
  stateRepo?: string;
}

export async function historyCommand(env: string | undefined, opts: HistoryOptions): Promise<number> {
  if (env !== undefined) validateName("env", env);
  const dataDir = dataDirFor(opts, workDir(opts));
  const url = opts.stateRepo ?? (process.env.SLIPWAY_STATE_REPO || undefined);
  // Reading never creates the default repository.
  const repo = await openStateRepository({ dataDir, ...(url !== undefined ? { url } : {}), create: false });
  const entries = await repo.history(env);
  if (opts.json) {
    process.stdout.write(JSON.stringify(entries, null, 2) + "\n");
    return EXIT.ok;
  }
  if (entries.length === 0) {
    const where = repo.url ?? repo.gitDir;
    const scope = env === undefined ? "" : ` for environment '${env}'`;
    process.stdout.write(`no history${scope} yet in the state repository (${where}); every promotion and rollback will be a commit there\n`);
    return EXIT.ok;
  }
  const rows = entries.map((e) => [
    e.date.replace("T", " ").slice(0, 19),
    e.env,
    e.service,
    e.release ?? "(removed)",
    e.action,
    e.author,
    shorten(firstLine(e.reason), 60),
    e.commit.slice(0, 12),
  ]);
  process.stdout.write(table(["WHEN", "ENV", "SERVICE", "RELEASE", "ACTION", "BY", "REASON", "COMMIT"], rows));
  return EXIT.ok;
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? "";
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
