// Signatures as Sigstore bundles v0.3 (`application/vnd.dev.sigstore.bundle.v0.3+json`),
// key-based: `verificationMaterial.publicKey.hint` is the signing key's id,
// with no transparency-log entry and no timestamp (see docs/supply-chain.md
// for what keyless Sigstore adds and why it is not done offline).
//
// What a release's signature covers: the release manifest — the canonical
// JSON list of its files (path, sha256, size, mode), sorted by path, whose
// SHA-256 is the release digest (actions' artifactManifestBytes: the bytes
// an uploaded artifact's digest is computed from). The bundle's
// `messageSignature` holds that digest and the ECDSA P-256 signature (DER, SHA-256) of the manifest, so the
// signature binds every byte of every file through the files' digests.
import { createHash, sign } from "node:crypto";
import { createRequire } from "node:module";
import type * as SigstoreBundle from "@sigstore/bundle";
import type { SerializedBundle } from "@sigstore/bundle";
import type { SigningKey } from "./keys.js";

export const BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/** @sigstore/bundle, loaded on first use: most commands never sign or verify. */
export function sigstoreBundle(): typeof SigstoreBundle {
  return createRequire(import.meta.url)("@sigstore/bundle") as typeof SigstoreBundle;
}

/** `sha256:<hex>` of bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** A Sigstore bundle with a `messageSignature` over `artifact` (its SHA-256 digest and an ECDSA signature). */
export function signMessage(artifact: Buffer, key: SigningKey): SerializedBundle {
  const { bundleToJSON, toMessageSignatureBundle } = sigstoreBundle();
  const digest = createHash("sha256").update(artifact).digest();
  const signature = sign("sha256", artifact, key.privateKey);
  return bundleToJSON(toMessageSignatureBundle({ digest, signature, keyHint: key.id }));
}

/**
 * DSSE's pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(body)> <body>`.
 * (@sigstore/core's dsse.preAuthEncoding is the same, but @sigstore/core is
 * only a transitive dependency.)
 */
function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, "ascii"), type, Buffer.from(` ${payload.length} `, "ascii"), payload]);
}

/** A Sigstore bundle with a DSSE envelope of `payload`, signed over its PAE. */
export function signDsse(payload: Buffer, payloadType: string, key: SigningKey): SerializedBundle {
  const { bundleToJSON, toDSSEBundle } = sigstoreBundle();
  const signature = sign("sha256", preAuthEncoding(payloadType, payload), key.privateKey);
  return bundleToJSON(toDSSEBundle({ artifact: payload, artifactType: payloadType, signature, keyHint: key.id }));
}
