// Durations as written in slipway.yml (`500ms`, `30s`, `5m`, `1h`, `1d`,
// combined as `1h30m`), parsed to milliseconds.

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string; fix: string };

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

export const DURATION_FIX = "write a number and a unit: 500ms, 30s, 5m, 1h, 1d, or combined as 1h30m";

export function parseDuration(input: unknown): Parsed<number> {
  if (typeof input === "number") {
    return { ok: false, message: `the duration ${input} has no unit`, fix: `write ${input}s for seconds (or ms, m, h, d)` };
  }
  if (typeof input !== "string") return { ok: false, message: "expected a duration such as 30s", fix: DURATION_FIX };
  const text = input.trim();
  if (text === "") return { ok: false, message: "the duration is empty", fix: DURATION_FIX };
  if (text.startsWith("-")) return { ok: false, message: `the duration '${input}' is negative`, fix: "durations count forward from now: write a positive value" };
  if (/^\d+(\.\d+)?$/.test(text)) {
    return { ok: false, message: `the duration '${input}' has no unit`, fix: `write ${text}s for seconds (or ms, m, h, d)` };
  }
  let total = 0;
  let pos = 0;
  const seen = new Set<string>();
  PART.lastIndex = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) {
      const unit = /^\d+(?:\.\d+)?\s*([A-Za-z]+)/.exec(text.slice(pos))?.[1];
      const message = unit ? `'${input}' is not a duration: unknown unit '${unit}'` : `'${input}' is not a duration`;
      return { ok: false, message, fix: DURATION_FIX };
    }
    const unit = m[2] as string;
    if (seen.has(unit)) return { ok: false, message: `'${input}' is not a duration: the unit ${unit} appears twice`, fix: DURATION_FIX };
    seen.add(unit);
    total += Number(m[1]) * (UNIT_MS[unit] as number);
    pos = PART.lastIndex;
  }
  if (!Number.isSafeInteger(Math.round(total))) return { ok: false, message: `the duration '${input}' is too long`, fix: "write a shorter duration" };
  if (!Number.isInteger(total)) {
    return { ok: false, message: `the duration '${input}' is not a whole number of milliseconds`, fix: "use a smaller unit, e.g. 1500ms instead of 1.5005s" };
  }
  return { ok: true, value: total };
}

/** 90000 → `1m30s`; 1500 → `1500ms`. For messages and documentation. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms % 1000 !== 0) return `${ms}ms`;
  let rest = ms / 1000;
  let out = "";
  for (const [unit, size] of [["d", 86_400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
