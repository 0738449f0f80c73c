// Parses and validates a workflow file with GitHub's own parser, then reads
// the fields that its job model drops (with, shell, working-directory,
// timeout-minutes, continue-on-error, permissions, defaults) from the
// template tokens.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import {
  convertWorkflowTemplate,
  isMapping,
  isSequence,
  isString,
  NoOperationTraceWriter,
  parseWorkflow,
} from "@actions/workflow-parser";
import { ErrorPolicy } from "@actions/workflow-parser/model/convert";
import type { Job, ReusableWorkflowJob, Step } from "@actions/workflow-parser/model/workflow-template";
import type { Diagnostic } from "../diagnostics/index.js";
import { checkYamlFeatures } from "./yaml-check.js";
import type { JobSpec, MappingToken, RunDefaults, StepSpec, TemplateToken, Workflow } from "./model.js";

export interface LoadResult {
  workflow?: Workflow;
  diagnostics: Diagnostic[];
}

/** `./local`, `docker://image`, or `owner/repo[/path]@ref`. */
const USES = /^(\.{1,2}(\/.*)?|docker:\/\/\S+|[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(\/[^@\s]+)*@[^@\s]+)$/;

const LOCATED = /^(.*?) \(Line: (\d+), Col: (\d+)\): ([\s\S]*)$/;

function codeFor(message: string): string {
  if (/depends on unknown job/.test(message)) return "unknown-need";
  if (/cycle/i.test(message)) return "needs-cycle";
  if (/at least one job with no dependencies/.test(message)) return "no-root-job";
  if (/Unexpected value/.test(message)) return "unknown-key";
  if (/expression|Unexpected symbol|Unrecognized (named-value|function)|Too (few|many) parameters/i.test(message)) return "bad-expression";
  if (/Required property is missing/.test(message)) return "missing-key";
  return "workflow-syntax";
}

function fixFor(code: string, message: string): string | undefined {
  switch (code) {
    case "unknown-need":
      return "name an existing job id in `needs:` or remove it";
    case "needs-cycle":
      return "remove one `needs:` edge so the jobs form a DAG";
    case "unknown-key": {
      const key = /Unexpected value '([^']*)'/.exec(message)?.[1];
      return key ? `remove or correct the key '${key}' (see the GitHub Actions workflow syntax)` : undefined;
    }
    case "missing-key":
      return "add the required key";
    case "no-root-job":
      return "give at least one job no `needs:` so the run has somewhere to start";
    case "bad-expression":
      if (/named-value/.test(message)) return "use a known context: github, env, vars, secrets, job, jobs, steps, runner, strategy, matrix, needs, inputs";
      return "correct the expression inside ${{ }} (operators: == != < <= > >= && || !, functions such as contains(), fromJSON(), format())";
    default:
      return undefined;
  }
}

/** Turns a parser message (`ci.yml (Line: 3, Col: 5): text`) into a diagnostic. */
export function diagnosticFromMessage(file: string, message: string, fallback?: { line: number; column: number }): Diagnostic {
  // YAML syntax errors come as `file: text at line N, column M:` and a code frame.
  if (message.startsWith(`${file}: `)) {
    const first = (message.slice(file.length + 2).split("\n")[0] ?? "").replace(/:$/, "");
    const at = / at line (\d+), column (\d+)$/.exec(first);
    return {
      code: "yaml-syntax",
      severity: "error",
      message: at ? first.slice(0, at.index) : first,
      file,
      line: at ? Number(at[1]) : (fallback?.line ?? 0),
      column: at ? Number(at[2]) : (fallback?.column ?? 0),
      fix: "fix the YAML syntax at this position (indentation, quotes, brackets); `${{ }}` inside a flow mapping `{ }` must be quoted",
    };
  }
  const m = LOCATED.exec(message);
  const text = m ? (m[4] ?? message) : message;
  const line = m ? Number(m[2]) : (fallback?.line ?? 0);
  const column = m ? Number(m[3]) : (fallback?.column ?? 0);
  const code = codeFor(text);
  const fix = fixFor(code, text);
  return { code, severity: "error", message: text, file, line, column, ...(fix ? { fix } : {}) };
}

export function mappingGet(token: TemplateToken | undefined, key: string): TemplateToken | undefined {
  if (!token || !isMapping(token)) return undefined;
  for (let i = 0; i < token.count; i++) {
    const pair = token.get(i);
    if (isString(pair.key) && pair.key.value === key) return pair.value;
  }
  return undefined;
}

export function stringValue(token: TemplateToken | undefined): string | undefined {
  return token && isString(token) ? token.value : undefined;
}

function readDefaults(owner: TemplateToken | undefined): RunDefaults {
  const run = mappingGet(mappingGet(owner, "defaults"), "run");
  const out: RunDefaults = {};
  const shell = stringValue(mappingGet(run, "shell"));
  const wd = stringValue(mappingGet(run, "working-directory"));
  if (shell !== undefined) out.shell = shell;
  if (wd !== undefined) out.workingDirectory = wd;
  return out;
}

function loc(file: string, token: TemplateToken | undefined) {
  return { file, line: token?.line ?? 0, column: token?.col ?? 0 };
}

export function readStep(file: string, step: Step, raw: TemplateToken | undefined, index = 0): StepSpec {
  const s = step as Step & { run?: TemplateToken; uses?: { value: string }; env?: MappingToken; if?: { expression: string } };
  const hasUserId = stringValue(mappingGet(raw, "id")) !== undefined;
  return {
    id: step.id || `__step_${index + 1}`,
    hasUserId,
    ...(step.name ? { name: step.name } : {}),
    if: s.if?.expression ?? "success()",
    ...(s.run ? { run: s.run } : {}),
    ...(s.uses ? { uses: s.uses.value } : {}),
    ...optional("with", mappingGet(raw, "with")),
    ...(s.env ? { env: s.env } : {}),
    ...optional("shell", mappingGet(raw, "shell")),
    ...optional("workingDirectory", mappingGet(raw, "working-directory")),
    ...optional("timeoutMinutes", mappingGet(raw, "timeout-minutes")),
    ...optional("continueOnError", mappingGet(raw, "continue-on-error")),
    location: loc(file, raw),
  };
}

function optional<K extends string>(key: K, token: TemplateToken | undefined): { [P in K]?: TemplateToken } {
  return (token ? { [key]: token } : {}) as { [P in K]?: TemplateToken };
}

function readJob(file: string, job: Job | ReusableWorkflowJob, raw: TemplateToken | undefined): JobSpec {
  const rawSteps = mappingGet(raw, "steps");
  const steps: StepSpec[] = [];
  if (job.type === "job") {
    job.steps.forEach((step, i) => {
      const rawStep = rawSteps && isSequence(rawSteps) ? rawSteps.get(i) : undefined;
      steps.push(readStep(file, step, rawStep, i));
    });
  }
  const base: JobSpec = {
    id: job.id.value,
    needs: (job.needs ?? []).map((n) => n.value),
    if: job.if?.expression ?? "success()",
    defaults: readDefaults(raw),
    steps,
    inheritSecrets: false,
    location: loc(file, raw),
    ...optional("name", job.name),
    ...optional("strategy", job.strategy),
    ...optional("outputs", job.outputs),
    ...optional("concurrency", mappingGet(raw, "concurrency")),
    ...optional("timeoutMinutes", mappingGet(raw, "timeout-minutes")),
    ...optional("continueOnError", mappingGet(raw, "continue-on-error")),
    ...optional("permissions", mappingGet(raw, "permissions")),
  };
  if (job.type === "job") {
    return {
      ...base,
      ...optional("env", job.env),
      ...optional("runsOn", job["runs-on"]),
      ...optional("environment", job.environment),
      ...optional("container", job.container),
      ...optional("services", job.services),
    };
  }
  const secrets = mappingGet(raw, "secrets");
  return {
    ...base,
    uses: job.ref.value,
    ...optional("with", mappingGet(raw, "with")),
    ...(secrets && !isString(secrets) ? { secrets } : {}),
    inheritSecrets: stringValue(secrets) === "inherit",
  };
}

/**
 * GitHub's parser (0.3.61) drops `type: number` inputs of workflow_dispatch
 * and workflow_call (its input types lack number), losing their default.
 * Their type and default are read back from the tokens.
 */
function restoreInputDefinitions(events: Workflow["events"], on: TemplateToken | undefined): void {
  for (const event of ["workflow_dispatch", "workflow_call"]) {
    const inputs = mappingGet(mappingGet(on, event), "inputs");
    if (!inputs || !isMapping(inputs)) continue;
    const target = events as Record<string, { inputs?: Record<string, Record<string, unknown>> } | undefined>;
    for (let i = 0; i < inputs.count; i++) {
      const pair = inputs.get(i);
      if (!isString(pair.key)) continue;
      const type = stringValue(mappingGet(pair.value, "type"));
      if (type !== "number") continue;
      const def = mappingGet(pair.value, "default");
      const slot = (target[event] ??= {});
      slot.inputs ??= {};
      slot.inputs[pair.key.value] = {
        ...(slot.inputs[pair.key.value] ?? {}),
        type: "number",
        ...(def && isLiteralValue(def) ? { default: (def as unknown as { value: unknown }).value } : {}),
      };
    }
  }
}

function isLiteralValue(token: TemplateToken): boolean {
  return token.isLiteral && "value" in (token as object);
}

/** Parses workflow text. `file` is the path shown in diagnostics (relative to the repository). */
export async function parseWorkflowText(file: string, content: string): Promise<LoadResult> {
  const diagnostics: Diagnostic[] = [];
  if (content.trim() === "") {
    return { diagnostics: [{ code: "empty-workflow", severity: "error", message: "the file is empty", file, line: 0, column: 0, fix: "a workflow needs `on:` and `jobs:`" }] };
  }
  const yamlProblems = checkYamlFeatures(file, content);
  if (yamlProblems.length > 0) return { diagnostics: yamlProblems };
  let parsed;
  try {
    parsed = parseWorkflow({ name: file, content }, new NoOperationTraceWriter());
  } catch (err) {
    return { diagnostics: [diagnosticFromMessage(file, `could not parse: ${(err as Error).message}`)] };
  }
  const seen = new Set<string>();
  const add = (d: Diagnostic) => {
    const key = `${d.line}:${d.column}:${d.message}`;
    // After the first YAML syntax error the rest are mostly its echoes.
    if (d.code === "yaml-syntax" && diagnostics.some((x) => x.code === "yaml-syntax")) return;
    if (!seen.has(key)) {
      seen.add(key);
      diagnostics.push(d);
    }
  };
  for (const e of parsed.context.errors.getErrors()) {
    const start = e.range?.start;
    add(diagnosticFromMessage(file, e.message, start ? { line: start.line, column: start.column } : undefined));
  }
  const root = parsed.value;
  if (!root) {
    if (diagnostics.length === 0) add(diagnosticFromMessage(file, "the file is empty; a workflow needs `on:` and `jobs:`"));
    return { diagnostics };
  }
  let template;
  try {
    template = await convertWorkflowTemplate(parsed.context, root, undefined, { errorPolicy: ErrorPolicy.TryConversion });
  } catch (err) {
    add(diagnosticFromMessage(file, `could not convert: ${(err as Error).message}`));
    return { diagnostics };
  }
  for (const e of template.errors ?? []) add(diagnosticFromMessage(file, e.Message));
  for (const e of parsed.context.errors.getErrors()) {
    const start = e.range?.start;
    add(diagnosticFromMessage(file, e.message, start ? { line: start.line, column: start.column } : undefined));
  }
  if (diagnostics.length > 0 || !template.jobs) return { diagnostics };

  restoreInputDefinitions(template.events, mappingGet(root, "on"));
  const rawJobs = mappingGet(root, "jobs");
  const jobs = template.jobs.map((job) => readJob(file, job, mappingGet(rawJobs, job.id.value)));
  for (const job of jobs) {
    for (const step of job.steps) {
      if (step.uses !== undefined && !USES.test(step.uses)) {
        add({
          code: "invalid-uses",
          severity: "error",
          message: `'${step.uses}' is not a valid action reference`,
          file,
          line: step.location.line,
          column: step.location.column,
          fix: "use ./path/to/action, owner/repo@ref, owner/repo/path@ref or docker://image",
        });
      }
    }
  }
  if (diagnostics.length > 0) return { diagnostics };
  const name = stringValue(mappingGet(root, "name")) ?? file;
  const workflow: Workflow = {
    path: file,
    name,
    events: template.events,
    defaults: readDefaults(root),
    jobs,
    ...optional("runName", mappingGet(root, "run-name")),
    ...optional("env", mappingGet(root, "env")),
    ...optional("concurrency", mappingGet(root, "concurrency")),
    ...optional("permissions", mappingGet(root, "permissions")),
    ...optional("callOutputs", mappingGet(mappingGet(mappingGet(root, "on"), "workflow_call"), "outputs")),
  };
  return { workflow, diagnostics };
}

/** Reads and parses a workflow file from disk. */
export async function loadWorkflowFile(absPath: string, displayPath = basename(absPath)): Promise<LoadResult> {
  let content: string;
  try {
    content = readFileSync(absPath, "utf8");
  } catch (err) {
    return {
      diagnostics: [
        {
          code: "file-not-found",
          severity: "error",
          message: `cannot read workflow: ${(err as Error).message}`,
          file: displayPath,
          line: 0,
          column: 0,
          fix: "check the path given with -W/--workflow",
        },
      ],
    };
  }
  return parseWorkflowText(displayPath, content);
}
