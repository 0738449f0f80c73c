// A BuiltinContext for the built-in actions' tests, recording what the
// action does (outputs, log lines, warnings, saved state).
import { mkdirSync } from "node:fs";
import type { BuiltinContext } from "./builtin-action.js";

export interface TestStep {
  ctx: BuiltinContext;
  outputs: Record<string, string>;
  logs: string[];
  warnings: string[];
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
}

export function testStep(inputs: Record<string, string>, o: TestStepOptions): TestStep {
  mkdirSync(o.workspace, { recursive: true });
  const branch = o.branch ?? "main";
  const outputs: Record<string, string> = {};
  const logs: string[] = [];
  const warnings: string[] = [];
  const state: Record<string, string> = {};
  const ctx: BuiltinContext = {
    inputs,
    workspace: o.workspace,
    env: { HOME: o.home, ...o.env },
    repo: { root: o.workspace, prefix: "", sha: "0".repeat(40), ref: `refs/heads/${branch}`, branch, defaultBranch: o.defaultBranch ?? "main" },
    run: { id: o.runId ?? 1, attempt: 1, jobKey: o.jobKey ?? "build" },
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
  };
  return { ctx, outputs, logs, warnings, workspace: o.workspace };
}
