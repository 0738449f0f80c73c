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
import { createReadStream, closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { relative, resolve, sep } from "node:path";
import { artifactManifestBytes, builtinActions, builtinFor } from "../actions/index.js";
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
  signDsse,
  signMessage,
  type Statement,
} from "../supply-chain/index.js";
import type { AttestationEvidence } from "../delivery/index.js";
import { filesOf } from "./release.js";
import type { AttestationKind, NewRelease, ReleaseAttestation, ReleaseRecord, RunRecord, Store } from "../store/index.js";

/** The version recorded as the builder's. */
const SLIPWAY_VERSION = "0.1.0";

/** The kinds of attestation every release gets (one of each). */
export const ATTESTATION_KINDS = ["sbom", "signature", "provenance"] as const satisfies readonly AttestationKind[];

/** Attestations ready to store: bytes per kind. */
interface PreparedAttestations {
  keyId: string;
  items: { kind: (typeof ATTESTATION_KINDS)[number]; mediaType: string; bytes: Buffer; keyId: string | null }[];
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
  const manifest = artifactManifestBytes(release.files);
  const workflowText = run ? await readWorkflowAt(options.repoDir, run.workflowPath, run.sha) : undefined;
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
export async function saveAttestations(store: Store, dataDir: string, releaseId: number, prepared: PreparedAttestations): Promise<void> {
  const blobs = new FileBlobStore(dataDir);
  for (const item of prepared.items) {
    const { digest } = await blobs.put(item.bytes);
    store.putReleaseAttestation({ releaseId, kind: item.kind, digest, mediaType: item.mediaType, keyId: item.keyId });
  }
}

/** A release's attestations as stored: the SBOM text and the two bundles (parsed JSON); absent kinds are undefined. */
export function readAttestations(store: Store, dataDir: string, release: ReleaseRecord): { sbom?: string; signature?: unknown; provenance?: unknown; problems: string[] } {
  return attestationsOf(store.listReleaseAttestations(release.id), new FileBlobStore(dataDir));
}

function attestationsOf(attestations: readonly ReleaseAttestation[], blobs: FileBlobStore): { sbom?: string; signature?: unknown; provenance?: unknown; problems: string[] } {
  const out: { sbom?: string; signature?: unknown; provenance?: unknown; problems: string[] } = { problems: [] };
  for (const a of attestations) {
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

const CHUNK = 1024 * 1024;

/** sha256 hex of a file, read in chunks (a large blob is never held whole). Synchronous, for the gates. */
function hashFileSync(file: string): { hex: string; size: number } {
  const hash = createHash("sha256");
  const fd = openSync(file, "r");
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      size += n;
    }
    return { hex: hash.digest("hex"), size };
  } finally {
    closeSync(fd);
  }
}

/** sha256 hex and size of a file, streamed. */
async function hashFile(file: string): Promise<{ hex: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hex: hash.digest("hex"), size };
}

/**
 * The release manifest of the release's files as they are now in the blob
 * store: each blob read and re-hashed (a changed byte changes its digest, and
 * so the manifest's). Synchronous, for the gates.
 */
function currentManifest(blobs: FileBlobStore, release: ReleaseRecord): Buffer | { problem: string } {
  const files = [];
  for (const f of release.files) {
    let hashed: { hex: string; size: number };
    try {
      hashed = hashFileSync(blobs.path(f.digest));
    } catch (err) {
      return { problem: `its file ${f.path} (blob ${f.digest.slice(0, 19)}…) cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
    files.push({ path: f.path, digest: `sha256:${hashed.hex}`, size: hashed.size, mode: f.mode });
  }
  return artifactManifestBytes(files);
}

type Evidence = AttestationEvidence & { statement?: Statement; problems: string[] };

/**
 * Evidence already gathered, by data directory, release and trusted keys:
 * valid while the stamp of every blob it read (the release's files and its
 * attestations) is unchanged. The control loop asks for it on every tick,
 * while approval may keep the gate closed for days; re-hashing and
 * re-verifying each time would cost every byte of the release.
 */
const evidenceCache = new Map<string, { stamp: string; evidence: Evidence }>();
const EVIDENCE_CACHE_SIZE = 256;

/**
 * What identifies a file's content without reading it: inode, size, and
 * modification and change times in nanoseconds. A rewrite in place changes
 * ctime (which no user can set back), a replacement changes the inode.
 */
function statStamp(path: () => string): string {
  try {
    const s = statSync(path(), { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    return `!${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

/**
 * Everything the signature policy gate needs about a release, read and
 * verified offline: the artifact re-hashed, the signature and provenance
 * bundles verified with @sigstore/verify against `publicKeys` (PEM key
 * objects by id; default: every key this data directory has signed with).
 * Remembered while none of the blobs read changes (see evidenceCache).
 */
export function releaseEvidence(store: Store, dataDir: string, release: ReleaseRecord, trustedKeys?: ReadonlyMap<string, KeyObject>): Evidence {
  const keys = trustedKeys ?? knownPublicKeys(dataDir);
  const blobs = new FileBlobStore(dataDir);
  const attestations = store.listReleaseAttestations(release.id);
  const key = JSON.stringify([resolve(dataDir), release.id, release.digest, [...keys.keys()].sort()]);
  const stamp = JSON.stringify([
    release.files.map((f) => [f.path, f.digest, f.mode, statStamp(() => blobs.path(f.digest))]),
    attestations.map((a) => [a.kind, a.digest, statStamp(() => blobs.path(a.digest))]),
  ]);
  const cached = evidenceCache.get(key);
  if (cached && cached.stamp === stamp) return { ...cached.evidence, problems: [...cached.evidence.problems] };
  const stored = attestationsOf(attestations, blobs);
  const evidence = gatherEvidence({
    recordedDigest: release.digest,
    manifest: currentManifest(blobs, release),
    ...(stored.signature !== undefined ? { signatureBundle: stored.signature } : {}),
    ...(stored.provenance !== undefined ? { provenanceBundle: stored.provenance } : {}),
    sbom: stored.sbom !== undefined,
    trust: keyTrustMaterial(keys),
  });
  const result: Evidence = { ...evidence, problems: stored.problems };
  evidenceCache.delete(key);
  evidenceCache.set(key, { stamp, evidence: result });
  if (evidenceCache.size > EVIDENCE_CACHE_SIZE) evidenceCache.delete(evidenceCache.keys().next().value as string);
  return { ...result, problems: [...result.problems] };
}

/**
 * The release manifest of a file or folder on disk (what `release create
 * --file PATH` would record), and its artifact name: `slipway verify FILE`
 * compares its digest with the signed one.
 */
export async function manifestOfPath(path: string): Promise<{ manifest: Buffer; name: string }> {
  const { files, root, name } = await filesOf(resolve(path), "give the released file or folder");
  const entries = [];
  for (const file of files) {
    const { hex, size } = await hashFile(file);
    entries.push({ path: relative(root, file).split(sep).join("/"), digest: `sha256:${hex}`, size, mode: statSync(file).mode & 0o777 });
  }
  return { manifest: artifactManifestBytes(entries), name };
}
