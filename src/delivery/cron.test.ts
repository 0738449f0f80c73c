import { describe, expect, it } from "vitest";
import { cronMatches, parseCron, type CronSchedule } from "./cron.js";
import { parseTimeZone } from "./time-zone.js";

function cron(text: string): CronSchedule {
  const r = parseCron(text);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

describe("parseCron", () => {
  it("expands ranges, lists, steps and names", () => {
    const c = cron("*/15 9-16 * jan,JUL mon-fri");
    expect(c.minutes).toEqual([0, 15, 30, 45]);
    expect(c.hours).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
    expect(c.months).toEqual([1, 7]);
    expect(c.daysOfWeek).toEqual([1, 2, 3, 4, 5]);
    expect(c.dayOfMonthRestricted).toBe(false);
    expect(c.dayOfWeekRestricted).toBe(true);
    expect(cron("5/20 0 1 * 7").minutes).toEqual([5, 25, 45]);
    expect(cron("0 0 * * 7").daysOfWeek).toEqual([0]);
    expect(cron("@daily")).toMatchObject({ text: "@daily", minutes: [0], hours: [0] });
  });

  it.each([
    ["0 25 * * *", "hour 25 is out of range 0-23"],
    ["0 9-16 * *", "has 4 fields, expected 5"],
    ["0 0 9 * * 1", "has 6 fields, expected 5 (seconds and years are not supported)"],
    ["0 0 ? * MON", "Quartz syntax"],
    ["0 0 L * *", "Quartz syntax"],
    ["0 0 * * MON#2", "Quartz syntax"],
    ["0 17-9 * * *", "runs backwards"],
    ["*/0 * * * *", "must be a positive whole number"],
    ["0 0 * foo *", "'foo' is not a month"],
    ["0 0 30 2 *", "never matches"],
    ["@reboot", "unknown cron macro"],
    ["0 0 1,,2 * *", "empty list item"],
  ])("%j: %s", (text, message) => {
    const r = parseCron(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain(message);
      expect(r.fix.length).toBeGreaterThan(0);
    }
  });

  it("matches wall-clock times; restricted day of month and day of week match either (Vixie cron)", () => {
    const weekdays = cron("0 9-16 * * 1-4");
    expect(cronMatches(weekdays, { minute: 0, hour: 9, day: 3, month: 6, weekday: 1 })).toBe(true);
    expect(cronMatches(weekdays, { minute: 0, hour: 9, day: 3, month: 6, weekday: 5 })).toBe(false);
    expect(cronMatches(weekdays, { minute: 1, hour: 9, day: 3, month: 6, weekday: 1 })).toBe(false);
    const either = cron("0 0 13 * 5");
    expect(cronMatches(either, { minute: 0, hour: 0, day: 13, month: 1, weekday: 2 })).toBe(true);
    expect(cronMatches(either, { minute: 0, hour: 0, day: 2, month: 1, weekday: 5 })).toBe(true);
    expect(cronMatches(either, { minute: 0, hour: 0, day: 2, month: 1, weekday: 4 })).toBe(false);
  });
});

describe("parseTimeZone", () => {
  it("gives the canonical IANA name", () => {
    expect(parseTimeZone("Europe/Berlin")).toEqual({ ok: true, value: "Europe/Berlin" });
    expect(parseTimeZone("europe/berlin")).toEqual({ ok: true, value: "Europe/Berlin" });
    expect(parseTimeZone("UTC")).toEqual({ ok: true, value: "UTC" });
  });

  it("suggests the closest zone, and explains offsets", () => {
    expect(parseTimeZone("Europe/Berln")).toEqual({ ok: false, message: "unknown time zone 'Europe/Berln'", fix: "did you mean Europe/Berlin?" });
    expect(parseTimeZone("Mars/Olympus")).toMatchObject({ ok: false, fix: expect.stringContaining("IANA") });
    expect(parseTimeZone("UTC+2")).toMatchObject({ ok: false, message: "'UTC+2' is an offset, not a time zone" });
    expect(parseTimeZone(5)).toMatchObject({ ok: false });
  });
});
