export { git, gitBytes, tryGit, GitError, type GitErrorCode, type GitOptions } from "./git.js";
export {
  type EventInfo,
  type RepoInfo,
  type BuildEventOptions,
  ZERO_SHA,
  readRepo,
  buildEvent,
  parseRemoteUrl,
} from "./event.js";
