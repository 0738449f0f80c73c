// GitHub Actions filter patterns for `branches`, `tags` and `paths` (and
// their `-ignore` forms), translated to regular expressions by hand because
// glob libraries (minimatch, picomatch) differ from GitHub in `?`, `+` and
// `**/`. The semantics follow GitHub's "filter pattern cheat sheet":
//
//   *      zero or more characters, but not `/`
//   **     zero or more of any character (`**/` also matches zero directories,
//          so `**/README.md` matches `README.md`)
//   ?      zero or one of the preceding character
//   +      one or more of the preceding character
//   [ ]    one character of a class or range, e.g. `[0-9a-z]`
//   !      at the start of a pattern: a negative pattern
//   \      escapes the next character (`\*` is a literal `*`)
//
// A value is tested against a list of patterns in order; the last pattern
// that matches decides (a positive pattern includes, a negative one
// excludes), so `['*.md', '!README.md', 'README*']` includes `README.md`
// again. A value no pattern matches is not included.

/** A pattern that cannot be compiled; `index` is the offending character (0-based, in the pattern as written). */
export class FilterPatternError extends Error {
  readonly pattern: string;
  readonly index: number;
  constructor(pattern: string, index: number, problem: string) {
    super(`invalid filter pattern '${pattern}' at character ${index + 1}: ${problem}`);
    this.name = "FilterPatternError";
    this.pattern = pattern;
    this.index = index;
  }
}

export interface FilterPattern {
  /** The pattern as written, including a leading `!`. */
  source: string;
  /** True for `!pattern`: a match excludes the value. */
  negative: boolean;
  regex: RegExp;
}

// Characters that are special in a regular expression outside a class
// (the `u` flag only allows escaping these and `/`).
const REGEX_SYNTAX = new Set(["^", "$", "\\", ".", "*", "+", "?", "(", ")", "[", "]", "{", "}", "|", "/"]);
// Characters that are special inside a class.
const CLASS_SYNTAX = new Set(["\\", "]", "[", "^", "-"]);

function escapeChar(ch: string): string {
  return REGEX_SYNTAX.has(ch) ? `\\${ch}` : ch;
}

function escapeClassChar(ch: string): string {
  return CLASS_SYNTAX.has(ch) ? `\\${ch}` : ch;
}

// What the last emitted piece of regex is, to decide what `?` and `+` may
// follow: "none" (start), "atom" (one character or class: may be repeated),
// "repeated" (`*`, `**`, `x?`, `x+`: already a quantifier), "lazy" (a
// quantifier followed by `?`: nothing may follow as a quantifier).
type Last = "none" | "atom" | "repeated" | "lazy";

/** Translates a pattern (without its leading `!`) to an anchored regular expression source. */
function translate(original: string, offset: number): string {
  // Iterate by code point so that `?` after an emoji repeats the whole character.
  const chars = Array.from(original.slice(offset));
  let out = "";
  let last: Last = "none";
  // Index into `original` for error messages (chars may be surrogate pairs).
  const at = (i: number) => offset + chars.slice(0, i).join("").length;
  let i = 0;
  while (i < chars.length) {
    const ch = chars[i] as string;
    if (ch === "*") {
      if (chars[i + 1] === "*") {
        if (chars[i + 2] === "/") {
          // `**/`: any number of leading directories, including none.
          out += "(?:.+/)?";
          i += 3;
        } else {
          out += ".*";
          i += 2;
        }
      } else {
        out += "[^/]*";
        i += 1;
      }
      last = "repeated";
    } else if (ch === "?" || ch === "+") {
      if (last === "none") {
        throw new FilterPatternError(original, at(i), `'${ch}' repeats the preceding character but nothing precedes it; write '\\${ch}' for a literal '${ch}'`);
      }
      if (last === "lazy" || (last === "repeated" && ch === "+")) {
        throw new FilterPatternError(original, at(i), `'${ch}' follows a wildcard or another '?'/'+' and has nothing to repeat; write '\\${ch}' for a literal '${ch}'`);
      }
      // `x?` / `x+` on an atom; `*?`, `x+?` on a repeat is a lazy quantifier in
      // regex terms, which does not change whether a whole value matches.
      out += ch;
      last = last === "atom" ? "repeated" : "lazy";
      i += 1;
    } else if (ch === "[") {
      const start = i;
      i += 1;
      let body = "";
      let count = 0;
      while (i < chars.length && chars[i] !== "]") {
        let c = chars[i] as string;
        if (c === "\\") {
          if (i + 1 >= chars.length) throw new FilterPatternError(original, at(i), "'\\' at the end of the pattern escapes nothing");
          c = chars[i + 1] as string;
          i += 2;
        } else {
          i += 1;
        }
        // A range `a-z`: a `-` with a character on both sides (a `-` first or
        // last in the class is literal).
        if (chars[i] === "-" && i + 1 < chars.length && chars[i + 1] !== "]") {
          let end = chars[i + 1] as string;
          let next = i + 2;
          if (end === "\\") {
            if (i + 2 >= chars.length) throw new FilterPatternError(original, at(i + 1), "'\\' at the end of the pattern escapes nothing");
            end = chars[i + 2] as string;
            next = i + 3;
          }
          if ((end.codePointAt(0) ?? 0) < (c.codePointAt(0) ?? 0)) {
            throw new FilterPatternError(original, at(i), `range '${c}-${end}' is reversed; write '[${end}-${c}]'`);
          }
          body += `${escapeClassChar(c)}-${escapeClassChar(end)}`;
          i = next;
        } else {
          body += escapeClassChar(c);
        }
        count += 1;
      }
      if (i >= chars.length) {
        throw new FilterPatternError(original, at(start), "'[' has no closing ']'; write '\\[' for a literal '['");
      }
      if (count === 0) {
        throw new FilterPatternError(original, at(start), "'[]' is an empty character class; list characters or a range such as '[0-9]'");
      }
      out += `[${body}]`;
      i += 1; // the `]`
      last = "atom";
    } else if (ch === "\\") {
      const next = chars[i + 1];
      if (next === undefined) throw new FilterPatternError(original, at(i), "'\\' at the end of the pattern escapes nothing");
      out += escapeChar(next);
      i += 2;
      last = "atom";
    } else {
      out += escapeChar(ch);
      i += 1;
      last = "atom";
    }
  }
  return `^${out}$`;
}

// Compiled patterns are cached: the same few patterns are tested against many
// changed files and many events.
const cache = new Map<string, FilterPattern>();

/** Compiles one pattern; throws FilterPatternError when it is invalid. */
export function compilePattern(pattern: string): FilterPattern {
  const hit = cache.get(pattern);
  if (hit) return hit;
  if (pattern.length === 0) throw new FilterPatternError(pattern, 0, "the pattern is empty");
  const negative = pattern.startsWith("!");
  if (negative && pattern.length === 1) throw new FilterPatternError(pattern, 0, "'!' must be followed by a pattern");
  const compiled: FilterPattern = { source: pattern, negative, regex: new RegExp(translate(pattern, negative ? 1 : 0), "u") };
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, compiled);
  return compiled;
}

/** Compiles a list of patterns; throws the first FilterPatternError. */
export function compileFilters(patterns: readonly string[]): FilterPattern[] {
  return patterns.map(compilePattern);
}

/** Returns the error for an invalid pattern, or undefined when it is valid (for diagnostics). */
export function checkPattern(pattern: string): FilterPatternError | undefined {
  try {
    compilePattern(pattern);
    return undefined;
  } catch (err) {
    if (err instanceof FilterPatternError) return err;
    throw err;
  }
}

/**
 * True when the last pattern that matches `value` is a positive one.
 * An empty list matches nothing. Throws FilterPatternError for an invalid pattern.
 */
export function matchesFilters(patterns: readonly (string | FilterPattern)[], value: string): boolean {
  let included = false;
  for (const p of patterns) {
    const compiled = typeof p === "string" ? compilePattern(p) : p;
    if (compiled.regex.test(value)) included = !compiled.negative;
  }
  return included;
}
