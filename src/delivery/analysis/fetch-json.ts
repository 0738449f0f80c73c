// One HTTP request of a metric provider (Prometheus, a JSON endpoint), with a
// timeout, credentials in the URL sent as basic auth, and every failure turned
// into a ProviderError in words that never carry a secret.
import { Masker } from "../../secrets/index.js";
import { formatWindow } from "./format.js";
import { ProviderError } from "./types.js";

export const DEFAULT_TIMEOUT_MS = 10_000;

export interface JsonRequest {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  /** A form-encoded body (POST). */
  form?: URLSearchParams;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Values to keep out of every message (resolved header values). */
  secrets?: string[];
  /** Who is asked, for messages: "Prometheus at http://localhost:9090". */
  what: string;
}

export interface JsonResponse {
  status: number;
  statusText: string;
  /** The body, parsed; undefined when it is not JSON. */
  json: unknown;
  /** The start of the body as text, masked, for messages. */
  snippet: string;
}

/** The URL without credentials or query, for messages: `http://host:9090/api/v1/query`. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}${u.search ? "?…" : ""}`;
  } catch {
    return "(an invalid URL)";
  }
}

/** Sends the request and reads a JSON answer; throws ProviderError when there is no answer. Non-2xx answers are returned. */
export async function fetchJson(req: JsonRequest): Promise<JsonResponse> {
  const masker = new Masker();
  for (const s of req.secrets ?? []) masker.add(s);
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    throw new ProviderError(`${req.what}: '${displayUrl(req.url)}' is not a valid URL`);
  }
  const headers: Record<string, string> = { accept: "application/json", "user-agent": "slipway", ...req.headers };
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    masker.add(password);
    masker.add(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    url.username = "";
    url.password = "";
  }
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const doFetch = req.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      method: req.method ?? "GET",
      headers: req.form ? { ...headers, "content-type": "application/x-www-form-urlencoded" } : headers,
      ...(req.form ? { body: req.form.toString() } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new ProviderError(masker.mask(`${req.what} did not answer: ${networkCause(err, timeoutMs)}`));
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw new ProviderError(masker.mask(`${req.what} stopped answering: ${networkCause(err, timeoutMs)}`));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, statusText: res.statusText, json, snippet: masker.mask(snippet(text)) };
}

/** The first 200 characters of a body on one line. */
function snippet(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  if (line === "") return "(an empty body)";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Why a request got no answer, in words: `connect ECONNREFUSED 127.0.0.1:9090`, `no answer within 10s`. */
export function networkCause(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { message?: string; code?: string } };
  if (e?.name === "TimeoutError") return `no answer within ${formatWindow(timeoutMs)}`;
  if (e?.name === "AbortError") return "the request was aborted";
  const cause = e?.cause?.message ?? e?.cause?.code;
  return cause ?? e?.message ?? String(err);
}
