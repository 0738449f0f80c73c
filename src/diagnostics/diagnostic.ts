// A problem in user input, pointing at the place to fix it.
export type Severity = "error" | "warning" | "notice";

export interface Diagnostic {
  /** Stable identifier, e.g. `workflow-syntax`, `unknown-need`, `security/unpinned-action`. */
  code: string;
  severity: Severity;
  message: string;
  file: string;
  /** One-based; 0 when the problem concerns the whole file. */
  line: number;
  column: number;
  /** How to fix it, when we can say. */
  fix?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  const fix = d.fix ? ` (fix: ${d.fix})` : "";
  return `${where}: ${d.severity}: ${d.message} [${d.code}]${fix}`;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}
