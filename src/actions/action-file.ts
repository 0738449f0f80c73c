// Reads an action's metadata file (action.yml / action.yaml) with GitHub's
// parser, keeping the raw tokens of composite steps for the fields the
// converted model drops (with, shell, working-directory, ...).
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { isSequence, NoOperationTraceWriter } from "@actions/workflow-parser";
import { convertActionTemplate, parseAction } from "@actions/workflow-parser/actions/index";
import type { ActionTemplate } from "@actions/workflow-parser/actions/index";
import { ErrorPolicy } from "@actions/workflow-parser/model/convert";
import type { Diagnostic } from "../diagnostics/index.js";
import { diagnosticFromMessage, mappingGet, readStep, type StepSpec, type TemplateToken } from "../workflow/index.js";

export interface ActionInput {
  id: string;
  required: boolean;
  default?: TemplateToken;
}

export interface ActionOutput {
  id: string;
  value?: TemplateToken;
}

export type ActionRuns =
  | { using: "composite"; steps: StepSpec[] }
  | { using: "node"; version: string; main: string; pre?: string; preIf?: string; post?: string; postIf?: string }
  | { using: "docker"; image: string };

export interface ActionMetadata {
  name: string;
  /** Absolute directory of the action (GITHUB_ACTION_PATH). */
  dir: string;
  /** The metadata file, relative to the repository when possible, for messages. */
  file: string;
  inputs: ActionInput[];
  outputs: ActionOutput[];
  runs: ActionRuns;
}

export interface ActionFileResult {
  action?: ActionMetadata;
  diagnostics: Diagnostic[];
}

/** Loads `<dir>/action.yml` (or .yaml). `displayRoot` makes file names in messages relative. */
export function loadActionFile(dir: string, displayRoot = dir): ActionFileResult {
  const candidates = ["action.yml", "action.yaml"].map((f) => join(dir, f));
  const path = candidates.find((p) => existsSync(p));
  const display = relative(displayRoot, path ?? join(dir, "action.yml")) || "action.yml";
  if (!path) {
    return {
      diagnostics: [
        {
          code: "action-not-found",
          severity: "error",
          message: `no action.yml or action.yaml in ${relative(displayRoot, dir) || "."}`,
          file: display,
          line: 0,
          column: 0,
          fix: "check the path in `uses:`; a local action must be checked out first (actions/checkout)",
        },
      ],
    };
  }
  const content = readFileSync(path, "utf8");
  const parsed = parseAction({ name: display, content }, new NoOperationTraceWriter());
  // GitHub's runner accepts actions without `description`; so do we.
  const diagnostics = parsed.context.errors
    .getErrors()
    .map((e) => diagnosticFromMessage(display, e.message, e.range?.start))
    .filter((d) => !/Required property is missing: description/.test(d.message));
  if (diagnostics.length > 0 || !parsed.value) return { diagnostics };
  let template: ActionTemplate;
  try {
    template = convertActionTemplate(parsed.context, parsed.value, { errorPolicy: ErrorPolicy.TryConversion });
  } catch (err) {
    return { diagnostics: [diagnosticFromMessage(display, `cannot read action: ${(err as Error).message}`)] };
  }
  const runsRaw = mappingGet(parsed.value, "runs");
  const runs = template.runs as ActionTemplate["runs"] | undefined;
  if (!runs) return { diagnostics: [diagnosticFromMessage(display, "`runs:` is missing or invalid")] };
  let actionRuns: ActionRuns;
  if (runs.using === "composite") {
    const rawSteps = mappingGet(runsRaw, "steps");
    const steps = runs.steps.map((s, i) =>
      readStep(display, s, rawSteps && isSequence(rawSteps) ? rawSteps.get(i) : undefined, i),
    );
    actionRuns = { using: "composite", steps };
  } else if (runs.using === "docker") {
    actionRuns = { using: "docker", image: runs.image };
  } else {
    actionRuns = {
      using: "node",
      version: runs.using,
      main: runs.main,
      ...(runs.pre ? { pre: runs.pre } : {}),
      ...(runs.preIf ? { preIf: runs.preIf } : {}),
      ...(runs.post ? { post: runs.post } : {}),
      ...(runs.postIf ? { postIf: runs.postIf } : {}),
    };
  }
  return {
    action: {
      name: template.name,
      dir,
      file: display,
      inputs: (template.inputs ?? []).map((i) => ({
        id: i.id,
        required: i.required === true,
        ...(i.default ? { default: i.default } : {}),
      })),
      outputs: (template.outputs ?? []).map((o) => ({ id: o.id, ...(o.value ? { value: o.value } : {}) })),
      runs: actionRuns,
    },
    diagnostics: [],
  };
}
