// Wall-clock time in an IANA time zone for UTC instants, computed with Intl
// (the ICU data Node ships), daylight saving time included. Offsets are
// cached per UTC day, so scanning a year minute by minute asks Intl a few
// hundred times, not half a million.
import type { WallClock } from "../cron.js";

export const MINUTE = 60_000;
const DAY = 86_400_000;
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;

/** Wall clock plus the year, for formatting. */
export interface ZonedTime extends WallClock {
  year: number;
  second: number;
}

/** One UTC day's offsets: constant, or one change at `at` (no zone changes its offset twice in a day). */
type DayOffsets = { offset: number } | { before: number; after: number; at: number };

export class ZoneClock {
  readonly zone: string;
  private readonly format: Intl.DateTimeFormat;
  private readonly days = new Map<number, DayOffsets>();

  constructor(zone: string) {
    this.zone = zone;
    this.format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  }

  /** Milliseconds to add to a UTC instant to get the wall clock read as UTC. */
  offsetAt(t: number): number {
    const dayIndex = Math.floor(t / DAY);
    let d = this.days.get(dayIndex);
    if (!d) {
      d = this.dayOffsets(dayIndex * DAY);
      this.days.set(dayIndex, d);
    }
    if ("offset" in d) return d.offset;
    return t < d.at ? d.before : d.after;
  }

  /** The wall clock at a UTC instant. */
  wall(t: number): ZonedTime {
    const w = new Date(t + this.offsetAt(t));
    return {
      year: w.getUTCFullYear(),
      month: w.getUTCMonth() + 1,
      day: w.getUTCDate(),
      hour: w.getUTCHours(),
      minute: w.getUTCMinutes(),
      second: w.getUTCSeconds(),
      weekday: w.getUTCDay(),
    };
  }

  /** `Mon 2026-03-30 09:00 Europe/Berlin` (seconds only when not zero). */
  describe(t: number): string {
    const w = this.wall(t);
    const p = (n: number) => String(n).padStart(2, "0");
    const time = `${p(w.hour)}:${p(w.minute)}${w.second !== 0 ? `:${p(w.second)}` : ""}`;
    return `${WEEKDAYS[w.weekday]} ${w.year}-${p(w.month)}-${p(w.day)} ${time} ${this.zone}`;
  }

  /** The offset Intl reports for one instant (whole seconds). */
  private exactOffset(t: number): number {
    const whole = Math.floor(t / 1000) * 1000;
    const parts: Record<string, number> = {};
    for (const part of this.format.formatToParts(new Date(whole))) {
      if (part.type !== "literal") parts[part.type] = Number(part.value);
    }
    const asUtc = Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
    return asUtc - whole;
  }

  private dayOffsets(start: number): DayOffsets {
    const before = this.exactOffset(start);
    const after = this.exactOffset(start + DAY - 1000);
    if (before === after) return { offset: before };
    // Binary search for the first second with the new offset.
    let lo = start;
    let hi = start + DAY - 1000;
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (this.exactOffset(mid) === before) lo = mid;
      else hi = mid;
    }
    return { before, after, at: hi };
  }
}

export function floorMinute(t: number): number {
  return Math.floor(t / MINUTE) * MINUTE;
}
