import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { DeliveryDiagnostic } from "./model.js";
import { parseDeliveryConfig } from "./parse-config.js";

const where = (ds: DeliveryDiagnostic[]) => ds.map((d) => `${d.line}:${d.column} ${d.code} ${d.path}`);

function valid(text: string) {
  const r = parseDeliveryConfig(text, "slipway.yml");
  expect(r.diagnostics.filter((d) => d.severity === "error"), JSON.stringify(r.diagnostics, null, 1)).toEqual([]);
  if (!r.config) throw new Error("no config");
  return r.config;
}

const SERVICE = "services:\n  web: { release: { file: web.tgz }, run: { command: node server.js } }\n";

describe("a valid slipway.yml", () => {
  it("reads the example of examples/hello into the model", () => {
    const text = readFileSync(resolve(import.meta.dirname, "../../examples/hello/slipway.yml"), "utf8");
    const c = valid(text);
    expect(c.environmentOrder).toEqual(["dev", "staging", "prod"]);
    expect(c.services.hello).toMatchObject({
      release: { kind: "workflow", workflow: "ci.yml", artifact: "hello" },
      run: { command: "node src/server.js", cwd: ".", instances: 1, stopTimeout: 30_000, health: { path: "/healthz", interval: 1000, timeout: 2000, healthyThreshold: 1, unhealthyThreshold: 3, startTimeout: 30_000 } },
      env: { GREETING_NAME: { from: "literal", value: "world" } },
    });
    const { dev, staging, prod } = c.environments;
    expect(dev).toMatchObject({ auto: true, after: [], strategy: { kind: "rolling" }, services: { hello: { port: 8081, instances: 1 } } });
    expect(staging?.strategy).toEqual({ kind: "blue-green", scaleDownDelay: 10_000, autoPromote: true });
    expect(staging?.checks.map((k) => k.kind)).toEqual(["smoke", "load"]);
    expect(staging?.checks[0]).toMatchObject({ requests: [{ method: "GET", path: "/healthz", status: [200] }, { method: "GET", path: "/?name=staging", status: [200], contains: "hello, staging" }] });
    expect(staging?.checks[1]).toMatchObject({ rps: 50, duration: 10_000, thresholds: { p95: { op: "<", value: 300, unit: "ms" }, error_rate: { op: "<", value: 0.01, unit: "ratio" } } });
    expect(prod?.approval).toEqual({ required: 1, from: ["release-managers"], preventSelfReview: false, timeout: 30 * 86_400_000 });
    expect(prod?.windows).toMatchObject([{ kind: "deny", duration: 86_400_000, timezone: "Europe/Berlin", cron: { minutes: [0], hours: [0], daysOfMonth: [31], months: [12] } }]);
    expect(prod?.strategy).toMatchObject({
      kind: "canary",
      interval: 10_000,
      steps: [25, 50].map((weight) => ({ kind: "weight", weight, interval: 10_000 })),
      analysis: { provider: { kind: "builtin" }, minRequests: 50, failureLimit: 0, consecutiveErrorLimit: 4, conditions: { error_rate: { value: 0.01 }, p99: { value: 500 } } },
    });
    expect(prod?.services.hello).toEqual({ port: 8083, instances: 2, env: { GREETING_NAME: { from: "literal", value: "world" } } });
    // The default timeout (10m) is longer than the duration and a minute.
    expect(prod?.checks).toMatchObject([{ kind: "health", duration: 20_000, timeout: 600_000 }]);
    expect(prod?.rollback).toEqual({ automatic: true, alert: ["pagerduty", "slack"] });
    expect(c.alerts.pagerduty).toMatchObject({ type: "pagerduty", routingKey: { from: "secret", name: "PAGERDUTY_ROUTING_KEY" }, severity: "error", url: "https://events.pagerduty.com/v2/enqueue" });
    expect(c.alerts.slack).toMatchObject({ type: "slack", webhookUrl: { from: "secret", name: "SLACK_WEBHOOK_URL" } });
  });

  it("reads every other form: argv commands, file releases, env overrides, pauses, custom metrics, policy, gates", () => {
    const c = valid(`services:
  api:
    release: { workflow: .github/workflows/build.yaml, artifact: api-bundle, branch: release }
    run:
      command: [node, --enable-source-maps, dist/main.js]
      cwd: ./app/
      instances: 3
      health: /ready
      stop_timeout: 10s
    env: { LOG_LEVEL: info, WORKERS: 4, DEBUG: false, TOKEN: secret:API_TOKEN, HOME_DIR: env:HOME }
    migrations: { dir: db/migrations, database: env:DATABASE_URL }
  worker:
    release: { file: dist/worker.tgz }
    run: { command: ./worker }
environments:
  staging:
    strategy: { rolling: { max_surge: 1, max_unavailable: "0%" } }
    services:
      api: { instances: 1, env: { LOG_LEVEL: debug } }
    migrations: { apply: true, unsafe: warn }
    checks:
      - name: e2e
        workflow: e2e.yml
        inputs: { suite: smoke, retries: 2 }
        timeout: 20m
      - smoke:
          get: /
          status: [200, 204]
          headers: { Accept: text/html }
      - smoke: [{ post: /orders, body: '{"n":1}', status: 201 }]
      - load: { rps: 20, path: /api, connections: 4, duration: 15m }
  prod:
    after: [staging]
    target: process
    self_heal: false
    approval: true
    window:
      - { cron: "0 9-16 * * mon-thu", duration: 8h, timezone: america/new_york }
      - { kind: deny, cron: "@yearly", duration: 1d }
    policy:
      signature: required
      provenance: warn
      keys: [keys/release.pub]
      identities: [{ issuer: "https://token.actions.githubusercontent.com", subject: "repo:acme/api:ref:refs/heads/main" }]
    strategy:
      canary:
        interval: 2m
        steps: [5, pause, { weight: 25, interval: 5m }, { pause: 10m }, "50%"]
        analysis:
          provider: prometheus
          prometheus: { address: "http://localhost:9090" }
          success_rate: ">=99%"
          p95: "<0.3s"
          failure_limit: 1
          consecutive_error_limit: 2
          min_requests: 200
          metrics:
            - { name: queue, prometheus: 'sum(queue_depth)', condition: "<100" }
            - { name: errors, http: { url: "https://stats.example.com/x", field: data.rate, headers: { Authorization: secret:STATS } }, condition: "<2%" }
    rollback: { automatic: false, alert: ops }
alerts:
  ops: { type: webhook, url: "https://hooks.example.com/deploy", headers: { X-Token: secret:HOOK } }
  pagerduty: { routing_key: env:PD_KEY, severity: critical, url: "http://127.0.0.1:9999/v2/enqueue" }
`);
    const api = c.services.api!;
    expect(api.release).toEqual({ kind: "workflow", workflow: "build.yaml", artifact: "api-bundle", branch: "release" });
    expect(api.run).toMatchObject({ command: ["node", "--enable-source-maps", "dist/main.js"], cwd: "app", instances: 3, stopTimeout: 10_000, health: { path: "/ready", interval: 1000 } });
    expect(api.env).toEqual({
      LOG_LEVEL: { from: "literal", value: "info" },
      WORKERS: { from: "literal", value: "4" },
      DEBUG: { from: "literal", value: "false" },
      TOKEN: { from: "secret", name: "API_TOKEN" },
      HOME_DIR: { from: "env", name: "HOME" },
    });
    expect(api.migrations).toEqual({ dir: "db/migrations", database: { from: "env", name: "DATABASE_URL" } });
    expect(c.services.worker?.release).toEqual({ kind: "file", path: "dist/worker.tgz" });

    const staging = c.environments.staging!;
    expect(staging.strategy).toEqual({ kind: "rolling", maxSurge: { count: 1 }, maxUnavailable: { percent: 0 } });
    expect(staging.services.api).toEqual({ instances: 1, env: { ...api.env, LOG_LEVEL: { from: "literal", value: "debug" } } });
    expect(staging.services.worker).toEqual({ instances: 1, env: {} });
    expect(staging.migrations).toEqual({ apply: true, unsafe: "warn" });
    expect(staging.checks[0]).toMatchObject({ kind: "workflow", name: "e2e", workflow: "e2e.yml", inputs: { suite: "smoke", retries: "2" }, timeout: 1_200_000 });
    expect(staging.checks[1]).toMatchObject({ kind: "smoke", requests: [{ method: "GET", path: "/", status: [200, 204], headers: { Accept: "text/html" } }] });
    expect(staging.checks[2]).toMatchObject({ kind: "smoke", requests: [{ method: "POST", path: "/orders", body: '{"n":1}', status: [201] }] });
    // A load check lasting longer than the default timeout gets its duration and a minute.
    expect(staging.checks[3]).toMatchObject({ kind: "load", rps: 20, path: "/api", connections: 4, duration: 900_000, timeout: 960_000, thresholds: { error_rate: { value: 0.01 } } });

    const prod = c.environments.prod!;
    expect(prod).toMatchObject({ after: ["staging"], auto: false, target: "process", selfHeal: false });
    expect(prod.approval).toEqual({ required: 1, from: [], preventSelfReview: false, timeout: 2_592_000_000 });
    expect(prod.windows.map((w) => [w.kind, w.duration, w.timezone, w.cron.text])).toEqual([
      ["allow", 28_800_000, "America/New_York", "0 9-16 * * mon-thu"],
      ["deny", 86_400_000, "UTC", "@yearly"],
    ]);
    expect(prod.windows[0]?.cron.daysOfWeek).toEqual([1, 2, 3, 4]);
    expect(prod.policy).toEqual({
      signature: "required",
      provenance: "warn",
      sbom: "off",
      keys: ["keys/release.pub"],
      identities: [{ issuer: "https://token.actions.githubusercontent.com", subject: "repo:acme/api:ref:refs/heads/main" }],
    });
    expect(prod.strategy).toEqual({
      kind: "canary",
      interval: 120_000,
      steps: [
        { kind: "weight", weight: 5, interval: 120_000 },
        { kind: "pause" },
        { kind: "weight", weight: 25, interval: 300_000 },
        { kind: "pause", duration: 600_000 },
        { kind: "weight", weight: 50, interval: 120_000 },
      ],
      analysis: {
        provider: { kind: "prometheus", address: "http://localhost:9090" },
        conditions: { success_rate: { op: ">=", value: 0.99, unit: "ratio", text: ">=99%" }, p95: { op: "<", value: 300, unit: "ms", text: "<0.3s" } },
        metrics: [
          { name: "queue", source: { kind: "prometheus", address: "http://localhost:9090", query: "sum(queue_depth)" }, condition: { op: "<", value: 100, unit: "number", text: "<100" } },
          { name: "errors", source: { kind: "http", url: "https://stats.example.com/x", field: "data.rate", headers: { Authorization: { from: "secret", name: "STATS" } } }, condition: { op: "<", value: 0.02, unit: "ratio", text: "<2%" } },
        ],
        minRequests: 200,
        failureLimit: 1,
        consecutiveErrorLimit: 2,
      },
    });
    expect(prod.rollback).toEqual({ automatic: false, alert: ["ops"] });
    expect(c.alerts.ops).toMatchObject({ type: "webhook", url: { from: "literal", value: "https://hooks.example.com/deploy" }, headers: { "X-Token": { from: "secret", name: "HOOK" } } });
    expect(c.alerts.pagerduty).toMatchObject({ type: "pagerduty", severity: "critical", url: "http://127.0.0.1:9999/v2/enqueue", routingKey: { from: "env", name: "PD_KEY" } });
  });

  it("applies every default to a minimal file", () => {
    const c = valid(`services:
  web:
    release: { workflow: ci.yml }
    run: { command: node server.js }
environments:
  dev:
  prod: { after: dev, strategy: canary }
`);
    expect(c.services.web).toEqual({
      name: "web",
      position: { line: 2, column: 3 },
      release: { kind: "workflow", workflow: "ci.yml", artifact: "web" },
      run: { command: "node server.js", cwd: ".", instances: 1, stopTimeout: 30_000, health: { path: "/up", interval: 1000, timeout: 5000, healthyThreshold: 1, unhealthyThreshold: 3, startTimeout: 30_000 } },
      env: {},
    });
    expect(c.environments.dev).toEqual({
      name: "dev",
      position: { line: 6, column: 3 },
      after: [],
      auto: false,
      target: "process",
      router: "builtin",
      selfHeal: true,
      services: { web: { instances: 1, env: {} } },
      strategy: { kind: "rolling", maxSurge: { percent: 25 }, maxUnavailable: { percent: 25 } },
      windows: [],
      policy: { signature: "off", provenance: "off", sbom: "off", keys: [], identities: [] },
      migrations: { apply: true, unsafe: "block" },
      checks: [],
      rollback: { automatic: true, alert: [] },
    });
    expect(c.environments.prod?.strategy).toMatchObject({
      kind: "canary",
      interval: 60_000,
      steps: [10, 20, 30, 40, 50].map((weight) => ({ kind: "weight", weight, interval: 60_000 })),
      analysis: { provider: { kind: "builtin" }, conditions: { error_rate: { op: "<", value: 0.01 }, p99: { op: "<", value: 500 } }, metrics: [], minRequests: 50, failureLimit: 0, consecutiveErrorLimit: 4 },
    });
    expect(c.alerts).toEqual({});
  });

  it("needs no environments, takes `blue-green: {}` and `analysis: false`, and resolves anchors", () => {
    expect(valid(SERVICE).environments).toEqual({});
    const c = valid(`services:
  a: { release: { file: a.tgz }, run: &run { command: ./start, health: /ok } }
  b: { release: { file: b.tgz }, run: *run }
environments:
  x: { strategy: { blue-green: {} } }
  y: { after: x, strategy: { canary: { steps: [50, 100], analysis: false } } }
`);
    expect(c.services.b?.run).toEqual(c.services.a?.run);
    expect(c.environments.x?.strategy).toEqual({ kind: "blue-green", scaleDownDelay: 30_000, autoPromote: true });
    expect(c.environments.y?.strategy).toEqual({ kind: "canary", interval: 60_000, steps: [{ kind: "weight", weight: 50, interval: 60_000 }, { kind: "weight", weight: 100, interval: 60_000 }] });
  });

  it("orders environments so that each comes after those it names (a DAG, file order among peers)", () => {
    const c = valid(`${SERVICE}environments:
  prod: { after: [staging, qa] }
  dev: {}
  qa: { after: dev }
  staging: { after: dev }
  preview: {}
`);
    expect(c.environmentOrder).toEqual(["dev", "qa", "staging", "prod", "preview"]);
  });

  it("keeps warnings beside a valid model: secrets written in the file", () => {
    const r = parseDeliveryConfig(`${SERVICE}alerts:\n  slack: { webhook_url: "https://hooks.slack.com/services/T/B/x" }\n`);
    expect(r.config?.alerts.slack).toBeDefined();
    expect(r.diagnostics).toEqual([
      {
        code: "literal-secret",
        severity: "warning",
        message: "alerts.slack.webhook_url: the Slack webhook URL is written in the file, where everyone with the repository can read it",
        file: "slipway.yml",
        line: 4,
        column: 25,
        path: "alerts.slack.webhook_url",
        fix: "store it with `slipway secrets set NAME` and write secret:NAME",
      },
    ]);
  });
});

describe("diagnostics", () => {
  it("reports each problem at its line and column, with the field path and a fix", () => {
    const text = `services:
  web:
    release: { workflow: ci.yml, file: web.tgz }
    run:
      comand: node server.js
      health: { path: healthz, interval: 5 }
    env: { PORT: "1", 9X: a }
environments:
  dev: { auto: yes, strategy: rollin }
  staging:
    after: [dev, stagng]
    strategy:
      canary:
        steps: [5, 150, 25, pause, { pause: 10x }]
        interval: 1 min
        analysis: { error_rate: "1%", p99: "<500", min_request: 5 }
    window: { cron: "0 25 * * *", duration: 1h, timezone: Europe/Berln }
  prod:
    after: staging
    approval: { required: 0, from: [a, a] }
    checks:
      - smoke: { got: /x }
      - load: { rps: "100" }
    rollback: { alert: [pagerdty] }
alerts:
  pagerduty: { routing_key: secret:PD_KEY }
`;
    const { config, diagnostics } = parseDeliveryConfig(text, "slipway.yml");
    expect(config).toBeUndefined();
    expect(where(diagnostics)).toEqual([
      "3:40 release-conflict services.web.release.file",
      "5:7 unknown-key services.web.run.comand",
      "5:7 missing-key services.web.run",
      "6:23 bad-value services.web.run.health.path",
      "6:42 bad-duration services.web.run.health.interval",
      "7:12 reserved-name services.web.env.PORT",
      "7:23 bad-name services.web.env.9X",
      "9:16 wrong-type environments.dev.auto",
      "9:31 bad-value environments.dev.strategy",
      "11:18 unknown-environment environments.staging.after[1]",
      "14:20 bad-canary-step environments.staging.strategy.canary.steps[1]",
      "14:45 bad-duration environments.staging.strategy.canary.steps[4].pause",
      "15:19 bad-duration environments.staging.strategy.canary.interval",
      "16:33 bad-threshold environments.staging.strategy.canary.analysis.error_rate",
      "16:44 bad-threshold environments.staging.strategy.canary.analysis.p99",
      "16:52 unknown-key environments.staging.strategy.canary.analysis.min_request",
      "17:21 bad-cron environments.staging.window.cron",
      "17:59 bad-timezone environments.staging.window.timezone",
      "20:27 out-of-range environments.prod.approval.required",
      "20:40 duplicate-value environments.prod.approval.from[1]",
      "22:16 bad-check environments.prod.checks[0].smoke",
      "22:18 unknown-key environments.prod.checks[0].smoke.got",
      "23:22 wrong-type environments.prod.checks[1].load.rps",
      "24:25 unknown-alert environments.prod.rollback.alert[0]",
    ]);
    for (const d of diagnostics) {
      expect(d.file).toBe("slipway.yml");
      expect(d.severity).toBe("error");
      expect(d.fix, d.message).toBeTruthy();
      expect(d.message.startsWith(`${d.path}: `), d.message).toBe(true);
    }
    const byPath = (path: string) => diagnostics.find((d) => d.path === path)!;
    expect(byPath("services.web.run.comand").fix).toBe("did you mean 'command'?");
    expect(byPath("services.web.run.health.interval")).toMatchObject({ message: "services.web.run.health.interval: the duration 5 has no unit", fix: "write 5s for seconds (or ms, m, h, d)" });
    expect(byPath("environments.dev.auto").message).toContain("('yes' is a string in YAML 1.2)");
    expect(byPath("environments.dev.strategy").fix).toBe("did you mean 'rolling'?");
    expect(byPath("environments.staging.strategy.canary.steps[1]").message).toContain("expected a traffic weight from 1 to 100, got 150");
    expect(byPath("environments.staging.strategy.canary.interval").message).toContain("unknown unit 'min'");
    expect(byPath("environments.staging.strategy.canary.analysis.error_rate").fix).toContain('"<1%"');
    expect(byPath("environments.staging.strategy.canary.analysis.p99").fix).toContain('"<500ms"');
    expect(byPath("environments.staging.strategy.canary.analysis.min_request").fix).toBe("did you mean 'min_requests'?");
    expect(byPath("environments.staging.window.cron").message).toContain("hour 25 is out of range 0-23");
    expect(byPath("environments.staging.window.timezone").fix).toBe("did you mean Europe/Berlin?");
    expect(byPath("environments.prod.checks[1].load.rps").fix).toBe("write 100 without quotes");
    expect(byPath("environments.prod.rollback.alert[0]").fix).toBe("did you mean 'pagerduty'?");
  });

  it("reads the router and stickiness of an environment, and reports bad ones", () => {
    const c = valid(`${SERVICE}environments:\n  a: { router: haproxy, sticky: { cookie: session } }\n  b: { sticky: { header: X-User } }\n  c: {}\n`);
    expect(c.environments.a).toMatchObject({ router: "haproxy", sticky: { cookie: "session" } });
    expect(c.environments.b).toMatchObject({ router: "builtin", sticky: { header: "X-User" } });
    expect(c.environments.c?.sticky).toBeUndefined();
    const bad = parseDeliveryConfig(`${SERVICE}environments:\n  a: { router: nginx }\n  b: { sticky: { header: X, cookie: y } }\n  c: { sticky: { header: "a b" } }\n`, "slipway.yml");
    expect(bad.config).toBeUndefined();
    const errors = bad.diagnostics.filter((d) => d.severity === "error");
    expect(where(errors)).toEqual(["4:16 bad-value environments.a.router", "5:16 bad-sticky environments.b.sticky", "6:26 bad-value environments.c.sticky.header"]);
    expect(errors[0]?.fix).toBe("nginx is not supported yet: use builtin or haproxy");
  });

  it("reports a cycle of `after:` once, and an environment after itself", () => {
    const { config, diagnostics } = parseDeliveryConfig(`${SERVICE}environments:
  a: { after: c }
  b: { after: a }
  c: { after: [b] }
  d: { after: d }
`);
    expect(config).toBeUndefined();
    expect(diagnostics.map((d) => [d.line, d.column, d.code, d.message])).toEqual([
      [5, 15, "after-cycle", "environments.b.after: environments form a cycle: a → b → c → a"],
      [7, 15, "after-cycle", "environments.d.after: environment 'd' cannot come after itself"],
    ]);
    expect(diagnostics[0]?.fix).toContain("remove one `after:` entry");
  });

  it("warns that keyless identities are not verified", () => {
    const { config, diagnostics } = parseDeliveryConfig(
      `${SERVICE}environments:\n  prod:\n    policy:\n      signature: required\n      identities: [{ issuer: "https://token.actions.githubusercontent.com", subject: "repo:acme/api:ref:refs/heads/main" }]\n`,
    );
    expect(config).toBeDefined();
    expect(diagnostics).toMatchObject([{ severity: "warning", code: "not-verified", line: 7, path: "environments.prod.policy.identities", fix: expect.stringContaining("under `keys`") }]);
  });

  it("names the environments when `after:` names an unknown one", () => {
    const { diagnostics } = parseDeliveryConfig(`${SERVICE}environments:\n  dev: {}\n  prod: { after: [qa] }\n`);
    expect(diagnostics).toMatchObject([{ code: "unknown-environment", line: 5, column: 19, path: "environments.prod.after[0]", message: "environments.prod.after[0]: no environment is named 'qa'", fix: "name one of: dev; or define 'qa' under environments:" }]);
  });

  it("suggests the closest key, or lists the known keys", () => {
    const { diagnostics } = parseDeliveryConfig(`${SERVICE}enviroments:\n  dev: { stratgy: rolling, strategy: { blue_green: {} }, colour: red }\n`);
    expect(diagnostics.map((d) => [d.line, d.column, d.path, d.fix])).toEqual([
      [3, 1, "enviroments", "did you mean 'environments'?"],
    ]);
    const inner = parseDeliveryConfig(`${SERVICE}environments:\n  dev: { stratgy: rolling, strategy: { blue_green: {} }, colour: red }\n`).diagnostics;
    expect(inner.map((d) => [d.line, d.column, d.path, d.fix])).toEqual([
      [4, 10, "environments.dev.stratgy", "did you mean 'strategy'?"],
      [4, 40, "environments.dev.strategy.blue_green", "did you mean 'blue-green'?"],
      [4, 58, "environments.dev.colour", expect.stringMatching(/^known keys: after, auto, target, /)],
      // The strategy mapping lost its only key, so it names no strategy.
      [4, 38, "environments.dev.strategy", "write one of: rolling, blue-green, canary"],
    ].sort((x, y) => (x[0] as number) - (y[0] as number) || (x[1] as number) - (y[1] as number)));
  });

  it("reports bad durations, thresholds, steps and amounts in strategies", () => {
    const { diagnostics } = parseDeliveryConfig(`${SERVICE}environments:
  a: { strategy: { rolling: { max_surge: 0, max_unavailable: "0%" } } }
  b: { strategy: { blue-green: { scale_down_delay: -1s, preview_port: 70000 } } }
  c: { strategy: { canary: { steps: [50, 25], interval: 0s } } }
  d: { strategy: { canary: { steps: [], analysis: { min_requests: 10 } } } }
  e: { strategy: { canary: { steps: [pause, { weight: 5, pause: 1m }] } } }
  f: { strategy: { canary: null, rolling: {} } }
`);
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`)).toEqual([
      "4:62 bad-value environments.a.strategy.rolling.max_unavailable: max_surge and max_unavailable are both 0, so no instance could ever be replaced",
      "5:52 bad-duration environments.b.strategy.blue-green.scale_down_delay: the duration '-1s' is negative",
      "5:71 out-of-range environments.b.strategy.blue-green.preview_port: 70000 is out of range: a TCP port from 1 to 65535",
      "6:42 bad-canary-step environments.c.strategy.canary.steps[1]: the weight 25 does not increase on the step before (50)",
      "6:57 bad-duration environments.c.strategy.canary.interval: the duration must be longer than 0",
      "7:37 bad-canary-step environments.d.strategy.canary.steps: the canary has no steps",
      "7:51 analysis-empty environments.d.strategy.canary.analysis: the analysis has no condition, so it could never fail",
      "8:65 bad-canary-step environments.e.strategy.canary.steps[1].pause: a step either pauses or sets a weight",
      "9:34 bad-strategy environments.f.strategy.rolling: an environment has one strategy",
    ]);
  });

  it("reports wrong types in plain words", () => {
    const { diagnostics } = parseDeliveryConfig(`services: [web]\nenvironments: prod\nalerts: { ops: { type: email } }\n`);
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message} | ${d.fix}`)).toEqual([
      "1:11 wrong-type services: expected a mapping of service names to services, got a list | write a mapping of service names to services",
      "2:15 wrong-type environments: expected a mapping of environment names to environments, got the string 'prod' | write a mapping of environment names to environments",
      "3:24 bad-value alerts.ops.type: expected one of pagerduty, slack, webhook, got the string 'email' | write one of: pagerduty, slack, webhook",
    ]);
  });

  it("checks names, references and ports", () => {
    const { diagnostics } = parseDeliveryConfig(`services:
  Web_App: { release: { file: /abs/web.tgz }, run: { command: x } }
  api:
    release: { workflow: build }
    run: { command: [] }
    migrations: { dir: ../db, database: secret:not-a-name }
environments:
  dev:
    services: { ap: { port: 8080 } }
  qa:
    services: { api: { port: 8080 } }
    target: kubernetes
`);
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.path} | ${d.fix}`)).toEqual([
      "2:3 bad-name Web_App | use lower-case letters, digits and '-' (at most 63, starting and ending with a letter or digit)".replace("Web_App", "services.Web_App"),
      "4:26 bad-value services.api.release.workflow | name a file in .github/workflows/, e.g. ci.yml",
      "5:21 empty-value services.api.run.command | write the program and its arguments",
      "6:24 bad-path services.api.migrations.dir | write a path inside the repository, without '..'",
      "6:41 bad-reference services.api.migrations.database | write secret:NAME with a name of letters, digits and '_'",
      "9:17 unknown-service environments.dev.services.ap | did you mean 'api'?",
      "12:13 bad-value environments.qa.target | only the process target exists for now: remove `target:` or write `target: process`",
    ]);
  });

  it("reports a port used twice", () => {
    const { diagnostics } = parseDeliveryConfig(`${SERVICE}environments:
  dev: { services: { web: { port: 8080 } } }
  qa:
    services: { web: { port: 8081 } }
    strategy: { blue-green: { preview_port: 8080 } }
`);
    expect(diagnostics).toMatchObject([
      { code: "port-conflict", line: 7, column: 45, path: "environments.qa.strategy.blue-green.preview_port", message: "environments.qa.strategy.blue-green.preview_port: port 8080 is already used by environments.dev.services.web.port" },
    ]);
  });

  it("reports YAML syntax, duplicate keys, unknown anchors and empty files", () => {
    const syntax = parseDeliveryConfig("services:\n  web: { release: [\n");
    expect(syntax.diagnostics).toHaveLength(1);
    expect(syntax.diagnostics[0]).toMatchObject({ code: "yaml-syntax", line: 3, column: 1 });
    expect(syntax.diagnostics[0]?.message).not.toMatch(/at line/);

    const dup = parseDeliveryConfig(`${SERVICE}  web: { release: { file: b.tgz }, run: { command: y } }\n`);
    expect(dup.diagnostics).toMatchObject([{ code: "duplicate-key", line: 3, column: 3, path: "services.web", message: "services.web: 'web' is given twice (first at line 2)" }]);

    const alias = parseDeliveryConfig(`services:\n  web: { release: { file: a }, run: *nope }\n`);
    expect(alias.diagnostics).toMatchObject([{ code: "yaml-alias", line: 2, column: 37, path: "services.web.run", fix: "define &nope before it, or write the value out" }]);

    expect(parseDeliveryConfig("# nothing yet\n").diagnostics).toMatchObject([{ code: "empty-file", line: 0 }]);
    expect(parseDeliveryConfig("a: 1\n---\nb: 2\n").diagnostics).toMatchObject([{ code: "yaml-syntax", line: 2, column: 1, fix: expect.stringContaining("one YAML document") }]);
    expect(parseDeliveryConfig("environments: {}\n").diagnostics).toMatchObject([{ code: "missing-key", message: "'services' is required", line: 1, column: 1 }]);
  });

  it("reports problems in gates, checks and alerts", () => {
    const { diagnostics } = parseDeliveryConfig(`${SERVICE}environments:
  prod:
    approval: { required: 2, from: release-managers, prevent_self_review: "true" }
    window: [{ cron: "0 9 * * *" }, { cron: "0 9 * * * *", duration: 1h, timezone: "+02:00", kind: allow }]
    policy: { signature: true, keys: [/etc/key.pem] }
    checks:
      - smoke: { get: /x, body: hi }
      - { smoke: [{ get: / }], load: { rps: 1 } }
      - health: 1m
        timeout: 30s
      - load: { rps: 10, thresholds: { errors: "<1%", error_rate: "<2%", p95: "300ms" } }
      - workflow: e2e
      - name: nothing
    rollback: { automatic: "no", alert: [pagerduty] }
alerts:
  pagerduty: { routing_key: "" }
  team: { url: "https://x" }
`);
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.path}`)).toEqual([
      "5:75 wrong-type environments.prod.approval.prevent_self_review",
      "6:14 missing-key environments.prod.window[0]",
      "6:45 bad-cron environments.prod.window[1].cron",
      "6:84 bad-timezone environments.prod.window[1].timezone",
      "7:26 bad-value environments.prod.policy.signature",
      "7:39 bad-path environments.prod.policy.keys[0]",
      "9:33 bad-check environments.prod.checks[0].smoke.body",
      "10:32 bad-check environments.prod.checks[1].load",
      "12:18 bad-duration environments.prod.checks[2].timeout",
      "13:40 duplicate-key environments.prod.checks[3].load.thresholds.errors",
      "13:79 bad-threshold environments.prod.checks[3].load.thresholds.p95",
      "14:19 bad-value environments.prod.checks[4].workflow",
      "15:9 bad-check environments.prod.checks[5]",
      "16:28 wrong-type environments.prod.rollback.automatic",
      "18:29 empty-value alerts.pagerduty.routing_key",
      "19:3 missing-key alerts.team",
    ]);
    const fixOf = (path: string) => diagnostics.find((d) => d.path === path)?.fix;
    expect(fixOf("environments.prod.policy.signature")).toBe("write required");
    expect(fixOf("environments.prod.window[1].timezone")).toContain("Etc/GMT");
    expect(fixOf("environments.prod.window[1].cron")).toContain("five fields");
    expect(fixOf("alerts.team")).toBe("add `type: webhook` (or pagerduty, slack)");
    expect(diagnostics.find((d) => d.path === "environments.prod.window[1].cron")?.message).toContain("seconds and years are not supported");
  });
});

describe("robustness", () => {
  it("never throws: every value of the example replaced by each type gives diagnostics with positions, or a model", async () => {
    const { parseDocument, visit, isScalar, isCollection } = await import("yaml");
    const text = readFileSync(resolve(import.meta.dirname, "../../examples/hello/slipway.yml"), "utf8");
    const count = { variants: 0, errors: 0 };
    const replacements: unknown[] = [null, -1, "x", true, [], { a: 1 }];
    let total = 0;
    visit(parseDocument(text), { Node: (_k, n) => void ((isScalar(n) || isCollection(n)) && total++) });
    for (let target = 0; target < total; target++) {
      for (const replacement of replacements) {
        const doc = parseDocument(text);
        let i = 0;
        visit(doc, {
          Node(_key, node) {
            if (!isScalar(node) && !isCollection(node)) return undefined;
            if (i++ === target) return doc.createNode(replacement);
            return undefined;
          },
        });
        const mutated = doc.toString();
        const r = parseDeliveryConfig(mutated, "m.yml");
        count.variants++;
        if (r.config === undefined) {
          count.errors++;
          const errors = r.diagnostics.filter((d) => d.severity === "error");
          expect(errors.length, mutated).toBeGreaterThan(0);
          for (const d of errors) {
            expect(d.fix, d.message).toBeTruthy();
            if (d.code !== "empty-file") expect(d.line, `${d.message}\n${mutated}`).toBeGreaterThan(0);
          }
        }
      }
    }
    expect(count.variants).toBe(total * replacements.length);
    expect(count.errors).toBeGreaterThan(count.variants / 2);
  });
});
