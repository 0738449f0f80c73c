// Sending alerts to real local HTTP receivers: what arrives, the dedup_key,
// retries on 429 and 503, no retry on 400, giving up, and no secret in errors.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AlertChannel, ValueSource } from "../model.js";
import { sendAlert } from "./send-alert.js";
import type { Alert } from "./payloads.js";

interface Received {
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** What the receiver answers next for a path; the last answer repeats. */
type Answer = { status: number; body?: string; headers?: Record<string, string> };

const ROUTING_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const SLACK_PATH = "/services/T0001/B0002/XyZsecretTokenPart";
const HOOK_TOKEN = "hook-token-123456";

let server: Server;
let base: string;
let received: Received[] = [];
let script: Record<string, Answer[]> = {};

beforeAll(async () => {
  server = createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString()));
    req.on("end", () => {
      const path = req.url ?? "/";
      let body: unknown = data;
      try {
        body = JSON.parse(data);
      } catch {
        // kept as text
      }
      received.push({ path, method: req.method ?? "", headers: req.headers, body });
      const answers = script[path] ?? [{ status: 200, body: "ok" }];
      const answer = (answers.length > 1 ? answers.shift() : answers[0]) as Answer;
      const text = (answer.body ?? "").replace("$BODY", data);
      res.writeHead(answer.status, { "content-type": "text/plain", ...answer.headers }).end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  received = [];
  script = {};
});

const SECRETS: Record<string, string> = { PD_KEY: ROUTING_KEY, HOOK_TOKEN };
const resolve = (v: ValueSource): string => {
  if (v.from === "literal") return v.value;
  if (v.from === "secret" && v.name === "SLACK_URL") return `${base}${SLACK_PATH}`;
  const s = v.from === "secret" ? SECRETS[v.name] : undefined;
  if (s === undefined) throw new Error(`${v.from}:${v.name} is not in the secret store: set it with \`slipway secrets set ${v.name}\``);
  return s;
};
const fast = { attempts: 3, baseDelayMs: 10, maxDelayMs: 2000 };
const position = { line: 1, column: 1 };
const pagerduty = (path = "/v2/enqueue"): AlertChannel => ({ name: "pagerduty", position, type: "pagerduty", routingKey: { from: "secret", name: "PD_KEY" }, severity: "critical", url: `${base}${path}` });
const slack: AlertChannel = { name: "slack", position, type: "slack", webhookUrl: { from: "secret", name: "SLACK_URL" }, channel: "#deploys" };
const webhook = (path = "/hook"): AlertChannel => ({ name: "ops", position, type: "webhook", url: { from: "literal", value: `${base}${path}` }, headers: { Authorization: { from: "secret", name: "HOOK_TOKEN" }, "X-Team": { from: "literal", value: "payments" } } });
const rollback: Alert = { action: "trigger", env: "prod", service: "web", release: "web-13", summary: "web-13 rolled back in prod: error rate 20.0% ≥ 1%", reason: "error rate 20.0% ≥ 1%" };

describe("sendAlert", () => {
  it("triggers and resolves a PagerDuty alert with one dedup_key per environment and service", async () => {
    script["/v2/enqueue"] = [{ status: 202, body: '{"status":"success","message":"Event processed","dedup_key":"slipway/prod/web"}' }];
    const trigger = await sendAlert(pagerduty(), rollback, { resolve, retry: fast, source: "deploy-1" });
    expect(trigger).toEqual({ ok: true, attempts: 1, status: 202 });
    const resolved = await sendAlert(pagerduty(), { ...rollback, action: "resolve", release: "web-14", summary: "web-14 deployed" }, { resolve, retry: fast });
    expect(resolved.ok).toBe(true);
    expect(received).toHaveLength(2);
    const [t, r] = received as [Received, Received];
    expect(t.method).toBe("POST");
    expect(t.headers["content-type"]).toBe("application/json");
    expect(t.body).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: "trigger",
      dedup_key: "slipway/prod/web",
      payload: { summary: rollback.summary, source: "deploy-1", severity: "critical", component: "web", group: "prod", custom_details: { release: "web-13", reason: rollback.reason } },
    });
    expect(r.body).toEqual({ routing_key: ROUTING_KEY, event_action: "resolve", dedup_key: "slipway/prod/web" });
  });

  it("posts a Slack message to the incoming-webhook URL read from the secret", async () => {
    const res = await sendAlert(slack, rollback, { resolve, retry: fast });
    expect(res).toEqual({ ok: true, attempts: 1, status: 200 });
    expect(received[0]?.path).toBe(SLACK_PATH);
    expect(received[0]?.body).toMatchObject({ text: `:rotating_light: ${rollback.summary}`, channel: "#deploys" });
    expect((received[0]?.body as { blocks: unknown[] }).blocks.length).toBeGreaterThanOrEqual(3);
  });

  it("posts the generic JSON with the channel's headers", async () => {
    const res = await sendAlert(webhook(), { ...rollback, details: { step: 2 } }, { resolve, retry: fast });
    expect(res.ok).toBe(true);
    const got = received[0] as Received;
    expect(got.headers.authorization).toBe(HOOK_TOKEN);
    expect(got.headers["x-team"]).toBe("payments");
    expect(got.body).toMatchObject({ source: "slipway", action: "trigger", dedup_key: "slipway/prod/web", env: "prod", service: "web", release: "web-13", details: { step: 2 } });
  });

  it("retries on 429, waiting as Retry-After says, then succeeds", async () => {
    script["/v2/enqueue"] = [{ status: 429, body: "Too Many Requests", headers: { "retry-after": "1" } }, { status: 202, body: "{}" }];
    const started = Date.now();
    const res = await sendAlert(pagerduty(), rollback, { resolve, retry: fast });
    expect(res).toEqual({ ok: true, attempts: 2, status: 202 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(received).toHaveLength(2);
  });

  it("retries on 503 with backoff, then succeeds", async () => {
    script["/hook"] = [{ status: 503 }, { status: 503 }, { status: 200 }];
    const res = await sendAlert(webhook(), rollback, { resolve, retry: fast });
    expect(res).toEqual({ ok: true, attempts: 3, status: 200 });
  });

  it("does not retry a 400, and reports the body without the routing key", async () => {
    script["/v2/enqueue"] = [{ status: 400, body: '{"status":"invalid event","message":"Event object is invalid","errors":["bad routing_key in $BODY"]}' }];
    const res = await sendAlert(pagerduty(), rollback, { resolve, retry: fast });
    expect(res.ok).toBe(false);
    expect(res.attempts).toBe(1);
    expect(res.status).toBe(400);
    expect(res.error).toMatch(/^PagerDuty \(127\.0\.0\.1:\d+\) answered HTTP 400 Bad Request: \{"status":"invalid event","message":"Event object is invalid"/);
    expect(res.error).toContain('"routing_key":"***"');
    expect(res.error).not.toContain(ROUTING_KEY);
    expect(received).toHaveLength(1);
  });

  it("gives up after the attempts, with the last answer", async () => {
    script[SLACK_PATH] = [{ status: 500, body: `rollup_error at ${SLACK_PATH}` }];
    const res = await sendAlert(slack, rollback, { resolve, retry: fast });
    expect(res).toEqual({ ok: false, attempts: 3, status: 500, error: "Slack answered HTTP 500 Internal Server Error: rollup_error at ***" });
    expect(received).toHaveLength(3);
  });

  it("retries when the receiver is unreachable, and never shows the Slack URL", async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const { port } = s.address() as AddressInfo;
    await new Promise((r) => s.close(r));
    const url = `http://127.0.0.1:${port}${SLACK_PATH}`;
    const res = await sendAlert(slack, rollback, { resolve: (v) => (v.from === "secret" ? url : ""), retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 100 } });
    expect(res).toEqual({ ok: false, attempts: 2, error: `Slack did not answer: connect ECONNREFUSED 127.0.0.1:${port}` });
  });

  it("gives up at once when Retry-After is longer than it waits", async () => {
    script["/v2/enqueue"] = [{ status: 429, body: "slow down", headers: { "retry-after": "120" } }];
    const res = await sendAlert(pagerduty(), rollback, { resolve, retry: fast });
    expect(res).toEqual({ ok: false, attempts: 1, status: 429, error: expect.stringMatching(/answered HTTP 429 Too Many Requests: slow down; it asked to retry after 120s, longer than the 2s Slipway waits$/) });
  });

  it("does not follow redirects", async () => {
    script["/hook"] = [{ status: 302, headers: { location: "https://elsewhere.example.com/hook" } }];
    const res = await sendAlert(webhook(), rollback, { resolve, retry: fast });
    expect(res).toEqual({ ok: false, attempts: 1, status: 302, error: "the webhook redirected to https://elsewhere.example.com/hook; alerts are not sent through redirects: give the final URL" });
  });

  it("fails without sending when a secret cannot be read, naming it", async () => {
    const res = await sendAlert({ ...slack, webhookUrl: { from: "secret", name: "NOPE" } }, rollback, { resolve, retry: fast });
    expect(res).toEqual({ ok: false, attempts: 0, error: "secret:NOPE is not in the secret store: set it with `slipway secrets set NOPE`" });
    expect(received).toHaveLength(0);
    const bad = await sendAlert({ ...slack, webhookUrl: { from: "env", name: "X" } }, rollback, { resolve: () => "not a url", retry: fast });
    expect(bad).toEqual({ ok: false, attempts: 0, error: "the Slack webhook URL (env:X) is not a URL" });
  });
});
