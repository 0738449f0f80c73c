export { loadActionFile, type ActionMetadata, type ActionInput, type ActionOutput, type ActionRuns } from "./action-file.js";
export { resolveAction, isLocalUses, builtinFor, ActionResolutionError, type ResolveOptions, type ResolvedAction } from "./resolve.js";
export { fetchRemoteAction, listRemoteRefs, parseActionSource, parseRemoteUses, type ActionSource, type RemoteRef } from "./remote.js";
export { ACTION_COMPLETE_MARKER, actionCacheDir, cachedActionCommit } from "./cache-layout.js";
export { builtinActions, ActionError, type BuiltinAction, type BuiltinAnnotation, type BuiltinContext, type BuiltinRepo, type SharedCache } from "./builtin/index.js";
export { adoptCacheEntry, deleteCacheEntry, findCacheEntry, listCacheEntries, saveCache, type CacheEntry, type CacheLookup } from "./builtin/index.js";
export {
  type ArtifactFile,
  type ArtifactManifest,
  artifactDigestHex,
  artifactManifestBytes,
  artifactRunIds,
  deleteArtifact,
  listArtifacts,
  manifestPath,
  readArtifact,
  storeArtifactFiles,
  uploadArtifact,
  validateArtifactName,
} from "./builtin/index.js";
