export {
  type JobResult,
  type JobNode,
  type JobNodeState,
  type RunState,
  type StatusFunctions,
  createRunState,
  readyJobs,
  jobStatusFunctions,
  needsContext,
  markRunning,
  markDone,
  aggregateResults,
  runConclusion,
} from "./run-state.js";
export { expandMatrix, matrixJobName, jsonEqual, MAX_MATRIX_JOBS, type MatrixExpansion } from "./matrix.js";
export { medianDurations, remainingPath, type CriticalPathJob } from "./critical-path.js";
