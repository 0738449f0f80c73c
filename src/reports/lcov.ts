// lcov tracefiles (`lcov.info`, as c8, nyc/istanbul, Jest, Vitest, Node's
// `--test-reporter=lcov`, genhtml's lcov and cargo-llvm-cov write them): one
// record per source file from `SF:` to `end_of_record`, summed. A record's
// LF/LH, BRF/BRH and FNF/FNH are used when present, else counted from its
// DA, BRDA and FN/FNDA lines.
import type { Diagnostic } from "../diagnostics/index.js";
import type { CoverageFile } from "./model.js";

interface RecordCounts {
  lf?: number;
  lh?: number;
  brf?: number;
  brh?: number;
  fnf?: number;
  fnh?: number;
  da: Map<number, boolean>;
  brda: Map<string, boolean>;
  fn: Set<string>;
  fnda: Map<string, boolean>;
}

const KNOWN = new Set(["TN", "SF", "VER", "FN", "FNDA", "FNF", "FNH", "FNL", "FNA", "DA", "LF", "LH", "BRDA", "BRF", "BRH", "LN"]);

/** Whether a text looks like an lcov tracefile (its first meaningful line is an lcov record line). */
export function looksLikeLcov(text: string): boolean {
  const first = text.replace(/^\uFEFF/, "").split(/\r?\n/).find((l) => l.trim() !== "");
  return first !== undefined && /^(TN|SF|VER):/.test(first.trim());
}

export interface LcovResult {
  coverage: CoverageFile | null;
  diagnostics: Diagnostic[];
}

export function parseLcov(text: string, file: string): LcovResult {
  const diagnostics: Diagnostic[] = [];
  const problem = (line: number, message: string, severity: "error" | "warning" = "warning") =>
    diagnostics.push({ code: "report-lcov", severity, message, file, line, column: line > 0 ? 1 : 0 });
  const totals = { lines: { covered: 0, total: 0 }, branches: { covered: 0, total: 0 }, functions: { covered: 0, total: 0 } };
  let sources = 0;
  let current: RecordCounts | undefined;
  let recordStart = 0;
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const finish = () => {
    if (!current) return;
    const r = current;
    totals.lines.total += r.lf ?? r.da.size;
    totals.lines.covered += r.lh ?? [...r.da.values()].filter(Boolean).length;
    totals.branches.total += r.brf ?? r.brda.size;
    totals.branches.covered += r.brh ?? [...r.brda.values()].filter(Boolean).length;
    totals.functions.total += r.fnf ?? Math.max(r.fn.size, r.fnda.size);
    totals.functions.covered += r.fnh ?? [...r.fnda.values()].filter(Boolean).length;
    sources++;
    current = undefined;
  };
  let bad = 0;
  lines.forEach((raw, index) => {
    const n = index + 1;
    const line = raw.trim();
    if (line === "") return;
    if (line === "end_of_record") {
      if (!current) problem(n, "end_of_record without a record (no SF: line before it)");
      finish();
      return;
    }
    const colon = line.indexOf(":");
    const key = colon > 0 ? line.slice(0, colon) : "";
    const value = colon > 0 ? line.slice(colon + 1) : "";
    if (!KNOWN.has(key)) {
      bad++;
      if (bad <= 5) problem(n, `not an lcov line: '${line.length > 60 ? `${line.slice(0, 60)}…` : line}'`);
      return;
    }
    if (key === "SF") {
      if (current) {
        problem(recordStart, "record without end_of_record");
        finish();
      }
      current = { da: new Map(), brda: new Map(), fn: new Set(), fnda: new Map() };
      recordStart = n;
      return;
    }
    if (key === "TN" || key === "VER") return;
    if (!current) {
      problem(n, `${key}: line outside a record (no SF: line before it)`);
      return;
    }
    const fields = value.split(",");
    const num = (s: string | undefined): number | undefined => {
      if (s === undefined || s.trim() === "" || s.trim() === "-") return undefined;
      const v = Number(s);
      return Number.isFinite(v) && v >= 0 ? v : undefined;
    };
    switch (key) {
      case "DA": {
        const ln = num(fields[0]);
        const hits = num(fields[1]);
        if (ln === undefined || hits === undefined) problem(n, `malformed DA line: '${line}'`);
        else current.da.set(ln, (current.da.get(ln) ?? false) || hits > 0);
        break;
      }
      case "BRDA": {
        if (fields.length < 4) {
          problem(n, `malformed BRDA line: '${line}'`);
          break;
        }
        const id = fields.slice(0, 3).join(",");
        const taken = num(fields[3]);
        current.brda.set(id, (current.brda.get(id) ?? false) || (taken ?? 0) > 0);
        break;
      }
      case "FN":
      case "FNL": {
        const name = fields.slice(key === "FN" ? 1 : 0).join(",");
        current.fn.add(name);
        break;
      }
      case "FNDA":
      case "FNA": {
        const hits = num(fields[key === "FNDA" ? 0 : 1]);
        const name = fields.slice(key === "FNDA" ? 1 : 2).join(",");
        current.fnda.set(name, (current.fnda.get(name) ?? false) || (hits ?? 0) > 0);
        break;
      }
      case "LF":
      case "LH":
      case "BRF":
      case "BRH":
      case "FNF":
      case "FNH": {
        const v = num(value);
        if (v === undefined) problem(n, `malformed ${key} line: '${line}'`);
        else current[key.toLowerCase() as "lf" | "lh" | "brf" | "brh" | "fnf" | "fnh"] = v;
        break;
      }
      default:
        break;
    }
  });
  if (bad > 5) problem(0, `${bad - 5} more lines that are not lcov`);
  if (current) {
    problem(recordStart, "the last record has no end_of_record (is the file cut short?)");
    finish();
  }
  if (sources === 0) {
    problem(0, "no coverage records (SF: … end_of_record) in the file", "error");
    return { coverage: null, diagnostics };
  }
  return {
    coverage: { format: "lcov", report: file, ...totals, sources },
    diagnostics,
  };
}
