export { createRelease, validateServiceName, ReleaseError, type CreateReleaseOptions, type ReleaseSource } from "./release.js";
