// The signature policy gate: before a release goes to an environment whose
// `policy` requires it, its signature and SLSA provenance must verify against
// the artifact's bytes as they are now, and the provenance must name the
// builder, repository and branch the policy expects. Pure: the caller
// re-hashes the artifact and verifies the bundles (supply-chain/verify.ts)
// and hands the facts in; this decides, with the reason in words.
//
// `warn` never closes the gate but says what failed; `off` is not looked at.
// Nothing passes for lack of data: a required signature that is missing is a
// failure, not a pass.
import type { ReleasePolicy } from "../model.js";

/** One bundle's verification: absent, or verified with a result. */
export type BundleCheck = { present: false } | { present: true; valid: boolean; reason: string };

/** What the provenance statement says, once its bundle verified. */
export interface ProvenanceClaims {
  predicateType: string;
  builderId: string;
  /** The first subject's sha256 (hex). */
  subjectDigest: string;
  repository: string | null;
  ref: string | null;
  commit: string | null;
}

/** The facts about one release, gathered by the caller. */
export interface AttestationEvidence {
  /** `sha256:<hex>` the release records. */
  recordedDigest: string;
  /** `sha256:<hex>` of its files as they are now (re-hashed); undefined when they could not be read, with `artifactProblem`. */
  actualDigest?: string;
  artifactProblem?: string;
  signature: BundleCheck;
  provenance: BundleCheck & { claims?: ProvenanceClaims };
  sbom: boolean;
}

export interface SignatureVerdict {
  open: boolean;
  /** In words: what verified, or what failed and what to do. */
  reason: string;
  /** Each failure of a required check. */
  failures: string[];
  /** Failures of `warn` checks: reported, not blocking. */
  warnings: string[];
}

/** The predicate type of SLSA v1 provenance (the one the policy accepts). */
export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";
/** The builder id of every Slipway (the policy's default `builder`). */
export const SLIPWAY_BUILDER_ID = "https://slipway.dev/builder/v1";

/** Does the policy ask for anything? */
export function policyApplies(policy: ReleasePolicy): boolean {
  return policy.signature !== "off" || policy.provenance !== "off" || policy.sbom !== "off";
}

/** `acme/web`, `https://github.com/acme/web.git`, `git+https://…` → `acme/web` (lower case) for comparison. */
export function normalizeRepository(repo: string): string {
  return repo
    .trim()
    .replace(/^git\+/, "")
    .replace(/^[a-z]+:\/\/[^/]+\//i, "")
    .replace(/^git@[^:]+:/, "")
    .replace(/\/+$/, "")
    .replace(/\.git$/, "")
    .toLowerCase();
}

/** Decides the gate from the policy and the evidence. */
export function evaluateSignaturePolicy(policy: ReleasePolicy, e: AttestationEvidence): SignatureVerdict {
  const failures: string[] = [];
  const warnings: string[] = [];
  const passed: string[] = [];
  const note = (level: ReleasePolicy["signature"], problem: string): void => {
    if (level === "required") failures.push(problem);
    else if (level === "warn") warnings.push(problem);
  };
  const anyCrypto = policy.signature !== "off" || policy.provenance !== "off";

  // The artifact itself: re-hashed now, it must still be what was released and signed.
  let artifactOk = true;
  if (anyCrypto) {
    if (e.actualDigest === undefined) {
      artifactOk = false;
      note(strongest(policy), `the artifact cannot be re-hashed: ${e.artifactProblem ?? "its files are missing"}`);
    } else if (e.actualDigest !== e.recordedDigest) {
      artifactOk = false;
      note(strongest(policy), `the artifact was modified after the release was made: its files hash to ${short(e.actualDigest)}, the release is ${short(e.recordedDigest)}`);
    }
  }

  if (policy.signature !== "off") {
    if (!e.signature.present) note(policy.signature, "the release has no signature (made before signing, or with signing failing); make a new release");
    else if (!e.signature.valid) note(policy.signature, `signature: ${e.signature.reason}`);
    else if (artifactOk) passed.push("signature verified");
  }

  if (policy.provenance !== "off") {
    const p = e.provenance;
    if (!p.present) note(policy.provenance, "the release has no provenance; make a new release");
    else if (!p.valid) note(policy.provenance, `provenance: ${p.reason}`);
    else if (p.claims) {
      const c = p.claims;
      const problems: string[] = [];
      if (c.predicateType !== SLSA_PROVENANCE_V1) problems.push(`its predicate type is ${c.predicateType}, not ${SLSA_PROVENANCE_V1}`);
      const builder = policy.builder ?? SLIPWAY_BUILDER_ID;
      if (c.builderId !== builder) problems.push(`it was built by ${c.builderId}, not ${builder}`);
      if (`sha256:${c.subjectDigest}` !== e.recordedDigest) problems.push(`its subject is sha256:${c.subjectDigest.slice(0, 12)}…, not this release (${short(e.recordedDigest)})`);
      if (policy.source) {
        const want = normalizeRepository(policy.source.repository);
        if (c.repository === null || normalizeRepository(c.repository) !== want) problems.push(`it was built from ${c.repository ?? "an unknown repository"}, not ${policy.source.repository}`);
        const branch = policy.source.branch;
        if (branch !== undefined && c.ref !== `refs/heads/${branch}` && c.ref !== branch) {
          problems.push(`it was built from ${c.ref ? c.ref.replace(/^refs\/heads\//, "branch ") : "an unknown ref"}, not branch ${branch}`);
        }
      }
      if (problems.length > 0) note(policy.provenance, `provenance: ${problems.join("; ")}`);
      else if (artifactOk) passed.push(`provenance verified (${c.repository ?? "?"}${c.ref ? ` ${c.ref.replace(/^refs\/heads\//, "")}` : ""}@${(c.commit ?? "").slice(0, 7)})`);
    }
  }

  if (policy.sbom !== "off") {
    if (!e.sbom) note(policy.sbom, "the release has no SBOM; make a new release");
    else passed.push("SBOM present");
  }

  const open = failures.length === 0;
  const parts = open ? [...passed, ...warnings.map((w) => `warning: ${w}`)] : [...failures, ...warnings.map((w) => `warning: ${w}`)];
  const reason = open ? `policy: ${parts.join("; ") || "nothing required"}` : `policy refuses the release: ${parts.join("; ")}`;
  return { open, reason, failures, warnings };
}

function strongest(policy: ReleasePolicy): ReleasePolicy["signature"] {
  return policy.signature === "required" || policy.provenance === "required" ? "required" : "warn";
}

function short(digest: string): string {
  return `${digest.slice(0, "sha256:".length + 12)}…`;
}
