// `slipway runs`: recent runs from the store.
import { dataDirFor, EXIT, UsageError, withStore, workDir, type GlobalOptions } from "./common.js";
import { paint, table } from "./style.js";

export async function runsCommand(opts: GlobalOptions & { limit?: string; json?: boolean }): Promise<number> {
  const limit = Number(opts.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit expects a positive integer, got '${opts.limit}'`);
  const dataDir = dataDirFor(opts, workDir(opts));
  return withStore(dataDir, (store) => {
    const runs = store.listRuns({ limit });
    if (opts.json) {
      process.stdout.write(JSON.stringify(runs, null, 2) + "\n");
      return EXIT.ok;
    }
    if (runs.length === 0) {
      process.stdout.write("no runs yet; start one with `slipway run`\n");
      return EXIT.ok;
    }
    const p = paint(process.stdout);
    const rows = runs.map((r) => {
      const secs = r.startedAt && r.completedAt ? `${((Date.parse(r.completedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1)}s` : "";
      const state = r.conclusion ?? r.status;
      return [String(r.id), r.workflowName, r.event, r.ref.replace(/^refs\/(heads|tags)\//, ""), r.sha.slice(0, 7), state, secs, r.createdAt.replace("T", " ").slice(0, 19)];
    });
    const text = table(["RUN", "WORKFLOW", "EVENT", "REF", "SHA", "RESULT", "TIME", "CREATED"], rows);
    process.stdout.write(text.replace(/\b(success|failure|cancelled)\b/g, (m) => (m === "success" ? p.green(m) : m === "failure" ? p.red(m) : p.yellow(m))));
    return EXIT.ok;
  });
}
