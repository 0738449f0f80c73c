export type { Workflow, JobSpec, StepSpec, RunDefaults, Location, TemplateToken, MappingToken, EventsConfig } from "./model.js";
export { parseWorkflowText, loadWorkflowFile, diagnosticFromMessage, mappingGet, readStep, stringValue, type LoadResult } from "./load.js";
export { resolveInputs, type InputsResult } from "./inputs.js";
export { compilePattern, compileFilters, checkPattern, matchesFilters, FilterPatternError, type FilterPattern } from "./filter-pattern.js";
export { matchTrigger, DEFAULT_PULL_REQUEST_TYPES, type TriggerMatch } from "./triggers.js";
