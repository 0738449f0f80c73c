export { git, gitBytes, tryGit, GitError, type GitErrorCode, type GitOptions } from "./git.js";
export { STALL_LIMITS } from "./stall-limits.js";
export {
  type EventInfo,
  type RepoInfo,
  type BuildEventOptions,
  ZERO_SHA,
  readRepo,
  buildEvent,
  parseRemoteUrl,
} from "./event.js";
export { HostedRepositories, REPOSITORY_NAME, diffRefs, type RefUpdate, type RepositoryInfo } from "./hosted-repositories.js";
export {
  checkMatches,
  decide,
  protectionFile,
  readProtection,
  ruleFor,
  writeProtection,
  type BranchProtection,
  type CheckState,
  type CheckStatus,
  type PushFacts,
} from "./protected-branches.js";
