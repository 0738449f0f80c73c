// JUnit XML, in the dialects test runners write: Maven Surefire (one
// <testsuite> per file, <flakyFailure>/<rerunFailure> for re-runs), pytest
// (xunit2, and xunit1 with file and a 0-based line), jest-junit, Vitest's
// junit reporter, Node's `--test-reporter=junit` (nested suites, tests
// directly under <testsuites>), go-junit-report, and the like.
//
// A test's file and line come from `file`/`line` attributes where the report
// has them, else from its failure's text (see location.ts); when both name
// the same file, the text's line wins: it is the failing line, not the
// test's first one.
import type { Diagnostic } from "../diagnostics/index.js";
import { locateFailure, normalizePath, stripAnsi } from "./location.js";
import { DETAIL_LINES, type FlakyTest, type TestCaseResult, type TestFailure } from "./model.js";
import { childrenNamed, localName, parseXml, type XmlElement } from "./xml.js";

export interface JUnitResult {
  cases: TestCaseResult[];
  failures: TestFailure[];
  /** Seconds, as the report says (the root's time, else its suites', else its cases'). */
  duration: number;
  /** Tests the runner itself re-ran: failed, then passed. */
  flaky: FlakyTest[];
  diagnostics: Diagnostic[];
}

export interface JUnitOptions {
  /** The report's name in diagnostics and failures (relative to the workspace). */
  file: string;
  /** The workspace: absolute paths inside it are made relative to it. */
  root?: string;
}

const SUITE_SEPARATOR = " > ";
const MAX_MESSAGE = 1000;
const MAX_DETAIL_LINE = 300;

export function isJUnitRoot(element: XmlElement): boolean {
  return ["testsuites", "testsuite", "testcase", "testrun"].includes(localName(element));
}

/** Parses a JUnit XML report; never throws: a malformed file gives a diagnostic and no cases. */
export function parseJUnit(text: string, options: JUnitOptions): JUnitResult {
  const xml = parseXml(text, options.file);
  if (!xml.root) return { cases: [], failures: [], duration: 0, flaky: [], diagnostics: [xml.diagnostic] };
  return junitFromXml(xml.root, options);
}

export function junitFromXml(root: XmlElement, options: JUnitOptions): JUnitResult {
  const result: JUnitResult = { cases: [], failures: [], duration: 0, flaky: [], diagnostics: [] };
  if (!isJUnitRoot(root)) {
    result.diagnostics.push({
      code: "report-format",
      severity: "error",
      message: `not a JUnit XML report: the root element is <${root.name}>, not <testsuites> or <testsuite>`,
      file: options.file,
      line: 0,
      column: 0,
    });
    return result;
  }
  const pytest = root.attrs.name === "pytest tests" || (localName(root) === "testsuite" && root.attrs.name === "pytest");
  const walker = new Walker(options, pytest || hasPytestSuite(root), result);
  const kind = localName(root);
  if (kind === "testcase") walker.testCase(root, [], undefined);
  else if (kind === "testsuite") walker.suite(root, [], undefined);
  else walker.suiteChildren(root, [], root.attrs.file);

  const rootTime = seconds(root.attrs.time);
  const suiteTimes = childrenNamed(root, "testsuite").map((s) => seconds(s.attrs.time));
  result.duration =
    rootTime ??
    (kind === "testsuites" && suiteTimes.length > 0 && suiteTimes.every((t) => t !== undefined)
      ? suiteTimes.reduce<number>((a, t) => a + (t ?? 0), 0)
      : result.cases.reduce((a, c) => a + c.duration, 0));
  result.flaky.push(...rerunFlaky(result.cases, result.flaky));
  return result;
}

function hasPytestSuite(root: XmlElement): boolean {
  return childrenNamed(root, "testsuite").some((s) => s.attrs.name === "pytest");
}

class Walker {
  constructor(
    private readonly options: JUnitOptions,
    /** pytest's `line` attribute is 0-based. */
    private readonly zeroBasedLines: boolean,
    private readonly result: JUnitResult,
  ) {}

  suite(element: XmlElement, path: string[], file: string | undefined): void {
    const name = element.attrs.name ?? "";
    // pytest names its one suite "pytest": the class name says more.
    const named = name === "" || (this.zeroBasedLines && name === "pytest") ? path : [...path, name];
    this.suiteChildren(element, named, element.attrs.file ?? element.attrs.filepath ?? file);
  }

  suiteChildren(element: XmlElement, path: string[], file: string | undefined): void {
    for (const child of element.children) {
      const kind = localName(child);
      if (kind === "testsuite") this.suite(child, path, file);
      else if (kind === "testcase") this.testCase(child, path, file);
    }
  }

  testCase(element: XmlElement, path: string[], suiteFile: string | undefined): void {
    const { attrs } = element;
    const suite = path.join(SUITE_SEPARATOR);
    const name = attrs.name ?? "";
    const classname = attrs.classname ?? attrs.class ?? "";
    const fileAttr = attrs.file ?? attrs.filepath ?? suiteFile;
    const lineAttr = integer(attrs.line ?? attrs.lineno);
    const attrLine = lineAttr === undefined ? undefined : this.zeroBasedLines ? lineAttr + 1 : lineAttr;
    const failure = childrenNamed(element, "failure", "error")[0];
    const skipped = childrenNamed(element, "skipped").length > 0 || isSkippedStatus(attrs);
    const rerunFailures = childrenNamed(element, "flakyfailure", "flakyerror");
    const status = failure ? (localName(failure) === "error" ? "errored" : "failed") : skipped ? "skipped" : "passed";

    let file = fileAttr !== undefined && fileAttr !== "" ? normalizePath(fileAttr, this.options.root) : undefined;
    let line = file !== undefined ? attrLine : undefined;
    if (failure) {
      const text = stripAnsi(failure.text);
      const message = nodeMessage(failure.attrs.message, text) ?? (firstMessage(failure.attrs.message, text) || (localName(failure) === "error" ? "error" : "failed"));
      const at = locateFailure(`${text}\n${failure.attrs.message ?? ""}`, {
        ...(file ? { file } : {}),
        classname,
        ...(this.options.root ? { root: this.options.root } : {}),
      });
      if (file === undefined && at) {
        file = at.file;
        line = at.line;
      } else if (file !== undefined && at && sameFile(at.file, file)) {
        line = at.line;
      }
      const type = failure.attrs.type;
      this.result.failures.push({
        suite,
        classname,
        name,
        kind: localName(failure) === "error" ? "error" : "failure",
        message,
        ...(type ? { type } : {}),
        ...(file !== undefined ? { file } : {}),
        ...(file !== undefined && line !== undefined ? { line } : {}),
        details: details(relativePaths(nodeCause(text) ?? text, this.options.root) || message),
        report: this.options.file,
      });
    }
    const result: TestCaseResult = {
      suite,
      classname,
      name,
      status,
      duration: seconds(attrs.time) ?? 0,
      ...(file !== undefined ? { file } : {}),
      ...(file !== undefined && line !== undefined ? { line } : {}),
    };
    if (status === "passed" && rerunFailures.length > 0) {
      result.flaky = true;
      this.result.flaky.push({ suite, classname, name, failedAttempts: [], passedAttempt: null, source: "rerun" });
    }
    this.result.cases.push(result);
  }
}

function isSkippedStatus(attrs: Record<string, string>): boolean {
  const status = (attrs.status ?? "").toLowerCase();
  const result = (attrs.result ?? "").toLowerCase();
  return ["notrun", "skipped", "disabled", "ignored"].includes(status) || result === "skipped" || result === "suppressed";
}

/** A case listed failing and then passing in the same report (a runner's retries written as separate cases). */
function rerunFlaky(cases: TestCaseResult[], already: FlakyTest[]): FlakyTest[] {
  const failedAt = new Map<string, number>();
  const found: FlakyTest[] = [];
  const seen = new Set(already.map(caseKey));
  cases.forEach((c, i) => {
    const key = caseKey(c);
    if (c.status === "failed" || c.status === "errored") {
      if (!failedAt.has(key)) failedAt.set(key, i);
    } else if (c.status === "passed" && failedAt.has(key) && !seen.has(key)) {
      seen.add(key);
      c.flaky = true;
      found.push({ suite: c.suite, classname: c.classname, name: c.name, failedAttempts: [], passedAttempt: null, source: "rerun" });
    }
  });
  return found;
}

/** Identity of a test case across reports and attempts. */
export function caseKey(c: { suite: string; classname: string; name: string }): string {
  return `${c.suite}\u0000${c.classname}\u0000${c.name}`;
}

function sameFile(a: string, b: string): boolean {
  return a === b || a.endsWith(`/${b}`) || b.endsWith(`/${a}`);
}

function firstMessage(attribute: string | undefined, text: string): string {
  const message = attribute !== undefined && attribute.trim() !== "" ? attribute : (text.split(/\r?\n/).find((l) => l.trim() !== "") ?? "");
  const clean = stripAnsi(message).trim();
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE)}…` : clean;
}

/**
 * Node's junit reporter writes the error's message with its line breaks
 * removed (`expected 1Actual: 2`); its text has them, after
 * `Error [ERR_TEST_FAILURE]: ` and before the stack.
 */
function nodeMessage(attribute: string | undefined, text: string): string | undefined {
  const body = text.trimStart();
  const prefix = /^\[?Error \[ERR_TEST_FAILURE\]: /.exec(body);
  if (!prefix || attribute === undefined) return undefined;
  const lines: string[] = [];
  for (const line of body.slice(prefix[0].length).split(/\r?\n/)) {
    if (/^\s+at /.test(line) || (line.trim() !== "" && /^\]?\s*\{?$/.test(line.trim()))) break;
    if (line.trim() !== "") lines.push(line.trim());
  }
  const squash = (s: string) => s.replace(/\s+/g, "");
  if (lines.length === 0 || squash(lines.join("")) !== squash(attribute)) return undefined;
  const message = lines.join("\n");
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
}

/** Node's text wraps the test's error in an ERR_TEST_FAILURE; its `cause:` is the error itself, with the useful stack. */
function nodeCause(text: string): string | undefined {
  if (!/^\s*\[?Error \[ERR_TEST_FAILURE\]: /.test(text)) return undefined;
  const at = text.indexOf("\n  cause: ");
  if (at < 0) return undefined;
  return text
    .slice(at + "\n  cause: ".length)
    .split("\n")
    .map((l) => l.replace(/^ {2}/, ""))
    .join("\n");
}

/** Paths inside the workspace as relative ones, so details read the same wherever the job ran. */
function relativePaths(text: string, root: string | undefined): string {
  if (!root) return text;
  const base = root.endsWith("/") ? root : `${root}/`;
  return text.split(`file://${base}`).join("").split(base).join("");
}

function details(text: string): string {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  while (lines.length > 0 && (lines[0] ?? "").trim() === "") lines.shift();
  while (lines.length > 0 && (lines.at(-1) ?? "").trim() === "") lines.pop();
  const kept = lines.slice(0, DETAIL_LINES).map((l) => (l.length > MAX_DETAIL_LINE ? `${l.slice(0, MAX_DETAIL_LINE)}…` : l.trimEnd()));
  if (lines.length > DETAIL_LINES) kept.push(`… (${lines.length - DETAIL_LINES} more lines)`);
  return kept.join("\n");
}

/** A `time` attribute in seconds (`1,234.5` and `0.5s` too); undefined when absent or not a number. */
function seconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.trim().replace(/,/g, "").replace(/s$/, ""));
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function integer(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}
