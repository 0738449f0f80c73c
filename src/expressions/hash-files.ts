// hashFiles(): the same digest GitHub's runner computes.
//
// The runner (src/Misc/expressionFunc/hashFiles) joins the arguments with
// newlines, globs them with @actions/glob 0.4 from GITHUB_WORKSPACE, keeps only
// files under the workspace, and feeds the binary sha256 of each file, in the
// order the globber yields them, into one sha256. This module reproduces that
// synchronously (expressions are evaluated synchronously):
//
// - Patterns: one per line, trimmed; empty lines and `#` lines ignored;
//   leading `!` negates (each `!` toggles). Relative patterns are resolved
//   against the workspace, `./x` too, `~/x` against the home directory;
//   absolute patterns are allowed. `.` (except leading) and `..` segments are
//   rejected. Matching is minimatch's with GitHub's options: `*`, `?`, `[...]`,
//   `**` and `\` escapes; dotfiles match (so `**` descends into `.git`, as on
//   GitHub); no braces, no extglobs; case-sensitive.
// - A pattern also matches everything under a directory it matches
//   (`src` hashes every file in src), and a trailing `/` matches directories
//   only. Patterns apply in order, last match wins: `!x` removes what earlier
//   patterns matched; a later positive pattern can add it back.
// - Order: each search root (a pattern's path before its first glob segment,
//   roots under another root dropped) in pattern order, each walked
//   depth-first with entries in byte order. This is exactly the order GitHub
//   hashes in, so the digest depends on the order of patterns with different
//   roots, as on GitHub.
// - Symbolic links: by default links to directories are not followed (as on
//   GitHub); with a first argument `--follow-symbolic-links` they are, cycles
//   excepted. Unlike GitHub, a link is never followed out of the workspace, a
//   broken link is skipped rather than failing the call, and only regular files
//   are read (a FIFO or device would hang or never end).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const FOLLOW_OPTION = "--follow-symbolic-links";

/** What a pattern matched, as in @actions/glob: a file, a directory, or both. */
const MatchKind = { None: 0, File: 1, Directory: 2, All: 3 } as const;

type Segment = { kind: "literal"; value: string } | { kind: "globstar" } | { kind: "glob"; re: RegExp };

interface Pattern {
  negate: boolean;
  /** Segments of the absolute pattern, root excluded. */
  segments: Segment[];
  /** Trailing slash: the pattern matches directories only. */
  directoryOnly: boolean;
  /**
   * Added for implicit descendants (`x` → `x/**`): its final `**` needs at
   * least one name, so it does not match `x` itself (@actions/glob 0.4).
   */
  implicit: boolean;
  /** Names of the literal directory before the first glob segment. */
  searchPath: string[];
}

export class HashFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HashFilesError";
  }
}

/**
 * Hashes the files under `workspace` matched by `patterns` (the arguments of
 * `hashFiles(...)`). Returns "" when nothing matches. Throws HashFilesError for
 * invalid patterns or unreadable directories.
 */
export function hashFiles(workspace: string, patterns: string[]): string {
  const shown = `hashFiles('${patterns.join(", ")}')`;
  let follow = false;
  let lines = patterns;
  const first = patterns[0];
  if (first !== undefined && first.startsWith("--")) {
    if (first.toLowerCase() !== FOLLOW_OPTION) {
      throw new HashFilesError(`${shown} failed: invalid glob option ${first}, available option: '${FOLLOW_OPTION}'`);
    }
    follow = true;
    lines = patterns.slice(1);
  }

  let root: string;
  try {
    root = fs.realpathSync(workspace);
  } catch (err) {
    throw new HashFilesError(`${shown} failed: workspace '${workspace}' is not accessible: ${(err as Error).message}`);
  }

  try {
    const parsed = parsePatterns(lines.join("\n"), path.resolve(workspace), root);
    const result = createHash("sha256");
    let count = 0;
    for (const file of walk(parsed, root, follow)) {
      result.update(hashFile(file));
      count++;
    }
    return count === 0 ? "" : result.digest("hex");
  } catch (err) {
    throw new HashFilesError(`${shown} failed: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------
// Patterns

function parsePatterns(text: string, given: string, root: string): Pattern[] {
  const patterns: Pattern[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const pattern = parsePattern(line, given, root);
    patterns.push(pattern);
    // Implicit descendants: `x` also matches everything under a directory `x`.
    const last = pattern.segments[pattern.segments.length - 1];
    if (pattern.directoryOnly || last?.kind !== "globstar") {
      patterns.push({
        negate: pattern.negate,
        segments: [...pattern.segments, { kind: "globstar" }],
        directoryOnly: false,
        implicit: true,
        searchPath: pattern.searchPath,
      });
    }
  }
  return patterns;
}

function parsePattern(line: string, given: string, root: string): Pattern {
  let negate = false;
  let text = line;
  while (text.startsWith("!")) {
    negate = !negate;
    text = text.slice(1).trim();
  }
  if (text === "") throw new HashFilesError(`invalid pattern '${line}': the pattern is empty`);

  const userSegments = text.split("/").filter((s) => s !== "");
  const offset = text.startsWith("/") ? 1 : 0; // the root is the first segment of an absolute pattern
  userSegments.forEach((s, i) => {
    const literal = literalOf(s);
    if ((literal === "." && i + offset > 0) || literal === "..") {
      throw new HashFilesError(`invalid pattern '${line}': relative pathing '.' and '..' is not allowed`);
    }
  });
  const directoryOnly = text.endsWith("/") && userSegments.length > 0;

  // Resolve to an absolute pattern; the base directory's names are literal.
  let base: string[];
  let rest: string[];
  if (text.startsWith("/")) {
    base = [];
    rest = userSegments;
    // An absolute pattern spelled with the workspace path as given (not
    // resolved) still means the workspace.
    const givenNames = namesOf(given);
    if (given !== root && startsWith(rest.map(literalOf), givenNames)) {
      base = namesOf(root);
      rest = rest.slice(givenNames.length);
    }
  } else if (userSegments[0] === ".") {
    base = namesOf(root);
    rest = userSegments.slice(1);
  } else if (userSegments[0] === "~") {
    base = namesOf(os.homedir());
    rest = userSegments.slice(1);
  } else {
    base = namesOf(root);
    rest = userSegments;
  }

  const segments: Segment[] = [
    ...base.map((value): Segment => ({ kind: "literal", value })),
    ...rest.map(compileSegment),
  ];
  const searchPath: string[] = [...base];
  for (const s of rest) {
    const literal = literalOf(s);
    if (literal === "") break;
    searchPath.push(literal);
  }
  return { negate, segments, directoryOnly, implicit: false, searchPath };
}

function namesOf(absolute: string): string[] {
  return absolute.split("/").filter((s) => s !== "");
}

function startsWith(names: string[], prefix: string[]): boolean {
  return prefix.length <= names.length && prefix.every((n, i) => names[i] === n);
}

/**
 * The literal a segment stands for, or "" when it contains a wildcard
 * (@actions/glob's Pattern.getLiteral): `\x` is x, `[x]` is x.
 */
function literalOf(segment: string): string {
  let literal = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charAt(i);
    if (c === "\\" && i + 1 < segment.length) {
      literal += segment.charAt(++i);
      continue;
    }
    if (c === "*" || c === "?") return "";
    if (c === "[" && i + 1 < segment.length) {
      let set = "";
      let closed = -1;
      for (let j = i + 1; j < segment.length; j++) {
        const d = segment.charAt(j);
        if (d === "\\" && j + 1 < segment.length) {
          set += segment.charAt(++j);
          continue;
        }
        if (d === "]") {
          closed = j;
          break;
        }
        set += d;
      }
      if (closed >= 0) {
        if (set.length > 1) return "";
        if (set) {
          literal += set;
          i = closed;
          continue;
        }
      }
    }
    literal += c;
  }
  return literal;
}

const REGEX_SPECIAL = /[-[\]{}()*+?.,\\^$|#\s/]/g;

function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIAL, "\\$&");
}

/** One path segment of a glob, as minimatch reads it with noext and nobrace. */
function compileSegment(segment: string): Segment {
  if (segment === "**") return { kind: "globstar" };
  if (!/[*?[\\]/.test(segment)) return { kind: "literal", value: segment };
  const source = segmentSource(segment);
  return source.magic ? { kind: "glob", re: new RegExp(`^${source.re}$`) } : { kind: "literal", value: literalOf(segment) };
}

function segmentSource(segment: string): { re: string; magic: boolean } {
  let re = "";
  let magic = false;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charAt(i);
    if (c === "\\") {
      re += i + 1 < segment.length ? escapeRegex(segment.charAt(++i)) : "\\\\";
    } else if (c === "*") {
      if (!re.endsWith("[^/]*?")) re += "[^/]*?";
      magic = true;
    } else if (c === "?") {
      re += "[^/]";
      magic = true;
    } else if (c === "[") {
      const cls = bracket(segment, i);
      if (cls) {
        re += cls.re;
        i = cls.end;
        magic = true;
      } else {
        re += "\\[";
      }
    } else {
      re += escapeRegex(c);
    }
  }
  return { re, magic };
}

/** A `[...]` class starting at `start`, or undefined when it is not one (then `[` is literal). */
function bracket(segment: string, start: number): { re: string; end: number } | undefined {
  let i = start + 1;
  let body = "";
  if (segment.charAt(i) === "!" || segment.charAt(i) === "^") {
    body = "^";
    i++;
  }
  const first = i;
  for (; i < segment.length; i++) {
    const c = segment.charAt(i);
    if (c === "]" && i > first) break;
    if (c === "\\" && i + 1 < segment.length) {
      body += `\\${segment.charAt(++i)}`;
    } else if (c === "]" || c === "[" || c === "\\") {
      body += `\\${c}`;
    } else {
      body += c;
    }
  }
  if (i >= segment.length) return undefined;
  try {
    new RegExp(`[${body}]`);
  } catch {
    return undefined;
  }
  return { re: `[${body}]`, end: i };
}

/**
 * Matches `names` from `ni` against `segments` from `si` (minimatch's matchOne).
 * `partial`: whether names could be the start of a match. `tail`: whether a
 * final `**` needs at least one name.
 */
function matchSegments(
  segments: Segment[],
  si: number,
  names: string[],
  ni: number,
  partial: boolean,
  tail = false,
): boolean {
  while (si < segments.length) {
    const segment = segments[si] as Segment;
    if (segment.kind === "globstar") {
      if (si === segments.length - 1) return partial || !tail || ni < names.length;
      for (let k = ni; k < names.length; k++) {
        if (matchSegments(segments, si + 1, names, k, partial, tail)) return true;
      }
      return partial;
    }
    if (ni >= names.length) return partial;
    const name = names[ni] as string;
    const hit = segment.kind === "literal" ? segment.value === name : segment.re.test(name);
    if (!hit) return false;
    si++;
    ni++;
  }
  return ni === names.length;
}

function matchOne(pattern: Pattern, names: string[]): number {
  if (!matchSegments(pattern.segments, 0, names, 0, false, pattern.implicit)) return MatchKind.None;
  return pattern.directoryOnly ? MatchKind.Directory : MatchKind.All;
}

/** Last pattern wins: positive patterns add match kinds, negated ones remove them. */
function match(patterns: Pattern[], names: string[]): number {
  let result: number = MatchKind.None;
  for (const pattern of patterns) {
    if (pattern.negate) result &= ~matchOne(pattern, names);
    else result |= matchOne(pattern, names);
  }
  return result;
}

/** Whether a positive pattern may match something under `names`. */
function partialMatch(patterns: Pattern[], names: string[], from = 0): boolean {
  for (let i = from; i < patterns.length; i++) {
    const pattern = patterns[i] as Pattern;
    if (!pattern.negate && matchSegments(pattern.segments, 0, names, 0, true)) return true;
  }
  return false;
}

/**
 * Whether nothing under directory `names` can match: a negated pattern ending
 * in `**` matches everything below it, and no later positive pattern reaches
 * below it. Lets `!**\/node_modules/**` and `!node_modules` skip whole trees;
 * the result is the same as walking them. (`**` is tested here as matching zero
 * names: for an implicit pattern that still means every strict descendant.)
 */
function excludedBelow(patterns: Pattern[], names: string[]): boolean {
  for (let i = patterns.length - 1; i >= 0; i--) {
    const pattern = patterns[i] as Pattern;
    if (!pattern.negate || pattern.directoryOnly) continue;
    if (pattern.segments[pattern.segments.length - 1]?.kind !== "globstar") continue;
    if (matchSegments(pattern.segments, 0, names, 0, false)) return !partialMatch(patterns, names, i + 1);
  }
  return false;
}

/** Search roots as @actions/glob computes them: positive patterns, first seen, roots under others dropped. */
function searchPaths(patterns: Pattern[]): string[][] {
  const positive = patterns.filter((p) => !p.negate);
  const keys = new Set(positive.map((p) => "/" + p.searchPath.join("/")));
  const included = new Set<string>();
  const result: string[][] = [];
  for (const pattern of positive) {
    const key = "/" + pattern.searchPath.join("/");
    if (included.has(key)) continue;
    let ancestor = false;
    for (let n = pattern.searchPath.length - 1; n >= 0 && !ancestor; n--) {
      ancestor = keys.has("/" + pattern.searchPath.slice(0, n).join("/"));
    }
    if (!ancestor) {
      result.push(pattern.searchPath);
      included.add(key);
    }
  }
  return result;
}

// ---------------------------------------------------------------------------
// Walk

interface Item {
  names: string[];
  level: number;
}

/** Directory entries in byte order (strcmp), the order libuv's scandir gives Node on Unix. */
function sortedEntries(names: string[]): string[] {
  return names
    .map((name) => ({ name, key: Buffer.from(name) }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map((entry) => entry.name);
}

function isWithin(root: string, candidate: string): boolean {
  return candidate.startsWith(root + "/");
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function statOrUndefined(file: string, follow: boolean): fs.Stats | undefined {
  try {
    return follow ? fs.statSync(file) : fs.lstatSync(file);
  } catch (err) {
    if (errorCode(err) === "ENOENT" || errorCode(err) === "ENOTDIR" || errorCode(err) === "ELOOP") return undefined;
    throw err;
  }
}

/** Yields the files to hash, in GitHub's order. */
function* walk(patterns: Pattern[], root: string, follow: boolean): Generator<string> {
  const rootNames = namesOf(root);
  const stack: Item[] = [];
  for (const searchPath of searchPaths(patterns)) {
    // Only the workspace's part of a search root can contribute: a root
    // outside it is skipped, a root above it is walked straight down to it.
    if (!startsWith(searchPath, rootNames) && !startsWith(rootNames, searchPath)) continue;
    if (statOrUndefined("/" + searchPath.join("/"), false) === undefined) continue;
    stack.unshift({ names: searchPath, level: 1 });
  }

  const chain: string[] = []; // real paths of the directories being walked, for cycle detection
  while (stack.length > 0) {
    const item = stack.pop() as Item;
    const file = "/" + item.names.join("/");
    const matched = match(patterns, item.names);
    if (!matched && !partialMatch(patterns, item.names)) continue;

    const stats = statOrUndefined(file, follow);
    if (!stats) continue;

    if (stats.isDirectory()) {
      if (follow) {
        const real = fs.realpathSync(file);
        if (real !== root && !isWithin(root, real) && item.names.length > rootNames.length) continue;
        while (chain.length >= item.level) chain.pop();
        if (chain.includes(real)) continue;
        chain.push(real);
      }
      if (item.names.length < rootNames.length) {
        // Above the workspace: descend only towards it.
        const next = rootNames.slice(0, item.names.length + 1);
        stack.push({ names: next, level: item.level + 1 });
        continue;
      }
      if (excludedBelow(patterns, item.names)) continue;
      let children: string[];
      try {
        children = fs.readdirSync(file);
      } catch (err) {
        if (errorCode(err) === "ENOENT" || errorCode(err) === "ENOTDIR") continue;
        throw err;
      }
      children = sortedEntries(children);
      for (let i = children.length - 1; i >= 0; i--) {
        stack.push({ names: [...item.names, children[i] as string], level: item.level + 1 });
      }
    } else if ((matched & MatchKind.File) !== 0 && isWithin(root, file)) {
      const target = regularFileWithin(file, root, follow ? fs.lstatSync(file) : stats);
      if (target) yield target;
    }
  }
}

/**
 * The file to read for a matched entry (`own` is its lstat), if it is, or
 * links to, a regular file inside the workspace.
 */
function regularFileWithin(file: string, root: string, own: fs.Stats): string | undefined {
  if (own.isFile()) return file;
  if (!own.isSymbolicLink()) return undefined; // FIFO, socket, device
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (err) {
    if (errorCode(err) === "ENOENT" || errorCode(err) === "ELOOP") return undefined; // broken link
    throw err;
  }
  if (!isWithin(root, real)) return undefined;
  return fs.statSync(real).isFile() ? real : undefined;
}

const chunk = Buffer.alloc(1 << 16);

function hashFile(file: string): Buffer {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    for (;;) {
      const read = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      hash.update(chunk.subarray(0, read));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest();
}
