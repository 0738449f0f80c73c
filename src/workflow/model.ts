// The typed model of one workflow file. Values that GitHub evaluates at run
// time stay template tokens; the runner evaluates them with the contexts of
// the moment.
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";
import type { MappingToken } from "@actions/workflow-parser/templates/tokens/mapping-token";
import type { EventsConfig } from "@actions/workflow-parser/model/workflow-template";

export type { TemplateToken, MappingToken, EventsConfig };

export interface Location {
  file: string;
  line: number;
  column: number;
}

export interface RunDefaults {
  shell?: string;
  workingDirectory?: string;
}

export interface StepSpec {
  /** Unique within the job; generated (`__run`, `__actions_checkout`) when the user gave none. */
  id: string;
  /** True when the workflow set `id:`; only those appear in the `steps` context. */
  hasUserId: boolean;
  name?: TemplateToken;
  /** Condition, always an expression (the parser adds the implicit `success()`). */
  if: string;
  run?: TemplateToken;
  uses?: string;
  with?: TemplateToken;
  env?: TemplateToken;
  shell?: TemplateToken;
  workingDirectory?: TemplateToken;
  timeoutMinutes?: TemplateToken;
  continueOnError?: TemplateToken;
  location: Location;
}

export interface JobSpec {
  id: string;
  name?: TemplateToken;
  needs: string[];
  if: string;
  env?: TemplateToken;
  strategy?: TemplateToken;
  outputs?: TemplateToken;
  runsOn?: TemplateToken;
  environment?: TemplateToken;
  container?: TemplateToken;
  services?: TemplateToken;
  concurrency?: TemplateToken;
  timeoutMinutes?: TemplateToken;
  continueOnError?: TemplateToken;
  defaults: RunDefaults;
  permissions?: TemplateToken;
  steps: StepSpec[];
  /** Reusable workflow call: `uses: ./.github/workflows/x.yml` (or owner/repo/path@ref). */
  uses?: string;
  with?: TemplateToken;
  secrets?: TemplateToken;
  inheritSecrets: boolean;
  location: Location;
}

export interface Workflow {
  /** Path relative to the repository root, e.g. `.github/workflows/ci.yml`. */
  path: string;
  /** File name as GitHub shows it when `name:` is absent. */
  name: string;
  runName?: TemplateToken;
  events: EventsConfig;
  env?: TemplateToken;
  defaults: RunDefaults;
  concurrency?: TemplateToken;
  permissions?: TemplateToken;
  /** `on.workflow_call.outputs` (name → { value }) of a reusable workflow. */
  callOutputs?: TemplateToken;
  jobs: JobSpec[];
}
