export { type Diagnostic, type Severity, formatDiagnostic, hasErrors } from "./diagnostic.js";
