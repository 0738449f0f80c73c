// Cobertura XML (coverage.py's `coverage xml`, istanbul/nyc/c8/Jest/Vitest's
// `cobertura` reporter, gcovr, Coverlet, cargo-tarpaulin): the root's
// lines-valid/lines-covered and branches-valid/branches-covered when present,
// else counted from the <line> elements (branches from their
// `condition-coverage="50% (1/2)"`); functions from <method> elements, null
// when the tool writes none (coverage.py).
import type { Diagnostic } from "../diagnostics/index.js";
import type { CoverageCounts, CoverageFile } from "./model.js";
import { childrenNamed, localName, parseXml, type XmlElement } from "./xml.js";

export interface CoberturaResult {
  coverage: CoverageFile | null;
  diagnostics: Diagnostic[];
}

export function parseCobertura(text: string, file: string): CoberturaResult {
  const xml = parseXml(text, file);
  if (!xml.root) return { coverage: null, diagnostics: [xml.diagnostic] };
  return coberturaFromXml(xml.root, file);
}

export function isCoberturaRoot(element: XmlElement): boolean {
  return localName(element) === "coverage";
}

export function coberturaFromXml(root: XmlElement, file: string): CoberturaResult {
  if (!isCoberturaRoot(root)) {
    return {
      coverage: null,
      diagnostics: [
        {
          code: "report-format",
          severity: "error",
          message: `not a Cobertura coverage report: the root element is <${root.name}>, not <coverage>`,
          file,
          line: 0,
          column: 0,
        },
      ],
    };
  }
  const diagnostics: Diagnostic[] = [];
  const lineHits = new Map<string, boolean>();
  const branches = { covered: 0, total: 0 };
  const functions = { covered: 0, total: 0 };
  let methodsSeen = false;
  const sources = new Set<string>();
  for (const pkg of descendants(root, "package")) {
    for (const cls of descendants(pkg, "class")) {
      const source = cls.attrs.filename ?? cls.attrs.name ?? "";
      sources.add(source);
      for (const line of childrenNamed(cls, "lines").flatMap((l) => childrenNamed(l, "line"))) {
        const key = `${source}:${line.attrs.number ?? ""}`;
        lineHits.set(key, (lineHits.get(key) ?? false) || count(line.attrs.hits) > 0);
        const condition = /\((\d+)\/(\d+)\)/.exec(line.attrs["condition-coverage"] ?? "");
        if (line.attrs.branch === "true" && condition) {
          branches.covered += Number(condition[1]);
          branches.total += Number(condition[2]);
        }
      }
      for (const method of childrenNamed(cls, "methods").flatMap((m) => childrenNamed(m, "method"))) {
        methodsSeen = true;
        functions.total++;
        const lines = childrenNamed(method, "lines").flatMap((l) => childrenNamed(l, "line"));
        const hit = count(method.attrs.hits) > 0 || Number(method.attrs["line-rate"] ?? 0) > 0 || lines.some((l) => count(l.attrs.hits) > 0);
        if (hit) functions.covered++;
      }
    }
  }
  const lines: CoverageCounts = {
    covered: [...lineHits.values()].filter(Boolean).length,
    total: lineHits.size,
  };
  const validLines = integer(root.attrs["lines-valid"]);
  const coveredLines = integer(root.attrs["lines-covered"]);
  if (validLines !== undefined && coveredLines !== undefined && (validLines > 0 || lineHits.size === 0)) {
    lines.total = validLines;
    lines.covered = coveredLines;
  }
  const validBranches = integer(root.attrs["branches-valid"]);
  const coveredBranches = integer(root.attrs["branches-covered"]);
  if (validBranches !== undefined && coveredBranches !== undefined && (validBranches > 0 || branches.total === 0)) {
    branches.total = validBranches;
    branches.covered = coveredBranches;
  }
  if (lines.total === 0 && sources.size === 0) {
    diagnostics.push({
      code: "report-cobertura",
      severity: "warning",
      message: "the Cobertura report covers no source files (no <package>/<class> elements and no lines-valid)",
      file,
      line: 0,
      column: 0,
    });
  }
  return {
    coverage: {
      format: "cobertura",
      report: file,
      lines,
      branches,
      functions: methodsSeen ? functions : null,
      sources: sources.size,
    },
    diagnostics,
  };
}

/** Elements named `name` below `element` (not inside another such element). */
function descendants(element: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of element.children) {
    if (localName(child) === name) out.push(child);
    else out.push(...descendants(child, name));
  }
  return out;
}

function count(value: string | undefined): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function integer(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}
