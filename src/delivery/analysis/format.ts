// Numbers and conditions in words, for the reasons of measurements:
// `20.0%`, `612ms`, `error rate 20.0% ≥ 1%`.
import type { Comparator, Threshold } from "../threshold.js";

/** 0.2 → `20.0%`; 0.0004 → `0.04%`. */
export function formatRate(fraction: number): string {
  const pct = fraction * 100;
  if (pct !== 0 && Math.abs(pct) < 0.1) return `${Number(pct.toPrecision(2))}%`;
  return `${pct.toFixed(1)}%`;
}

/** 612.4 → `612ms`; 4.25 → `4.3ms`; 2500 → `2.50s`. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}s`;
  if (ms >= 100) return `${Math.round(ms)}ms`;
  return `${Number(ms.toFixed(1))}ms`;
}

/** A plain number with at most 4 significant digits: 12.3456 → `12.35`. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(4)));
}

/** A value in a threshold's canonical unit, written in that unit. */
export function formatValue(value: number, unit: Threshold["unit"]): string {
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "-∞";
  switch (unit) {
    case "ratio":
      return formatRate(value);
    case "ms":
      return formatMs(value);
    case "number":
      return formatNumber(value);
  }
}

const SYMBOL: Record<Comparator, string> = { "<": "<", "<=": "≤", ">": ">", ">=": "≥" };
const NEGATED: Record<Comparator, string> = { "<": "≥", "<=": ">", ">": "≤", ">=": "<" };

/** The limit as the user wrote it: `<1%` → `1%`, `"< 0.3s"` → `0.3s`. */
export function formatLimit(t: Threshold): string {
  const written = t.text.replace(/^\s*(<=|>=|<|>)\s*/, "").trim();
  return written !== "" ? written : formatValue(t.value, t.unit);
}

/** `error rate 20.0% ≥ 1%` (failed) or `error rate 0.5% < 1%` (met). */
export function formatComparison(label: string, value: number, t: Threshold, ok: boolean): string {
  const op = ok ? SYMBOL[t.op] : NEGATED[t.op];
  return `${label} ${formatValue(value, t.unit)} ${op} ${formatLimit(t)}`;
}

/** 30000 → `30s`, 90000 → `1m30s`, 1500 → `1.5s`. */
export function formatWindow(ms: number): string {
  if (ms % 1000 !== 0) return `${Number((ms / 1000).toFixed(3))}s`;
  let rest = ms / 1000;
  let out = "";
  for (const [unit, size] of [["h", 3600], ["m", 60], ["s", 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || "0s";
}

/** A count of requests in words: `no requests`, `1 request`, `60 requests`. */
export function formatRequests(n: number): string {
  if (n === 0) return "no requests";
  return n === 1 ? "1 request" : `${n} requests`;
}
