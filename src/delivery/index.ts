// The delivery module: slipway.yml (services, environments, gates, checks,
// rollback, alerts) → a typed model with diagnostics.
export type {
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
  MigrationsSpec,
  PolicyLevel,
  Position,
  ReleasePolicy,
  ReleaseSource,
  Rollback,
  RunSpec,
  ServiceSpec,
  SmokeRequest,
  Strategy,
  ValueSource,
} from "./model.js";
export { parseDeliveryConfig, DEFAULTS, NAME, NAME_FIX, STRATEGIES, type DeliveryConfigResult } from "./parse-config.js";
export { loadDeliveryConfig, findDeliveryConfig, CONFIG_FILES, type LoadOptions } from "./load-config.js";
export { parseDuration, formatDuration, type Parsed } from "./duration.js";
export { parseThreshold, meetsThreshold, parseAmount, type Threshold, type Comparator, type Amount, type ThresholdKind } from "./threshold.js";
export { parseCron, cronMatches, type CronSchedule, type WallClock } from "./cron.js";
export { parseTimeZone } from "./time-zone.js";
// Runtime parts, one folder each: analysis, alerts, checks, gates.
export { measure, AnalysisRun, assessRun, type Measurement as AnalysisMeasurement, type WindowStats as AnalysisWindowStats } from "./analysis/index.js";
export { sendAlert, type Alert, type AlertResult } from "./alerts/index.js";
export { runCheck, runLoad, startLoad, evaluateThresholds, type CheckResult, type RunWorkflow, type LoadOptions as LoadTestOptions, type LoadReport, type LoadHandle } from "./checks/index.js";
export {
  evaluateApproval,
  evaluateWindows,
  evaluateSignaturePolicy,
  policyApplies,
  evaluateMigrationGate,
  type ApprovalDecision,
  type ApprovalVerdict,
  type WindowVerdict,
  type AttestationEvidence,
  type BundleCheck,
  type ProvenanceClaims,
  type ContractChange,
  type MigrationGateVerdict,
  type RunningRelease,
  type SchemaUse,
} from "./gates/index.js";
