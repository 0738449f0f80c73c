// `slipway lint [FILES]`: every problem in the workflow files and slipway.yml, with file:line:column.
import { existsSync, readFileSync } from "node:fs";
import { builtinActions } from "../actions/index.js";
import { lintWorkflowSecurity, SECURITY_RULES, toSarif } from "../supply-chain/index.js";
import { basename, dirname, join, relative, resolve } from "node:path";
import { CONFIG_FILES, findDeliveryConfig, loadDeliveryConfig } from "../delivery/index.js";
import { formatDiagnostic, hasErrors, type Diagnostic } from "../diagnostics/index.js";
import { EXIT, UsageError, VERSION, workDir, type GlobalOptions } from "./common.js";
import { loadWorkflows, workflowFiles } from "./run.js";
import { paint } from "./style.js";

export interface LintOptions extends GlobalOptions {
  json?: boolean;
  /** Only the security rules, with their own severities (errors exit 1). */
  security?: boolean;
  format?: string;
}

export async function lintCommand(files: string[], opts: LintOptions): Promise<number> {
  const dir = workDir(opts);
  const format = opts.format ?? (opts.json ? "json" : "text");
  if (!["text", "json", "sarif"].includes(format)) throw new UsageError(`--format must be text, json or sarif, got '${format}'`);
  // slipway.yml: when named, or when the repository has one.
  const isDelivery = (f: string) => (CONFIG_FILES as readonly string[]).includes(basename(f));
  const deliveryPaths = files.length > 0 ? files.filter(isDelivery).map((f) => resolve(f)) : [findDeliveryConfig(dir)].filter((f) => f !== undefined);
  const workflowArgs = files.filter((f) => !isDelivery(f));
  const onlyDelivery = files.length > 0 ? workflowArgs.length === 0 : deliveryPaths.length > 0 && !existsSync(join(dir, ".github", "workflows"));
  const paths = onlyDelivery ? [] : workflowFiles(dir, workflowArgs.length > 0 ? workflowArgs : undefined);
  const loaded = await loadWorkflows(dir, paths);
  // The security rules read the YAML as written; by default their findings are warnings.
  const security: Diagnostic[] = [];
  for (const f of paths) {
    if (!existsSync(f)) continue;
    const display = relative(dir, f).startsWith("..") ? f : relative(dir, f);
    security.push(...lintWorkflowSecurity(readFileSync(f, "utf8"), display, { builtins: new Set([...builtinActions.keys()].map((k) => k.split("/").slice(0, 2).join("/"))) }));
  }
  const diagnostics: Diagnostic[] = opts.security ? security : [...loaded.diagnostics, ...security.map((d) => ({ ...d, severity: "warning" as const }))];
  for (const f of deliveryPaths) {
    if (opts.security) break;
    const display = relative(dir, f).startsWith("..") ? f : relative(dir, f);
    diagnostics.push(...loadDeliveryConfig(dirname(f), { file: f, display }).diagnostics);
    paths.push(f);
  }
  if (format === "sarif") {
    process.stdout.write(JSON.stringify(toSarif(diagnostics, { name: "slipway", version: VERSION, rules: SECURITY_RULES }), null, 2) + "\n");
  } else if (format === "json") {
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
  // --security: findings are results (exit 1), not bad input; a workflow that cannot be read still is.
  if (opts.security) return hasErrors(loaded.diagnostics) ? EXIT.usage : hasErrors(diagnostics) ? EXIT.failed : EXIT.ok;
  return hasErrors(diagnostics) ? EXIT.usage : EXIT.ok;
}
