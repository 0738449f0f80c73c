// Deployment windows: allow and deny, time zones across daylight saving changes, durations over midnight, next opening, override; and a minute-by-minute reference to compare with.
import { describe, expect, it } from "vitest";
import { cronMatches, parseCron, type WallClock } from "../cron.js";
import type { DeploymentWindow } from "../model.js";
import { evaluateWindows } from "./window.js";
import { ZoneClock } from "./zone-clock.js";

const H = 3_600_000;
const M = 60_000;

function win(kind: "allow" | "deny", cron: string, duration: number, timezone = "Europe/Berlin"): DeploymentWindow {
  const c = parseCron(cron);
  if (!c.ok) throw new Error(c.message);
  return { kind, cron: c.value, duration, timezone };
}

const at = (iso: string) => new Date(iso);

describe("evaluateWindows", () => {
  it("is open when there are no windows", () => {
    expect(evaluateWindows([], at("2026-06-03T10:00:00Z"))).toEqual({ open: true, reason: "no deployment windows" });
  });

  describe("allow windows", () => {
    // Monday to Thursday, a window opens every hour from 9:00 to 16:00 for 1h: open 9:00-17:00.
    const office = [win("allow", "0 9-16 * * 1-4", H)];

    it("is open inside, and says until when (the hourly openings join up)", () => {
      const v = evaluateWindows(office, at("2026-06-04T08:30:00Z")); // Thu 10:30 CEST
      expect(v.open).toBe(true);
      expect(v.reason).toBe('deployment window open: inside allow window "0 9-16 * * 1-4" for 1h (Europe/Berlin) until Thu 2026-06-04 17:00 Europe/Berlin');
      expect(v.closesAt?.toISOString()).toBe("2026-06-04T15:00:00.000Z");
    });

    it("is closed outside, with the next opening", () => {
      const v = evaluateWindows(office, at("2026-06-05T08:30:00Z")); // Fri 10:30 CEST
      expect(v.open).toBe(false);
      expect(v.nextOpen?.toISOString()).toBe("2026-06-08T07:00:00.000Z"); // Mon 09:00 CEST
      expect(v.reason).toBe('deployment window closed: outside the allow window "0 9-16 * * 1-4" for 1h (Europe/Berlin); next open Mon 2026-06-08 09:00 Europe/Berlin');
    });

    it("opens at the cron match and closes after the duration", () => {
      expect(evaluateWindows(office, at("2026-06-04T06:59:59Z")).open).toBe(false);
      expect(evaluateWindows(office, at("2026-06-04T07:00:00Z")).open).toBe(true);
      expect(evaluateWindows(office, at("2026-06-04T14:59:59Z")).open).toBe(true);
      expect(evaluateWindows(office, at("2026-06-04T15:00:00Z")).open).toBe(false);
    });

    it("is open inside any of several allow windows", () => {
      const two = [win("allow", "0 9 * * *", H), win("allow", "0 20 * * *", 30 * M, "America/New_York")];
      expect(evaluateWindows(two, at("2026-06-03T07:30:00Z")).open).toBe(true); // 09:30 Berlin
      const evening = evaluateWindows(two, at("2026-06-04T00:10:00Z")); // 20:10 New York
      expect(evaluateWindows(two, at("2026-06-04T00:10:00Z")).open).toBe(true);
      expect(evening.reason).toContain('inside allow window "0 20 * * *" for 30m (America/New_York) until Wed 2026-06-03 20:30 America/New_York');
      const between = evaluateWindows(two, at("2026-06-03T12:00:00Z"));
      expect(between.open).toBe(false);
      expect(between.nextOpen?.toISOString()).toBe("2026-06-04T00:00:00.000Z");
      expect(between.reason).toContain('outside every allow window ("0 9 * * *" for 1h (Europe/Berlin), "0 20 * * *" for 30m (America/New_York))');
    });

    it("spans midnight when the duration does", () => {
      const night = [win("allow", "0 22 * * *", 4 * H)];
      const v = evaluateWindows(night, at("2026-06-01T23:30:00Z")); // Tue 01:30 CEST
      expect(v.open).toBe(true);
      expect(v.reason).toContain("until Tue 2026-06-02 02:00 Europe/Berlin");
      const after = evaluateWindows(night, at("2026-06-02T00:30:00Z")); // 02:30 CEST
      expect(after.open).toBe(false);
      expect(after.nextOpen?.toISOString()).toBe("2026-06-02T20:00:00.000Z");
    });
  });

  describe("daylight saving time (Europe/Berlin)", () => {
    // 2026-03-29: 02:00 CET becomes 03:00 CEST. 2026-10-25: 03:00 CEST becomes 02:00 CET.
    const nine = [win("allow", "0 9 * * *", H)];

    it("opens at 09:00 local time on both sides of the change", () => {
      expect(evaluateWindows(nine, at("2026-03-28T08:30:00Z")).open).toBe(true); // 09:30 CET
      expect(evaluateWindows(nine, at("2026-03-29T07:30:00Z")).open).toBe(true); // 09:30 CEST
      expect(evaluateWindows(nine, at("2026-03-29T08:30:00Z")).open).toBe(false); // 10:30 CEST
      const v = evaluateWindows(nine, at("2026-03-28T12:00:00Z"));
      expect(v.nextOpen?.toISOString()).toBe("2026-03-29T07:00:00.000Z");
      expect(v.reason).toContain("next open Sun 2026-03-29 09:00 Europe/Berlin");
    });

    it("does not open at a time that does not exist that day (spring forward)", () => {
      const v = evaluateWindows([win("allow", "30 2 * * *", 10 * M)], at("2026-03-28T12:00:00Z"));
      expect(v.nextOpen?.toISOString()).toBe("2026-03-30T00:30:00.000Z"); // Mon 02:30 CEST
    });

    it("opens at both 02:30s of the night the clocks go back", () => {
      const w = [win("allow", "30 2 * * *", 10 * M)];
      expect(evaluateWindows(w, at("2026-10-25T00:35:00Z")).open).toBe(true); // 02:35 CEST
      expect(evaluateWindows(w, at("2026-10-25T01:00:00Z")).open).toBe(false); // 02:00 CET
      expect(evaluateWindows(w, at("2026-10-25T01:35:00Z")).open).toBe(true); // 02:35 CET
    });

    it("counts the duration in elapsed time across the change", () => {
      // Saturday 22:00 CET for 6h ends Sunday 05:00 CEST (6 hours later, one of them skipped on the wall clock).
      const w = [win("allow", "0 22 * * 6", 6 * H)];
      const v = evaluateWindows(w, at("2026-03-29T01:30:00Z")); // 03:30 CEST
      expect(v.open).toBe(true);
      expect(v.closesAt?.toISOString()).toBe("2026-03-29T03:00:00.000Z");
      expect(v.reason).toContain("until Sun 2026-03-29 05:00 Europe/Berlin");
    });
  });

  describe("deny windows", () => {
    // A weekend freeze from Friday 18:00 to Monday 08:00.
    const freeze = [win("deny", "0 18 * * 5", 62 * H)];

    it("blocks inside and says when the freeze ends", () => {
      const v = evaluateWindows(freeze, at("2026-06-06T10:00:00Z")); // Saturday
      expect(v.open).toBe(false);
      expect(v.nextOpen?.toISOString()).toBe("2026-06-08T06:00:00.000Z"); // Mon 08:00 CEST
      expect(v.reason).toBe(
        'deployment window closed: inside deny window "0 18 * * 5" for 2d14h (Europe/Berlin) since Fri 2026-06-05 18:00 Europe/Berlin until Mon 2026-06-08 08:00 Europe/Berlin; next open Mon 2026-06-08 08:00 Europe/Berlin',
      );
    });

    it("lets rollouts through outside, and says when the next freeze starts", () => {
      const v = evaluateWindows(freeze, at("2026-06-03T10:00:00Z")); // Wednesday
      expect(v.open).toBe(true);
      expect(v.closesAt?.toISOString()).toBe("2026-06-05T16:00:00.000Z");
      expect(v.reason).toBe(
        'deployment window open: outside every deny window until Fri 2026-06-05 18:00 Europe/Berlin, when the deny window "0 18 * * 5" for 2d14h (Europe/Berlin) starts',
      );
    });

    it("wins over an allow window", () => {
      const both = [win("allow", "0 9-16 * * 1-5", H), win("deny", "0 0 24 12 *", 2 * 24 * H)]; // no deploys on 24-25 December
      const christmas = evaluateWindows(both, at("2026-12-24T10:00:00Z")); // Thursday 11:00 CET
      expect(christmas.open).toBe(false);
      expect(christmas.reason).toContain('inside deny window "0 0 24 12 *" for 2d (Europe/Berlin)');
      expect(christmas.nextOpen?.toISOString()).toBe("2026-12-28T08:00:00.000Z"); // Saturday and Sunday have no allow window
      expect(evaluateWindows(both, at("2026-12-23T10:00:00Z")).open).toBe(true);
    });

    it("closes an open allow window early when a deny window starts", () => {
      const both = [win("allow", "0 9 * * *", 8 * H), win("deny", "0 12 * * *", H)];
      const v = evaluateWindows(both, at("2026-06-03T08:00:00Z")); // 10:00 CEST
      expect(v.open).toBe(true);
      expect(v.closesAt?.toISOString()).toBe("2026-06-03T10:00:00.000Z");
      expect(v.reason).toContain("when the deny window");
      const lunch = evaluateWindows(both, at("2026-06-03T10:30:00Z"));
      expect(lunch.open).toBe(false);
      expect(lunch.nextOpen?.toISOString()).toBe("2026-06-03T11:00:00.000Z"); // the allow window is still open at 13:00
    });
  });

  it("says so when the windows do not open within 366 days", () => {
    const started = performance.now();
    const leap = evaluateWindows([win("allow", "0 0 29 2 *", H)], at("2026-03-01T00:00:00Z"));
    expect(leap.open).toBe(false);
    expect(leap.nextOpen).toBeUndefined();
    expect(leap.reason).toContain("it does not open in the next 366 days");
    const never = evaluateWindows([win("deny", "* * * * *", H)], at("2026-03-01T00:00:00Z"));
    expect(never.open).toBe(false);
    expect(never.nextOpen).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(5000);
    // The next leap day is found within the horizon.
    expect(evaluateWindows([win("allow", "0 0 29 2 *", H)], at("2027-06-01T00:00:00Z")).nextOpen?.toISOString()).toBe("2028-02-28T23:00:00.000Z");
  });

  it("opens with an override, naming who overrode and what the windows said", () => {
    const freeze = [win("deny", "0 18 * * 5", 62 * H)];
    const v = evaluateWindows(freeze, at("2026-06-06T10:00:00Z"), { by: "alice", reason: "hotfix for the login outage" });
    expect(v.open).toBe(true);
    expect(v.overriddenBy).toBe("alice");
    expect(v.reason).toMatch(/^deployment windows overridden by alice: hotfix for the login outage \(the windows were closed: deployment window closed: inside deny window/);
    const open = evaluateWindows(freeze, at("2026-06-03T10:00:00Z"), { by: "bob", reason: "routine" });
    expect(open.reason).toContain("(the windows were open anyway:");
    expect(evaluateWindows([], at("2026-06-03T10:00:00Z"), { by: "bob", reason: "x" }).reason).toBe("deployment windows overridden by bob: x (there are no deployment windows)");
  });
});

describe("ZoneClock", () => {
  it("agrees with Intl on the wall clock of many instants in several zones", () => {
    const zones = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "UTC", "America/Sao_Paulo"];
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const zone of zones) {
      const clock = new ZoneClock(zone);
      const f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", weekday: "short" });
      for (let i = 0; i < 300; i++) {
        const t = Math.floor((Date.UTC(2020, 0, 1) + rand() * 10 * 365 * 86_400_000) / M) * M;
        const p = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
        const w = clock.wall(t);
        expect({ zone, t: new Date(t).toISOString(), y: w.year, mo: w.month, d: w.day, h: w.hour, mi: w.minute, wd: w.weekday }).toEqual({
          zone,
          t: new Date(t).toISOString(),
          y: Number(p.year),
          mo: Number(p.month),
          d: Number(p.day),
          h: Number(p.hour),
          mi: Number(p.minute),
          wd: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(p.weekday!),
        });
      }
    }
  });

  it("finds the exact minute of a change", () => {
    const berlin = new ZoneClock("Europe/Berlin");
    expect(berlin.offsetAt(Date.parse("2026-03-29T00:59:00Z"))).toBe(H);
    expect(berlin.offsetAt(Date.parse("2026-03-29T01:00:00Z"))).toBe(2 * H);
    expect(berlin.offsetAt(Date.parse("2026-10-25T00:59:00Z"))).toBe(2 * H);
    expect(berlin.offsetAt(Date.parse("2026-10-25T01:00:00Z"))).toBe(H);
    expect(new ZoneClock("Asia/Kolkata").offsetAt(Date.parse("2026-06-01T00:00:00Z"))).toBe(5.5 * H);
  });
});

describe("evaluateWindows against a minute-by-minute reference", () => {
  // The reference asks Intl for the wall clock of every minute and opens each window for its
  // duration after every match; evaluateWindows must agree on `open` and on `nextOpen`.
  const formats = new Map<string, Intl.DateTimeFormat>();
  const walls = new Map<string, WallClock>();
  const wallOf = (zone: string, t: number): WallClock => {
    const key = `${zone} ${t}`;
    let w = walls.get(key);
    if (!w) {
      let f = formats.get(zone);
      if (!f) formats.set(zone, (f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", weekday: "short" })));
      const p = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
      w = { month: Number(p.month), day: Number(p.day), hour: Number(p.hour), minute: Number(p.minute), weekday: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(p.weekday!) };
      walls.set(key, w);
    }
    return w;
  };

  it("agrees on random schedules, zones and times", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const crons = ["0 9 * * *", "30 2 * * *", "*/20 1-3 * * *", "0 22 * * 5", "15 0 * * 0", "0 9-16 * * 1-4", "0 0 1,15 * *", "45 23 * * *", "0 3 * * 0"];
    const zones = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"];
    const durations = [10 * M, H, 3 * H, 90 * M, 26 * H];
    const spanDays = 6;
    for (let trial = 0; trial < 25; trial++) {
      const windows: DeploymentWindow[] = [];
      const n = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < n; i++) windows.push(win(rand() < 0.65 ? "allow" : "deny", pick(crons), pick(durations), pick(zones)));
      // Around a change of daylight saving time in Europe or America, or an ordinary week.
      const base = pick([Date.UTC(2026, 2, 26), Date.UTC(2026, 9, 22), Date.UTC(2026, 2, 6), Date.UTC(2026, 5, 10)]);
      const maxDur = Math.max(...windows.map((w) => w.duration));
      const from = base - maxDur;
      const minutes = Math.ceil((spanDays * 86_400_000 + maxDur) / M);
      const matchesAt = windows.map((w) => {
        const out: boolean[] = [];
        for (let i = 0; i < minutes; i++) out.push(cronMatches(w.cron, wallOf(w.timezone, from + i * M)));
        return out;
      });
      const openAt = (i: number) => {
        const active = windows.map((w, k) => {
          const len = w.duration / M;
          for (let j = i; j > i - len && j >= 0; j--) if (matchesAt[k]![j]) return true;
          return false;
        });
        if (windows.some((w, k) => w.kind === "deny" && active[k])) return false;
        return windows.every((w) => w.kind !== "allow") || windows.some((w, k) => w.kind === "allow" && active[k]);
      };
      for (let probe = 0; probe < 4; probe++) {
        const i = Math.ceil(maxDur / M) + Math.floor(rand() * 3 * 1440);
        const now = from + i * M;
        const v = evaluateWindows(windows, new Date(now));
        const label = `${windows.map((w) => `${w.kind} "${w.cron.text}" ${w.duration / M}m ${w.timezone}`).join(" + ")} at ${new Date(now).toISOString()}`;
        expect(v.open, label).toBe(openAt(i));
        if (!v.open) {
          let expected: number | undefined;
          for (let j = i + 1; j < minutes; j++) {
            if (openAt(j)) {
              expected = from + j * M;
              break;
            }
          }
          if (expected !== undefined) expect(v.nextOpen?.toISOString(), label).toBe(new Date(expected).toISOString());
        } else if (v.closesAt && v.closesAt.getTime() < from + minutes * M) {
          const j = (v.closesAt.getTime() - from) / M;
          expect(openAt(j), `${label}: closes at ${v.closesAt.toISOString()}`).toBe(false);
          for (let k = i; k < j; k++) expect(openAt(k), `${label}: open until ${v.closesAt.toISOString()}`).toBe(true);
        }
      }
    }
  });
});
