export { runWorkflow, WorkflowRun, processOwner, ownerAlive, ownerPid, type RunReporter, type RunWorkflowOptions, type RunSummary } from "./run-workflow.js";
export { ConcurrencyGroups } from "./concurrency.js";
export { Semaphore } from "./semaphore.js";
export {
  QueueDispatcher,
  defaultJobAttempts,
  evaluateWorkflowEnv,
  openJobSecrets,
  resealQueuedJobSecrets,
  payloadRepository,
  runsOnLabels,
  sealJobSecrets,
  type QueueDispatcherOptions,
  type QueuedJobPayload,
  type JobSecrets,
} from "./queue.js";
