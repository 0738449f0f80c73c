// The process target: releases run as supervised OS processes on this host.
// materializeRelease unpacks a release into its immutable folder;
// ProcessSupervisor starts, health-checks, restarts, stops and, after a
// restart of Slipway, adopts the instances (docs/process-target.md).
export { materializeRelease, releaseFolder, RELEASE_MARKER } from "./release-folder.js";
export {
  ProcessSupervisor,
  BACKOFF,
  type AdoptionResult,
  type ExitInfo,
  type InstanceSpec,
  type InstanceState,
  type InstanceStatus,
  type Stray,
  type SupervisorOptions,
  type TargetEvent,
  type TargetEventKind,
} from "./supervisor.js";
export type { InstanceRecord } from "./state-file.js";
export { TargetError } from "./target-error.js";
