// The delivery control loop: reconciles each environment's desired state
// (the state repository) with what runs (supervised processes behind a
// router), drives rollouts by strategy, promotes along the environment chain
// through the gates, rolls back (reverting Git) and heals drift.
export { ControlLoop, type ControlLoopOptions } from "./controller.js";
export { driveRollout, RolloutFailure, type RolloutDeps, type RolloutOutcome, type SlotRuntime, type SlotInstance, type Interrupt, type Measurement } from "./rollout.js";
export { checkGates, checkMigrationGate, commitPromotion, desiredStateFor, storedRelease, nextRelease, releaseName, releaseNumber, type GateResult } from "./promotion.js";
export { deliveryStatus, type ServiceStatus, type SyncState } from "./status.js";
export { configHash, effectiveService, type EffectiveService } from "./service-config.js";
export { makeResolver, MissingValueError, type Resolve } from "./values.js";
export { workflowCheckRunner } from "./workflow-check.js";
export { jobEnvironmentGates, runApprovalSubject, waitForEnvironmentGates, type JobGateState } from "./job-gates.js";
