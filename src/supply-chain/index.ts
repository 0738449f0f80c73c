// Supply chain: what protects the pipeline itself. For now the workflow
// security lint (`slipway lint --security`) and its SARIF output.
export { lintWorkflowSecurity, SECURITY_RULES, type SecurityOptions } from "./workflow-security.js";
export { toSarif } from "./sarif.js";
export {
  LOCKFILE_NAMES,
  LockfileError,
  integrityToHashes,
  npmPurl,
  parseLockfile,
  type ComponentHash,
  type LockPackage,
  type Lockfile,
  type LockfileFormat,
} from "./lockfiles.js";
export { SBOM_MEDIA_TYPE, SBOM_SPEC_VERSION, SbomError, buildSbom, findLockfiles, generateSbom, readLockfiles, validateSbom, type SbomResult, type SbomSubject } from "./sbom.js";
export {
  SIGNING_KEY_ENV,
  SigningKeyError,
  activeKeyId,
  importSigningKey,
  keyIdOf,
  knownPublicKeys,
  loadSigningKey,
  readPrivateKeyFile,
  readPublicKeyFile,
  rotateSigningKey,
  signingKeyDir,
  type SigningKey,
} from "./keys.js";
export { BUNDLE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, preAuthEncoding, releaseManifest, sha256Digest, signDsse, signMessage, type ManifestFile } from "./signing.js";
export {
  BUILD_TYPE_FILE,
  BUILD_TYPE_WORKFLOW,
  SLIPWAY_BUILDER_ID,
  SLSA_PROVENANCE_V1,
  STATEMENT_TYPE,
  buildProvenance,
  collectActions,
  readWorkflowAt,
  type ProvenanceInput,
  type ResourceDescriptor,
  type Statement,
} from "./provenance.js";
export { gatherEvidence, keyTrustMaterial, keysById, offlineVerifier, verifyProvenanceBundle, verifySignatureBundle } from "./verify.js";
export { newestOfMajor, pinActions, type PinChange, type PinOptions, type PinResult, type RefResolver } from "./pin.js";
export {
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
