// The body of each alert format, built by pure functions: PagerDuty Events
// API v2 (trigger on a rollback, resolve on the next success, one dedup_key
// per environment and service), Slack incoming webhook (`text` and Block
// Kit `blocks`), and Slipway's generic JSON webhook.

/** What happened, to whom: an alert about one service in one environment. */
export interface Alert {
  /** trigger: something needs a person (rollback, pause); resolve: the next release went out fine. */
  action: "trigger" | "resolve";
  env: string;
  service: string;
  release: string;
  /** One line: "web-13 rolled back in prod: error rate 20.0% ≥ 1% …". */
  summary: string;
  /** Why, in words (often the same as the summary). */
  reason: string;
  details?: Record<string, unknown>;
  /** Where to look: the rollout in Slipway's UI, a dashboard. */
  url?: string;
}

export type PagerDutySeverity = "critical" | "error" | "warning" | "info";

/** PagerDuty's limit on `payload.summary`. */
export const PAGERDUTY_SUMMARY_MAX = 1024;

/** One open PagerDuty alert per environment and service: a later trigger updates it, the next success resolves it. */
export function dedupKey(env: string, service: string): string {
  return `slipway/${env}/${service}`;
}

/** Cuts text to `max` characters (code points), ending with `…` when cut. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, max - 1).join("")}…`;
}

export interface PagerDutyOptions {
  routingKey: string;
  severity: PagerDutySeverity;
  /** payload.source: the affected system, "preferably a hostname". */
  source: string;
  now: Date;
}

/**
 * An Events API v2 event. A trigger carries the payload (summary ≤ 1024
 * characters, source, severity, component = service, group = environment,
 * class, custom_details) and links; a resolve needs only routing_key,
 * event_action and dedup_key.
 */
export function pagerdutyEvent(alert: Alert, o: PagerDutyOptions): Record<string, unknown> {
  const key = dedupKey(alert.env, alert.service);
  if (alert.action === "resolve") return { routing_key: o.routingKey, event_action: "resolve", dedup_key: key };
  return {
    routing_key: o.routingKey,
    event_action: "trigger",
    dedup_key: key,
    payload: {
      summary: truncate(alert.summary, PAGERDUTY_SUMMARY_MAX),
      source: o.source,
      severity: o.severity,
      timestamp: o.now.toISOString(),
      component: alert.service,
      group: alert.env,
      class: "deployment",
      custom_details: { environment: alert.env, service: alert.service, release: alert.release, reason: alert.reason, ...alert.details },
    },
    client: "Slipway",
    ...(alert.url ? { client_url: alert.url, links: [{ href: alert.url, text: `${alert.service} in ${alert.env} on Slipway` }] } : {}),
  };
}

/** Slack's mrkdwn needs &, < and > escaped. */
function mrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * An incoming-webhook message: `text` is the notification fallback,
 * `blocks` the message (header, summary, fields, reason, link). Slack's
 * limits: header 150 characters, section text 3000, field 2000.
 */
export function slackMessage(alert: Alert, channel?: string): Record<string, unknown> {
  const trigger = alert.action === "trigger";
  const title = trigger ? `Slipway alert: ${alert.service} in ${alert.env}` : `Resolved: ${alert.service} in ${alert.env}`;
  const icon = trigger ? ":rotating_light:" : ":white_check_mark:";
  const blocks: Record<string, unknown>[] = [
    { type: "header", text: { type: "plain_text", text: truncate(title, 150), emoji: true } },
    { type: "section", text: { type: "mrkdwn", text: truncate(`${icon} *${mrkdwn(alert.summary)}*`, 3000) } },
    {
      type: "section",
      fields: [
        { type: "mrkdwn", text: `*Environment*\n${mrkdwn(alert.env)}` },
        { type: "mrkdwn", text: `*Service*\n${mrkdwn(alert.service)}` },
        { type: "mrkdwn", text: truncate(`*Release*\n${mrkdwn(alert.release)}`, 2000) },
      ],
    },
  ];
  if (alert.reason.trim() !== "" && alert.reason !== alert.summary) {
    blocks.push({ type: "section", text: { type: "mrkdwn", text: truncate(`*Reason*\n${mrkdwn(alert.reason)}`, 3000) } });
  }
  if (alert.url) blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `<${alert.url}|Open in Slipway>` }] });
  return {
    text: truncate(`${icon} ${trigger ? "" : "Resolved: "}${alert.summary}`, 3000),
    blocks,
    ...(channel ? { channel } : {}),
  };
}

/** Slipway's own JSON for any receiver. */
export function webhookBody(alert: Alert, now: Date): Record<string, unknown> {
  return {
    source: "slipway",
    action: alert.action,
    dedup_key: dedupKey(alert.env, alert.service),
    env: alert.env,
    service: alert.service,
    release: alert.release,
    summary: alert.summary,
    reason: alert.reason,
    details: alert.details ?? {},
    ...(alert.url ? { url: alert.url } : {}),
    sent_at: now.toISOString(),
  };
}
