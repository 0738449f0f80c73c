export {
  type Executor,
  type ProcessSpec,
  type ProcessResult,
  type SandboxOptions,
  type HostExecutorOptions,
  DEFAULT_KILL_GRACE_MS,
  DRAIN_TIMEOUT_MS,
} from "./executor.js";
export { createHostExecutor } from "./host-executor.js";
export { createSandboxExecutor, sandboxAvailable } from "./sandbox-executor.js";
