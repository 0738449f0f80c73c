// The body of each alert format, as the receivers' documentation defines it.
import { describe, expect, it } from "vitest";
import { dedupKey, pagerdutyEvent, slackMessage, truncate, webhookBody, type Alert } from "./payloads.js";

const now = new Date("2026-11-26T10:00:00Z");
const rollback: Alert = {
  action: "trigger",
  env: "prod",
  service: "web",
  release: "web-13",
  summary: "web-13 rolled back in prod: error rate 20.0% ≥ 1% over 1m (12 of 60 requests failed)",
  reason: "error rate 20.0% ≥ 1% over 1m (12 of 60 requests failed)",
  details: { step: 2, weight: 25 },
  url: "https://slipway.example.com/env/prod/web",
};

describe("PagerDuty Events API v2", () => {
  it("triggers with the documented fields and one dedup_key per environment and service", () => {
    expect(pagerdutyEvent(rollback, { routingKey: "R0UT1NGKEY", severity: "error", source: "deploy-1.example.com", now })).toEqual({
      routing_key: "R0UT1NGKEY",
      event_action: "trigger",
      dedup_key: "slipway/prod/web",
      payload: {
        summary: rollback.summary,
        source: "deploy-1.example.com",
        severity: "error",
        timestamp: "2026-11-26T10:00:00.000Z",
        component: "web",
        group: "prod",
        class: "deployment",
        custom_details: { environment: "prod", service: "web", release: "web-13", reason: rollback.reason, step: 2, weight: 25 },
      },
      client: "Slipway",
      client_url: "https://slipway.example.com/env/prod/web",
      links: [{ href: "https://slipway.example.com/env/prod/web", text: "web in prod on Slipway" }],
    });
  });

  it("resolves with routing_key, event_action and dedup_key only", () => {
    const resolve = pagerdutyEvent({ ...rollback, action: "resolve", release: "web-14" }, { routingKey: "K", severity: "error", source: "h", now });
    expect(resolve).toEqual({ routing_key: "K", event_action: "resolve", dedup_key: "slipway/prod/web" });
    expect(dedupKey("prod", "web")).toBe("slipway/prod/web");
  });

  it("cuts the summary to 1024 characters", () => {
    const long = pagerdutyEvent({ ...rollback, summary: "é".repeat(3000) }, { routingKey: "K", severity: "critical", source: "h", now }) as { payload: { summary: string } };
    expect(Array.from(long.payload.summary)).toHaveLength(1024);
    expect(long.payload.summary.endsWith("…")).toBe(true);
    expect(truncate("😀😀😀", 2)).toBe("😀…");
  });
});

describe("Slack incoming webhook", () => {
  it("sends text as the fallback and blocks as the message, escaping mrkdwn", () => {
    const msg = slackMessage({ ...rollback, summary: "web-13 rolled back: p99 <500ms & more" }, "#deploys");
    expect(msg.text).toBe(":rotating_light: web-13 rolled back: p99 <500ms & more");
    expect(msg.channel).toBe("#deploys");
    expect(msg.blocks).toEqual([
      { type: "header", text: { type: "plain_text", text: "Slipway alert: web in prod", emoji: true } },
      { type: "section", text: { type: "mrkdwn", text: ":rotating_light: *web-13 rolled back: p99 &lt;500ms &amp; more*" } },
      {
        type: "section",
        fields: [
          { type: "mrkdwn", text: "*Environment*\nprod" },
          { type: "mrkdwn", text: "*Service*\nweb" },
          { type: "mrkdwn", text: "*Release*\nweb-13" },
        ],
      },
      { type: "section", text: { type: "mrkdwn", text: "*Reason*\nerror rate 20.0% ≥ 1% over 1m (12 of 60 requests failed)" } },
      { type: "context", elements: [{ type: "mrkdwn", text: "<https://slipway.example.com/env/prod/web|Open in Slipway>" }] },
    ]);
  });

  it("says resolved, and leaves out a reason equal to the summary", () => {
    const msg = slackMessage({ action: "resolve", env: "prod", service: "web", release: "web-14", summary: "web-14 deployed to prod", reason: "web-14 deployed to prod" });
    expect(msg.text).toBe(":white_check_mark: Resolved: web-14 deployed to prod");
    expect((msg.blocks as unknown[]).length).toBe(3);
    expect(msg).not.toHaveProperty("channel");
  });
});

describe("generic webhook", () => {
  it("carries every field of the alert", () => {
    expect(webhookBody(rollback, now)).toEqual({
      source: "slipway",
      action: "trigger",
      dedup_key: "slipway/prod/web",
      env: "prod",
      service: "web",
      release: "web-13",
      summary: rollback.summary,
      reason: rollback.reason,
      details: { step: 2, weight: 25 },
      url: "https://slipway.example.com/env/prod/web",
      sent_at: "2026-11-26T10:00:00.000Z",
    });
  });
});
