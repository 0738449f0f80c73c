export { Agent } from "./agent.js";
export { type AgentLog } from "./client.js";
