// Releases: the immutable unit of delivery. A release of a service is the
// content of one artifact (its files, stored as blobs) named by the digest of
// that content, with where it came from: the source commit, the run that
// built it, who made it and when. The same content is one release however
// often it is built or handed in: built once, promoted everywhere, never
// rebuilt.
//
// The digest is the one `actions/upload-artifact` gives an artifact (sha256
// of the canonical list of file paths, digests, sizes and modes), so a folder
// released with `--file` and the same folder uploaded by a workflow are the
// same release.

import { lstat, readdir } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { artifactDigestHex, listArtifacts, storeArtifactFiles, type ArtifactManifest } from "../actions/index.js";
import { FileBlobStore } from "../blobs/index.js";
import { NAME, NAME_FIX } from "../delivery/index.js";
import type { NewRelease, ReleaseRecord, RunRecord, Store } from "../store/index.js";
import { ATTESTATION_KINDS, prepareAttestations, saveAttestations } from "./attest.js";

/** A release that cannot be made; the message says why and what to do. */
export class ReleaseError extends Error {
  override readonly name = "ReleaseError";
}

export type ReleaseSource =
  /** An artifact of a successful run (`--from-run RUN [--artifact NAME]`). */
  | { kind: "run"; runId: number; artifact?: string }
  /** A file or a folder (`--file PATH`). */
  | { kind: "path"; path: string };

export interface CreateReleaseOptions {
  store: Store;
  dataDir: string;
  service: string;
  source: ReleaseSource;
  /** Who makes it (a user name, or `slipway` for automatic releases). */
  createdBy: string;
  /** For `--file`: the commit and ref checked out where the file comes from (and its repository, `owner/name`), when known. */
  checkout?: { sha: string; ref: string; repository?: string };
  /** Used when a run has several artifacts and none is named (from the service's configuration). */
  defaultArtifact?: string;
  /** The repository folder: its lockfiles make the SBOM, its workflow file names the actions of the provenance (default: the current folder). */
  repoDir?: string;
  /** Where SLIPWAY_SIGNING_KEY and SLIPWAY_MASTER_KEY are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Checks a service name by slipway.yml's rule (delivery's NAME). */
export function validateServiceName(service: string): void {
  if (!NAME.test(service)) throw new ReleaseError(`invalid service name '${service}': ${NAME_FIX}, e.g. 'web' or 'billing-api'`);
}

/** Makes the release, or finds the service's release of the same content (`created: false`). */
export async function createRelease(options: CreateReleaseOptions): Promise<{ release: ReleaseRecord; created: boolean }> {
  validateServiceName(options.service);
  const { store, service, createdBy } = options;
  if (options.source.kind === "run") {
    const { runId } = options.source;
    const run = store.getRun(runId);
    if (!run) throw new ReleaseError(`run ${runId} does not exist; \`slipway runs\` lists the runs`);
    if (run.status !== "completed" || run.conclusion !== "success") {
      const state = run.status === "completed" ? `ended in ${run.conclusion ?? "an unknown state"}` : `is still ${run.status.replace("_", " ")}`;
      throw new ReleaseError(`run ${runId} ${state}: a release is made from a successful run only`);
    }
    const manifest = await pickArtifact(options.dataDir, runId, options.source.artifact ?? options.defaultArtifact);
    return record(options, run, {
      service,
      digest: manifest.digest,
      artifact: manifest.name,
      files: manifest.files,
      size: manifest.size,
      sourceCommit: run.sha,
      sourceRef: run.ref,
      runId: run.id,
      workflowPath: run.workflowPath,
      createdBy,
    });
  }
  const path = resolve(options.source.path);
  const { files, root, name } = await filesOf(path);
  const stored = await storeArtifactFiles(new FileBlobStore(options.dataDir), files, root);
  return record(options, undefined, {
    service,
    digest: `sha256:${artifactDigestHex(stored)}`,
    artifact: name,
    files: stored,
    size: stored.reduce((total, f) => total + f.size, 0),
    sourceCommit: options.checkout?.sha ?? null,
    sourceRef: options.checkout?.ref ?? null,
    runId: null,
    workflowPath: null,
    createdBy,
  });
}

/**
 * Records the release with its SBOM, signature and provenance. They are made
 * first, so a release is never recorded without them (a bad lockfile stops
 * it, with the reason). A release of the same content that already has them
 * is returned as it is; one made before attestations existed gets them now.
 */
async function record(options: CreateReleaseOptions, run: RunRecord | undefined, release: NewRelease): Promise<{ release: ReleaseRecord; created: boolean }> {
  const { store } = options;
  const existing = store.getRelease(release.service, release.digest);
  if (existing && store.listReleaseAttestations(existing.id).length === ATTESTATION_KINDS.length) return { release: existing, created: false };
  let prepared;
  try {
    prepared = await prepareAttestations({
      dataDir: options.dataDir,
      repoDir: resolve(options.repoDir ?? "."),
      release,
      ...(run ? { run } : {}),
      repository: options.checkout?.repository ?? null,
      ...(options.env ? { env: options.env } : {}),
    });
  } catch (err) {
    throw new ReleaseError(`cannot make the release's SBOM, signature and provenance: ${(err as Error).message}`);
  }
  const made = store.createRelease(release);
  await saveAttestations(store, options.dataDir, made.release.id, prepared);
  return made;
}

async function pickArtifact(dataDir: string, runId: number, name: string | undefined): Promise<ArtifactManifest> {
  const artifacts = await listArtifacts(dataDir, runId);
  const names = artifacts.map((a) => a.name);
  const listed = names.length === 0 ? "it uploaded none (add an actions/upload-artifact step to the workflow)" : `it has ${names.map((n) => `'${n}'`).join(", ")}`;
  if (name === undefined) {
    const only = artifacts.length === 1 ? artifacts[0] : undefined;
    if (only) return only;
    throw new ReleaseError(`run ${runId} has ${artifacts.length === 0 ? "no artifacts" : "several artifacts"}: name one with --artifact NAME; ${listed}`);
  }
  const found = artifacts.find((a) => a.name === name);
  if (!found) throw new ReleaseError(`run ${runId} has no artifact '${name}' (or it expired); ${listed}`);
  return found;
}

/**
 * The files under a folder (all of them, hidden ones too), or the one file;
 * their root; the release's artifact name. `missingFix` is what the error of
 * a missing path tells to do.
 */
export async function filesOf(path: string, missingFix = "give the file or folder to release"): Promise<{ files: string[]; root: string; name: string }> {
  let stats;
  try {
    stats = await lstat(path);
  } catch {
    throw new ReleaseError(`${path} does not exist; ${missingFix}`);
  }
  if (stats.isFile()) return { files: [path], root: dirname(path), name: basename(path) };
  if (!stats.isDirectory()) throw new ReleaseError(`${path} is neither a file nor a folder`);
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.push(full);
      else if (entry.isSymbolicLink()) {
        throw new ReleaseError(`${full} is a symbolic link; a release holds regular files only (copy what it points to into the folder)`);
      }
    }
  };
  await walk(path);
  if (files.length === 0) throw new ReleaseError(`${path} holds no files; a release needs at least one`);
  return { files, root: path, name: basename(path) };
}
