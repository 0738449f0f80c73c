// A test report as Markdown, for the job summary: totals, failures with
// file:line and their first lines, flaky tests, coverage.
import type { CoverageCounts, TestReport, TestTotals } from "./model.js";
import { percent } from "./test-report.js";

/** Failures listed with their details; later ones get one line each, up to MAX_LISTED. */
const WITH_DETAILS = 10;
const MAX_LISTED = 50;

export function totalsLine(t: TestTotals): string {
  const parts = [`${t.passed} passed`];
  if (t.failed > 0) parts.unshift(`${t.failed} failed`);
  if (t.errored > 0) parts.push(`${t.errored} errored`);
  if (t.skipped > 0) parts.push(`${t.skipped} skipped`);
  return `${t.tests} test${t.tests === 1 ? "" : "s"}: ${parts.join(", ")} (${formatSeconds(t.duration)})`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** `83.3% (5/6)`, or `n/a` when there is nothing to count. */
export function formatCoverage(counts: CoverageCounts | null): string {
  const p = percent(counts);
  return p === null || !counts ? "n/a" : `${p.toFixed(1)}% (${counts.covered}/${counts.total})`;
}

/** `math > subtracts` with its suite, or the class name when there is no suite (not Node's constant class name `test`). */
export function testTitle(t: { suite: string; classname: string; name: string }): string {
  const prefix = t.suite !== "" ? t.suite : t.classname !== "test" ? t.classname : "";
  return prefix !== "" && !t.name.startsWith(prefix) ? `${prefix} > ${t.name}` : t.name;
}

export function location(f: { file?: string; line?: number }): string {
  if (!f.file) return "";
  return f.line !== undefined ? `${f.file}:${f.line}` : f.file;
}

export function reportMarkdown(report: TestReport): string {
  const t = report.totals;
  const out: string[] = [];
  const verdict = t.failed + t.errored > 0 ? "failed" : t.tests === 0 ? "no tests" : "passed";
  out.push(`### Test report: ${escapeMarkdown(report.name)} (${verdict})`, "");
  if (t.tests > 0) {
    out.push(`**${totalsLine(t)}**`, "");
  } else if (report.coverage.length === 0) {
    out.push("No test cases in the reports.", "");
  }
  if (report.failures.length > 0) {
    out.push("#### Failures", "");
    report.failures.slice(0, MAX_LISTED).forEach((f, i) => {
      const where = location(f);
      out.push(`- **${escapeMarkdown(testTitle(f))}**${where ? ` at \`${where}\`` : ""}${f.kind === "error" ? " (error)" : ""}: ${escapeMarkdown(oneLine(f.message))}`);
      if (i < WITH_DETAILS && f.details !== "" && f.details !== f.message) {
        out.push("", fence(f.details, "  "), "");
      }
    });
    const more = report.failures.length - MAX_LISTED + report.omittedFailures;
    if (more > 0) out.push(`- … and ${more} more`);
    if (out.at(-1) !== "") out.push("");
  }
  if (report.flaky.length > 0) {
    out.push("#### Flaky", "");
    for (const f of report.flaky) {
      const how = f.source === "attempts" ? `failed in attempt ${f.failedAttempts.join(", ")}, passed in attempt ${f.passedAttempt}` : "failed, then passed when the test runner ran it again";
      out.push(`- ${escapeMarkdown(testTitle(f))}: ${how}`);
    }
    out.push("");
  }
  if (report.coverage.length > 0) {
    out.push("#### Coverage", "", "| format | lines | branches | functions |", "| --- | --- | --- | --- |");
    for (const c of report.coverage) {
      out.push(`| ${c.format} | ${formatCoverage(c.lines)} | ${formatCoverage(c.branches)} | ${formatCoverage(c.functions)} |`);
    }
    out.push("");
  }
  if (report.diagnostics.length > 0) {
    out.push("#### Problems reading the reports", "");
    for (const d of report.diagnostics.slice(0, 20)) {
      const where = d.line > 0 ? `${d.file}:${d.line}${d.column > 0 ? `:${d.column}` : ""}` : d.file;
      out.push(`- \`${where}\`: ${escapeMarkdown(d.message)}`);
    }
    out.push("");
  }
  return out.join("\n");
}

/** A message on one line: its lines joined (after a colon with a space, else with "; "), at most 200 characters. */
export function oneLine(text: string, max = 200): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const joined = lines.reduce((acc, l) => (acc === "" ? l : `${acc}${acc.endsWith(":") ? " " : "; "}${l}`), "");
  return joined.length > max ? `${joined.slice(0, max)}…` : joined;
}

function fence(text: string, indent: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  return [ticks, ...text.split("\n"), ticks].map((l) => indent + l).join("\n");
}

/** Keeps test names from turning into Markdown (or HTML); intraword `_` and a `>` inside a line stay as they are. */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*[\]<|]/g, (c) => `\\${c}`);
}
