// `slipway lint [FILES]`: every problem in the workflow files and slipway.yml, with file:line:column.
import { existsSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { CONFIG_FILES, findDeliveryConfig, loadDeliveryConfig } from "../delivery/index.js";
import { formatDiagnostic, hasErrors } from "../diagnostics/index.js";
import { EXIT, workDir, type GlobalOptions } from "./common.js";
import { loadWorkflows, workflowFiles } from "./run.js";
import { paint } from "./style.js";

export async function lintCommand(files: string[], opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const dir = workDir(opts);
  // slipway.yml: when named, or when the repository has one.
  const isDelivery = (f: string) => (CONFIG_FILES as readonly string[]).includes(basename(f));
  const deliveryPaths = files.length > 0 ? files.filter(isDelivery).map((f) => resolve(f)) : [findDeliveryConfig(dir)].filter((f) => f !== undefined);
  const workflowArgs = files.filter((f) => !isDelivery(f));
  const onlyDelivery = files.length > 0 ? workflowArgs.length === 0 : deliveryPaths.length > 0 && !existsSync(join(dir, ".github", "workflows"));
  const paths = onlyDelivery ? [] : workflowFiles(dir, workflowArgs.length > 0 ? workflowArgs : undefined);
  const { diagnostics } = await loadWorkflows(dir, paths);
  for (const f of deliveryPaths) {
    const display = relative(dir, f).startsWith("..") ? f : relative(dir, f);
    diagnostics.push(...loadDeliveryConfig(dirname(f), { file: f, display }).diagnostics);
    paths.push(f);
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify({ files: paths.length, diagnostics }, null, 2) + "\n");
  } else {
    const p = paint(process.stdout);
    for (const d of diagnostics) {
      const line = formatDiagnostic(d);
      process.stdout.write((d.severity === "error" ? p.red(line) : d.severity === "warning" ? p.yellow(line) : line) + "\n");
    }
    const errors = diagnostics.filter((d) => d.severity === "error").length;
    process.stdout.write(
      `${paths.length} file${paths.length === 1 ? "" : "s"} checked, ${errors} error${errors === 1 ? "" : "s"}, ${diagnostics.length - errors} warning${diagnostics.length - errors === 1 ? "" : "s"}\n`,
    );
  }
  return hasErrors(diagnostics) ? EXIT.usage : EXIT.ok;
}
