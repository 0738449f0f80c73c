// `slipway release create` and `slipway releases`: make a release of a
// service from a successful run's artifact or from a file or folder, and list
// the releases.
import { userInfo } from "node:os";
import { findDeliveryConfig, loadDeliveryConfig } from "../delivery/index.js";
import { readRepo } from "../git/index.js";
import { createRelease, validateServiceName, type ReleaseSource } from "../release/index.js";
import { openDataStore, type ReleaseRecord } from "../store/index.js";
import { dataDirFor, EXIT, UsageError, withStore, workDir, type GlobalOptions } from "./common.js";
import { formatBytes, paint, table } from "./style.js";

export interface ReleaseCreateOptions extends GlobalOptions {
  service?: string;
  fromRun?: string;
  artifact?: string;
  file?: string;
  json?: boolean;
}

export async function releaseCreateCommand(opts: ReleaseCreateOptions): Promise<number> {
  if (opts.service === undefined) throw new UsageError("--service is required: the service the release is of, e.g. --service web");
  validateServiceName(opts.service);
  if ((opts.fromRun === undefined) === (opts.file === undefined)) {
    throw new UsageError("give exactly one of --from-run RUN (an artifact of a successful run) or --file PATH (a file or folder)");
  }
  if (opts.artifact !== undefined && opts.fromRun === undefined) throw new UsageError("--artifact goes with --from-run");
  const repoDir = workDir(opts);
  let source: ReleaseSource;
  let checkout: { sha: string; ref: string; repository: string } | undefined;
  if (opts.fromRun !== undefined) {
    const runId = Number(opts.fromRun);
    if (!Number.isInteger(runId) || runId < 1) throw new UsageError(`--from-run expects a run number, got '${opts.fromRun}'; \`slipway runs\` lists them`);
    source = { kind: "run", runId, ...(opts.artifact !== undefined ? { artifact: opts.artifact } : {}) };
  } else {
    source = { kind: "path", path: opts.file ?? "" };
    // The commit checked out here, when this is a git repository: recorded as the release's source.
    const repo = await readRepo(repoDir).catch(() => undefined);
    if (repo) checkout = { sha: repo.sha, ref: repo.branch ? `refs/heads/${repo.branch}` : repo.sha, repository: `${repo.owner}/${repo.name}` };
  }
  const defaultArtifact = configuredArtifact(repoDir, opts.service);
  const store = openDataStore(dataDirFor(opts, repoDir));
  try {
    const { release, created } = await createRelease({
      ...(defaultArtifact !== undefined ? { defaultArtifact } : {}),
      store,
      dataDir: dataDirFor(opts, repoDir),
      service: opts.service,
      source,
      createdBy: actor(),
      repoDir,
      ...(checkout ? { checkout } : {}),
    });
    if (opts.json) {
      process.stdout.write(JSON.stringify({ created, release }, null, 2) + "\n");
      return EXIT.ok;
    }
    const p = paint(process.stdout);
    const what = created ? p.green(`created release ${release.service}#${release.number}`) : `${release.service}#${release.number} already holds this content; no new release`;
    const attestations = store.listReleaseAttestations(release.id);
    const key = attestations.find((a) => a.keyId)?.keyId;
    const signed = attestations.length > 0 ? `${attestations.map((a) => a.kind).join(", ")}${key ? ` (key ${key.slice(0, 12)}; slipway verify ${release.service}#${release.number})` : ""}` : "none";
    process.stdout.write(`${what}\n  digest  ${release.digest}\n  files   ${release.files.length} (${formatBytes(release.size)})\n  source  ${describeSource(release)}\n  signed  ${signed}\n`);
    return EXIT.ok;
  } finally {
    store.close();
  }
}

export async function releasesCommand(service: string | undefined, opts: GlobalOptions & { json?: boolean }): Promise<number> {
  if (service !== undefined) validateServiceName(service);
  const dataDir = dataDirFor(opts, workDir(opts));
  return withStore(dataDir, (store) => {
    const releases = store.listReleases(service);
    if (opts.json) {
      process.stdout.write(JSON.stringify(releases, null, 2) + "\n");
      return EXIT.ok;
    }
    if (releases.length === 0) {
      const whose = service === undefined ? "" : ` of ${service}`;
      process.stdout.write(`no releases${whose} yet; make one with \`slipway release create --service NAME --from-run RUN\`\n`);
      return EXIT.ok;
    }
    const rows = releases.map((r) => [
      `${r.service}#${r.number}`,
      r.digest.slice(0, "sha256:".length + 12),
      r.sourceCommit?.slice(0, 7) ?? "",
      r.runId === null ? "" : String(r.runId),
      r.artifact,
      formatBytes(r.size),
      r.createdBy,
      r.createdAt.replace("T", " ").slice(0, 19),
    ]);
    process.stdout.write(table(["RELEASE", "DIGEST", "COMMIT", "RUN", "ARTIFACT", "SIZE", "BY", "CREATED"], rows));
    return EXIT.ok;
  });
}

/**
 * With a slipway.yml, the service must be one of its services, and its
 * `release.artifact` is the artifact taken from a run unless --artifact says
 * otherwise. Without one, any service name is accepted.
 */
function configuredArtifact(repoDir: string, service: string): string | undefined {
  if (findDeliveryConfig(repoDir) === undefined) return undefined;
  const { config, diagnostics } = loadDeliveryConfig(repoDir);
  if (!config) {
    const first = diagnostics.find((d) => d.severity === "error");
    throw new UsageError(`slipway.yml has errors (${first ? `${first.file}:${first.line}:${first.column}: ${first.message}` : "see slipway lint"}); fix them first: \`slipway lint\``);
  }
  const spec = config.services[service];
  if (!spec) {
    const known = Object.keys(config.services);
    throw new UsageError(`slipway.yml has no service '${service}'; ${known.length ? `its services: ${known.join(", ")}` : "it declares no services"}`);
  }
  return spec.release.kind === "workflow" ? spec.release.artifact : undefined;
}

function describeSource(r: ReleaseRecord): string {
  const commit = r.sourceCommit ? `commit ${r.sourceCommit.slice(0, 12)}` : "no commit recorded";
  return r.runId === null ? `${r.artifact} (${commit})` : `artifact '${r.artifact}' of run ${r.runId} (${commit}, ${r.workflowPath ?? ""})`;
}

function actor(): string {
  try {
    return process.env.SLIPWAY_ACTOR || userInfo().username;
  } catch {
    return "unknown";
  }
}
