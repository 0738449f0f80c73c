export {
  ENVELOPE_VERSION,
  MASTER_KEY_ENV,
  SecretsError,
  type SecretsErrorCode,
  decryptSecret,
  encryptSecret,
  envelopeKeyId,
  loadMasterKey,
  masterKeyId,
  masterKeyPath,
  parseMasterKey,
} from "./crypto.js";
export { MAX_SECRET_BYTES, type SecretInfo, SecretStore, type SecretStoreOptions, normalizeSecretName } from "./secret-store.js";
export { MASK, MIN_LINE_LENGTH, type MaskStream, Masker, maskForms } from "./masker.js";
export {
  SERVER_URL_ENV,
  OIDC_PATHS,
  type IdTokenCredentials,
  OidcIssuer,
  type OidcJob,
  RunOidc,
  isOidcPath,
  jobGrantsIdToken,
  oidcJobClaims,
  startLoopbackIssuer,
} from "./oidc.js";
export { OIDC_KEY_RETENTION_MS, OidcKeyStore, oidcKeysPath } from "./oidc-keys.js";
export { type WriteFileAtomicOptions, writeFileAtomicSync } from "./key-file.js";
export { deleteRetiredKeys, MASTER_KEY_PREVIOUS_ENV, MasterKeyring, type MasterKeyRotation, retiredKeyIds, retiredKeysDir, rotateMasterKey, withRotationLock } from "./master-keys.js";
export {
  allows,
  describePermissions,
  type JobGrant,
  JOB_TOKEN_MAX_TTL_MS,
  JOB_TOKEN_PREFIX,
  JobTokenError,
  type JobTokenCredentials,
  JobTokens,
  jobPermissions,
  type PermissionScope,
  type Permissions,
} from "./job-tokens.js";
