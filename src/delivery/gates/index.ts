// Gates: conditions that must hold before a rollout starts. Manual approval,
// deployment windows, the signature and provenance policy, and the migration
// gate; each a pure function of the spec and what the caller read (recorded
// decisions, the clock, a release's verified evidence, the migrations of the
// releases involved).
export { evaluateApproval, type ApprovalDecision, type ApprovalInput, type ApprovalState, type ApprovalVerdict } from "./approval.js";
export { evaluateWindows, WINDOW_HORIZON_MS, type WindowOverride, type WindowVerdict } from "./window.js";
export {
  evaluateSignaturePolicy,
  normalizeRepository,
  policyApplies,
  type AttestationEvidence,
  type BundleCheck,
  type ProvenanceClaims,
  type SignatureVerdict,
} from "./signature.js";
export { ZoneClock, type ZonedTime } from "./zone-clock.js";
export { evaluateMigrationGate, type ContractChange, type MigrationGateInput, type MigrationGateVerdict, type RunningRelease, type SchemaUse } from "./migrations.js";
