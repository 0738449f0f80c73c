export { createRelease, validateServiceName, ReleaseError, type CreateReleaseOptions, type ReleaseSource } from "./release.js";
export { releaseAfterRuns, servicesReleasedBy, type AutomaticRelease } from "./automatic.js";
export { currentManifest, manifestOfPath, prepareAttestations, readAttestations, releaseEvidence, saveAttestations, SLIPWAY_VERSION, type PreparedAttestations } from "./attest.js";
