export { git, tryGit, GitError, type GitErrorCode } from "./git.js";
export {
  type EventInfo,
  type RepoInfo,
  type BuildEventOptions,
  ZERO_SHA,
  readRepo,
  buildEvent,
  parseRemoteUrl,
} from "./event.js";
