// Conditions on a measured value, written as strings in slipway.yml:
// `"<1%"` (a rate), `"<500ms"` (a latency), `">=0.95"` (a plain number).
import type { Parsed } from "./duration.js";

export type Comparator = "<" | "<=" | ">" | ">=";

/**
 * A parsed condition. `value` is in the canonical unit: a fraction for a
 * rate (`<1%` → 0.01), milliseconds for a latency, the number itself
 * otherwise. `text` is what the user wrote.
 */
export interface Threshold {
  op: Comparator;
  value: number;
  unit: "ratio" | "ms" | "number";
  text: string;
}

/** What a condition compares: a rate needs `%`, a latency `ms` or `s`, a plain metric any of them. */
export type ThresholdKind = "rate" | "latency" | "number";

const CONDITION = /^\s*(<=|>=|<|>|==|=|!=)?\s*(-?\d+(?:\.\d+)?)\s*(%|ms|s|[A-Za-z]+)?\s*$/;

const EXAMPLE: Record<ThresholdKind, string> = { rate: '"<1%"', latency: '"<500ms"', number: '"<100"' };

export function parseThreshold(input: unknown, kind: ThresholdKind): Parsed<Threshold> {
  const example = EXAMPLE[kind];
  if (typeof input !== "string" && typeof input !== "number") {
    return { ok: false, message: `expected a condition such as ${example}`, fix: `write an operator (<, <=, >, >=) and a value, quoted: ${example}` };
  }
  const text = String(input);
  const m = CONDITION.exec(text);
  if (!m) return { ok: false, message: `'${text}' is not a condition`, fix: `write an operator (<, <=, >, >=) and a value, quoted: ${example}` };
  const [, op, number, unit] = m;
  if (!op) return { ok: false, message: `the condition '${text}' has no comparison operator`, fix: `write <, <=, > or >= before the value, e.g. "<${text.trim()}"` };
  if (op === "=" || op === "==" || op === "!=") {
    return { ok: false, message: `the operator ${op} in '${text}' is not supported`, fix: "use <, <=, > or >=: a measurement is judged against a limit" };
  }
  const n = Number(number);
  if (n < 0) return { ok: false, message: `the limit in '${text}' is negative`, fix: "measurements are never negative: write a limit of 0 or more" };
  const comparator = op as Comparator;
  switch (kind) {
    case "rate":
      if (unit !== "%") {
        return { ok: false, message: `the rate '${text}' needs a percent sign`, fix: `write it as a percentage, e.g. "${comparator}${unit ? number : n < 1 ? Number((n * 100).toPrecision(12)) : n}%"` };
      }
      if (n > 100) return { ok: false, message: `the rate '${text}' is above 100%`, fix: "write a percentage between 0% and 100%" };
      return { ok: true, value: { op: comparator, value: n / 100, unit: "ratio", text } };
    case "latency":
      if (unit !== "ms" && unit !== "s") {
        return { ok: false, message: unit ? `'${unit}' in '${text}' is not a latency unit` : `the latency '${text}' has no unit`, fix: `write milliseconds or seconds, e.g. "${comparator}${number}ms"` };
      }
      return { ok: true, value: { op: comparator, value: unit === "s" ? Math.round(n * 1000) : n, unit: "ms", text } };
    case "number":
      if (unit === "%") {
        if (n > 100) return { ok: false, message: `the rate '${text}' is above 100%`, fix: "write a percentage between 0% and 100%" };
        return { ok: true, value: { op: comparator, value: n / 100, unit: "ratio", text } };
      }
      if (unit === "ms" || unit === "s") return { ok: true, value: { op: comparator, value: unit === "s" ? Math.round(n * 1000) : n, unit: "ms", text } };
      if (unit) return { ok: false, message: `unknown unit '${unit}' in '${text}'`, fix: "write a plain number, a percentage (%) or a latency (ms, s)" };
      return { ok: true, value: { op: comparator, value: n, unit: "number", text } };
  }
}

/** Whether a measured value (in the threshold's canonical unit) meets the condition. */
export function meetsThreshold(t: Threshold, measured: number): boolean {
  switch (t.op) {
    case "<":
      return measured < t.value;
    case "<=":
      return measured <= t.value;
    case ">":
      return measured > t.value;
    case ">=":
      return measured >= t.value;
  }
}

/** A count or a share of the instances: `1` or `"25%"` (max_surge, max_unavailable). */
export type Amount = { count: number } | { percent: number };

export function parseAmount(input: unknown): Parsed<Amount> {
  if (typeof input === "number") {
    if (Number.isInteger(input) && input >= 0) return { ok: true, value: { count: input } };
    return { ok: false, message: `${input} is not a whole number of instances`, fix: 'write a count (0, 1, 2, …) or a percentage such as "25%"' };
  }
  if (typeof input === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(input);
    if (m) {
      const n = Number(m[1]);
      if (n <= 100) return { ok: true, value: { percent: n } };
      return { ok: false, message: `'${input}' is above 100%`, fix: "write a percentage between 0% and 100%" };
    }
  }
  return { ok: false, message: `expected a count or a percentage, got ${JSON.stringify(input)}`, fix: 'write a count (0, 1, 2, …) or a percentage such as "25%"' };
}
