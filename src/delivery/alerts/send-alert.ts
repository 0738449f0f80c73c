// Sends one alert to one channel (PagerDuty, Slack, generic webhook): reads
// the channel's secrets, POSTs the JSON, and retries on 429 (honouring
// Retry-After), 5xx and network errors with exponential backoff; any other
// answer is final and reported with its body. Secrets (routing key, webhook
// URL, header values) are masked out of every message.
import { hostname } from "node:os";
import { Masker } from "../../secrets/index.js";
import type { AlertChannel, ValueSource } from "../model.js";
import { pagerdutyEvent, slackMessage, webhookBody, type Alert } from "./payloads.js";

export interface RetryOptions {
  /** Tries in all, the first included. */
  attempts: number;
  /** The wait after the first failure; doubled after each (with jitter: between half and all of it). */
  baseDelayMs: number;
  /** The longest wait; a Retry-After longer than this gives up instead. */
  maxDelayMs: number;
}

/** 5 tries over about 15 s at worst before a Retry-After. */
export const DEFAULT_RETRY: RetryOptions = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 30_000 };
export const DEFAULT_ALERT_TIMEOUT_MS = 10_000;

export interface SendAlertDeps {
  /** Reads `env:` and `secret:` values; may throw (the alert then fails with its message, which names the value, never shows it). */
  resolve: (v: ValueSource) => string | Promise<string>;
  fetch?: typeof fetch;
  retry?: Partial<RetryOptions>;
  /** Per attempt; default 10 s. */
  timeoutMs?: number;
  now?: () => Date;
  /** PagerDuty's payload.source; default this host's name. */
  source?: string;
}

export interface AlertResult {
  ok: boolean;
  /** HTTP requests made (0 when a secret could not be read). */
  attempts: number;
  /** The last HTTP status, when there was an answer. */
  status?: number;
  /** Why it failed, in words, without secrets. */
  error?: string;
}

interface Prepared {
  url: string;
  headers: Record<string, string>;
  body: unknown;
  /** Who receives it, for messages: "PagerDuty (events.pagerduty.com)", "Slack", "the webhook". */
  receiver: string;
}

async function read(resolve: SendAlertDeps["resolve"], v: ValueSource, masker: Masker): Promise<string> {
  const value = await resolve(v);
  if (v.from !== "literal") masker.add(value);
  return value;
}

/** A URL value; its full text and path are masked (a Slack webhook URL's path is its secret). */
async function readUrl(resolve: SendAlertDeps["resolve"], v: ValueSource, masker: Masker, what: string, secret: boolean): Promise<string> {
  const value = await resolve(v);
  if (secret || v.from !== "literal") {
    masker.add(value);
    try {
      const u = new URL(value);
      if (u.pathname.length > 8) masker.add(u.pathname);
    } catch {
      // reported below
    }
  }
  try {
    new URL(value);
  } catch {
    const ref = v.from === "literal" ? "" : ` (${v.from}:${v.name})`;
    throw new Error(`${what}${ref} is not a URL`);
  }
  return value;
}

async function prepare(channel: AlertChannel, alert: Alert, deps: SendAlertDeps, masker: Masker, now: Date): Promise<Prepared> {
  const json = { "content-type": "application/json", "user-agent": "slipway" };
  switch (channel.type) {
    case "pagerduty": {
      const routingKey = await read(deps.resolve, channel.routingKey, masker);
      masker.add(routingKey); // secret even when written literally
      let host = "PagerDuty";
      try {
        host = `PagerDuty (${new URL(channel.url).host})`;
      } catch {
        throw new Error(`the PagerDuty URL '${channel.url}' is not a URL`);
      }
      const body = pagerdutyEvent(alert, { routingKey, severity: channel.severity, source: deps.source ?? hostname(), now });
      return { url: channel.url, headers: json, body, receiver: host };
    }
    case "slack": {
      const url = await readUrl(deps.resolve, channel.webhookUrl, masker, "the Slack webhook URL", true);
      return { url, headers: json, body: slackMessage(alert, channel.channel), receiver: "Slack" };
    }
    case "webhook": {
      const url = await readUrl(deps.resolve, channel.url, masker, "the webhook URL", false);
      const headers: Record<string, string> = { ...json };
      for (const [name, ref] of Object.entries(channel.headers)) headers[name.toLowerCase()] = await read(deps.resolve, ref, masker);
      return { url, headers, body: webhookBody(alert, now), receiver: "the webhook" };
    }
  }
}

/** Seconds or an HTTP date, as milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function backoff(attempt: number, r: RetryOptions): number {
  const full = Math.min(r.maxDelayMs, r.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(full / 2 + (Math.random() * full) / 2);
}

function bodySnippet(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  if (line === "") return "(an empty body)";
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}

function networkCause(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { message?: string; code?: string } };
  if (e?.name === "TimeoutError") return `no answer within ${Math.round(timeoutMs / 100) / 10}s`;
  return e?.cause?.message ?? e?.cause?.code ?? e?.message ?? String(err);
}

/** Sends the alert; never throws. */
export async function sendAlert(channel: AlertChannel, alert: Alert, deps: SendAlertDeps): Promise<AlertResult> {
  const masker = new Masker();
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...deps.retry };
  const attempts = Math.max(1, Math.floor(retry.attempts));
  const timeoutMs = deps.timeoutMs ?? DEFAULT_ALERT_TIMEOUT_MS;
  const doFetch = deps.fetch ?? fetch;
  const now = (deps.now ?? (() => new Date()))();
  let req: Prepared;
  try {
    req = await prepare(channel, alert, deps, masker, now);
  } catch (err) {
    return { ok: false, attempts: 0, error: masker.mask((err as Error).message ?? String(err)) };
  }
  const payload = JSON.stringify(req.body);
  let last: { status?: number; error: string } = { error: "not sent" };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let wait: number | undefined;
    try {
      const res = await doFetch(req.url, { method: "POST", headers: req.headers, body: payload, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text().catch(() => "");
      if (res.status >= 200 && res.status < 300) return { ok: true, attempts: attempt, status: res.status };
      const answered = `${req.receiver} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}: ${bodySnippet(text)}`;
      if (res.status >= 300 && res.status < 400) {
        const where = res.headers.get("location");
        return { ok: false, attempts: attempt, status: res.status, error: masker.mask(`${req.receiver} redirected${where ? ` to ${where}` : ""}; alerts are not sent through redirects: give the final URL`) };
      }
      if (res.status !== 429 && res.status < 500) return { ok: false, attempts: attempt, status: res.status, error: masker.mask(answered) };
      last = { status: res.status, error: answered };
      if (res.status === 429) {
        const after = parseRetryAfter(res.headers.get("retry-after"), Date.now());
        if (after !== undefined && after > retry.maxDelayMs && attempt < attempts) {
          return { ok: false, attempts: attempt, status: res.status, error: masker.mask(`${answered}; it asked to retry after ${Math.ceil(after / 1000)}s, longer than the ${Math.ceil(retry.maxDelayMs / 1000)}s Slipway waits`) };
        }
        wait = after;
      }
    } catch (err) {
      last = { error: `${req.receiver} did not answer: ${networkCause(err, timeoutMs)}` };
    }
    if (attempt < attempts) await new Promise((r) => setTimeout(r, wait ?? backoff(attempt, retry)));
  }
  return { ok: false, attempts, ...(last.status !== undefined ? { status: last.status } : {}), error: masker.mask(last.error) };
}
