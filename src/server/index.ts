export { startServer, type RunningServer, type ServerOptions } from "./server.js";
export { listRemoteCacheEntries, parseSize, removeRemoteCacheEntry, type StoredRemoteCacheEntry } from "./remote-cache.js";
export { Authenticator, hashToken, isRole, newToken, roleAtLeast, tokenFromHeaders, tokenGroups } from "./auth.js";
export { jsonLogger, type Logger } from "./log.js";
export { requiredCheckStatus } from "./checks.js";
export { reencryptWebhookSecrets } from "./external.js";
