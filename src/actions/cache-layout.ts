// Where a run's remote actions are cached, and what a complete fetch leaves
// behind (remote.ts writes it):
//
//   <dataDir>/actions/<owner>/<repo>/<sha>/                     the files of the commit
//   <dataDir>/actions/<owner>/<repo>/<sha>/.slipway-complete    {"uses","sha","fetchedAt"}, written last
//
// Read by the provenance of a release to say which commit a tag resolved to.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseRemoteUses } from "./remote.js";

/** The marker file of a complete fetch. */
export const ACTION_COMPLETE_MARKER = ".slipway-complete";

const FULL_SHA = /^[0-9a-f]{40}$/i;

/** The action cache of a data directory. */
export function actionCacheDir(dataDir: string): string {
  return join(dataDir, "actions");
}

/** The newest complete fetch of exactly this `uses` (`owner/repo[/path]@ref`) in the cache, if any. */
export function cachedActionCommit(cacheDir: string, uses: string): { sha: string; fetchedAt: string } | undefined {
  const parsed = parseRemoteUses(uses);
  if (!parsed) return undefined;
  const dir = join(cacheDir, parsed.owner, parsed.repo);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  let best: { sha: string; fetchedAt: string } | undefined;
  for (const sha of entries.filter((e) => FULL_SHA.test(e))) {
    try {
      const marker = JSON.parse(readFileSync(join(dir, sha, ACTION_COMPLETE_MARKER), "utf8")) as { uses?: string; fetchedAt?: string };
      if (marker.uses === uses && (!best || (marker.fetchedAt ?? "") > best.fetchedAt)) best = { sha, fetchedAt: marker.fetchedAt ?? "" };
    } catch {
      // an incomplete fetch: not a resolution
    }
  }
  return best;
}
