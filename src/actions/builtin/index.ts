// The registry of built-in actions, by lower-case `owner/repo[/path]`.
import type { BuiltinAction } from "./builtin-action.js";
import { cacheAction, cacheRestoreAction, cacheSaveAction } from "./cache.js";
import { downloadArtifactAction, uploadArtifactAction } from "./artifacts.js";
import { checkoutAction } from "./checkout.js";
import { setupNodeAction } from "./setup-node.js";
import { testReportAction } from "./test-report.js";
import { affectedAction } from "./affected.js";
import { dependencyReviewAction, githubDependencyReviewAction } from "./dependency-review.js";

export { type BuiltinAction, type BuiltinAnnotation, type BuiltinContext, type BuiltinRepo, type SharedCache, ActionError } from "./builtin-action.js";
export { adoptCacheEntry, deleteCacheEntry, findCacheEntry, listCacheEntries, saveCache, type CacheEntry, type CacheLookup } from "./cache.js";
export { type ArtifactFile, type ArtifactManifest, artifactDigestHex, artifactManifestBytes, artifactRunIds, deleteArtifact, listArtifacts, manifestPath, readArtifact, storeArtifactFiles, uploadArtifact, validateArtifactName } from "./artifacts.js";

export const builtinActions: ReadonlyMap<string, BuiltinAction> = new Map(
  [
    checkoutAction,
    cacheAction,
    cacheSaveAction,
    cacheRestoreAction,
    uploadArtifactAction,
    downloadArtifactAction,
    setupNodeAction,
    testReportAction,
    affectedAction,
    dependencyReviewAction,
    githubDependencyReviewAction,
  ].map((a) => [a.name, a]),
);
