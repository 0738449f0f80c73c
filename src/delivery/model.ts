// The typed model of slipway.yml. Durations are milliseconds; every default
// is applied (docs/slipway-yml.md says where each one comes from).
import type { CronSchedule } from "./cron.js";
import type { Diagnostic } from "../diagnostics/index.js";
import type { Amount, Threshold } from "./threshold.js";

/** A diagnostic on slipway.yml also names the field it concerns, e.g. `environments.prod.strategy.canary.steps[2]`. */
export interface DeliveryDiagnostic extends Diagnostic {
  path: string;
}

export interface Position {
  line: number;
  column: number;
}

/** A value written literally, or read when it is used: `env:NAME` from Slipway's environment, `secret:NAME` from its secret store. */
export type ValueSource = { from: "literal"; value: string } | { from: "env"; name: string } | { from: "secret"; name: string };

export interface DeliveryConfig {
  file: string;
  /** In file order. */
  services: Record<string, ServiceSpec>;
  environments: Record<string, EnvironmentSpec>;
  alerts: Record<string, AlertChannel>;
  /** Environment names with every environment after those it names in `after` (file order among peers). */
  environmentOrder: string[];
}

export type ReleaseSource =
  /** The artifact uploaded (actions/upload-artifact) by a successful run of the workflow on `branch` (the default branch when absent). */
  | { kind: "workflow"; workflow: string; artifact: string; branch?: string }
  /** A file in the repository or built by hand: `slipway release create --file`. */
  | { kind: "file"; path: string };

export interface HealthCheck {
  path: string;
  interval: number;
  timeout: number;
  /** Consecutive successes before an instance counts as healthy. */
  healthyThreshold: number;
  /** Consecutive failures before a healthy instance counts as unhealthy. */
  unhealthyThreshold: number;
  /** How long a new instance may take to become healthy before its rollout fails. */
  startTimeout: number;
}

export interface RunSpec {
  /** A shell command (run with `sh -c`) or an argument vector. */
  command: string | string[];
  /** Working directory inside the unpacked release. */
  cwd: string;
  instances: number;
  health: HealthCheck;
  /** SIGTERM, then SIGKILL after this long. */
  stopTimeout: number;
}

export interface MigrationsSpec {
  dir: string;
  database: ValueSource;
  /** `lint: { disable: [rule ids] }`: rules `slipway migrations lint` skips for this directory. */
  lint?: { disable: string[] };
}

export interface ServiceSpec {
  name: string;
  position: Position;
  release: ReleaseSource;
  run: RunSpec;
  env: Record<string, ValueSource>;
  migrations?: MigrationsSpec;
}

/** A service as it runs in one environment: the service's settings with the environment's overrides applied. */
export interface EnvironmentService {
  /** The stable port of the environment's router for this service; assigned when first deployed if absent. */
  port?: number;
  instances: number;
  env: Record<string, ValueSource>;
}

export type Strategy =
  | { kind: "rolling"; maxSurge: Amount; maxUnavailable: Amount }
  | { kind: "blue-green"; scaleDownDelay: number; autoPromote: boolean; previewPort?: number; analysis?: Analysis }
  | { kind: "canary"; steps: CanaryStep[]; interval: number; analysis?: Analysis };

export type CanaryStep =
  /** Send `weight`% of requests to the new release, then analyse for `interval`. */
  | { kind: "weight"; weight: number; interval: number }
  /** Wait `duration`, or until `slipway promote` when absent. */
  | { kind: "pause"; duration?: number };

export type MetricName = "error_rate" | "success_rate" | "p50" | "p90" | "p95" | "p99";

export interface CustomMetric {
  name: string;
  source: { kind: "prometheus"; address: string; query: string } | { kind: "http"; url: string; field: string; headers: Record<string, ValueSource> };
  condition: Threshold;
}

export interface Analysis {
  provider: { kind: "builtin" } | { kind: "prometheus"; address: string };
  conditions: Partial<Record<MetricName, Threshold>>;
  metrics: CustomMetric[];
  /** Fewer requests than this in a measurement: inconclusive, never a pass. */
  minRequests: number;
  /** Failed measurements tolerated before the rollout fails (Argo Rollouts `failureLimit`). */
  failureLimit: number;
  /** Consecutive measurement errors tolerated (Argo Rollouts `consecutiveErrorLimit`). */
  consecutiveErrorLimit: number;
}

export interface Approval {
  required: number;
  /** People or groups whose approvals count; empty: anyone with access. */
  from: string[];
  preventSelfReview: boolean;
  timeout: number;
}

export interface DeploymentWindow {
  kind: "allow" | "deny";
  cron: CronSchedule;
  duration: number;
  timezone: string;
}

export type PolicyLevel = "required" | "warn" | "off";

export interface ReleasePolicy {
  signature: PolicyLevel;
  provenance: PolicyLevel;
  sbom: PolicyLevel;
  /** Public keys (PEM files in the repository) a signature may be made with. */
  keys: string[];
  /** Keyless signers (Sigstore certificate identities). */
  identities: { issuer: string; subject: string }[];
  /** `provenance: { source, branch }`: the repository (`owner/name`) and branch the provenance must name. */
  source?: { repository: string; branch?: string };
  /** `provenance: { builder }`: the builder id the provenance must name (default: Slipway's, https://slipway.dev/builder/v1). */
  builder?: string;
}

export interface MigrationGate {
  /** Apply the expand phase of pending migrations before the rollout. */
  apply: boolean;
  /** A migration the running release cannot live with: block the rollout, or warn and go on. */
  unsafe: "block" | "warn";
}

export interface SmokeRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  status: number[];
  contains?: string;
  body?: string;
  headers: Record<string, string>;
}

export type Check = { name: string; timeout: number; position: Position } & (
  | { kind: "smoke"; requests: SmokeRequest[] }
  | { kind: "workflow"; workflow: string; inputs: Record<string, string> }
  | { kind: "load"; rps: number; duration: number; connections: number; path: string; thresholds: Partial<Record<MetricName, Threshold>> }
  | { kind: "health"; duration: number }
);

export interface Rollback {
  automatic: boolean;
  /** Names of entries in `alerts`. */
  alert: string[];
}

export interface EnvironmentSpec {
  name: string;
  position: Position;
  after: string[];
  auto: boolean;
  target: "process";
  /** What splits traffic between releases: Slipway's built-in HTTP proxy, or HAProxy driven through its runtime API. */
  router: "builtin" | "haproxy";
  /** Requests with the same value of this header or cookie go to the same release while the weights stay. */
  sticky?: { header: string } | { cookie: string };
  selfHeal: boolean;
  services: Record<string, EnvironmentService>;
  strategy: Strategy;
  approval?: Approval;
  windows: DeploymentWindow[];
  policy: ReleasePolicy;
  migrations: MigrationGate;
  checks: Check[];
  rollback: Rollback;
}

export type AlertChannel = { name: string; position: Position } & (
  /** PagerDuty Events API v2; `url` is PagerDuty's enqueue endpoint unless set (a local receiver, a proxy). */
  | { type: "pagerduty"; routingKey: ValueSource; severity: "critical" | "error" | "warning" | "info"; url: string }
  | { type: "slack"; webhookUrl: ValueSource; channel?: string }
  | { type: "webhook"; url: ValueSource; headers: Record<string, ValueSource> }
);
