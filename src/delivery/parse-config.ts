// slipway.yml → DeliveryConfig + diagnostics. Pure: text in, model out; the
// files the config names are checked by loadDeliveryConfig.
import { isMap, isScalar, isSeq } from "yaml";
import { parseCron } from "./cron.js";
import { DURATION_FIX, parseDuration } from "./duration.js";
import { orderEnvironments } from "./environment-graph.js";
import type {
  AlertChannel,
  Analysis,
  Approval,
  CanaryStep,
  Check,
  CustomMetric,
  DeliveryConfig,
  DeliveryDiagnostic,
  DeploymentWindow,
  EnvironmentService,
  EnvironmentSpec,
  HealthCheck,
  MetricName,
  MigrationGate,
  PolicyLevel,
  ReleasePolicy,
  ReleaseSource,
  Rollback,
  RunSpec,
  ServiceSpec,
  SmokeRequest,
  Strategy,
  ValueSource,
} from "./model.js";
import { Reader, type Fields, type Slot } from "./reader.js";
import { suggest } from "./suggest.js";
import { parseAmount, parseThreshold, type Threshold, type ThresholdKind } from "./threshold.js";
import { parseTimeZone } from "./time-zone.js";

export interface DeliveryConfigResult {
  /** Present when there is no error. */
  config?: DeliveryConfig;
  diagnostics: DeliveryDiagnostic[];
}

/** Every default, in one place (docs/slipway-yml.md lists where each comes from). */
export const DEFAULTS = {
  health: { path: "/up", interval: 1_000, timeout: 5_000, healthyThreshold: 1, unhealthyThreshold: 3, startTimeout: 30_000 },
  stopTimeout: 30_000,
  instances: 1,
  auto: false,
  selfHeal: true,
  rolling: { maxSurge: { percent: 25 }, maxUnavailable: { percent: 25 } },
  blueGreen: { scaleDownDelay: 30_000, autoPromote: true },
  canary: { steps: [10, 20, 30, 40, 50], interval: 60_000 },
  analysis: { errorRate: "<1%", p99: "<500ms", minRequests: 50, failureLimit: 0, consecutiveErrorLimit: 4 },
  approval: { required: 1, timeout: 30 * 86_400_000, preventSelfReview: false },
  window: { kind: "allow", timezone: "UTC" },
  policy: "off" as PolicyLevel,
  migrations: { apply: true, unsafe: "block" },
  checkTimeout: 600_000,
  load: { duration: 30_000, connections: 16, path: "/", errorRate: "<1%" },
  pagerdutySeverity: "error",
  pagerdutyUrl: "https://events.pagerduty.com/v2/enqueue",
} as const;

/** Service and environment names: DNS labels, so they serve as file names in the state repository and as Kubernetes names later. */
/** Service and environment names: a DNS label, as Kubernetes names (also the file names in the state repository). */
export const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const NAME_FIX = "use lower-case letters, digits and '-' (at most 63, starting and ending with a letter or digit)";
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const METRICS: readonly MetricName[] = ["error_rate", "success_rate", "p50", "p90", "p95", "p99"];
const METRIC_KIND: Record<MetricName, ThresholdKind> = { error_rate: "rate", success_rate: "rate", p50: "latency", p90: "latency", p95: "latency", p99: "latency" };
const POLICY_LEVELS: readonly PolicyLevel[] = ["required", "warn", "off"];
/** The rollout strategies (also the `strategy` of a desired state in the state repository). */
export const STRATEGIES = ["rolling", "blue-green", "canary"] as const;
const METHODS = ["get", "head", "post", "put", "patch", "delete"] as const;
const ALERT_TYPES = ["pagerduty", "slack", "webhook"] as const;

export function parseDeliveryConfig(text: string, file = "slipway.yml"): DeliveryConfigResult {
  const r = new Reader(file, text);
  if (!r.root) return { diagnostics: r.diagnostics };
  if (r.isEmpty(r.root)) {
    r.error(r.root, "empty-file", `${file} is empty`, "describe at least `services:` (see docs/slipway-yml.md)");
    return { diagnostics: r.diagnostics };
  }
  const top = r.map(r.root, ["services", "environments", "alerts"], { required: ["services"], what: "a mapping with services and environments" });
  if (!top) return { diagnostics: r.diagnostics };

  const services = readServices(r, top.get("services"));
  const alerts = readAlerts(r, top.get("alerts"));
  const environments = readEnvironments(r, top.get("environments"), services, alerts);
  const order = orderEnvironments(r, environments.after);
  checkPorts(r, environments.ports);

  // In the order of the file (stable, so a key's problems keep their order).
  r.diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
  if (r.hasErrors) return { diagnostics: r.diagnostics };
  return {
    config: { file, services: services.specs, environments: environments.specs, alerts: alerts.specs, environmentOrder: order },
    diagnostics: r.diagnostics,
  };
}

// ---------------------------------------------------------------- helpers

function optional<T>(fields: Fields, key: string, read: (slot: Slot) => T | undefined, fallback: T): T {
  const slot = fields.get(key);
  if (!slot) return fallback;
  return read(slot) ?? fallback;
}

function duration(r: Reader, slot: Slot, min = 1): number | undefined {
  const ms = r.parse(slot, parseDuration, "bad-duration");
  if (ms === undefined) return undefined;
  if (ms < min) {
    r.error(slot, "bad-duration", min === 1 ? "the duration must be longer than 0" : `the duration must be at least ${min}ms`, DURATION_FIX);
    return undefined;
  }
  return ms;
}

function threshold(r: Reader, slot: Slot, kind: ThresholdKind): Threshold | undefined {
  return r.parse(slot, (v) => parseThreshold(v, kind), "bad-threshold");
}

function defaultThreshold(text: string, kind: ThresholdKind): Threshold {
  const t = parseThreshold(text, kind);
  if (!t.ok) throw new Error(`bad built-in default ${text}`); // a bug in this file, not user input
  return t.value;
}

function name(r: Reader, slot: Slot & { name: string }, what: string): boolean {
  if (NAME.test(slot.name)) return true;
  r.report("error", slot.key ?? slot, "bad-name", `'${slot.name}' is not a valid ${what} name`, NAME_FIX, slot.path);
  return false;
}

/** A relative path inside the repository (or release). */
function relativePath(r: Reader, slot: Slot, what: string): string | undefined {
  const v = r.string(slot, { what });
  if (v === undefined) return undefined;
  if (v.startsWith("/") || /^[A-Za-z]:[\\/]/.test(v)) {
    r.error(slot, "bad-path", `'${v}' is an absolute path`, "write a path relative to the repository root");
    return undefined;
  }
  if (v.split(/[\\/]/).includes("..")) {
    r.error(slot, "bad-path", `'${v}' leaves the repository`, "write a path inside the repository, without '..'");
    return undefined;
  }
  return v.replace(/^\.\//, "").replace(/\/+$/, "") || ".";
}

function valueSource(r: Reader, slot: Slot, what = "a string", allowEmpty = false): ValueSource | undefined {
  const v = r.text(slot, what);
  if (v === undefined) return undefined;
  if (v.trim() === "" && !allowEmpty) {
    r.error(slot, "empty-value", "must not be empty", "write the value, env:NAME or secret:NAME");
    return undefined;
  }
  const m = /^(env|secret):(.*)$/.exec(v);
  if (!m) return { from: "literal", value: v };
  const [, from, ref] = m as unknown as [string, "env" | "secret", string];
  if (!ENV_NAME.test(ref)) {
    r.error(slot, "bad-reference", `'${v}' does not name ${from === "env" ? "an environment variable" : "a secret"}`, `write ${from}:NAME with a name of letters, digits and '_'`);
    return undefined;
  }
  return { from, name: ref };
}

/** A value that should not be written in the repository: warn when it is literal. */
function secretSource(r: Reader, slot: Slot, what: string): ValueSource | undefined {
  const v = valueSource(r, slot);
  if (v?.from === "literal") {
    r.warn(slot, "literal-secret", `${what} is written in the file, where everyone with the repository can read it`, "store it with `slipway secrets set NAME` and write secret:NAME");
  }
  return v;
}

function envMap(r: Reader, slot: Slot | undefined): Record<string, ValueSource> {
  const out: Record<string, ValueSource> = {};
  if (!slot) return out;
  const fields = r.named(slot, "a mapping of variable names to values");
  for (const e of fields?.entries ?? []) {
    if (!ENV_NAME.test(e.name)) {
      r.report("error", e.key ?? e, "bad-name", `'${e.name}' is not a valid environment variable name`, "use letters, digits and '_', not starting with a digit", e.path);
      continue;
    }
    if (e.name === "PORT") {
      r.report("error", e.key ?? e, "reserved-name", "PORT is set by Slipway for each instance", "remove it: read PORT in the service to know where to listen", e.path);
      continue;
    }
    const v = valueSource(r, e, "a string, number or boolean", true);
    if (v) out[e.name] = v;
  }
  return out;
}

function stringList(r: Reader, slot: Slot, what: string): string[] | undefined {
  const items = r.list(slot, { single: true, what: `${what} or a list of them` });
  if (!items) return undefined;
  const out: string[] = [];
  for (const item of items) {
    const v = r.string(item, { what });
    if (v === undefined) continue;
    if (out.includes(v)) r.error(item, "duplicate-value", `'${v}' is listed twice`, "remove one of them");
    else out.push(v);
  }
  return out;
}

// ---------------------------------------------------------------- services

interface Services {
  specs: Record<string, ServiceSpec>;
  /** Every name written, valid or not, so that references to a broken service are not reported twice. */
  names: string[];
}

function readServices(r: Reader, slot: Slot | undefined): Services {
  const specs: Record<string, ServiceSpec> = {};
  const names: string[] = [];
  if (!slot) return { specs, names };
  const fields = r.named(slot, "a mapping of service names to services");
  if (fields && fields.entries.length === 0) r.error(slot, "no-services", "no service is defined", "add a service, e.g. `web: { release: { workflow: ci.yml }, run: { command: node server.js } }`");
  for (const e of fields?.entries ?? []) {
    names.push(e.name);
    if (!name(r, e, "service")) continue;
    const s = readService(r, e);
    if (s) specs[e.name] = s;
  }
  return { specs, names };
}

function readService(r: Reader, slot: Slot & { name: string }): ServiceSpec | undefined {
  const f = r.map(slot, ["release", "run", "env", "migrations"], { required: ["release", "run"], what: "a service mapping" });
  if (!f) return undefined;
  const releaseSlot = f.get("release");
  const runSlot = f.get("run");
  const release = releaseSlot ? readRelease(r, releaseSlot, slot.name) : undefined;
  const run = runSlot ? readRun(r, runSlot) : undefined;
  const env = envMap(r, f.get("env"));
  const migrationsSlot = f.get("migrations");
  let migrations: ServiceSpec["migrations"];
  if (migrationsSlot) {
    const m = r.map(migrationsSlot, ["dir", "database", "lint"], { required: ["dir", "database"] });
    const dirSlot = m?.get("dir");
    const dbSlot = m?.get("database");
    const dir = dirSlot ? relativePath(r, dirSlot, "a directory") : undefined;
    const database = dbSlot ? secretSource(r, dbSlot, "the database URL") : undefined;
    // `lint: { disable: [rule-id, …] }` (the ids are checked by `slipway migrations lint`).
    const lintSlot = m?.get("lint");
    const disableSlot = lintSlot ? r.map(lintSlot, ["disable"], { what: "a mapping: { disable: [rule ids] }" })?.get("disable") : undefined;
    const disable = (disableSlot ? (r.list(disableSlot, { single: true, what: "a rule id or a list of them" }) ?? []) : []).map((i) => r.string(i, { what: "a rule id such as ban-drop-column" })).filter((v) => v !== undefined);
    if (dir !== undefined && database) migrations = { dir, database, ...(disableSlot ? { lint: { disable } } : {}) };
  }
  if (!release || !run) return undefined;
  return { name: slot.name, position: r.position(slot.key), release, run, env, ...(migrations ? { migrations } : {}) };
}

function readRelease(r: Reader, slot: Slot, service: string): ReleaseSource | undefined {
  const f = r.map(slot, ["workflow", "artifact", "branch", "file"], { what: "a mapping: { workflow, artifact } or { file }" });
  if (!f) return undefined;
  const workflowSlot = f.get("workflow");
  const fileSlot = f.get("file");
  if (workflowSlot && fileSlot) {
    r.error(fileSlot, "release-conflict", "a release comes from a workflow or from a file, not both", "keep either `workflow:` (with `artifact:`) or `file:`");
    return undefined;
  }
  if (fileSlot) {
    for (const key of ["artifact", "branch"]) {
      const s = f.get(key);
      if (s) r.error(s, "release-conflict", `'${key}' applies to a release built by a workflow, not to a file`, `remove '${key}'`);
    }
    const path = relativePath(r, fileSlot, "a file path");
    return path === undefined ? undefined : { kind: "file", path };
  }
  if (!workflowSlot) {
    r.error(slot, "missing-key", "says neither where the release comes from: 'workflow' nor 'file'", `add \`workflow: ci.yml\` (and \`artifact: ${service}\`) or \`file: path/to/${service}.tgz\``);
    return undefined;
  }
  let workflow = r.string(workflowSlot, { what: "a workflow file name such as ci.yml" });
  if (workflow !== undefined) {
    workflow = workflow.replace(/^\.\//, "").replace(/^\.github\/workflows\//, "");
    if (!/^[^/\\]+\.ya?ml$/.test(workflow)) {
      r.error(workflowSlot, "bad-value", `'${workflow}' is not a workflow file name`, "name a file in .github/workflows/, e.g. ci.yml");
      workflow = undefined;
    }
  }
  const artifactSlot = f.get("artifact");
  const artifact = artifactSlot ? r.string(artifactSlot, { what: "an artifact name" }) : service;
  const branchSlot = f.get("branch");
  const branch = branchSlot ? r.string(branchSlot, { what: "a branch name" }) : undefined;
  if (workflow === undefined || artifact === undefined || (branchSlot && branch === undefined)) return undefined;
  return { kind: "workflow", workflow, artifact, ...(branch !== undefined ? { branch } : {}) };
}

function readRun(r: Reader, slot: Slot): RunSpec | undefined {
  const f = r.map(slot, ["command", "cwd", "instances", "health", "stop_timeout"], { required: ["command"] });
  if (!f) return undefined;
  const commandSlot = f.get("command");
  let command: string | string[] | undefined;
  if (commandSlot) {
    const node = r.value(commandSlot);
    if (isSeq(node)) {
      const items = r.list(commandSlot) ?? [];
      const argv = items.map((i) => r.string(i, { what: "an argument" }));
      if (items.length === 0) r.error(commandSlot, "empty-value", "the command is empty", "write the program and its arguments");
      else if (argv.every((a) => a !== undefined)) command = argv as string[];
    } else command = r.string(commandSlot, { what: "a command such as `node server.js`" });
  }
  const cwd = optional(f, "cwd", (s) => relativePath(r, s, "a directory inside the release"), ".");
  const instances = optional(f, "instances", (s) => r.int(s, 1, 1000, "a number of instances"), DEFAULTS.instances);
  const healthSlot = f.get("health");
  const health = healthSlot ? readHealth(r, healthSlot) : { ...DEFAULTS.health };
  const stopTimeout = optional(f, "stop_timeout", (s) => duration(r, s), DEFAULTS.stopTimeout);
  if (command === undefined || !health) return undefined;
  return { command, cwd, instances, health, stopTimeout };
}

function httpPath(r: Reader, slot: Slot): string | undefined {
  return r.string(slot, { what: "a URL path starting with /", pattern: /^\/\S*$/, fix: "write a path such as /healthz" });
}

function readHealth(r: Reader, slot: Slot): HealthCheck | undefined {
  const node = r.value(slot);
  if (isScalar(node) && typeof node.value === "string") {
    const path = httpPath(r, slot);
    return path === undefined ? undefined : { ...DEFAULTS.health, path };
  }
  const f = r.map(slot, ["path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "start_timeout"], { what: "a path such as /healthz or a mapping" });
  if (!f) return undefined;
  const d = DEFAULTS.health;
  return {
    path: optional(f, "path", (s) => httpPath(r, s), d.path),
    interval: optional(f, "interval", (s) => duration(r, s), d.interval),
    timeout: optional(f, "timeout", (s) => duration(r, s), d.timeout),
    healthyThreshold: optional(f, "healthy_threshold", (s) => r.int(s, 1, 100, "a count of checks"), d.healthyThreshold),
    unhealthyThreshold: optional(f, "unhealthy_threshold", (s) => r.int(s, 1, 100, "a count of checks"), d.unhealthyThreshold),
    startTimeout: optional(f, "start_timeout", (s) => duration(r, s), d.startTimeout),
  };
}

// ---------------------------------------------------------------- alerts

interface Alerts {
  specs: Record<string, AlertChannel>;
  names: string[];
}

function readAlerts(r: Reader, slot: Slot | undefined): Alerts {
  const specs: Record<string, AlertChannel> = {};
  const names: string[] = [];
  if (!slot) return { specs, names };
  const fields = r.named(slot, "a mapping of alert names to channels");
  for (const e of fields?.entries ?? []) {
    names.push(e.name);
    if (!name(r, e, "alert")) continue;
    const a = readAlert(r, e);
    if (a) specs[e.name] = a;
  }
  return { specs, names };
}

function readAlert(r: Reader, slot: Slot & { name: string }): AlertChannel | undefined {
  // The type is `type:`, or the name itself when it is one (`pagerduty:`, `slack:`).
  const all = r.map(slot, [], { what: "an alert channel mapping" });
  if (!all) return undefined;
  const typeSlot = all.get("type");
  let type: (typeof ALERT_TYPES)[number] | undefined;
  if (typeSlot) type = r.oneOf(typeSlot, ALERT_TYPES);
  else if ((ALERT_TYPES as readonly string[]).includes(slot.name)) type = slot.name as (typeof ALERT_TYPES)[number];
  else {
    r.report("error", slot.key ?? slot, "missing-key", "'type' is required (pagerduty, slack or webhook) unless the alert is named after its type", "add `type: webhook` (or pagerduty, slack)", slot.path);
    return undefined;
  }
  if (!type) return undefined;
  const position = r.position(slot.key);
  switch (type) {
    case "pagerduty": {
      const f = r.map(slot, ["type", "routing_key", "severity", "url"], { required: ["routing_key"] });
      const keySlot = f?.get("routing_key");
      const routingKey = keySlot ? secretSource(r, keySlot, "the PagerDuty routing key") : undefined;
      const severity = f ? optional(f, "severity", (s) => r.oneOf(s, ["critical", "error", "warning", "info"] as const), DEFAULTS.pagerdutySeverity) : undefined;
      const url = f ? optional(f, "url", (s) => r.string(s, { what: "an http(s) URL", pattern: /^https?:\/\/\S+$/ }), DEFAULTS.pagerdutyUrl) : undefined;
      return routingKey && severity && url ? { name: slot.name, position, type, routingKey, severity, url } : undefined;
    }
    case "slack": {
      const f = r.map(slot, ["type", "webhook_url", "channel"], { required: ["webhook_url"] });
      const urlSlot = f?.get("webhook_url");
      const webhookUrl = urlSlot ? secretSource(r, urlSlot, "the Slack webhook URL") : undefined;
      const channelSlot = f?.get("channel");
      const channel = channelSlot ? r.string(channelSlot, { what: "a channel name such as #deploys" }) : undefined;
      return webhookUrl ? { name: slot.name, position, type, webhookUrl, ...(channel !== undefined ? { channel } : {}) } : undefined;
    }
    case "webhook": {
      const f = r.map(slot, ["type", "url", "headers"], { required: ["url"] });
      const urlSlot = f?.get("url");
      const url = urlSlot ? valueSource(r, urlSlot) : undefined;
      if (url?.from === "literal" && !/^https?:\/\/\S+$/.test(url.value) && urlSlot) {
        r.error(urlSlot, "bad-value", `'${url.value}' is not an http(s) URL`, "write a URL such as https://hooks.example.com/deploys, or env:NAME / secret:NAME");
        return undefined;
      }
      const headers = f ? headerSources(r, f.get("headers")) : {};
      return url ? { name: slot.name, position, type, url, headers } : undefined;
    }
  }
}

function headerSources(r: Reader, slot: Slot | undefined): Record<string, ValueSource> {
  const out: Record<string, ValueSource> = {};
  if (!slot) return out;
  for (const e of r.named(slot, "a mapping of header names to values")?.entries ?? []) {
    const v = valueSource(r, e);
    if (v) out[e.name] = v;
  }
  return out;
}

// ---------------------------------------------------------------- environments

interface Environments {
  specs: Record<string, EnvironmentSpec>;
  /** Every environment written, with its `after:` items, for the graph check. */
  after: { name: string; slot: Slot; items: { name: string; slot: Slot }[] }[];
  ports: { port: number; slot: Slot }[];
}

const ENV_KEYS = ["after", "auto", "target", "router", "sticky", "self_heal", "services", "strategy", "approval", "window", "policy", "migrations", "checks", "rollback"];

function readEnvironments(r: Reader, slot: Slot | undefined, services: Services, alerts: Alerts): Environments {
  const out: Environments = { specs: {}, after: [], ports: [] };
  if (!slot) return out;
  const fields = r.named(slot, "a mapping of environment names to environments");
  for (const e of fields?.entries ?? []) {
    const valid = name(r, e, "environment");
    // `dev:` with nothing written is an environment with every default.
    const f: Fields | undefined = r.isEmpty(e) ? { slot: e, entries: [], get: () => undefined } : r.map(e, ENV_KEYS, { what: "an environment mapping" });
    const afterSlot = f?.get("after");
    const items: { name: string; slot: Slot }[] = [];
    if (afterSlot) {
      for (const item of r.list(afterSlot, { single: true, what: "an environment name or a list of them" }) ?? []) {
        const v = r.string(item, { what: "an environment name" });
        if (v === undefined) continue;
        if (items.some((i) => i.name === v)) r.error(item, "duplicate-value", `'${v}' is listed twice`, "remove one of them");
        else items.push({ name: v, slot: item });
      }
    }
    out.after.push({ name: e.name, slot: e, items });
    if (!valid || !f) continue;
    const spec = readEnvironment(r, e, f, items.map((i) => i.name), services, alerts, out.ports);
    if (spec) out.specs[e.name] = spec;
  }
  return out;
}

/** `sticky: { header: X-User }` or `sticky: { cookie: session }`: one of the two. */
function readSticky(r: Reader, slot: Slot): { header: string } | { cookie: string } | undefined {
  const f = r.map(slot, ["header", "cookie"]);
  if (!f) return undefined;
  const header = f.get("header");
  const cookie = f.get("cookie");
  if ((header === undefined) === (cookie === undefined)) {
    r.report("error", slot, "bad-sticky", "sticky needs exactly one of header or cookie", "write `sticky: { header: X-User }` or `sticky: { cookie: session }`", slot.path);
    return undefined;
  }
  const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
  if (header) {
    const name = r.string(header, { what: "a header name", pattern: token, fix: "write an HTTP header name such as X-User" });
    return name === undefined ? undefined : { header: name };
  }
  const name = cookie ? r.string(cookie, { what: "a cookie name", pattern: token, fix: "write a cookie name such as session" }) : undefined;
  return name === undefined ? undefined : { cookie: name };
}

function readEnvironment(
  r: Reader,
  slot: Slot & { name: string },
  f: Fields,
  after: string[],
  services: Services,
  alerts: Alerts,
  ports: Environments["ports"],
): EnvironmentSpec | undefined {
  const before = r.diagnostics.length;
  const auto = optional(f, "auto", (s) => r.bool(s), DEFAULTS.auto);
  const targetSlot = f.get("target");
  if (targetSlot) r.oneOf(targetSlot, ["process"] as const, { kubernetes: "only the process target exists for now: remove `target:` or write `target: process`" });
  const routerSlot = f.get("router");
  const router = routerSlot ? r.oneOf(routerSlot, ["builtin", "haproxy"] as const, { nginx: "nginx is not supported yet: use builtin or haproxy" }) : "builtin";
  const stickySlot = f.get("sticky");
  const sticky = stickySlot ? readSticky(r, stickySlot) : undefined;
  const selfHeal = optional(f, "self_heal", (s) => r.bool(s), DEFAULTS.selfHeal);
  const envServices = readEnvironmentServices(r, f.get("services"), services, ports);
  const strategySlot = f.get("strategy");
  const strategy: Strategy | undefined = strategySlot ? readStrategy(r, strategySlot, ports) : { kind: "rolling", ...DEFAULTS.rolling };
  const approvalSlot = f.get("approval");
  const approval = approvalSlot ? readApproval(r, approvalSlot) : undefined;
  const windowSlot = f.get("window");
  const windows = windowSlot ? readWindows(r, windowSlot) : [];
  const policySlot = f.get("policy");
  const policy = policySlot ? readPolicy(r, policySlot) : defaultPolicy();
  const migrationsSlot = f.get("migrations");
  const migrations = migrationsSlot ? readMigrationGate(r, migrationsSlot) : { ...DEFAULTS.migrations };
  const checksSlot = f.get("checks");
  const checks = checksSlot ? readChecks(r, checksSlot) : [];
  const rollbackSlot = f.get("rollback");
  const rollback = readRollback(r, rollbackSlot, alerts);
  if (r.diagnostics.slice(before).some((d) => d.severity === "error") || !strategy || !policy || !migrations || !rollback || !router || (approvalSlot && approval === undefined)) return undefined;
  return {
    name: slot.name,
    position: r.position(slot.key),
    after,
    auto,
    target: "process",
    router,
    ...(sticky ? { sticky } : {}),
    selfHeal,
    services: envServices,
    strategy,
    ...(approval && approval !== "none" ? { approval } : {}),
    windows,
    policy,
    migrations,
    checks,
    rollback,
  };
}

function readEnvironmentServices(r: Reader, slot: Slot | undefined, services: Services, ports: Environments["ports"]): Record<string, EnvironmentService> {
  const out: Record<string, EnvironmentService> = {};
  for (const [svc, spec] of Object.entries(services.specs)) out[svc] = { instances: spec.run.instances, env: { ...spec.env } };
  if (!slot) return out;
  for (const e of r.named(slot, "a mapping of service names to settings")?.entries ?? []) {
    if (!services.names.includes(e.name)) {
      const close = suggest(e.name, services.names);
      r.report("error", e.key ?? e, "unknown-service", `no service is named '${e.name}'`, close ? `did you mean '${close}'?` : `name one of the services: ${services.names.join(", ")}`, e.path);
      continue;
    }
    const f = r.map(e, ["port", "instances", "env"]);
    const base = out[e.name];
    if (!f || !base) continue;
    const portSlot = f.get("port");
    const port = portSlot ? r.int(portSlot, 1, 65535, "a TCP port") : undefined;
    if (port !== undefined && portSlot) {
      base.port = port;
      ports.push({ port, slot: portSlot });
    }
    base.instances = optional(f, "instances", (s) => r.int(s, 1, 1000, "a number of instances"), base.instances);
    base.env = { ...base.env, ...envMap(r, f.get("env")) };
  }
  return out;
}

function readStrategy(r: Reader, slot: Slot, ports: Environments["ports"]): Strategy | undefined {
  const node = r.value(slot);
  if (isScalar(node) && typeof node.value === "string") {
    const kind = r.oneOf(slot, STRATEGIES);
    if (kind === "rolling") return { kind, ...DEFAULTS.rolling };
    if (kind === "blue-green") return { kind, ...DEFAULTS.blueGreen };
    if (kind === "canary") return { kind, steps: defaultCanarySteps(DEFAULTS.canary.interval), interval: DEFAULTS.canary.interval, analysis: defaultAnalysis() };
    return undefined;
  }
  const f = r.map(slot, STRATEGIES, { what: "rolling, blue-green or canary (a name, or a mapping with one of them as its key)" });
  if (!f) return undefined;
  if (f.entries.length !== 1) {
    if (f.entries.length === 0) r.error(slot, "bad-strategy", "names no strategy", "write one of: rolling, blue-green, canary");
    else r.report("error", f.entries[1]!.key ?? f.entries[1]!, "bad-strategy", "an environment has one strategy", `keep one of: ${f.entries.map((e) => e.name).join(", ")}`, f.entries[1]!.path);
    return undefined;
  }
  const entry = f.entries[0]!;
  const empty = r.isEmpty(entry);
  switch (entry.name) {
    case "rolling": {
      if (empty) return { kind: "rolling", ...DEFAULTS.rolling };
      const o = r.map(entry, ["max_surge", "max_unavailable"]);
      if (!o) return undefined;
      const amount = (s: Slot) => r.parse(s, parseAmount, "bad-value");
      const maxSurge = optional(o, "max_surge", amount, DEFAULTS.rolling.maxSurge);
      const maxUnavailable = optional(o, "max_unavailable", amount, DEFAULTS.rolling.maxUnavailable);
      const zero = (a: typeof maxSurge) => ("count" in a ? a.count : a.percent) === 0;
      if (zero(maxSurge) && zero(maxUnavailable)) {
        r.error(o.get("max_unavailable") ?? o.get("max_surge") ?? entry, "bad-value", "max_surge and max_unavailable are both 0, so no instance could ever be replaced", "let one of them be above 0");
        return undefined;
      }
      return { kind: "rolling", maxSurge, maxUnavailable };
    }
    case "blue-green": {
      if (empty) return { kind: "blue-green", ...DEFAULTS.blueGreen };
      const o = r.map(entry, ["scale_down_delay", "auto_promote", "preview_port", "analysis"]);
      if (!o) return undefined;
      const scaleDownDelay = optional(o, "scale_down_delay", (s) => duration(r, s, 0), DEFAULTS.blueGreen.scaleDownDelay);
      const autoPromote = optional(o, "auto_promote", (s) => r.bool(s), DEFAULTS.blueGreen.autoPromote);
      const portSlot = o.get("preview_port");
      const previewPort = portSlot ? r.int(portSlot, 1, 65535, "a TCP port") : undefined;
      if (previewPort !== undefined && portSlot) ports.push({ port: previewPort, slot: portSlot });
      const analysisSlot = o.get("analysis");
      const analysis = analysisSlot ? readAnalysis(r, analysisSlot) : undefined;
      if (analysisSlot && analysis === undefined) return undefined;
      return { kind: "blue-green", scaleDownDelay, autoPromote, ...(previewPort !== undefined ? { previewPort } : {}), ...(analysis && analysis !== "off" ? { analysis } : {}) };
    }
    default: {
      if (empty) return { kind: "canary", steps: defaultCanarySteps(DEFAULTS.canary.interval), interval: DEFAULTS.canary.interval, analysis: defaultAnalysis() };
      const o = r.map(entry, ["steps", "interval", "analysis"]);
      if (!o) return undefined;
      const interval = optional(o, "interval", (s) => duration(r, s), DEFAULTS.canary.interval);
      const stepsSlot = o.get("steps");
      const steps = stepsSlot ? readCanarySteps(r, stepsSlot, interval) : defaultCanarySteps(interval);
      const analysisSlot = o.get("analysis");
      const analysis = analysisSlot ? readAnalysis(r, analysisSlot) : defaultAnalysis();
      if (!steps || analysis === undefined) return undefined;
      return { kind: "canary", steps, interval, ...(analysis !== "off" ? { analysis } : {}) };
    }
  }
}

function defaultCanarySteps(interval: number): CanaryStep[] {
  return DEFAULTS.canary.steps.map((weight) => ({ kind: "weight", weight, interval }));
}

function readCanarySteps(r: Reader, slot: Slot, interval: number): CanaryStep[] | undefined {
  const items = r.list(slot, { what: "a list of steps such as [5, 25, 50, 100]" });
  if (!items) return undefined;
  if (items.length === 0) {
    r.error(slot, "bad-canary-step", "the canary has no steps", "list traffic weights, e.g. [5, 25, 50, 100]");
    return undefined;
  }
  const steps: CanaryStep[] = [];
  let last: { weight: number; slot: Slot } | undefined;
  let ok = true;
  const weightOf = (s: Slot): number | undefined => {
    const node = r.value(s);
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v === "string" && /^\s*\d+(\.\d+)?\s*%\s*$/.test(v)) {
      const n = Number(v.trim().slice(0, -1).trim());
      if (Number.isInteger(n) && n >= 1 && n <= 100) return n;
    } else if (typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 100) return v;
    const fix = typeof v === "number" && v > 100 ? "a weight is a percentage of requests: at most 100" : "write a whole percentage from 1 to 100, `pause`, { pause: 10m } or { weight: 25, interval: 2m }";
    r.error(s, "bad-canary-step", `expected a traffic weight from 1 to 100, got ${JSON.stringify(v ?? null)}`, fix);
    return undefined;
  };
  for (const item of items) {
    const node = r.value(item);
    let step: CanaryStep | undefined;
    if (isScalar(node) && node.value === "pause") step = { kind: "pause" };
    else if (node && isMap(node)) {
      const f = r.map(item, ["weight", "interval", "pause"]);
      if (!f) {
        ok = false;
        continue;
      }
      const pauseSlot = f.get("pause");
      const weightSlot = f.get("weight");
      if (pauseSlot && (weightSlot || f.get("interval"))) {
        r.error(pauseSlot, "bad-canary-step", "a step either pauses or sets a weight", "split it into two steps");
        ok = false;
        continue;
      }
      if (pauseSlot) {
        if (r.isEmpty(pauseSlot)) step = { kind: "pause" };
        else {
          const d = duration(r, pauseSlot);
          if (d !== undefined) step = { kind: "pause", duration: d };
        }
      } else if (!weightSlot) {
        r.error(item, "missing-key", "'weight' (or 'pause') is required", "add `weight: 25`");
      } else {
        const weight = weightOf(weightSlot);
        const stepInterval = optional(f, "interval", (s) => duration(r, s), interval);
        if (weight !== undefined) step = { kind: "weight", weight, interval: stepInterval };
      }
    } else {
      const weight = weightOf(item);
      if (weight !== undefined) step = { kind: "weight", weight, interval };
    }
    if (!step) {
      ok = false;
      continue;
    }
    if (step.kind === "weight") {
      if (last && step.weight <= last.weight) {
        r.error(item, "bad-canary-step", `the weight ${step.weight} does not increase on the step before (${last.weight})`, "list weights in increasing order; a failed analysis, not a step, takes traffic back");
        ok = false;
      }
      last = { weight: step.weight, slot: item };
    }
    steps.push(step);
  }
  if (ok && !steps.some((s) => s.kind === "weight")) {
    r.error(slot, "bad-canary-step", "the canary sets no traffic weight", "add weights, e.g. [5, 25, pause, 50, 100]");
    return undefined;
  }
  return ok ? steps : undefined;
}

function defaultAnalysis(): Analysis {
  const d = DEFAULTS.analysis;
  return {
    provider: { kind: "builtin" },
    conditions: { error_rate: defaultThreshold(d.errorRate, "rate"), p99: defaultThreshold(d.p99, "latency") },
    metrics: [],
    minRequests: d.minRequests,
    failureLimit: d.failureLimit,
    consecutiveErrorLimit: d.consecutiveErrorLimit,
  };
}

function readAnalysis(r: Reader, slot: Slot): Analysis | "off" | undefined {
  const node = r.value(slot);
  if (isScalar(node) && node.value === false) return "off";
  const f = r.map(slot, ["provider", "prometheus", ...METRICS, "metrics", "min_requests", "failure_limit", "consecutive_error_limit"], { what: "a mapping of conditions (or false for none)" });
  if (!f) return undefined;
  const before = r.diagnostics.length;
  const providerName = optional(f, "provider", (s) => r.oneOf(s, ["builtin", "prometheus"] as const), "builtin");
  const promSlot = f.get("prometheus");
  let address: string | undefined;
  if (promSlot) {
    const p = r.map(promSlot, ["address"], { required: ["address"] });
    const a = p?.get("address");
    address = a ? r.string(a, { what: "a URL such as http://localhost:9090", pattern: /^https?:\/\/\S+$/ }) : undefined;
  }
  if (providerName === "prometheus" && !promSlot) {
    r.error(f.get("provider")!, "missing-key", "the prometheus provider needs its address", "add `prometheus: { address: http://localhost:9090 }` beside `provider:`");
  }
  const conditions: Analysis["conditions"] = {};
  for (const m of METRICS) {
    const s = f.get(m);
    if (!s) continue;
    const t = threshold(r, s, METRIC_KIND[m]);
    if (t) conditions[m] = t;
  }
  const metrics: CustomMetric[] = [];
  const metricsSlot = f.get("metrics");
  for (const item of (metricsSlot ? r.list(metricsSlot, { what: "a list of metrics" }) : undefined) ?? []) {
    const m = readCustomMetric(r, item, address);
    if (m) metrics.push(m);
  }
  const d = DEFAULTS.analysis;
  const minRequests = optional(f, "min_requests", (s) => r.int(s, 1, Number.MAX_SAFE_INTEGER, "a number of requests"), d.minRequests);
  const failureLimit = optional(f, "failure_limit", (s) => r.int(s, 0), d.failureLimit);
  const consecutiveErrorLimit = optional(f, "consecutive_error_limit", (s) => r.int(s, 0), d.consecutiveErrorLimit);
  if (r.diagnostics.slice(before).some((x) => x.severity === "error")) return undefined;
  if (Object.keys(conditions).length === 0 && metrics.length === 0) {
    r.error(slot, "analysis-empty", "the analysis has no condition, so it could never fail", 'add a condition such as error_rate: "<1%", or write `analysis: false` to go by time alone');
    return undefined;
  }
  const provider: Analysis["provider"] = providerName === "prometheus" && address ? { kind: "prometheus", address } : { kind: "builtin" };
  return { provider, conditions, metrics, minRequests, failureLimit, consecutiveErrorLimit };
}

function readCustomMetric(r: Reader, slot: Slot, defaultAddress: string | undefined): CustomMetric | undefined {
  const f = r.map(slot, ["name", "prometheus", "http", "condition"], { required: ["name", "condition"] });
  if (!f) return undefined;
  const nameSlot = f.get("name");
  const metricName = nameSlot ? r.string(nameSlot, { what: "a metric name" }) : undefined;
  const conditionSlot = f.get("condition");
  const condition = conditionSlot ? threshold(r, conditionSlot, "number") : undefined;
  const promSlot = f.get("prometheus");
  const httpSlot = f.get("http");
  let source: CustomMetric["source"] | undefined;
  if ((promSlot ? 1 : 0) + (httpSlot ? 1 : 0) !== 1) {
    r.error(httpSlot ?? slot, "bad-metric", promSlot ? "a metric has one source: prometheus or http" : "a metric needs a source: prometheus or http", "keep one of `prometheus: { query }` and `http: { url, field }`");
  } else if (promSlot) {
    const node = r.value(promSlot);
    if (isScalar(node) && typeof node.value === "string") {
      const query = r.string(promSlot, { what: "a PromQL query" });
      if (query !== undefined && !defaultAddress) r.error(promSlot, "missing-key", "no Prometheus address is known for this query", "add `prometheus: { address: http://localhost:9090 }` to the analysis, or write { address, query } here");
      else if (query !== undefined && defaultAddress) source = { kind: "prometheus", address: defaultAddress, query };
    } else {
      const p = r.map(promSlot, ["address", "query"], { required: defaultAddress ? ["query"] : ["address", "query"] });
      const a = p?.get("address");
      const q = p?.get("query");
      const address = a ? r.string(a, { what: "a URL such as http://localhost:9090", pattern: /^https?:\/\/\S+$/ }) : defaultAddress;
      const query = q ? r.string(q, { what: "a PromQL query" }) : undefined;
      if (address !== undefined && query !== undefined) source = { kind: "prometheus", address, query };
    }
  } else if (httpSlot) {
    const h = r.map(httpSlot, ["url", "field", "headers"], { required: ["url", "field"] });
    const u = h?.get("url");
    const fl = h?.get("field");
    const url = u ? r.string(u, { what: "an http(s) URL", pattern: /^https?:\/\/\S+$/ }) : undefined;
    const field = fl ? r.string(fl, { what: "a field path such as data.error_rate" }) : undefined;
    const headers = h ? headerSources(r, h.get("headers")) : {};
    if (url !== undefined && field !== undefined) source = { kind: "http", url, field, headers };
  }
  return metricName !== undefined && condition && source ? { name: metricName, source, condition } : undefined;
}

// ---------------------------------------------------------------- gates

function readApproval(r: Reader, slot: Slot): Approval | "none" | undefined {
  const node = r.value(slot);
  const d = DEFAULTS.approval;
  if (isScalar(node) && typeof node.value === "boolean") {
    return node.value ? { required: d.required, from: [], preventSelfReview: d.preventSelfReview, timeout: d.timeout } : "none";
  }
  const f = r.map(slot, ["required", "from", "prevent_self_review", "timeout"], { what: "a mapping { required, from } (or true)" });
  if (!f) return undefined;
  const before = r.diagnostics.length;
  const required = optional(f, "required", (s) => r.int(s, 1, 100, "a number of approvals"), d.required);
  const fromSlot = f.get("from");
  const from = fromSlot ? (stringList(r, fromSlot, "a person or group name") ?? []) : [];
  const preventSelfReview = optional(f, "prevent_self_review", (s) => r.bool(s), d.preventSelfReview);
  const timeout = optional(f, "timeout", (s) => duration(r, s), d.timeout);
  if (r.diagnostics.slice(before).some((x) => x.severity === "error")) return undefined;
  return { required, from, preventSelfReview, timeout };
}

function readWindows(r: Reader, slot: Slot): DeploymentWindow[] {
  const out: DeploymentWindow[] = [];
  for (const item of r.list(slot, { single: true, what: "a window mapping or a list of them" }) ?? []) {
    const f = r.map(item, ["kind", "cron", "duration", "timezone"], { required: ["cron", "duration"], what: "a window mapping { cron, duration, timezone }" });
    if (!f) continue;
    const kind = optional(f, "kind", (s) => r.oneOf(s, ["allow", "deny"] as const), DEFAULTS.window.kind);
    const cronSlot = f.get("cron");
    const cron = cronSlot ? r.parse(cronSlot, parseCron, "bad-cron") : undefined;
    const durationSlot = f.get("duration");
    const length = durationSlot ? duration(r, durationSlot) : undefined;
    const timezone = optional(f, "timezone", (s) => r.parse(s, parseTimeZone, "bad-timezone"), DEFAULTS.window.timezone);
    if (cron && length !== undefined) out.push({ kind, cron, duration: length, timezone });
  }
  return out;
}

function defaultPolicy(): ReleasePolicy {
  return { signature: DEFAULTS.policy, provenance: DEFAULTS.policy, sbom: DEFAULTS.policy, keys: [], identities: [] };
}

function readPolicy(r: Reader, slot: Slot): ReleasePolicy | undefined {
  const f = r.map(slot, ["signature", "signed", "provenance", "sbom", "keys", "identities"]);
  if (!f) return undefined;
  const before = r.diagnostics.length;
  const level = (s: Slot) => r.oneOf(s, POLICY_LEVELS, { true: "write required", false: "write off" });
  const policy = defaultPolicy();
  policy.signature = optional(f, "signature", level, DEFAULTS.policy);
  // `signed: true` (the issue's syntax) is `signature: required`.
  const signedSlot = f.get("signed");
  if (signedSlot) {
    const signed = r.bool(signedSlot);
    if (f.get("signature")) r.error(signedSlot, "conflicting-setting", "`signed` and `signature` both set whether a signature is needed", "keep one: `signed: true` is `signature: required`");
    else if (signed !== undefined) policy.signature = signed ? "required" : "off";
  }
  // `provenance: { source: acme/web, branch: main }` requires provenance from that repository and branch.
  const provenanceSlot = f.get("provenance");
  if (provenanceSlot && isMap(r.value(provenanceSlot))) readProvenancePolicy(r, provenanceSlot, policy);
  else policy.provenance = optional(f, "provenance", level, DEFAULTS.policy);
  policy.sbom = optional(f, "sbom", level, DEFAULTS.policy);
  const keysSlot = f.get("keys");
  for (const item of (keysSlot ? r.list(keysSlot, { single: true, what: "a public key file or a list of them" }) : undefined) ?? []) {
    const p = relativePath(r, item, "a public key file (PEM) in the repository");
    if (p !== undefined) policy.keys.push(p);
  }
  const idSlot = f.get("identities");
  for (const item of (idSlot ? r.list(idSlot, { what: "a list of { issuer, subject }" }) : undefined) ?? []) {
    const id = r.map(item, ["issuer", "subject"], { required: ["issuer", "subject"] });
    const issuerSlot = id?.get("issuer");
    const subjectSlot = id?.get("subject");
    const issuer = issuerSlot ? r.string(issuerSlot, { what: "an OIDC issuer URL", pattern: /^https:\/\/\S+$/, fix: "write the issuer URL, e.g. https://token.actions.githubusercontent.com" }) : undefined;
    const subject = subjectSlot ? r.string(subjectSlot, { what: "a certificate subject" }) : undefined;
    if (issuer !== undefined && subject !== undefined) policy.identities.push({ issuer, subject });
  }
  if (idSlot && policy.identities.length > 0) {
    r.warn(
      idSlot,
      "not-verified",
      "identities name keyless (Sigstore Fulcio) signers, which Slipway does not verify: it checks key-based signatures only, so these identities admit nothing and refuse nothing",
      "list the signers' public keys under `keys` (Slipway's own key is always trusted), and remove `identities`",
    );
  }
  const anyRequired = policy.signature !== "off" || policy.provenance !== "off";
  if (!anyRequired && (keysSlot || idSlot) && r.diagnostics.length === before) {
    r.warn(keysSlot ?? idSlot!, "unused-setting", "keys and identities are only used when `signature` or `provenance` is required or warn", "set `signature: required`, or remove them");
  }
  return policy;
}

/** `provenance: { source, branch, builder, level }` → provenance `level` (default required) from that source. */
function readProvenancePolicy(r: Reader, slot: Slot, policy: ReleasePolicy): void {
  const f = r.map(slot, ["source", "branch", "builder", "level"]);
  if (!f) return;
  policy.provenance = optional(f, "level", (s) => r.oneOf(s, POLICY_LEVELS), "required");
  const sourceSlot = f.get("source");
  const branchSlot = f.get("branch");
  const builderSlot = f.get("builder");
  const repository = sourceSlot ? r.string(sourceSlot, { what: "a repository as owner/name", pattern: /^[^\s/]+\/[^\s/]+$|^[a-z+]+:\/\/\S+$/, fix: "write owner/name, e.g. source: acme/web" }) : undefined;
  const branch = branchSlot ? r.string(branchSlot, { what: "a branch name", pattern: /^(?!refs\/)\S+$/, fix: "write the branch name without refs/heads/, e.g. branch: main" }) : undefined;
  if (branchSlot && !sourceSlot) r.error(branchSlot, "missing-field", "`branch` needs `source`: the branch of which repository", "add source: OWNER/NAME, e.g. source: acme/web");
  if (repository !== undefined) policy.source = { repository, ...(branch !== undefined ? { branch } : {}) };
  const builder = builderSlot ? r.string(builderSlot, { what: "a builder id (URI)", pattern: /^[a-z][a-z0-9+.-]*:\S+$/, fix: "write the builder id, e.g. https://slipway.dev/builder/v1" }) : undefined;
  if (builder !== undefined) policy.builder = builder;
}

function readMigrationGate(r: Reader, slot: Slot): MigrationGate | undefined {
  const f = r.map(slot, ["apply", "unsafe"]);
  if (!f) return undefined;
  return {
    apply: optional(f, "apply", (s) => r.bool(s), DEFAULTS.migrations.apply),
    unsafe: optional(f, "unsafe", (s) => r.oneOf(s, ["block", "warn"] as const), DEFAULTS.migrations.unsafe),
  };
}

// ---------------------------------------------------------------- checks

const CHECK_KINDS = ["smoke", "workflow", "load", "health"] as const;

function readChecks(r: Reader, slot: Slot): Check[] {
  const out: Check[] = [];
  for (const item of r.list(slot, { what: "a list of checks" }) ?? []) {
    const f = r.map(item, [...CHECK_KINDS, "name", "timeout", "inputs"], { what: "a check: smoke, workflow, load or health" });
    if (!f) continue;
    const kinds = f.entries.filter((e) => (CHECK_KINDS as readonly string[]).includes(e.name));
    if (kinds.length !== 1) {
      if (kinds.length === 0) r.error(item, "bad-check", "names no kind of check", "add one of: smoke, workflow, load, health");
      else r.report("error", kinds[1]!.key ?? kinds[1]!, "bad-check", "a check has one kind", `split it into one check for each of: ${kinds.map((k) => k.name).join(", ")}`, kinds[1]!.path);
      continue;
    }
    const kindSlot = kinds[0]!;
    const inputsSlot = f.get("inputs");
    if (inputsSlot && kindSlot.name !== "workflow") r.error(inputsSlot, "unknown-key", "'inputs' applies to workflow checks only", "remove it");
    const nameSlot = f.get("name");
    const position = r.position(item.node);
    const timeoutSlot = f.get("timeout");
    const timeout = timeoutSlot ? duration(r, timeoutSlot) : undefined;
    if (timeoutSlot && timeout === undefined) continue;
    let check: Check | undefined;
    const base = (kind: string, min = 0) => ({ name: (nameSlot ? r.string(nameSlot, { what: "a check name" }) : undefined) ?? kind, timeout: timeout ?? Math.max(DEFAULTS.checkTimeout, min + 60_000), position });
    switch (kindSlot.name) {
      case "smoke": {
        const requests = readSmoke(r, kindSlot);
        if (requests) check = { ...base("smoke"), kind: "smoke", requests };
        break;
      }
      case "workflow": {
        let workflow = r.string(kindSlot, { what: "a workflow file name such as e2e.yml" });
        if (workflow !== undefined) {
          workflow = workflow.replace(/^\.\//, "").replace(/^\.github\/workflows\//, "");
          if (!/^[^/\\]+\.ya?ml$/.test(workflow)) {
            r.error(kindSlot, "bad-value", `'${workflow}' is not a workflow file name`, "name a file in .github/workflows/, e.g. e2e.yml");
            workflow = undefined;
          }
        }
        const inputs: Record<string, string> = {};
        for (const e of (inputsSlot ? r.named(inputsSlot, "a mapping of input names to values") : undefined)?.entries ?? []) {
          const v = r.text(e);
          if (v !== undefined) inputs[e.name] = v;
        }
        if (workflow !== undefined) check = { ...base(`workflow ${workflow}`), kind: "workflow", workflow, inputs };
        break;
      }
      case "load": {
        const load = readLoad(r, kindSlot);
        if (load) check = { ...base("load", load.duration), kind: "load", ...load };
        break;
      }
      default: {
        const node = r.value(kindSlot);
        let length: number | undefined;
        if (isMap(node)) {
          const h = r.map(kindSlot, ["duration"], { required: ["duration"] });
          const s = h?.get("duration");
          length = s ? duration(r, s) : undefined;
        } else length = duration(r, kindSlot);
        if (length !== undefined) check = { ...base("health", length), kind: "health", duration: length };
      }
    }
    if (!check) continue;
    if ((check.kind === "load" || check.kind === "health") && timeoutSlot && check.timeout <= check.duration) {
      r.error(timeoutSlot, "bad-duration", `the timeout is not longer than the check's duration`, "make the timeout longer than the duration, or remove it for the default");
      continue;
    }
    out.push(check);
  }
  return out;
}

function readSmoke(r: Reader, slot: Slot): SmokeRequest[] | undefined {
  const items = r.list(slot, { single: true, what: "a request { get: /path, status: 200 } or a list of them" });
  if (!items) return undefined;
  if (items.length === 0) {
    r.error(slot, "empty-value", "the smoke check sends no request", "add a request such as { get: /healthz, status: 200 }");
    return undefined;
  }
  const out: SmokeRequest[] = [];
  let ok = true;
  for (const item of items) {
    const f = r.map(item, [...METHODS, "status", "contains", "body", "headers"], { what: "a request such as { get: /healthz, status: 200 }" });
    if (!f) {
      ok = false;
      continue;
    }
    const methods = f.entries.filter((e) => (METHODS as readonly string[]).includes(e.name));
    if (methods.length !== 1) {
      const extra = methods[1];
      const message = extra ? "a request has one method" : "the request names no method";
      const fix = "write one of get, head, post, put, patch, delete with the path, e.g. `get: /healthz`";
      if (extra) r.report("error", extra.key ?? extra, "bad-check", message, fix, extra.path);
      else r.error(item, "bad-check", message, fix);
      ok = false;
      continue;
    }
    const m = methods[0]!;
    const path = httpPath(r, m);
    const statusSlot = f.get("status");
    let status: number[] | undefined = [200];
    if (statusSlot) {
      const list = r.list(statusSlot, { single: true, what: "an HTTP status or a list of them" }) ?? [];
      status = list.map((s) => r.int(s, 100, 599, "an HTTP status")).filter((s): s is number => s !== undefined);
      if (status.length !== list.length || list.length === 0) status = undefined;
    }
    const containsSlot = f.get("contains");
    const contains = containsSlot ? r.string(containsSlot, { what: "the text the response body must contain" }) : undefined;
    const bodySlot = f.get("body");
    const body = bodySlot ? r.string(bodySlot, { what: "a request body", allowEmpty: true }) : undefined;
    if (bodySlot && (m.name === "get" || m.name === "head")) r.error(bodySlot, "bad-check", `a ${m.name.toUpperCase()} request carries no body`, "use post, put or patch, or remove `body`");
    const headers: Record<string, string> = {};
    for (const e of (f.get("headers") ? r.named(f.get("headers")!, "a mapping of header names to values") : undefined)?.entries ?? []) {
      const v = r.text(e);
      if (v !== undefined) headers[e.name] = v;
    }
    if (path === undefined || !status || (containsSlot && contains === undefined)) {
      ok = false;
      continue;
    }
    out.push({ method: m.name.toUpperCase() as SmokeRequest["method"], path, status, ...(contains !== undefined ? { contains } : {}), ...(body !== undefined ? { body } : {}), headers });
  }
  return ok ? out : undefined;
}

function readLoad(r: Reader, slot: Slot): { rps: number; duration: number; connections: number; path: string; thresholds: Partial<Record<MetricName, Threshold>> } | undefined {
  const f = r.map(slot, ["rps", "duration", "connections", "path", "thresholds"], { required: ["rps"] });
  if (!f) return undefined;
  const before = r.diagnostics.length;
  const rpsSlot = f.get("rps");
  const rps = rpsSlot ? r.int(rpsSlot, 1, 1_000_000, "requests per second") : undefined;
  const d = DEFAULTS.load;
  const length = optional(f, "duration", (s) => duration(r, s), d.duration);
  const connections = optional(f, "connections", (s) => r.int(s, 1, 10_000, "a number of connections"), d.connections);
  const path = optional(f, "path", (s) => httpPath(r, s), d.path);
  const thresholds: Partial<Record<MetricName, Threshold>> = {};
  const tSlot = f.get("thresholds");
  if (tSlot) {
    // `errors` is accepted for error_rate, as DESIGN's example writes it.
    const t = r.map(tSlot, [...METRICS, "errors"]);
    for (const e of t?.entries ?? []) {
      const metric: MetricName = e.name === "errors" ? "error_rate" : (e.name as MetricName);
      if (e.name === "errors" && t?.get("error_rate")) {
        r.report("error", e.key ?? e, "duplicate-key", "'errors' and 'error_rate' are the same threshold", "keep one of them", e.path);
        continue;
      }
      const v = threshold(r, e, METRIC_KIND[metric]);
      if (v) thresholds[metric] = v;
    }
    if (t && t.entries.length === 0) r.error(tSlot, "empty-value", "no threshold is given", 'add one such as p95: "<300ms", or remove `thresholds` for the default error_rate "<1%"');
  } else thresholds.error_rate = defaultThreshold(d.errorRate, "rate");
  if (rps === undefined || r.diagnostics.slice(before).some((x) => x.severity === "error")) return undefined;
  return { rps, duration: length, connections, path, thresholds };
}

// ---------------------------------------------------------------- rollback

function readRollback(r: Reader, slot: Slot | undefined, alerts: Alerts): Rollback | undefined {
  const all = Object.keys(alerts.specs);
  if (!slot) return { automatic: true, alert: all };
  const f = r.map(slot, ["automatic", "alert"]);
  if (!f) return undefined;
  const automatic = optional(f, "automatic", (s) => r.bool(s), true);
  const alertSlot = f.get("alert");
  let alert = all;
  if (alertSlot) {
    const names = stringList(r, alertSlot, "an alert name") ?? [];
    const items = r.list(alertSlot, { single: true }) ?? [];
    alert = [];
    for (const [i, n] of names.entries()) {
      if (alerts.names.includes(n)) {
        alert.push(n);
        continue;
      }
      const item = items.find((s) => {
        const node = r.value(s);
        return isScalar(node) && node.value === n;
      }) ?? items[i] ?? alertSlot;
      const close = suggest(n, alerts.names);
      const fix = close
        ? `did you mean '${close}'?`
        : (ALERT_TYPES as readonly string[]).includes(n)
          ? `define it under the top-level \`alerts:\`, e.g. ${n === "pagerduty" ? "`pagerduty: { routing_key: secret:PAGERDUTY_ROUTING_KEY }`" : n === "slack" ? "`slack: { webhook_url: secret:SLACK_WEBHOOK_URL }`" : "`webhook: { url: https://… }`"}`
          : `define '${n}' under the top-level \`alerts:\``;
      r.error(item, "unknown-alert", `no alert is named '${n}'`, fix);
    }
  }
  return { automatic, alert };
}

// ---------------------------------------------------------------- ports

function checkPorts(r: Reader, ports: Environments["ports"]): void {
  const seen = new Map<number, Slot>();
  for (const p of ports) {
    const first = seen.get(p.port);
    if (first) r.error(p.slot, "port-conflict", `port ${p.port} is already used by ${first.path}`, "give each environment's service and preview its own port");
    else seen.set(p.port, p.slot);
  }
}

