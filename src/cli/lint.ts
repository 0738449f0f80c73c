// `slipway lint [FILES]`: every problem in the workflow files, with file:line:column.
import { formatDiagnostic, hasErrors } from "../diagnostics/index.js";
import { EXIT, workDir, type GlobalOptions } from "./common.js";
import { loadWorkflows, workflowFiles } from "./run.js";
import { paint } from "./style.js";

export async function lintCommand(files: string[], opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const dir = workDir(opts);
  const paths = workflowFiles(dir, files.length > 0 ? files : undefined);
  const { diagnostics } = await loadWorkflows(dir, paths);
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
