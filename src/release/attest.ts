// A release's attestations, made when the release is made and read back when
// it is verified or promoted:
//
//   sbom        CycloneDX 1.6 JSON of the repository's lockfiles, validated before it is stored
//   signature   Sigstore bundle v0.3, messageSignature over the release manifest (digest = release digest)
//   provenance  Sigstore bundle v0.3, DSSE envelope of an in-toto Statement v1 with a SLSA v1 predicate
//
// Each is a blob (by digest) in the blob store, referenced by a
// `release_attestations` row (migration 010). They are prepared before the
// release is recorded, so a bad lockfile stops the release with its reason
// instead of leaving a release without its SBOM.
import { createHash, type KeyObject } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { builtinActions, builtinFor } from "../actions/index.js";
import { FileBlobStore } from "../blobs/index.js";
import {
  BUNDLE_MEDIA_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  SBOM_MEDIA_TYPE,
  buildProvenance,
  collectActions,
  gatherEvidence,
  generateSbom,
  keyTrustMaterial,
  knownPublicKeys,
  loadSigningKey,
  readWorkflowAt,
  releaseManifest,
  signDsse,
  signMessage,
  type Statement,
} from "../supply-chain/index.js";
import type { AttestationEvidence } from "../delivery/index.js";
import { ReleaseError } from "./release.js";
import type { AttestationKind, NewRelease, ReleaseAttestation, ReleaseRecord, RunRecord, Store } from "../store/index.js";

/** The version recorded as the builder's. */
export const SLIPWAY_VERSION = "0.1.0";

/** Attestations ready to store: bytes per kind. */
export interface PreparedAttestations {
  keyId: string;
  items: { kind: AttestationKind; mediaType: string; bytes: Buffer; keyId: string | null }[];
}

/** Makes the SBOM, provenance and both signatures of a release about to be recorded. */
export async function prepareAttestations(options: {
  dataDir: string;
  /** The repository whose lockfiles the SBOM lists and whose workflow names the actions. */
  repoDir: string;
  release: NewRelease;
  run?: RunRecord;
  /** `owner/name` of a `--file` release's repository, when known. */
  repository?: string | null;
  env?: NodeJS.ProcessEnv;
  now?: Date;
}): Promise<PreparedAttestations> {
  const { release, run } = options;
  const createdAt = (options.now ?? new Date()).toISOString();
  const sbom = await generateSbom(options.repoDir, { subject: { name: release.service, digest: release.digest } });
  const key = loadSigningKey(options.dataDir, options.env);
  const manifest = releaseManifest(release.files);
  const workflowText = run ? readWorkflowAt(options.repoDir, run.workflowPath, run.sha) : undefined;
  const statement = buildProvenance({
    artifact: release.artifact,
    digest: release.digest,
    files: release.files,
    repository: run?.repository ?? options.repository ?? null,
    ref: release.sourceRef,
    commit: release.sourceCommit,
    ...(run ? { run: { id: run.id, workflowPath: run.workflowPath, event: run.event, startedAt: run.startedAt, finishedAt: run.completedAt } } : {}),
    actions: workflowText ? collectActions(workflowText, { dataDir: options.dataDir, isBuiltin: (uses) => builtinFor(uses, builtinActions) !== undefined }) : [],
    createdAt,
    slipwayVersion: SLIPWAY_VERSION,
  });
  const json = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value, null, 2)}\n`, "utf8");
  return {
    keyId: key.id,
    items: [
      { kind: "sbom", mediaType: SBOM_MEDIA_TYPE, bytes: Buffer.from(sbom.text, "utf8"), keyId: null },
      { kind: "signature", mediaType: BUNDLE_MEDIA_TYPE, bytes: json(signMessage(manifest, key)), keyId: key.id },
      { kind: "provenance", mediaType: BUNDLE_MEDIA_TYPE, bytes: json(signDsse(Buffer.from(JSON.stringify(statement), "utf8"), IN_TOTO_PAYLOAD_TYPE, key)), keyId: key.id },
    ],
  };
}

/** Stores the blobs and records them for the release (an attestation already recorded is kept). */
export async function saveAttestations(store: Store, dataDir: string, releaseId: number, prepared: PreparedAttestations): Promise<ReleaseAttestation[]> {
  const blobs = new FileBlobStore(dataDir);
  for (const item of prepared.items) {
    const { digest } = await blobs.put(item.bytes);
    store.putReleaseAttestation({ releaseId, kind: item.kind, digest, mediaType: item.mediaType, keyId: item.keyId });
  }
  return store.listReleaseAttestations(releaseId);
}

/** A release's attestations as stored: the SBOM text and the two bundles (parsed JSON); absent kinds are undefined. */
export function readAttestations(store: Store, dataDir: string, release: ReleaseRecord): { sbom?: string; signature?: unknown; provenance?: unknown; problems: string[] } {
  const blobs = new FileBlobStore(dataDir);
  const out: { sbom?: string; signature?: unknown; provenance?: unknown; problems: string[] } = { problems: [] };
  for (const a of store.listReleaseAttestations(release.id)) {
    let text: string;
    try {
      text = readFileSync(blobs.path(a.digest), "utf8");
    } catch (err) {
      out.problems.push(`the ${a.kind} blob ${a.digest.slice(0, 19)}… cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      continue;
    }
    if (a.kind === "sbom") {
      out.sbom = text;
      continue;
    }
    try {
      out[a.kind] = JSON.parse(text) as unknown;
    } catch {
      out.problems.push(`the ${a.kind} blob ${a.digest.slice(0, 19)}… is not JSON`);
    }
  }
  return out;
}

/**
 * The release manifest of the release's files as they are now in the blob
 * store: each blob read and re-hashed (a changed byte changes its digest, and
 * so the manifest's). Synchronous, for the gates.
 */
export function currentManifest(dataDir: string, release: ReleaseRecord): Buffer | { problem: string } {
  const blobs = new FileBlobStore(dataDir);
  const files = [];
  for (const f of release.files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(blobs.path(f.digest));
    } catch (err) {
      return { problem: `its file ${f.path} (blob ${f.digest.slice(0, 19)}…) cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
    files.push({ path: f.path, digest: `sha256:${hashHex(bytes)}`, size: bytes.length, mode: f.mode });
  }
  return releaseManifest(files);
}

function hashHex(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Everything the signature policy gate needs about a release, read and
 * verified offline: the artifact re-hashed, the signature and provenance
 * bundles verified with @sigstore/verify against `publicKeys` (PEM key
 * objects by id; default: every key this data directory has signed with).
 */
export function releaseEvidence(
  store: Store,
  dataDir: string,
  release: ReleaseRecord,
  trustedKeys?: ReadonlyMap<string, KeyObject>,
): AttestationEvidence & { statement?: Statement; problems: string[] } {
  const stored = readAttestations(store, dataDir, release);
  const evidence = gatherEvidence({
    recordedDigest: release.digest,
    manifest: currentManifest(dataDir, release),
    ...(stored.signature !== undefined ? { signatureBundle: stored.signature } : {}),
    ...(stored.provenance !== undefined ? { provenanceBundle: stored.provenance } : {}),
    sbom: stored.sbom !== undefined,
    trust: keyTrustMaterial(trustedKeys ?? knownPublicKeys(dataDir)),
  });
  return { ...evidence, problems: stored.problems };
}

/**
 * The release manifest of a file or folder on disk (what `release create
 * --file PATH` would record), and its artifact name: `slipway verify FILE`
 * compares its digest with the signed one.
 */
export function manifestOfPath(path: string): { manifest: Buffer; name: string } {
  const abs = resolve(path);
  let stats;
  try {
    stats = lstatSync(abs);
  } catch {
    throw new ReleaseError(`${path} does not exist; give the released file or folder`);
  }
  const entries: { file: string; rel: string }[] = [];
  if (stats.isFile()) entries.push({ file: abs, rel: basename(abs) });
  else if (stats.isDirectory()) {
    const walk = (dir: string, prefix: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, e.name);
        const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
        if (e.isDirectory()) walk(full, rel);
        else if (e.isFile()) entries.push({ file: full, rel });
        else if (e.isSymbolicLink()) throw new ReleaseError(`${full} is a symbolic link; a release holds regular files only`);
      }
    };
    walk(abs, "");
  } else throw new ReleaseError(`${path} is neither a file nor a folder`);
  const files = entries.map(({ file, rel }) => {
    const bytes = readFileSync(file);
    return { path: rel, digest: `sha256:${hashHex(bytes)}`, size: bytes.length, mode: statSync(file).mode & 0o777 };
  });
  return { manifest: releaseManifest(files), name: basename(abs) };
}
