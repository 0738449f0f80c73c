// Signatures as Sigstore bundles v0.3 (`application/vnd.dev.sigstore.bundle.v0.3+json`),
// key-based: `verificationMaterial.publicKey.hint` is the signing key's id,
// with no transparency-log entry and no timestamp (see docs/supply-chain.md
// for what keyless Sigstore adds and why it is not done offline).
//
// What a release's signature covers: the release manifest — the canonical
// JSON list of its files (path, sha256, size, mode), sorted by path, whose
// SHA-256 is the release digest. The bundle's `messageSignature` holds that
// digest and the ECDSA P-256 signature (DER, SHA-256) of the manifest, so the
// signature binds every byte of every file through the files' digests.
import { createHash, sign } from "node:crypto";
import { bundleToJSON, toDSSEBundle, toMessageSignatureBundle, type SerializedBundle } from "@sigstore/bundle";
import type { SigningKey } from "./keys.js";

export const BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/** One file of a release, as the release records it. */
export interface ManifestFile {
  path: string;
  /** `sha256:<hex>` */
  digest: string;
  size: number;
  mode: number;
}

/** The release manifest's bytes: sha256 of them is the release digest (the same formula as an artifact's digest). */
export function releaseManifest(files: readonly ManifestFile[]): Buffer {
  const canonical = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => ({ path: f.path, digest: f.digest, size: f.size, mode: f.mode }));
  return Buffer.from(JSON.stringify(canonical), "utf8");
}

/** `sha256:<hex>` of bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** A Sigstore bundle with a `messageSignature` over `artifact` (its SHA-256 digest and an ECDSA signature). */
export function signMessage(artifact: Buffer, key: SigningKey): SerializedBundle {
  const digest = createHash("sha256").update(artifact).digest();
  const signature = sign("sha256", artifact, key.privateKey);
  return bundleToJSON(toMessageSignatureBundle({ digest, signature, keyHint: key.id }));
}

/** DSSE's pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(body)> <body>`. */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, "ascii"), type, Buffer.from(` ${payload.length} `, "ascii"), payload]);
}

/** A Sigstore bundle with a DSSE envelope of `payload`, signed over its PAE. */
export function signDsse(payload: Buffer, payloadType: string, key: SigningKey): SerializedBundle {
  const signature = sign("sha256", preAuthEncoding(payloadType, payload), key.privateKey);
  return bundleToJSON(toDSSEBundle({ artifact: payload, artifactType: payloadType, signature, keyHint: key.id }));
}
