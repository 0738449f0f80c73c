import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["500ms", 500],
    ["1s", 1000],
    ["60s", 60_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1d", 86_400_000],
    ["1h30m", 5_400_000],
    ["1.5s", 1500],
    ["0s", 0],
    [" 2m ", 120_000],
  ])("%s is %i ms", (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });

  it.each([
    [60, "the duration 60 has no unit", "write 60s"],
    ["60", "the duration '60' has no unit", "write 60s"],
    ["5 min", "unknown unit 'min'", "500ms, 30s"],
    ["1w", "unknown unit 'w'", "500ms, 30s"],
    ["-5s", "negative", "positive"],
    ["", "empty", "500ms"],
    ["1m1m", "the unit m appears twice", "1h30m"],
    ["s", "is not a duration", "500ms"],
    ["1.0005s", "not a whole number of milliseconds", "smaller unit"],
  ])("%j is refused: %s", (input, message, fix) => {
    const r = parseDuration(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain(message);
      expect(r.fix).toContain(fix);
    }
  });

  it("refuses what is not a string or a number", () => {
    expect(parseDuration({})).toMatchObject({ ok: false, message: "expected a duration such as 30s" });
  });
});

describe("formatDuration", () => {
  it("writes the largest units first and round-trips", () => {
    expect(formatDuration(5_400_000)).toBe("1h30m");
    expect(formatDuration(1500)).toBe("1500ms");
    expect(formatDuration(0)).toBe("0s");
    for (const ms of [1000, 61_000, 90_061_000, 86_400_000]) expect(parseDuration(formatDuration(ms))).toEqual({ ok: true, value: ms });
  });
});
