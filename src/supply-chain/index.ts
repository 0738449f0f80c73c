// Supply chain: what protects the pipeline itself. For now the workflow
// security lint (`slipway lint --security`) and its SARIF output.
export { lintWorkflowSecurity, SECURITY_RULES, type SecurityOptions } from "./workflow-security.js";
export { toSarif } from "./sarif.js";
export { newestOfMajor, pinActions, type PinChange, type PinOptions, type PinResult, type RefResolver } from "./pin.js";
