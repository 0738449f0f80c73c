import { describe, expect, it } from "vitest";
import { meetsThreshold, parseAmount, parseThreshold } from "./threshold.js";

describe("parseThreshold", () => {
  it("reads rates as fractions and latencies as milliseconds", () => {
    expect(parseThreshold("<1%", "rate")).toEqual({ ok: true, value: { op: "<", value: 0.01, unit: "ratio", text: "<1%" } });
    expect(parseThreshold(">= 99.5%", "rate")).toMatchObject({ ok: true, value: { op: ">=", value: 0.995 } });
    expect(parseThreshold("<500ms", "latency")).toEqual({ ok: true, value: { op: "<", value: 500, unit: "ms", text: "<500ms" } });
    expect(parseThreshold("<=1.5s", "latency")).toMatchObject({ ok: true, value: { op: "<=", value: 1500, unit: "ms" } });
    expect(parseThreshold("<100", "number")).toMatchObject({ ok: true, value: { op: "<", value: 100, unit: "number" } });
    expect(parseThreshold(">2%", "number")).toMatchObject({ ok: true, value: { value: 0.02, unit: "ratio" } });
  });

  it.each([
    ["1%", "rate", "has no comparison operator", '"<1%"'],
    ["<0.01", "rate", "needs a percent sign", '"<1%"'],
    ["<5", "rate", "needs a percent sign", '"<5%"'],
    ["<101%", "rate", "above 100%", "between 0% and 100%"],
    ["<500", "latency", "has no unit", '"<500ms"'],
    ["<5m", "latency", "is not a latency unit", '"<5ms"'],
    ["=1%", "rate", "operator = ", "<, <=, > or >="],
    ["<-1%", "rate", "negative", "0 or more"],
    ["low", "rate", "is not a condition", "operator"],
    ["<3 apples", "number", "unknown unit 'apples'", "plain number"],
  ] as const)("%j as a %s: %s", (input, kind, message, fix) => {
    const r = parseThreshold(input, kind);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain(message);
      expect(r.fix).toContain(fix);
    }
  });

  it("judges a measurement against the condition", () => {
    const t = (text: string) => {
      const r = parseThreshold(text, "number");
      if (!r.ok) throw new Error(r.message);
      return r.value;
    };
    expect(meetsThreshold(t("<1%"), 0.009)).toBe(true);
    expect(meetsThreshold(t("<1%"), 0.01)).toBe(false);
    expect(meetsThreshold(t("<=1%"), 0.01)).toBe(true);
    expect(meetsThreshold(t(">99%"), 0.995)).toBe(true);
    expect(meetsThreshold(t(">=500ms"), 499)).toBe(false);
  });
});

describe("parseAmount", () => {
  it("reads counts and percentages", () => {
    expect(parseAmount(1)).toEqual({ ok: true, value: { count: 1 } });
    expect(parseAmount("25%")).toEqual({ ok: true, value: { percent: 25 } });
    expect(parseAmount(1.5)).toMatchObject({ ok: false });
    expect(parseAmount("150%")).toMatchObject({ ok: false, message: "'150%' is above 100%" });
    expect(parseAmount("two")).toMatchObject({ ok: false });
  });
});
