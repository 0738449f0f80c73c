export {
  type Json,
  type Contexts,
  type HostFunctions,
  ExpressionFailure,
  evaluateExpression,
  evaluateToken,
  evaluateString,
  interpolate,
  parseExpression,
  coerceToString,
  isTruthy,
  KNOWN_CONTEXTS,
  trackSecretReads,
} from "./evaluate.js";
export { hashFiles } from "./hash-files.js";
