export {
  decideAffected,
  changedFields,
  globalFilePatterns,
  DEFAULT_GLOBAL_FILES,
  LOCKFILES,
  type AffectedInput,
  type AffectedPackage,
  type AffectedResult,
  type FileChange,
  type Reason,
} from "./affected.js";
export { changedFiles, defaultBase, parseNameStatus, resolveRefs, type ChangeSet } from "./changes.js";
export { findAffected, type FindAffectedOptions, type FindAffectedResult } from "./find-affected.js";
export { buildGraph, findCycles, resolveDependency, type Edge, type PackageGraph } from "./graph.js";
export { npmLockfileEffect } from "./npm-lockfile.js";
export { type LockfileEffect } from "./lock-graph.js";
export { satisfies } from "./semver-range.js";
export { commitTree, memoryTree, workingTree, type Tree } from "./tree.js";
export {
  discoverWorkspace,
  matchWorkspaceFolders,
  workspacePatterns,
  DEPENDENCY_KINDS,
  type DependencyKind,
  type Workspace,
  type WorkspacePackage,
} from "./workspaces.js";
