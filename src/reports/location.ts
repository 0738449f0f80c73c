// Where a test failed: the file and line a failure's text names, from the
// stack traces and tracebacks of the usual test runners (Node, Jest, Vitest,
// pytest, Go, Java/Kotlin, .NET, Rust, RSpec). Pure: paths are made relative
// to `root` when they are inside it, never checked on disk.
import { fileURLToPath } from "node:url";

export interface SourceLocation {
  file: string;
  line: number;
}

/** What is known of the test, to prefer the frame in the test's own file. */
export interface LocationHint {
  /** The test's file, from a `file` attribute. */
  file?: string;
  classname?: string;
  /** The workspace: absolute paths inside it are made relative to it. */
  root?: string;
}

interface Candidate {
  file: string;
  line: number;
  /** Java/Kotlin: the frame's class (`com.example.MathTest`). */
  className?: string;
}

const JS_FRAME = /^\s*at\s+(?:[^()]*\()?(.+?):(\d+):(\d+)\)?\s*$/;
const JAVA_FRAME = /^\s*at\s+([\w$.]+)\.[\w$<>]+\(([\w$-]+\.(?:java|kt|scala|groovy)):(\d+)\)/;
const VITEST_FRAME = /^\s*\u276F\s+(?:\S+\s+)?(\S+?):(\d+):(\d+)\s*$/;
const PYTEST_LOCATION = /^(\S[^:\n]*\.py):(\d+):(?:\s|$)/;
const PYTHON_FRAME = /^\s*File "(.+?)", line (\d+)/;
/** `    calc_test.go:14: message` (t.Errorf), and a panic's frames `\t/src/calc/calc.go:12 +0x1a`. */
const GO_LOCATION = /^\s*([\w./-]+\.go):(\d+)(?::|(?: \+0x[0-9a-f]+)?\s*$)/;
/** C, C++, Swift, Zig compilers' and gtest's `file.cc:40: Failure`. */
const C_LOCATION = /^\s*((?:[\w.@+-]+\/)*[\w.@+-]+\.(?:c|cc|cpp|cxx|h|hh|hpp|swift|m|mm|zig)):(\d+)(?::\d+)?:/;
const DOTNET_FRAME = /\bin (.+?):line (\d+)\s*$/;
const RUST_LOCATION = /(?:-->|panicked at)\s+'?([^\s:']+\.rs):(\d+):(\d+)/;
/** A line that is only a path with a line number (RSpec `# ./spec/x_spec.rb:12:in ...`, PHPUnit `/app/tests/XTest.php:25`). */
const BARE_LOCATION = /^\s*(?:#\s*)?((?:\.{1,2}\/|\/)?[\w@.+-]+(?:\/[\w@.+-]+)*\.[A-Za-z]\w{0,5}):(\d+)(?::\d+)?(?::in\b.*)?\s*$/;

/** Names test files have by convention: the frame in one is where the test failed, even when a helper threw. */
const TEST_FILE = /(?:^|\/)(?:tests?|__tests__|spec)\/|(?:^|\/)test_[^/]*\.py$|_test\.(?:go|py)$|\.(?:test|spec)\.[cm]?[jt]sx?$|(?:Test|Tests|Spec|IT)\.(?:java|kt|scala|groovy|cs)$|_spec\.rb$/;
const FRAMEWORK_CLASS = /^(?:java|javax|jdk|sun|kotlin|kotlinx|scala|org\.junit|junit|org\.testng|org\.apache\.maven|org\.gradle|org\.opentest4j|org\.assertj|org\.hamcrest|org\.mockito|org\.spockframework|org\.spekframework|io\.kotest)\./;

function isLibraryPath(file: string): boolean {
  return (
    file.startsWith("node:") ||
    file.startsWith("internal/") ||
    file.startsWith("<") ||
    file.includes("/node_modules/") ||
    file.startsWith("node_modules/") ||
    file.includes("/site-packages/") ||
    file.includes("/dist-packages/") ||
    file.includes("/lib/python") ||
    file.includes("/usr/local/go/") ||
    file.includes("/.cargo/registry/") ||
    file.includes("/rustc/") ||
    file === "testing.go"
  );
}

/** File and line of the failure a text (a failure's message, stack or traceback) names, if any. */
export function locateFailure(text: string, hint: LocationHint = {}): SourceLocation | undefined {
  const candidates = candidatesOf(text, hint.root).filter((c) => !isLibraryPath(c.file) && !(c.className && FRAMEWORK_CLASS.test(c.className)));
  if (candidates.length === 0) return undefined;
  const chosen = candidates.find((c) => isTestFile(c, hint)) ?? candidates.find((c) => TEST_FILE.test(c.file)) ?? candidates[0];
  return chosen ? { file: chosen.file, line: chosen.line } : undefined;
}

/** Candidate locations, innermost frame first. */
function candidatesOf(text: string, root: string | undefined): Candidate[] {
  const innermostFirst: Candidate[] = [];
  const innermostLast: Candidate[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = stripAnsi(raw);
    let m: RegExpMatchArray | null;
    if ((m = line.match(JAVA_FRAME))) {
      const className = (m[1] as string).replace(/\$.*$/, "");
      const pkg = className.includes(".") ? className.slice(0, className.lastIndexOf(".")).replace(/\./g, "/") : "";
      innermostFirst.push({ file: pkg ? `${pkg}/${m[2]}` : (m[2] as string), line: Number(m[3]), className });
    } else if ((m = line.match(JS_FRAME)) || (m = line.match(VITEST_FRAME))) {
      innermostFirst.push({ file: normalizePath(m[1] as string, root), line: Number(m[2]) });
    } else if ((m = line.match(PYTHON_FRAME)) || (m = line.match(PYTEST_LOCATION))) {
      innermostLast.push({ file: normalizePath(m[1] as string, root), line: Number(m[2]) });
    } else if ((m = line.match(GO_LOCATION)) || (m = line.match(RUST_LOCATION)) || (m = line.match(C_LOCATION))) {
      innermostFirst.push({ file: normalizePath(m[1] as string, root), line: Number(m[2]) });
    } else if ((m = line.match(DOTNET_FRAME))) {
      innermostFirst.push({ file: normalizePath(m[1] as string, root), line: Number(m[2]) });
    } else if ((m = line.match(BARE_LOCATION))) {
      innermostFirst.push({ file: normalizePath(m[1] as string, root), line: Number(m[2]) });
    }
  }
  return [...innermostFirst, ...innermostLast.reverse()].filter((c) => c.line > 0 && c.file !== "");
}

/** Whether a frame is in the test's own file (by its file attribute, its class name, or a path-like class name). */
function isTestFile(c: Candidate, hint: LocationHint): boolean {
  if (hint.file && samePath(c.file, normalizePath(hint.file, hint.root))) return true;
  const classname = hint.classname ?? "";
  if (classname === "") return false;
  if (c.className) return classname === c.className || classname.startsWith(`${c.className}$`) || classname.startsWith(`${c.className}.`);
  if (samePath(c.file, classname)) return true;
  // pytest: tests/test_calc.py ↔ tests.test_calc.TestDivide
  const dotted = c.file.replace(/\.[^./]+$/, "").replace(/^\.\//, "").replace(/\//g, ".");
  return dotted !== "" && (classname === dotted || classname.startsWith(`${dotted}.`) || dotted.endsWith(`.${classname}`));
}

function samePath(a: string, b: string): boolean {
  const x = a.replace(/^\.\//, "");
  const y = b.replace(/^\.\//, "");
  return x === y || x.endsWith(`/${y}`) || y.endsWith(`/${x}`);
}

/** `file:///abs/x.js` → `/abs/x.js`; inside `root` → relative to it; `./x` → `x`. */
export function normalizePath(file: string, root?: string): string {
  let path = file.trim();
  if (path.startsWith("file://")) {
    try {
      path = fileURLToPath(path);
    } catch {
      path = path.slice("file://".length);
    }
  }
  if (root) {
    const base = root.endsWith("/") ? root : `${root}/`;
    if (path.startsWith(base)) path = path.slice(base.length);
  }
  return path.replace(/^\.\//, "");
}

const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** Text without ANSI colour codes (Jest and Vitest colour their diffs). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}
