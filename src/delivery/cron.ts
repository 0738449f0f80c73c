// Five-field cron schedules (minute hour day-of-month month day-of-week), as
// Vixie cron and Argo CD sync windows read them, for deployment windows.
import type { Parsed } from "./duration.js";

export interface CronSchedule {
  text: string;
  minutes: number[];
  hours: number[];
  daysOfMonth: number[];
  months: number[];
  /** 0 = Sunday … 6 = Saturday (7 is read as Sunday). */
  daysOfWeek: number[];
  /** Whether day-of-month and day-of-week were restricted (not `*`): when both are, a day matching either matches (Vixie cron). */
  dayOfMonthRestricted: boolean;
  dayOfWeekRestricted: boolean;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] as const;
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

const FIELDS: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day of week", min: 0, max: 7, names: DAYS },
];

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const FIX = 'write five fields: minute hour day-of-month month day-of-week, e.g. "0 9-16 * * 1-5" (9:00 to 16:59, Monday to Friday)';

function value(text: string, spec: FieldSpec): number | string {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= spec.min && n <= spec.max ? n : `${spec.name} ${n} is out of range ${spec.min}-${spec.max}`;
  }
  const i = spec.names?.indexOf(text.toLowerCase() as never) ?? -1;
  if (i >= 0) return spec.min + i;
  if (spec.names) return `'${text}' is not a ${spec.name} (${spec.min}-${spec.max} or ${spec.names[0]!.toUpperCase()}-${spec.names[spec.names.length - 1]!.toUpperCase()})`;
  return `'${text}' is not a ${spec.name} (${spec.min}-${spec.max})`;
}

function field(text: string, spec: FieldSpec): number[] | string {
  const out = new Set<number>();
  for (const item of text.split(",")) {
    if (item === "") return `the ${spec.name} field '${text}' has an empty list item`;
    const [range, stepText, extra] = item.split("/");
    if (extra !== undefined || range === undefined || range === "") return `'${item}' is not a valid ${spec.name}`;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) return `the step '/${stepText}' in '${item}' must be a positive whole number`;
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === "*") {
      from = spec.min;
      to = spec.max;
    } else {
      const [a, b, more] = range.split("-");
      if (more !== undefined || a === undefined || a === "" || b === "") return `'${item}' is not a valid ${spec.name}`;
      const start = value(a, spec);
      if (typeof start === "string") return start;
      from = start;
      if (b !== undefined) {
        const end = value(b, spec);
        if (typeof end === "string") return end;
        to = end;
        if (to < from) return `the ${spec.name} range '${range}' runs backwards`;
      } else {
        // `5/15` means 5 to the end by 15, as in Vixie cron.
        to = stepText !== undefined ? spec.max : from;
      }
    }
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return [...out].sort((x, y) => x - y);
}

function isName(word: string): boolean {
  const w = word.toLowerCase();
  return (MONTHS as readonly string[]).includes(w) || (DAYS as readonly string[]).includes(w);
}

export function parseCron(input: unknown): Parsed<CronSchedule> {
  if (typeof input !== "string") return { ok: false, message: "expected a cron schedule as a string", fix: FIX };
  const text = input.trim();
  if (text.startsWith("@")) {
    const expanded = MACROS[text.toLowerCase()];
    if (!expanded) return { ok: false, message: `unknown cron macro '${text}'`, fix: `use ${Object.keys(MACROS).join(", ")} or five fields` };
    const r = parseCron(expanded);
    return r.ok ? { ok: true, value: { ...r.value, text } } : r;
  }
  const parts = text.split(/\s+/).filter((p) => p !== "");
  if (parts.length !== 5) {
    const hint = parts.length === 6 ? " (seconds and years are not supported)" : "";
    return { ok: false, message: `the cron schedule '${text}' has ${parts.length} field${parts.length === 1 ? "" : "s"}, expected 5${hint}`, fix: FIX };
  }
  const sets: number[][] = [];
  for (let i = 0; i < 5; i++) {
    const part = parts[i] as string;
    if (/[?#LW]/i.test(part.replace(/[a-z]{3}/gi, (w) => (isName(w) ? "" : w)))) {
      return { ok: false, message: `'${part}' uses Quartz syntax (?, L, W, #), which five-field cron does not have`, fix: FIX };
    }
    const r = field(part, FIELDS[i] as FieldSpec);
    if (typeof r === "string") return { ok: false, message: `in the cron schedule '${text}': ${r}`, fix: FIX };
    sets.push(r);
  }
  const [minutes, hours, daysOfMonth, months, dow] = sets as [number[], number[], number[], number[], number[]];
  const daysOfWeek = [...new Set(dow.map((d) => d % 7))].sort((a, b) => a - b);
  const dayOfMonthRestricted = parts[2] !== "*" && !parts[2]!.startsWith("*/");
  const dayOfWeekRestricted = parts[4] !== "*" && !parts[4]!.startsWith("*/");
  if (dayOfMonthRestricted && !dayOfWeekRestricted) {
    const longest = Math.max(...months.map((m) => DAYS_IN_MONTH[m - 1] ?? 31));
    if (Math.min(...daysOfMonth) > longest) {
      return { ok: false, message: `the cron schedule '${text}' never matches: no chosen month has day ${Math.min(...daysOfMonth)}`, fix: "choose days that exist in the chosen months" };
    }
  }
  return { ok: true, value: { text, minutes, hours, daysOfMonth, months, daysOfWeek, dayOfMonthRestricted, dayOfWeekRestricted } };
}

/** Wall-clock time in the schedule's time zone. `weekday`: 0 = Sunday. */
export interface WallClock {
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
}

export function cronMatches(c: CronSchedule, t: WallClock): boolean {
  if (!c.minutes.includes(t.minute) || !c.hours.includes(t.hour) || !c.months.includes(t.month)) return false;
  const dom = c.daysOfMonth.includes(t.day);
  const dow = c.daysOfWeek.includes(t.weekday);
  if (c.dayOfMonthRestricted && c.dayOfWeekRestricted) return dom || dow;
  return dom && dow;
}
