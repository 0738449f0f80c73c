export { collectGarbage, evict, retentionFromEnv, CACHE_MAX_AGE_ENV, CACHE_MAX_BYTES_ENV, DEFAULT_RETENTION, type GcOptions, type GcReport, type RetentionPolicy } from "./collect.js";
