// The deployment-window gate: whether a rollout may start now. Allow windows
// let rollouts start only inside one of them; deny windows block while one is
// active and win over allow windows. A window opens at each minute its cron
// schedule matches the wall clock of its time zone and stays open for its
// duration; a match while it is open extends it. Pure: the caller gives `now`.
import { cronMatches, type CronSchedule, type WallClock } from "../cron.js";
import { formatDuration } from "../duration.js";
import type { DeploymentWindow } from "../model.js";
import { floorMinute, MINUTE, ZoneClock } from "./zone-clock.js";

/** How far ahead `nextOpen` and "open until" are looked for. */
export const WINDOW_HORIZON_MS = 366 * 86_400_000;

export interface WindowOverride {
  /** Who overrode the windows. */
  by: string;
  /** Why, in their words. */
  reason: string;
}

export interface WindowVerdict {
  open: boolean;
  /** Why, in words: which window, until when, or when the next one opens. */
  reason: string;
  /** When the windows open next (closed only; absent when they do not open within 366 days). */
  nextOpen?: Date;
  /** When the open windows close (open only; absent when they stay open past 366 days, or there are no windows). */
  closesAt?: Date;
  /** Set when an override opened the gate. */
  overriddenBy?: string;
}

interface Tracked {
  window: DeploymentWindow;
  clock: ZoneClock;
}

function dayMatches(c: CronSchedule, w: WallClock): boolean {
  if (!c.months.includes(w.month)) return false;
  const dom = c.daysOfMonth.includes(w.day);
  const dow = c.daysOfWeek.includes(w.weekday);
  if (c.dayOfMonthRestricted && c.dayOfWeekRestricted) return dom || dow;
  return dom && dow;
}

/**
 * The first minute after `after` (exclusive) and not after `limit` at which
 * the window opens. Days and hours the schedule cannot match are skipped
 * whole, unless the zone's offset changes within them.
 */
function nextStart(t: Tracked, after: number, limit: number): number | undefined {
  const c = t.window.cron;
  let m = floorMinute(after) + MINUTE;
  while (m <= limit) {
    const w = t.clock.wall(m);
    let skip = 0;
    if (!dayMatches(c, w)) skip = 24 * 60 - (w.hour * 60 + w.minute);
    else if (!c.hours.includes(w.hour)) skip = 60 - w.minute;
    else if (cronMatches(c, w)) return m;
    if (skip > 1) {
      const target = m + skip * MINUTE;
      // Safe to jump only when the offset is the same across the skipped span.
      if (t.clock.offsetAt(m) === t.clock.offsetAt(target - MINUTE)) {
        m = target;
        continue;
      }
    }
    m += MINUTE;
  }
  return undefined;
}

/** The last minute at or before `at`, and after `floor` (exclusive), at which the window opened. */
function lastStart(t: Tracked, at: number, floor: number): number | undefined {
  const c = t.window.cron;
  let m = floorMinute(at);
  while (m > floor) {
    const w = t.clock.wall(m);
    let skip = 0;
    if (!dayMatches(c, w)) skip = w.hour * 60 + w.minute + 1;
    else if (!c.hours.includes(w.hour)) skip = w.minute + 1;
    else if (cronMatches(c, w)) return m;
    if (skip > 1) {
      const target = m - skip * MINUTE;
      if (t.clock.offsetAt(m) === t.clock.offsetAt(target + MINUTE)) {
        m = target;
        continue;
      }
    }
    m -= MINUTE;
  }
  return undefined;
}

/** Whether the window is open at `at`: it opened within its duration before. */
function activeAt(t: Tracked, at: number): { since: number } | undefined {
  const since = lastStart(t, at, at - t.window.duration);
  return since === undefined ? undefined : { since };
}

/**
 * When an open window closes: its last opening plus the duration, extended
 * by every opening before that end (the latest one each time, so a window
 * that matches every minute is followed an hour at a time, not a minute).
 */
function activeUntil(t: Tracked, since: number, limit: number): number | undefined {
  let start = since;
  let end = since + t.window.duration;
  while (end <= limit) {
    const latest = lastStart(t, end, start);
    if (latest === undefined) return end;
    start = latest;
    end = latest + t.window.duration;
  }
  return undefined;
}

function describeWindow(w: DeploymentWindow): string {
  return `${w.kind} window "${w.cron.text}" for ${formatDuration(w.duration)} (${w.timezone})`;
}

function isOpenAt(tracked: Tracked[], at: number): boolean {
  const allows = tracked.filter((t) => t.window.kind === "allow");
  if (tracked.some((t) => t.window.kind === "deny" && activeAt(t, at))) return false;
  return allows.length === 0 || allows.some((t) => activeAt(t, at) !== undefined);
}

/**
 * The first instant after `now` at which the windows are open, within the
 * horizon. While deny windows are open the gate stays closed until the last
 * of them ends; otherwise it can only open when an allow window starts. So
 * only those instants are tried.
 */
function findNextOpen(tracked: Tracked[], now: number, limit: number): number | undefined {
  const allows = tracked.filter((t) => t.window.kind === "allow");
  const denies = tracked.filter((t) => t.window.kind === "deny");
  let t = now;
  while (t < limit) {
    let candidate = t;
    for (const d of denies) {
      const active = activeAt(d, t);
      if (!active) continue;
      const end = activeUntil(d, active.since, limit);
      if (end === undefined) return undefined; // denied past the horizon
      candidate = Math.max(candidate, end);
    }
    if (candidate === t) {
      // No deny window is open at t, and the gate is closed: no allow window is open either.
      let next = Infinity;
      for (const a of allows) next = Math.min(next, nextStart(a, t, limit) ?? Infinity);
      if (!Number.isFinite(next)) return undefined;
      candidate = next;
    }
    if (candidate > limit) return undefined;
    if (isOpenAt(tracked, candidate)) return candidate;
    t = candidate;
  }
  return undefined;
}

/**
 * The first instant after `now` at which the windows are closed, within the
 * horizon: when a deny window starts or the last open allow window ends.
 */
function findNextClose(tracked: Tracked[], now: number, limit: number): number | undefined {
  const allows = tracked.filter((t) => t.window.kind === "allow");
  const denies = tracked.filter((t) => t.window.kind === "deny");
  const nextDeny = new Map<Tracked, number | undefined>();
  let t = now;
  while (t < limit) {
    let candidate = Infinity;
    for (const d of denies) {
      let s = nextDeny.get(d);
      if (!nextDeny.has(d) || (s !== undefined && s <= t)) {
        s = nextStart(d, t, limit);
        nextDeny.set(d, s);
      }
      if (s !== undefined) candidate = Math.min(candidate, s);
    }
    for (const a of allows) {
      const active = activeAt(a, t);
      if (!active) continue;
      const end = activeUntil(a, active.since, limit);
      if (end !== undefined) candidate = Math.min(candidate, end);
    }
    if (!Number.isFinite(candidate) || candidate > limit) return undefined;
    if (!isOpenAt(tracked, candidate)) return candidate;
    t = candidate;
  }
  return undefined;
}

/**
 * Whether a rollout may start at `now`. With an override the gate is open,
 * and the reason says who overrode it, why, and what the windows said.
 */
export function evaluateWindows(windows: DeploymentWindow[], now: Date, override?: WindowOverride): WindowVerdict {
  const verdict = judge(windows, now.getTime());
  if (!override) return verdict;
  const said = windows.length === 0 ? "there are no deployment windows" : verdict.open ? `the windows were open anyway: ${verdict.reason}` : `the windows were closed: ${verdict.reason}`;
  return { open: true, reason: `deployment windows overridden by ${override.by}: ${override.reason} (${said})`, overriddenBy: override.by };
}

function judge(windows: DeploymentWindow[], now: number): WindowVerdict {
  if (windows.length === 0) return { open: true, reason: "no deployment windows" };
  const clocks = new Map<string, ZoneClock>();
  const tracked: Tracked[] = windows.map((window) => {
    let clock = clocks.get(window.timezone);
    if (!clock) clocks.set(window.timezone, (clock = new ZoneClock(window.timezone)));
    return { window, clock };
  });
  const limit = now + WINDOW_HORIZON_MS;
  const at = (t: number, tr: Tracked) => tr.clock.describe(t);

  const activeDenies = tracked.flatMap((t) => (t.window.kind === "deny" ? [{ t, a: activeAt(t, now) }] : [])).filter((x) => x.a !== undefined);
  const allows = tracked.filter((t) => t.window.kind === "allow");
  const activeAllows = allows.flatMap((t) => {
    const a = activeAt(t, now);
    return a ? [{ t, since: a.since }] : [];
  });

  if (activeDenies.length === 0 && (allows.length === 0 || activeAllows.length > 0)) {
    const inside = activeAllows[0] ? `inside ${describeWindow(activeAllows[0].t.window)}` : "outside every deny window";
    const closesAt = findNextClose(tracked, now, limit);
    if (closesAt === undefined) return { open: true, reason: `deployment window open: ${inside}` };
    const deny = tracked.find((t) => t.window.kind === "deny" && activeAt(t, closesAt)?.since === closesAt);
    const until = deny ? `until ${at(closesAt, deny)}, when the ${describeWindow(deny.window)} starts` : `until ${at(closesAt, activeAllows[0]?.t ?? tracked[0]!)}`;
    return { open: true, reason: `deployment window open: ${inside} ${until}`, closesAt: new Date(closesAt) };
  }

  // Closed: say which window closes it and when the gate opens next.
  let why: string;
  if (activeDenies.length > 0) {
    const parts = activeDenies.map(({ t, a }) => {
      const until = activeUntil(t, a!.since, limit);
      return `inside ${describeWindow(t.window)} since ${at(a!.since, t)}${until !== undefined ? ` until ${at(until, t)}` : ""}`;
    });
    why = parts.join("; ");
  } else {
    why = allows.length === 1 ? `outside the ${describeWindow(allows[0]!.window)}` : `outside every allow window (${allows.map((t) => `"${t.window.cron.text}" for ${formatDuration(t.window.duration)} (${t.window.timezone})`).join(", ")})`;
  }
  const next = findNextOpen(tracked, now, limit);
  if (next === undefined) return { open: false, reason: `deployment window closed: ${why}; it does not open in the next 366 days` };
  const zoneOf = allows.find((t) => activeAt(t, next)) ?? tracked[0]!;
  return { open: false, reason: `deployment window closed: ${why}; next open ${at(next, zoneOf)}`, nextOpen: new Date(next) };
}
