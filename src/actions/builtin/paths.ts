// Path patterns of actions/cache and actions/upload-artifact, with the
// semantics of @actions/glob: one pattern a line, `#` comments, `!`
// exclusions evaluated in order, `~` for HOME, `*`, `?`, `[...]`, `**`.
import { promises as fsp, type Dirent } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, resolve, sep } from "node:path";
import { isNotFound } from "../../blobs/index.js";
import picomatch from "picomatch";

const GLOB_CHARS = /[*?[]/;
const IS_WINDOWS = process.platform === "win32";

type SegmentMatcher = "**" | ((segment: string) => boolean);

const MATCH_NONE = 0;
const MATCH_FILE = 1;
const MATCH_DIRECTORY = 2;
const MATCH_ALL = 3;

class PathPattern {
  readonly matchers: SegmentMatcher[];
  readonly searchPath: string;

  constructor(
    readonly negate: boolean,
    /** Segments of the absolute pattern, below the file-system root. */
    readonly segments: string[],
    readonly trailingSeparator: boolean,
  ) {
    this.matchers = segments.map((segment) => {
      if (segment === "**") return "**";
      if (!GLOB_CHARS.test(segment)) return (s: string) => s === segment;
      return picomatch(segment, { dot: true, nobrace: true, noextglob: true, nonegate: true, nocase: IS_WINDOWS });
    });
    const literal: string[] = [];
    for (const segment of segments) {
      if (GLOB_CHARS.test(segment)) break;
      literal.push(segment);
    }
    this.searchPath = `/${literal.join("/")}`;
  }

  withDescendants(): PathPattern {
    return new PathPattern(this.negate, [...this.segments, "**"], false);
  }

  /** MATCH_ALL, MATCH_DIRECTORY (trailing separator: directories only) or MATCH_NONE. */
  match(path: string[]): number {
    if (!matchSegments(this.matchers, 0, path, 0)) return MATCH_NONE;
    return this.trailingSeparator ? MATCH_DIRECTORY : MATCH_ALL;
  }

  /** Whether something below `path` may match. */
  partialMatch(path: string[]): boolean {
    for (let i = 0; i < path.length; i++) {
      const matcher = this.matchers[i];
      if (matcher === undefined) return false;
      if (matcher === "**") return true;
      if (!matcher(path[i] as string)) return false;
    }
    return true;
  }
}

function matchSegments(matchers: SegmentMatcher[], i: number, path: string[], j: number): boolean {
  for (; i < matchers.length; i++, j++) {
    const matcher = matchers[i] as SegmentMatcher;
    if (matcher === "**") {
      for (let k = j; k <= path.length; k++) if (matchSegments(matchers, i + 1, path, k)) return true;
      return false;
    }
    if (j >= path.length || !matcher(path[j] as string)) return false;
  }
  return j === path.length;
}

function splitAbsolute(path: string): string[] {
  return path.split(sep).filter((s) => s !== "");
}

/** Lines of a multi-line input, trimmed, without blanks (and without `#` comments when `comments`). */
export function inputLines(value: string | undefined, comments = false): string[] {
  return (value ?? "")
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !(comments && line.startsWith("#")));
}

/** `~` or `~/…` → the home directory. */
export function expandHome(path: string, home: string): string {
  if (path === "~") return home;
  if (path.startsWith("~/") || (IS_WINDOWS && path.startsWith("~\\"))) return join(home, path.slice(2));
  return path;
}

export function homeOf(env: Record<string, string>): string {
  return env.HOME || env.USERPROFILE || homedir();
}

function parsePattern(line: string, cwd: string, home: string): PathPattern {
  let negate = false;
  let text = line;
  while (text.startsWith("!")) {
    negate = !negate;
    text = text.slice(1).trim();
  }
  text = expandHome(text, home);
  const trailingSeparator = text.endsWith("/") || (IS_WINDOWS && text.endsWith("\\"));
  const absolute = isAbsolute(text) ? resolve(text) : resolve(cwd, text);
  return new PathPattern(negate, splitAbsolute(absolute), trailingSeparator);
}

export interface FindPathsOptions {
  /** Directory relative patterns are rooted at (the workspace). */
  cwd: string;
  home: string;
  /** A matched directory also matches everything below it (upload-artifact: true; cache: false). */
  implicitDescendants: boolean;
  /** Skip files and directories whose name starts with a dot (upload-artifact's default). */
  excludeHiddenFiles?: boolean;
  /** Do not look inside a matched directory (the caller takes it whole, as tar does). */
  stopAtMatchedDirectories?: boolean;
}

export interface FoundPath {
  path: string;
  isDirectory: boolean;
}

export interface FindPathsResult {
  /** Matches in search order (files and directories). */
  matches: FoundPath[];
  /** Search paths of the include patterns, without duplicates or descendants of one another. */
  searchPaths: string[];
}

/** Files and directories matching patterns, as @actions/glob finds them (symbolic links are followed). */
export async function findPaths(patternLines: string[], options: FindPathsOptions): Promise<FindPathsResult> {
  const base: PathPattern[] = [];
  for (const line of patternLines) {
    if (line === "" || line.startsWith("#")) continue;
    base.push(parsePattern(line, options.cwd, options.home));
  }
  const patterns: PathPattern[] = [];
  for (const pattern of base) {
    patterns.push(pattern);
    if (options.implicitDescendants && (pattern.trailingSeparator || pattern.segments.at(-1) !== "**")) {
      patterns.push(pattern.withDescendants());
    }
  }
  const searchPaths = searchPathsOf(base);
  const includes = patterns.filter((p) => !p.negate);
  const matchKind = (segments: string[]): number => {
    let result = MATCH_NONE;
    for (const pattern of patterns) {
      if (pattern.negate) result &= ~pattern.match(segments);
      else result |= pattern.match(segments);
    }
    return result;
  };

  interface Item {
    path: string;
    segments: string[];
    level: number;
    /** A regular file, as readdir said (no stat needed); otherwise stat tells. */
    file?: boolean;
  }
  const matches: FoundPath[] = [];
  const stack: Item[] = [];
  for (const searchPath of [...searchPaths].reverse()) {
    try {
      await fsp.lstat(searchPath);
    } catch (error) {
      if (isNotFound(error)) continue;
      throw error;
    }
    stack.push({ path: searchPath, segments: splitAbsolute(searchPath), level: 1 });
  }
  const chain: string[] = []; // real paths of the directories being walked, to stop symlink cycles
  while (stack.length > 0) {
    const item = stack.pop() as Item;
    if (options.excludeHiddenFiles && basename(item.path).startsWith(".")) continue;
    const match = matchKind(item.segments);
    if (match === MATCH_NONE && !includes.some((p) => p.partialMatch(item.segments))) continue;
    if (item.file) {
      if (match & MATCH_FILE) matches.push({ path: item.path, isDirectory: false });
      continue;
    }
    let stats;
    try {
      stats = await fsp.stat(item.path);
    } catch (error) {
      if (isNotFound(error)) continue; // broken symbolic link, or removed meanwhile
      throw error;
    }
    if (stats.isDirectory()) {
      const real = await fsp.realpath(item.path);
      while (chain.length >= item.level) chain.pop();
      if (chain.includes(real)) continue;
      chain.push(real);
      if (match & MATCH_DIRECTORY) {
        matches.push({ path: item.path, isDirectory: true });
        if (options.stopAtMatchedDirectories) continue;
      }
      const children = (await fsp.readdir(item.path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (let i = children.length - 1; i >= 0; i--) {
        const child = children[i] as Dirent;
        stack.push({
          path: join(item.path, child.name),
          segments: [...item.segments, child.name],
          level: item.level + 1,
          file: child.isFile(),
        });
      }
    } else if (match & MATCH_FILE) {
      matches.push({ path: item.path, isDirectory: false });
    }
  }
  return { matches, searchPaths };
}

function searchPathsOf(patterns: PathPattern[]): string[] {
  const candidates = new Set(patterns.filter((p) => !p.negate).map((p) => p.searchPath));
  const result: string[] = [];
  for (const pattern of patterns) {
    if (pattern.negate || result.includes(pattern.searchPath)) continue;
    let ancestor = false;
    for (let dir = dirname(pattern.searchPath), child = pattern.searchPath; dir !== child; child = dir, dir = dirname(dir)) {
      if (candidates.has(dir)) {
        ancestor = true;
        break;
      }
    }
    if (!ancestor) result.push(pattern.searchPath);
  }
  return result;
}

/** The deepest directory containing all paths. */
export function leastCommonAncestor(paths: string[]): string {
  const split = paths.map(splitAbsolute);
  const common: string[] = [];
  for (let i = 0; ; i++) {
    const segment = split[0]?.[i];
    if (segment === undefined || !split.every((s) => s[i] === segment)) break;
    common.push(segment);
  }
  return `/${common.join("/")}`;
}

