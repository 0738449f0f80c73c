export { createRelease, validateServiceName, ReleaseError, type CreateReleaseOptions, type ReleaseSource } from "./release.js";
export { releaseAfterRuns, servicesReleasedBy, type AutomaticRelease } from "./automatic.js";
export { manifestOfPath, readAttestations, releaseEvidence } from "./attest.js";
