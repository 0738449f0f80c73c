/**
 * git `-c` options that give up on an HTTP transfer that stalls (under
 * 1 KB/s for 60 s) instead of hanging: for clones and fetches of remote
 * actions and of an agent's repository mirrors.
 */
export const STALL_LIMITS: readonly string[] = ["-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=60"];
