// Automatic releases: after `slipway run`, every service whose slipway.yml
// `release:` names a workflow that just succeeded on the release branch (the
// default branch unless `branch:` says otherwise) gets a release of that
// run's artifact. Built once: a run whose artifact has the same content as an
// existing release makes no new one.

import { posix } from "node:path";
import type { DeliveryConfig } from "../delivery/index.js";
import type { ReleaseRecord, RunRecord, Store } from "../store/index.js";
import { createRelease } from "./release.js";

export interface AutomaticRelease {
  service: string;
  runId: number;
  release?: ReleaseRecord;
  created?: boolean;
  /** Why no release could be made (e.g. the run uploaded no artifact of that name). */
  error?: string;
}

/** Which services release from this run, by their `release:` (pure). */
export function servicesReleasedBy(config: DeliveryConfig, run: Pick<RunRecord, "workflowPath" | "ref" | "conclusion">, defaultBranch: string): string[] {
  if (run.conclusion !== "success") return [];
  const services: string[] = [];
  for (const service of Object.values(config.services)) {
    const source = service.release;
    if (source.kind !== "workflow") continue;
    if (run.ref !== `refs/heads/${source.branch ?? defaultBranch}`) continue;
    if (!sameWorkflow(source.workflow, run.workflowPath)) continue;
    services.push(service.name);
  }
  return services;
}

/** `ci.yml` names `.github/workflows/ci.yml`; a path with a slash is compared whole. */
function sameWorkflow(named: string, runWorkflowPath: string): boolean {
  const normal = posix.normalize(named.replace(/^\.\//, ""));
  return normal.includes("/") ? normal === runWorkflowPath : posix.basename(runWorkflowPath) === normal;
}

export async function releaseAfterRuns(options: {
  store: Store;
  dataDir: string;
  config: DeliveryConfig;
  runIds: number[];
  defaultBranch: string;
  createdBy: string;
  /** The repository folder (SBOM and provenance, see createRelease); default: the current folder. */
  repoDir?: string;
}): Promise<AutomaticRelease[]> {
  const results: AutomaticRelease[] = [];
  for (const runId of options.runIds) {
    const run = options.store.getRun(runId);
    if (!run) continue;
    for (const service of servicesReleasedBy(options.config, run, options.defaultBranch)) {
      const spec = options.config.services[service];
      const artifact = spec?.release.kind === "workflow" ? spec.release.artifact : undefined;
      try {
        const made = await createRelease({
          store: options.store,
          dataDir: options.dataDir,
          service,
          source: { kind: "run", runId, ...(artifact !== undefined ? { artifact } : {}) },
          createdBy: options.createdBy,
          ...(options.repoDir !== undefined ? { repoDir: options.repoDir } : {}),
        });
        results.push({ service, runId, ...made });
      } catch (err) {
        results.push({ service, runId, error: (err as Error).message });
      }
    }
  }
  return results;
}
