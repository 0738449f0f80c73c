// The http provider of custom metrics: GET a JSON endpoint and read one
// number at a field path such as `data.errors.rate` or `results[0].value`.
import type { ValueSource } from "../model.js";
import { displayUrl, fetchJson } from "./fetch-json.js";
import { expandPlaceholders, type QueryValue } from "./prometheus.js";
import { ProviderError, type MeasureTarget } from "./types.js";

export interface HttpMetricSource {
  url: string;
  field: string;
  headers: Record<string, ValueSource>;
}

export interface HttpMetricOptions {
  resolve: (v: ValueSource) => string | Promise<string>;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** `data.items[0].value` → ["data", "items", 0, "value"]; a leading `$.` is allowed. */
export function parseFieldPath(path: string): (string | number)[] {
  const text = path.trim().replace(/^\$\.?/, "");
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else if (/^\d+$/.test(m[1] as string)) out.push(Number(m[1]));
    else out.push(m[1] as string);
  }
  return out;
}

function describeValue(v: unknown): string {
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v);
    return keys.length === 0 ? "an empty object" : `an object with ${keys.slice(0, 8).join(", ")}${keys.length > 8 ? ", …" : ""}`;
  }
  return JSON.stringify(v);
}

/** Reads the number at `path` in `json`; null (no value) when the field is null. Throws ProviderError when the field is missing or not a number. */
export function readField(json: unknown, path: string): QueryValue {
  const steps = parseFieldPath(path);
  if (steps.length === 0) throw new ProviderError(`the field path '${path}' names no field`);
  let here: unknown = json;
  let walked = "";
  for (const step of steps) {
    const name = typeof step === "number" ? `[${step}]` : walked ? `.${step}` : step;
    if (typeof step === "number" ? !Array.isArray(here) || step >= here.length : here === null || typeof here !== "object" || Array.isArray(here) || !(step in here)) {
      const at = walked ? `under '${walked}' ` : "";
      throw new ProviderError(`the answer has no field '${path}': nothing ${at}at '${String(step)}' (${walked || "the answer"} is ${describeValue(here)})`);
    }
    here = (here as Record<string | number, unknown>)[step];
    walked += name;
  }
  if (here === null) return { value: null, empty: `'${path}' is null` };
  if (typeof here === "number") return { value: here };
  if (typeof here === "string" && here.trim() !== "" && !Number.isNaN(Number(here))) return { value: Number(here) };
  if (typeof here === "string" && /^\s*NaN\s*$/.test(here)) return { value: null, empty: `'${path}' is NaN` };
  throw new ProviderError(`'${path}' in the answer is ${describeValue(here)}, not a number`);
}

/** Fetches the endpoint (placeholders expanded, headers resolved) and reads the field. */
export async function fetchHttpMetric(source: HttpMetricSource, target: MeasureTarget, options: HttpMetricOptions): Promise<QueryValue> {
  const url = expandPlaceholders(source.url, target, encodeURIComponent);
  const what = `${displayUrl(url)}`;
  const headers: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [name, ref] of Object.entries(source.headers)) {
    let value: string;
    try {
      value = await options.resolve(ref);
    } catch (err) {
      throw new ProviderError(`header ${name}: ${(err as Error).message}`);
    }
    headers[name] = value;
    if (ref.from !== "literal") secrets.push(value);
  }
  const res = await fetchJson({ url, headers, secrets, what, ...(options.fetch ? { fetch: options.fetch } : {}), ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
  if (res.status < 200 || res.status > 299) {
    throw new ProviderError(`${what} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}: ${res.snippet}`);
  }
  if (res.json === undefined) throw new ProviderError(`${what} answered something that is not JSON: ${res.snippet}`);
  try {
    return readField(res.json, source.field);
  } catch (err) {
    if (err instanceof ProviderError) throw new ProviderError(`${what}: ${err.message}`);
    throw err;
  }
}
