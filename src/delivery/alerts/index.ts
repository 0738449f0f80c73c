// Alerts: PagerDuty Events API v2 (trigger on a rollback, resolve on the next
// success, one dedup_key per environment and service), Slack incoming
// webhooks and a generic JSON webhook, retried on 429 and 5xx.
export { sendAlert, parseRetryAfter, DEFAULT_RETRY, DEFAULT_ALERT_TIMEOUT_MS, type AlertResult, type RetryOptions, type SendAlertDeps } from "./send-alert.js";
export { pagerdutyEvent, slackMessage, webhookBody, dedupKey, truncate, PAGERDUTY_SUMMARY_MAX, type Alert, type PagerDutyOptions, type PagerDutySeverity } from "./payloads.js";
