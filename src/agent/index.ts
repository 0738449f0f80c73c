export { Agent, implicitLabels, type AgentOptions } from "./agent.js";
export { AgentClient, backoff, type AgentLog, type Answer } from "./client.js";
export { LogStream, type LogEvent } from "./log-stream.js";
export { prepareRepository, PrepareError, type PreparedRepository } from "./repository.js";
export { artifactDigests, sendArtifacts } from "./artifacts.js";
