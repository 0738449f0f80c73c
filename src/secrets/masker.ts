// Replaces secret values in text with `***`, as GitHub Actions does.
//
// For each value added, these forms are masked:
//   - the value itself, and the value with surrounding whitespace trimmed;
//   - for a multi-line value, each line, trimmed — except lines shorter than
//     4 characters: GitHub masks every non-empty line, but masking a lone `{`
//     or `}` of a JSON secret would blank every brace in the log while hiding
//     at most 3 characters of the secret;
//   - the base64 encoding of the value (standard, with padding), plus the
//     parts that stay the same wherever the value sits in a longer base64
//     stream (three alignments, as GitHub's runner does) when at least
//     6 characters long;
//   - its JSON string escaping (JSON.stringify(v).slice(1, -1)) and its
//     URL encoding (encodeURIComponent), when they differ from the value.
// Empty and whitespace-only values are never registered.
//
// Matching finds every occurrence of every form, including overlapping ones,
// and replaces each union of overlapping or touching occurrences with one
// `***`, so overlapping secrets are fully covered. One regular expression of
// the forms' prefixes finds candidate positions; it is rebuilt lazily after add.

export const MASK = "***";

/** Lines of a multi-line value shorter than this are not masked on their own. */
export const MIN_LINE_LENGTH = 4;
/** Alignment fragments of base64 shorter than this are not masked. */
const MIN_BASE64_FRAGMENT = 6;

export interface MaskStream {
  /** Masked text safe to emit now; a tail that may begin a secret is held back. */
  write(chunk: string): string;
  /** Everything held back, masked. The stream can be reused afterwards. */
  end(): string;
}

/** Forms of one value to mask, as described at the top of this file. */
export function maskForms(value: string): string[] {
  const forms = new Set<string>();
  const trimmed = value.trim();
  if (trimmed.length === 0) return [];
  const whole = [value, trimmed];
  for (const v of whole) forms.add(v);
  const lines = trimmed.split(/\r\n|\r|\n/).map((l) => l.trim());
  if (lines.length > 1) {
    for (const line of lines) if (line.length >= MIN_LINE_LENGTH) forms.add(line);
  }
  for (const v of whole) {
    for (const b of base64Forms(v)) forms.add(b);
    forms.add(JSON.stringify(v).slice(1, -1));
    try {
      forms.add(encodeURIComponent(v));
    } catch {
      // A lone surrogate cannot be URL-encoded; nothing to add.
    }
  }
  forms.delete("");
  return [...forms];
}

function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const out = [bytes.toString("base64")];
  // The value may start at byte offset 0, 1 or 2 of a 3-byte group. Characters
  // that also depend on neighbouring bytes are cut off at either end.
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString("base64").replace(/=+$/, "");
    const start = shift === 0 ? 0 : shift + 1;
    const tail = (shift + bytes.length) % 3 === 0 ? 0 : 1;
    const fragment = encoded.slice(start, encoded.length - tail);
    if (fragment.length >= MIN_BASE64_FRAGMENT) out.push(fragment);
  }
  return out;
}

const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/-]/g;

/**
 * The search regex holds only the first PREFIX_LENGTH characters of each form
 * (a regex of whole 48 KB secrets would be too large); a hit is a candidate
 * position, confirmed against the whole forms starting with that character.
 */
const PREFIX_LENGTH = 32;

interface Matcher {
  regex: RegExp;
  /** Forms by first character, longest first. */
  byFirstChar: Map<string, string[]>;
  /** Forms sorted by code units, for "is this a prefix of a form?". */
  sorted: string[];
  /** 1 at the code unit of each form's first character. */
  firstCodes: Uint8Array;
  /** 1 at pairHash(first two code units) of each form: a cheap filter before the binary search. */
  firstPairs: Uint8Array;
  maxLength: number;
}

type Interval = [start: number, end: number];

export class Masker {
  private readonly forms = new Set<string>();
  private matcher: Matcher | undefined;

  /** Registers a secret value (and its derived forms). Empty or blank values are ignored. */
  add(value: string): void {
    let changed = false;
    for (const f of maskForms(value)) {
      if (!this.forms.has(f)) {
        this.forms.add(f);
        changed = true;
      }
    }
    if (changed) this.matcher = undefined;
  }

  /** Number of distinct forms being masked. */
  get size(): number {
    return this.forms.size;
  }

  mask(text: string): string {
    const m = this.getMatcher();
    if (!m) return text;
    return render(text, findIntervals(m, text), text.length, false).output;
  }

  stream(): MaskStream {
    return new Stream(() => this.getMatcher());
  }

  private getMatcher(): Matcher | undefined {
    if (this.forms.size === 0) return undefined;
    this.matcher ??= buildMatcher([...this.forms]);
    return this.matcher;
  }
}

function buildMatcher(forms: string[]): Matcher {
  const byLength = forms.sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
  const byFirstChar = new Map<string, string[]>();
  for (const f of byLength) {
    const list = byFirstChar.get(f[0]!);
    if (list) list.push(f);
    else byFirstChar.set(f[0]!, [f]);
  }
  const firstCodes = new Uint8Array(0x10000);
  const firstPairs = new Uint8Array(0x10000);
  for (const f of byLength) {
    firstCodes[f.charCodeAt(0)] = 1;
    if (f.length > 1) firstPairs[pairHash(f.charCodeAt(0), f.charCodeAt(1))] = 1;
  }
  const prefixes = [...new Set(byLength.map((f) => f.slice(0, PREFIX_LENGTH)))];
  let regex: RegExp;
  try {
    regex = new RegExp(prefixes.map((f) => f.replace(REGEX_SPECIAL, "\\$&")).join("|"), "g");
  } catch {
    // Never let an error message carry the pattern: it is made of secrets.
    throw new Error(`cannot build the secret masker for ${forms.length} values`);
  }
  return {
    regex,
    byFirstChar,
    sorted: [...byLength].sort(),
    firstCodes,
    firstPairs,
    maxLength: byLength[0]!.length,
  };
}

function pairHash(a: number, b: number): number {
  return (Math.imul(a, 0x9e37) + b) & 0xffff;
}

/** Length of the longest form occurring at `start`, or 0. */
function longestAt(m: Matcher, text: string, start: number): number {
  const candidates = m.byFirstChar.get(text[start]!);
  if (candidates) {
    for (const f of candidates) if (text.startsWith(f, start)) return f.length;
  }
  return 0;
}

/** Every occurrence of every form, merged into disjoint sorted intervals (touching ones joined). */
function findIntervals(m: Matcher, text: string, initial?: Interval): Interval[] {
  const out: Interval[] = initial ? [initial] : [];
  const re = m.regex;
  re.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(text)) !== null) {
    const start = match.index;
    const length = longestAt(m, text, start);
    re.lastIndex = start + 1;
    if (length === 0) continue;
    const end = start + length;
    const last = out[out.length - 1];
    if (last && start <= last[1]) {
      if (end > last[1]) last[1] = end;
    } else {
      out.push([start, end]);
    }
    // lastIndex = start + 1: further forms may start inside this one (overlaps).
  }
  return out;
}

/** Renders text[0, cut) with intervals masked. */
function render(
  text: string,
  intervals: Interval[],
  cut: number,
  continuesMask: boolean,
): { output: string; carry: number; endsInMask: boolean } {
  let out = "";
  let pos = 0;
  let carry = 0;
  let endsInMask = continuesMask && cut === 0;
  for (const [s, e] of intervals) {
    if (s >= cut) break;
    out += text.slice(pos, s);
    if (!(s === 0 && continuesMask)) out += MASK;
    if (e > cut) {
      carry = e - cut;
      pos = cut;
    } else {
      pos = e;
    }
    endsInMask = pos === cut;
  }
  if (pos < cut) {
    out += text.slice(pos, cut);
    endsInMask = false;
  }
  return { output: out, carry, endsInMask };
}

/** Start of the longest suffix of `text` that is a proper prefix of some form, or text.length. */
function holdFrom(m: Matcher, text: string): number {
  const from = Math.max(0, text.length - (m.maxLength - 1));
  const last = text.length - 1;
  for (let i = from; i <= last; i++) {
    const c = text.charCodeAt(i);
    if (m.firstCodes[c] === 0) continue;
    if (i < last && m.firstPairs[pairHash(c, text.charCodeAt(i + 1))] === 0) continue;
    if (isProperPrefix(m.sorted, text.slice(i))) return i;
  }
  return text.length;
}

/** Whether `p` is a prefix of some form longer than `p` (binary search in sorted forms). */
function isProperPrefix(sorted: string[], p: string): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < p) lo = mid + 1;
    else hi = mid;
  }
  // Forms starting with p sort right at or after p itself.
  for (let i = lo; i < sorted.length; i++) {
    const f = sorted[i]!;
    if (!f.startsWith(p)) return false;
    if (f.length > p.length) return true;
  }
  return false;
}

class Stream implements MaskStream {
  private pending = "";
  /** Leading characters of `pending` already known to be inside a secret. */
  private carry = 0;
  /** The last emitted output ended with a mask that touches `pending`. */
  private endsInMask = false;

  constructor(private readonly matcher: () => Matcher | undefined) {}

  write(chunk: string): string {
    if (chunk.length === 0) return "";
    const text = this.pending + chunk;
    const m = this.matcher();
    if (!m) {
      // Nothing to mask yet; a forced carry can only exist if forms existed.
      return this.flush(text, text.length, undefined);
    }
    return this.flush(text, holdFrom(m, text), m);
  }

  end(): string {
    const text = this.pending;
    const out = this.flush(text, text.length, this.matcher());
    this.endsInMask = false;
    return out;
  }

  private flush(text: string, cut: number, m: Matcher | undefined): string {
    const initial: Interval | undefined = this.carry > 0 ? [0, this.carry] : undefined;
    const intervals = m ? findIntervals(m, text, initial) : initial ? [initial] : [];
    if (cut === 0) {
      this.pending = text;
      return "";
    }
    const r = render(text, intervals, cut, this.endsInMask);
    this.pending = text.slice(cut);
    this.carry = r.carry;
    this.endsInMask = r.endsInMask;
    return r.output;
  }
}
