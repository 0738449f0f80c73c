// The state repository (GitOps): desired state per environment and service in
// Git, one commit per promotion or rollback; its history is the audit trail.
export {
  openStateRepository,
  defaultStateRepositoryPath,
  StateRepository,
  type Actor,
  type OpenStateRepositoryOptions,
  type DesiredEntry,
  type DesiredRead,
  type CommitDesiredInput,
  type CommitResult,
  type HistoryEntry,
} from "./state-repository.js";
export {
  parseDesiredState,
  serializeDesiredState,
  parseStatePath,
  statePath,
  validateName,
  validateDesiredState,
  StateRepositoryError,
  STRATEGY_NAMES,
  type DesiredState,
  type StrategyName,
  type StateRepositoryErrorCode,
} from "./desired-state.js";
export { formatCommitMessage, parseCommitMessage, type Action, type ParsedCommitMessage } from "./commit-message.js";
