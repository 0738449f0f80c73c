// IANA time zones, checked with Intl (the ICU data Node ships), no dependency.
import type { Parsed } from "./duration.js";
import { suggest } from "./suggest.js";

let zones: string[] | undefined;

function knownZones(): string[] {
  return (zones ??= ["UTC", ...Intl.supportedValuesOf("timeZone")]);
}

/** The canonical name of a time zone (`europe/berlin` → `Europe/Berlin`), or why it is not one. */
export function parseTimeZone(input: unknown): Parsed<string> {
  const fix = "write an IANA time zone name such as UTC, Europe/Berlin or America/New_York";
  if (typeof input !== "string" || input.trim() === "") return { ok: false, message: "expected a time zone name", fix };
  try {
    return { ok: true, value: new Intl.DateTimeFormat("en-US", { timeZone: input }).resolvedOptions().timeZone };
  } catch {
    const close = suggest(input, knownZones());
    if (/^[+-]\d/.test(input) || /^(utc|gmt)[+-]/i.test(input)) {
      return { ok: false, message: `'${input}' is an offset, not a time zone`, fix: "name a zone (Europe/Berlin), so daylight saving time is followed; for a fixed offset write Etc/GMT-1 (for UTC+1)" };
    }
    return { ok: false, message: `unknown time zone '${input}'`, fix: close ? `did you mean ${close}?` : fix };
  }
}
