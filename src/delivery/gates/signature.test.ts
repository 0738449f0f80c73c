import { describe, expect, it } from "vitest";
import type { ReleasePolicy } from "../model.js";
import { evaluateSignaturePolicy, normalizeRepository, policyApplies, type AttestationEvidence } from "./signature.js";

const DIGEST = `sha256:${"a".repeat(64)}`;
const policy = (over: Partial<ReleasePolicy> = {}): ReleasePolicy => ({ signature: "required", provenance: "required", sbom: "off", keys: [], identities: [], ...over });
const good = (over: Partial<AttestationEvidence> = {}): AttestationEvidence => ({
  recordedDigest: DIGEST,
  actualDigest: DIGEST,
  signature: { present: true, valid: true, reason: "signed by key abc" },
  provenance: {
    present: true,
    valid: true,
    reason: "SLSA v1 provenance verified",
    claims: { predicateType: "https://slsa.dev/provenance/v1", builderId: "https://slipway.dev/builder/v1", subjectDigest: "a".repeat(64), repository: "acme/web", ref: "refs/heads/main", commit: "0123456789abcdef" },
  },
  sbom: true,
  ...over,
});

describe("signature policy gate", () => {
  it("opens for a signed release with provenance from the required source and branch", () => {
    const v = evaluateSignaturePolicy(policy({ source: { repository: "https://github.com/Acme/web.git", branch: "main" } }), good());
    expect(v).toMatchObject({ open: true, failures: [], warnings: [] });
    expect(v.reason).toBe("policy: signature verified; provenance verified (acme/web main@0123456)");
  });

  it("refuses a tampered artifact, whatever the bundles say", () => {
    const v = evaluateSignaturePolicy(policy(), good({ actualDigest: `sha256:${"b".repeat(64)}` }));
    expect(v.open).toBe(false);
    expect(v.reason).toMatch(/^policy refuses the release: the artifact was modified after the release was made: its files hash to sha256:bbbbbbbbbbbb…, the release is sha256:aaaaaaaaaaaa…$/);
  });

  it("refuses when the artifact cannot be read, a signature is missing or does not verify", () => {
    expect(evaluateSignaturePolicy(policy(), good({ actualDigest: undefined, artifactProblem: "its file a.js cannot be read: ENOENT" })).reason).toMatch(/cannot be re-hashed: its file a\.js cannot be read/);
    expect(evaluateSignaturePolicy(policy({ provenance: "off" }), good({ signature: { present: false } })).failures).toEqual(["the release has no signature (made before signing, or with signing failing); make a new release"]);
    expect(evaluateSignaturePolicy(policy(), good({ signature: { present: true, valid: false, reason: "the signature does not match" } })).failures).toEqual(["signature: the signature does not match"]);
  });

  it("refuses provenance from another branch, repository or builder, or about another artifact", () => {
    const claims = good().provenance.claims!;
    const p = policy({ source: { repository: "acme/web", branch: "main" } });
    const with_ = (c: Partial<typeof claims>) => good({ provenance: { present: true, valid: true, reason: "ok", claims: { ...claims, ...c } } });
    expect(evaluateSignaturePolicy(p, with_({ ref: "refs/heads/feature" })).failures).toEqual(["provenance: it was built from branch feature, not branch main"]);
    expect(evaluateSignaturePolicy(p, with_({ repository: "evil/web" })).failures).toEqual(["provenance: it was built from evil/web, not acme/web"]);
    expect(evaluateSignaturePolicy(p, with_({ builderId: "https://example.com/builder" })).failures).toEqual(["provenance: it was built by https://example.com/builder, not https://slipway.dev/builder/v1"]);
    expect(evaluateSignaturePolicy(p, with_({ subjectDigest: "c".repeat(64) })).failures[0]).toMatch(/its subject is sha256:cccccccccccc…, not this release/);
    expect(evaluateSignaturePolicy(p, with_({ predicateType: "https://example.com/other" })).failures[0]).toMatch(/predicate type is https:\/\/example\.com\/other/);
  });

  it("warn reports without blocking; off is not looked at; a missing SBOM counts only when asked for", () => {
    const v = evaluateSignaturePolicy(policy({ signature: "warn", provenance: "off" }), good({ signature: { present: false } }));
    expect(v.open).toBe(true);
    expect(v.warnings).toHaveLength(1);
    expect(v.reason).toMatch(/warning: the release has no signature/);
    expect(evaluateSignaturePolicy(policy({ signature: "off", provenance: "off", sbom: "required" }), good({ sbom: false })).failures).toEqual(["the release has no SBOM; make a new release"]);
    expect(policyApplies(policy({ signature: "off", provenance: "off" }))).toBe(false);
  });

  it("compares repositories written as owner/name or URLs", () => {
    expect(normalizeRepository("git+https://github.com/Acme/Web.git/")).toBe("acme/web");
    expect(normalizeRepository("git@github.com:acme/web.git")).toBe("acme/web");
    expect(normalizeRepository("acme/web")).toBe("acme/web");
  });
});
