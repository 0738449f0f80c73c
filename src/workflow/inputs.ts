// The `inputs` context of a run: workflow_dispatch and workflow_call inputs
// with their types and defaults, as GitHub fills them.
import type { Json } from "../expressions/index.js";
import type { Workflow } from "./model.js";

export interface InputsResult {
  /** The `inputs` context: booleans and numbers typed, the rest strings. */
  inputs: Record<string, Json>;
  errors: string[];
}

type InputDef = { type?: string; required?: boolean; default?: unknown; options?: string[] };

function literal(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "object" && value !== null && "value" in value) return String((value as { value: unknown }).value);
  return String(value);
}

/**
 * Types and defaults the inputs given on the command line (`--input k=v`)
 * for a `workflow_dispatch` or `workflow_call` event. Unknown inputs and
 * missing required inputs are errors that name the input and the fix.
 */
export function resolveInputs(workflow: Workflow, eventName: string, given: Record<string, string>): InputsResult {
  const events = workflow.events as Record<string, { inputs?: Record<string, InputDef> } | undefined>;
  const defs = events[eventName]?.inputs ?? {};
  const inputs: Record<string, Json> = {};
  const errors: string[] = [];
  const where = `${workflow.path}: on.${eventName}.inputs`;
  for (const name of Object.keys(given)) {
    if (!(name in defs)) {
      errors.push(`${where} has no input '${name}'${Object.keys(defs).length ? `; known inputs: ${Object.keys(defs).join(", ")}` : ""}`);
    }
  }
  for (const [name, def] of Object.entries(defs)) {
    const raw = given[name] ?? literal(def.default);
    const type = def.type ?? "string";
    if (raw === undefined) {
      if (def.required) errors.push(`${where}.${name} is required; pass --input ${name}=VALUE`);
      inputs[name] = type === "boolean" ? false : type === "number" ? null : "";
      continue;
    }
    if (type === "boolean") {
      if (raw !== "true" && raw !== "false") {
        errors.push(`${where}.${name} is a boolean; got '${raw}', use true or false`);
        continue;
      }
      inputs[name] = raw === "true";
    } else if (type === "number") {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) {
        errors.push(`${where}.${name} is a number; got '${raw}'`);
        continue;
      }
      inputs[name] = n;
    } else if (type === "choice") {
      if (def.options && !def.options.includes(raw)) {
        errors.push(`${where}.${name} must be one of ${def.options.join(", ")}; got '${raw}'`);
        continue;
      }
      inputs[name] = raw;
    } else {
      inputs[name] = raw;
    }
  }
  return { inputs, errors };
}
