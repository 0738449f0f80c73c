// Supply chain: what protects the pipeline and what it ships. The workflow
// security lint (`slipway lint --security`) and its SARIF output; lockfiles
// and their CycloneDX SBOM; the release signing key, Sigstore bundles and
// SLSA provenance, verified offline; action pinning (`slipway pin`); and the
// dependency review of lockfile changes (`slipway deps`).
export { lintWorkflowSecurity, SECURITY_RULES, type SecurityOptions } from "./workflow-security.js";
export { toSarif } from "./sarif.js";
export { npmPurl, parseLockfile, type ComponentHash, type LockPackage, type Lockfile, type LockfileFormat } from "./lockfiles.js";
export { SBOM_MEDIA_TYPE, SbomError, generateSbom, validateSbom, type SbomResult, type SbomSubject } from "./sbom.js";
export {
  SigningKeyError,
  activeKeyId,
  activePublicKeyPem,
  importSigningKey,
  keyIdOf,
  knownPublicKeys,
  loadSigningKey,
  readPublicKeyFile,
  reencryptSigningKeys,
  rotateSigningKey,
  signingKeyDir,
  type SigningKey,
} from "./keys.js";
export { BUNDLE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, sha256Digest, signDsse, signMessage } from "./signing.js";
export { SLIPWAY_BUILDER_ID, buildProvenance, collectActions, readWorkflowAt, type ProvenanceInput, type ResourceDescriptor, type Statement } from "./provenance.js";
export { gatherEvidence, keyTrustMaterial, keysById } from "./verify.js";
export { memoizeRefResolver, newestOfMajor, pinActions, type PinChange, type PinOptions, type PinResult, type RefResolver } from "./pin.js";
export {
  ADVISORY_POLICY_KEYS,
  checkPolicy,
  diffLockfiles,
  licensePasses,
  parseReviewPolicy,
  reviewDependencies,
  type DependencyChange,
  type DependencyReview,
  type ReviewPolicy,
  type ReviewViolation,
} from "./deps-review.js";
