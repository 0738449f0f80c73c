// `slipway gc [--dry-run] [--json]`: removes what the data directory no
// longer needs (retention/: expired artifacts, idle or excess cache entries,
// unreferenced blobs). `slipway server` does the same every hour.
import { collectGarbage, type GcReport } from "../retention/index.js";
import { openDataStore } from "../store/index.js";
import { dataDirFor, EXIT, retentionPolicy, workDir, type GlobalOptions } from "./common.js";
import { formatBytes, paint, table } from "./style.js";

export interface GcCommandOptions extends GlobalOptions {
  dryRun?: boolean;
  json?: boolean;
}

export async function gcCommand(opts: GcCommandOptions): Promise<number> {
  const policy = retentionPolicy();
  const dataDir = dataDirFor(opts, workDir(opts));
  const store = openDataStore(dataDir);
  let report: GcReport;
  try {
    report = await collectGarbage({ dataDir, store, policy, dryRun: opts.dryRun === true });
  } finally {
    store.close();
  }
  // Something unreadable: the collection went on around it, and exits 1 so that it is seen.
  const code = report.problems.length > 0 ? EXIT.failed : EXIT.ok;
  if (opts.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    return code;
  }
  const p = paint(process.stdout);
  const verb = report.dryRun ? "would remove" : "removed";
  process.stdout.write(
    table(
      ["WHAT", verb.toUpperCase(), "SIZE"],
      [
        ["expired artifacts", String(report.artifacts.removed), ""],
        ["actions/cache entries", String(report.caches.removed), formatBytes(report.caches.bytes)],
        ["remote cache entries", String(report.remoteCache.removed), formatBytes(report.remoteCache.bytes)],
        ["unreferenced blobs", String(report.blobs.removed), formatBytes(report.blobs.bytes)],
        ["temporary files", report.dryRun ? "-" : String(report.tempFiles.removed), ""],
      ],
    ),
  );
  process.stdout.write(p.dim(`${report.blobs.kept} blob(s) kept; ${report.ms} ms${report.dryRun ? "; nothing was removed (--dry-run)" : ""}\n`));
  for (const problem of report.problems) process.stderr.write(`slipway gc: ${problem}\n`);
  return code;
}
