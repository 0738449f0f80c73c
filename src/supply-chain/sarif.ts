// SARIF 2.1.0 (the format GitHub code scanning and most security dashboards
// read) for diagnostics: one run, one result per finding, rules by id.
import type { Diagnostic } from "../diagnostics/index.js";

export function toSarif(diagnostics: readonly Diagnostic[], tool: { name: string; version: string; rules: Record<string, string>; informationUri?: string }): Record<string, unknown> {
  const ids = [...new Set([...Object.keys(tool.rules), ...diagnostics.map((d) => d.code)])];
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            ...(tool.informationUri ? { informationUri: tool.informationUri } : {}),
            rules: ids.map((id) => ({ id, shortDescription: { text: tool.rules[id] ?? id } })),
          },
        },
        results: diagnostics.map((d) => ({
          ruleId: d.code,
          ruleIndex: ids.indexOf(d.code),
          level: d.severity === "notice" ? "note" : d.severity,
          message: { text: d.fix ? `${d.message}. Fix: ${d.fix}` : d.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: d.file.split("\\").join("/") },
                ...(d.line > 0 ? { region: { startLine: d.line, startColumn: Math.max(1, d.column) } } : {}),
              },
            },
          ],
        })),
      },
    ],
  };
}
