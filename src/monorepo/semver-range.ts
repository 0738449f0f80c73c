// A small subset of node-semver's `satisfies`, enough to decide whether a
// version range in a manifest names a workspace package's version: exact
// versions, x-ranges, `^`, `~`, comparators, hyphen ranges and `||`.
// Prereleases compare by their text only. Anything it cannot read is
// `undefined` ("unknown"), and callers then assume the workspace is used.

type Version = [number, number, number, string];

function parseVersion(text: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(text.trim());
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ?? ""];
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  if (a[3] === b[3]) return 0;
  if (a[3] === "") return 1;
  if (b[3] === "") return -1;
  return a[3] < b[3] ? -1 : 1;
}

/** A partial version such as `1`, `1.2`, `1.x`, `1.2.*`: the parts given. */
function parsePartial(text: string): { parts: number[]; pre: string } | undefined {
  const m = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(text);
  if (!m) return undefined;
  const parts: number[] = [];
  for (const p of [m[1], m[2], m[3]]) {
    if (p === undefined || /^[xX*]$/.test(p)) break;
    parts.push(Number(p));
  }
  return { parts, pre: m[4] ?? "" };
}

type Test = (v: Version) => boolean;

function lower(parts: number[], pre: string): Version {
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, parts.length === 3 ? pre : ""];
}

function xRange(parts: number[], pre: string): Test {
  if (parts.length === 0) return () => true;
  const lo = lower(parts, pre);
  if (parts.length === 3) return (v) => compare(v, lo) === 0;
  const hi: Version = parts.length === 1 ? [(parts[0] ?? 0) + 1, 0, 0, ""] : [parts[0] ?? 0, (parts[1] ?? 0) + 1, 0, ""];
  return (v) => compare(v, lo) >= 0 && compare(v, hi) < 0;
}

function comparator(text: string): Test | undefined {
  const m = /^(\^|~>?|>=|<=|>|<|=)?\s*(.*)$/.exec(text);
  if (!m) return undefined;
  const op = m[1] ?? "";
  const p = parsePartial(m[2] ?? "");
  if (!p) return undefined;
  const { parts, pre } = p;
  const lo = lower(parts, pre);
  switch (op) {
    case "":
    case "=":
      return xRange(parts, pre);
    case "^": {
      if (parts.length === 0) return () => true;
      const [a = 0, b = 0] = parts;
      const hi: Version =
        a > 0 || parts.length === 1 ? [a + 1, 0, 0, ""] : b > 0 || parts.length === 2 ? [0, b + 1, 0, ""] : [0, 0, (parts[2] ?? 0) + 1, ""];
      return (v) => compare(v, lo) >= 0 && compare(v, hi) < 0;
    }
    case "~":
    case "~>": {
      if (parts.length === 0) return () => true;
      const hi: Version = parts.length === 1 ? [(parts[0] ?? 0) + 1, 0, 0, ""] : [parts[0] ?? 0, (parts[1] ?? 0) + 1, 0, ""];
      return (v) => compare(v, lo) >= 0 && compare(v, hi) < 0;
    }
    case ">=":
      return (v) => compare(v, lo) >= 0;
    case "<":
      return (v) => compare(v, lo) < 0;
    case ">":
      if (parts.length < 3) {
        const next: Version = parts.length === 0 ? [Infinity, 0, 0, ""] : parts.length === 1 ? [(parts[0] ?? 0) + 1, 0, 0, ""] : [parts[0] ?? 0, (parts[1] ?? 0) + 1, 0, ""];
        return (v) => compare(v, next) >= 0;
      }
      return (v) => compare(v, lo) > 0;
    case "<=":
      if (parts.length < 3) {
        const next: Version = parts.length === 0 ? [Infinity, 0, 0, ""] : parts.length === 1 ? [(parts[0] ?? 0) + 1, 0, 0, ""] : [parts[0] ?? 0, (parts[1] ?? 0) + 1, 0, ""];
        return (v) => compare(v, next) < 0;
      }
      return (v) => compare(v, lo) <= 0;
    default:
      return undefined;
  }
}

function conjunction(text: string): Test | undefined {
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  if (hyphen) {
    const a = comparator(`>=${hyphen[1] ?? ""}`);
    const b = comparator(`<=${hyphen[2] ?? ""}`);
    return a && b ? (v) => a(v) && b(v) : undefined;
  }
  // "> = 1.2" style spaces between an operator and its version are joined first.
  const tokens = text.replace(/(\^|~>?|>=|<=|>|<|=)\s+/g, "$1").split(/\s+/).filter((t) => t !== "");
  const tests: Test[] = [];
  for (const t of tokens) {
    const c = comparator(t);
    if (!c) return undefined;
    tests.push(c);
  }
  return (v) => tests.every((t) => t(v));
}

/** Parsed ranges: a workspace's manifests name the same few ranges many times over. */
const parsedRanges = new Map<string, Test[] | undefined>();

function parseRange(range: string): Test[] | undefined {
  if (parsedRanges.has(range)) return parsedRanges.get(range);
  const tests: Test[] = [];
  for (const part of range.split("||")) {
    const test = conjunction(part.trim());
    if (!test) {
      parsedRanges.set(range, undefined);
      return undefined;
    }
    tests.push(test);
  }
  parsedRanges.set(range, tests);
  return tests;
}

/** Whether `version` satisfies `range`; `undefined` when either cannot be read. */
export function satisfies(version: string, range: string): boolean | undefined {
  const v = parseVersion(version);
  if (!v) return undefined;
  const r = range.trim();
  if (r === "" || r === "*" || r === "latest") return true;
  const tests = parseRange(r);
  return tests === undefined ? undefined : tests.some((t) => t(v));
}
