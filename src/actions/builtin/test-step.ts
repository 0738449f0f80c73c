// A BuiltinContext for the built-in actions' tests, recording what the
// action does (outputs, log lines, warnings, saved state).
import { mkdirSync } from "node:fs";
import type { BuiltinAnnotation, BuiltinContext } from "./builtin-action.js";

export interface TestStep {
  ctx: BuiltinContext;
  outputs: Record<string, string>;
  logs: string[];
  warnings: string[];
  /** Markdown appended to the job summary. */
  summary: string[];
  annotations: BuiltinAnnotation[];
  workspace: string;
}

export interface TestStepOptions {
  workspace: string;
  dataDir: string;
  home: string;
  branch?: string;
  defaultBranch?: string;
  env?: Record<string, string>;
  runId?: number;
  jobKey?: string;
  /** The job's record (store id, name, log directory); absent by default, as for runners that give none. */
  job?: { id: number; name: string; logDir: string };
  attempt?: number;
}

export function testStep(inputs: Record<string, string>, o: TestStepOptions): TestStep {
  mkdirSync(o.workspace, { recursive: true });
  const branch = o.branch ?? "main";
  const outputs: Record<string, string> = {};
  const logs: string[] = [];
  const warnings: string[] = [];
  const summary: string[] = [];
  const annotations: BuiltinAnnotation[] = [];
  const state: Record<string, string> = {};
  const ctx: BuiltinContext = {
    inputs,
    workspace: o.workspace,
    env: { HOME: o.home, ...o.env },
    repo: { root: o.workspace, prefix: "", sha: "0".repeat(40), ref: `refs/heads/${branch}`, branch, defaultBranch: o.defaultBranch ?? "main" },
    run: { id: o.runId ?? 1, attempt: o.attempt ?? 1, jobKey: o.jobKey ?? "build" },
    dataDir: o.dataDir,
    log: (line) => logs.push(line),
    warning: (message) => warnings.push(message),
    setOutput: (name, value) => {
      outputs[name] = value;
    },
    saveState: (name, value) => {
      state[name] = value;
    },
    state,
    signal: new AbortController().signal,
    ...(o.job ? { job: o.job } : {}),
    appendSummary: (markdown) => summary.push(markdown),
    annotate: (a) => annotations.push(a),
  };
  return { ctx, outputs, logs, warnings, summary, annotations, workspace: o.workspace };
}
