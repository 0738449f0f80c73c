// Offline verification of a release's Sigstore bundles with @sigstore/verify.
//
// The trust material is built from public keys only: no transparency log, no
// certificate authority, no timestamp authority, and the verifier's tlog,
// ctlog and timestamp thresholds at 0 — what an offline key-based setup
// needs (the top-level `sigstore.verify()` would fetch Sigstore's public
// trusted root from the network). The key is looked up by the bundle's
// `publicKey.hint`.
//
// The signature bundle is verified over the release manifest computed from
// the artifact's bytes as they are now, so a changed byte fails it; the
// provenance bundle's DSSE signature is verified, then its statement read.
//
// @sigstore/verify and @sigstore/bundle are loaded on first use (most
// commands never verify: they would slow every command's start).
import { createHash, type KeyObject } from "node:crypto";
import { createRequire } from "node:module";
import type * as SigstoreVerify from "@sigstore/verify";
import type { TrustMaterial, Verifier } from "@sigstore/verify";
import type { AttestationEvidence, BundleCheck, ProvenanceClaims } from "../delivery/index.js";
import { keyIdOf } from "./keys.js";
import { IN_TOTO_PAYLOAD_TYPE, sha256Digest, sigstoreBundle } from "./signing.js";
import { SLSA_PROVENANCE_V1, STATEMENT_TYPE, type Statement } from "./provenance.js";

function sigstoreVerify(): typeof SigstoreVerify {
  return createRequire(import.meta.url)("@sigstore/verify") as typeof SigstoreVerify;
}

/** Trust material for key-based bundles only: the keys by id, nothing else trusted. */
export function keyTrustMaterial(keys: ReadonlyMap<string, KeyObject>, options: { anyKey?: boolean } = {}): TrustMaterial {
  const root = { mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1", tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] };
  return sigstoreVerify().toTrustMaterial(root, (hint: string) => {
    let key = keys.get(hint);
    // One key given by hand (`--key`): try it whatever the bundle's hint says, so a wrong key fails on the signature.
    if (!key && options.anyKey && keys.size === 1) key = [...keys.values()][0];
    if (!key) {
      const known = [...keys.keys()].map((k) => k.slice(0, 12)).join(", ") || "none";
      throw new Error(`it was signed with key ${hint.slice(0, 12)}…, which is not a trusted key (trusted: ${known}); give the public key with --key or policy.keys`);
    }
    return { publicKey: key, validFor: () => true };
  });
}

/** The verifier with every threshold at 0 (offline, key-based). */
function offlineVerifier(trust: TrustMaterial): Verifier {
  return new (sigstoreVerify().Verifier)(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
}

/** A map of one or more public keys by their ids. */
export function keysById(keys: readonly KeyObject[]): Map<string, KeyObject> {
  return new Map(keys.map((k) => [keyIdOf(k), k]));
}

function why(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  if (message === "signature verification failed") return "the signature does not match: the artifact changed after signing, or it was signed with another key";
  return message;
}

/** Verifies a messageSignature bundle over `manifest` (the release manifest's bytes). */
function verifySignatureBundle(bundleJson: unknown, manifest: Buffer, trust: TrustMaterial): BundleCheck {
  try {
    const bundle = sigstoreBundle().bundleFromJSON(bundleJson);
    if (bundle.content.$case !== "messageSignature") return { present: true, valid: false, reason: "the signature bundle holds no messageSignature" };
    offlineVerifier(trust).verify(sigstoreVerify().toSignedEntity(bundle, manifest));
    const signed = Buffer.from(bundle.content.messageSignature.messageDigest.digest).toString("hex");
    const actual = createHash("sha256").update(manifest).digest("hex");
    if (signed !== actual) return { present: true, valid: false, reason: `the bundle's digest sha256:${signed.slice(0, 12)}… is not the artifact's sha256:${actual.slice(0, 12)}…` };
    return { present: true, valid: true, reason: `signed by key ${keyHint(bundleJson).slice(0, 12)}…` };
  } catch (err) {
    return { present: true, valid: false, reason: why(err) };
  }
}

/** Verifies a DSSE bundle's signature and reads its in-toto statement. */
function verifyProvenanceBundle(bundleJson: unknown, trust: TrustMaterial): BundleCheck & { claims?: ProvenanceClaims; statement?: Statement } {
  try {
    const bundle = sigstoreBundle().bundleFromJSON(bundleJson);
    if (bundle.content.$case !== "dsseEnvelope") return { present: true, valid: false, reason: "the provenance bundle holds no DSSE envelope" };
    const envelope = bundle.content.dsseEnvelope;
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) return { present: true, valid: false, reason: `its payload type is ${envelope.payloadType}, not ${IN_TOTO_PAYLOAD_TYPE}` };
    offlineVerifier(trust).verify(sigstoreVerify().toSignedEntity(bundle));
    const statement = JSON.parse(Buffer.from(envelope.payload).toString("utf8")) as Statement;
    if (statement._type !== STATEMENT_TYPE) return { present: true, valid: false, reason: `its statement type is ${String(statement._type)}, not ${STATEMENT_TYPE}` };
    const source = (statement.predicate?.buildDefinition?.externalParameters?.source ?? {}) as { repository?: string | null; ref?: string | null; commit?: string | null };
    const claims: ProvenanceClaims = {
      predicateType: String(statement.predicateType),
      builderId: String(statement.predicate?.runDetails?.builder?.id ?? ""),
      subjectDigest: statement.subject?.[0]?.digest?.sha256 ?? "",
      repository: source.repository ?? null,
      ref: source.ref ?? null,
      commit: source.commit ?? null,
    };
    const reason = claims.predicateType === SLSA_PROVENANCE_V1 ? "SLSA v1 provenance verified" : `verified, but its predicate type is ${claims.predicateType}`;
    return { present: true, valid: true, reason, claims, statement };
  } catch (err) {
    return { present: true, valid: false, reason: why(err) };
  }
}

function keyHint(bundleJson: unknown): string {
  const hint = (bundleJson as { verificationMaterial?: { publicKey?: { hint?: string } } }).verificationMaterial?.publicKey?.hint;
  return hint ?? "?";
}

/** Everything the policy gate needs about one release. */
export function gatherEvidence(input: {
  recordedDigest: string;
  /** The manifest of the files as they are now, or why it could not be made. */
  manifest: Buffer | { problem: string };
  signatureBundle?: unknown;
  provenanceBundle?: unknown;
  sbom: boolean;
  trust: TrustMaterial;
}): AttestationEvidence & { statement?: Statement } {
  const manifest = Buffer.isBuffer(input.manifest) ? input.manifest : undefined;
  const actualDigest = manifest ? sha256Digest(manifest) : undefined;
  const signature: BundleCheck =
    input.signatureBundle === undefined
      ? { present: false }
      : manifest
        ? verifySignatureBundle(input.signatureBundle, manifest, input.trust)
        : { present: true, valid: false, reason: "the artifact cannot be read, so the signature cannot be checked" };
  const provenance = input.provenanceBundle === undefined ? { present: false as const } : verifyProvenanceBundle(input.provenanceBundle, input.trust);
  return {
    recordedDigest: input.recordedDigest,
    ...(actualDigest ? { actualDigest } : { artifactProblem: (input.manifest as { problem: string }).problem }),
    signature,
    provenance,
    sbom: input.sbom,
    ...("statement" in provenance && provenance.statement ? { statement: provenance.statement } : {}),
  };
}
