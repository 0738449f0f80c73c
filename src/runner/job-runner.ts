// Runs one job (one matrix instance) on this host: sets up the workspace,
// resolves actions, runs each step with its shell or action, applies file
// and workflow commands, masks secrets, runs post steps, and evaluates the
// job's outputs. The scheduler decides *when* a job runs; this decides *how*.
import { randomUUID } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import {
  coerceToString,
  evaluateExpression,
  evaluateString,
  evaluateToken,
  hashFiles,
  isTruthy,
  trackSecretReads,
  type Contexts,
  type HostFunctions,
  type Json,
} from "../expressions/index.js";
import type { JobResult } from "../engine/index.js";
import type { Executor, ProcessResult } from "../executor/index.js";
import type { Masker } from "../secrets/index.js";
import { JOB_SUMMARY_FILE, stepLogPath, type Conclusion, type NewAnnotation, type Store } from "../store/index.js";
import type { JobSpec, StepSpec, Workflow } from "../workflow/index.js";
import {
  isLocalUses,
  resolveAction,
  type ActionMetadata,
  type BuiltinAction,
  type BuiltinAnnotation,
  type BuiltinContext,
  type SharedCache,
  type BuiltinRepo,
  type ResolveOptions,
  type ResolvedAction,
} from "../actions/index.js";
import { parseEnvFile, parseKeyValueFile, parsePathFile } from "./file-commands.js";
import { removeTree } from "./remove-tree.js";
import { CommandProcessor, formatAnnotation, type WorkflowCommand } from "./workflow-commands.js";
import { scriptExtension, shellCommand } from "./shell.js";

/** An annotation as the run reports it: a built-in's (or a workflow command's), with its job and step. */
export interface Annotation extends BuiltinAnnotation {
  job: string;
  step?: string;
}

/** Receives what a job does, already masked. */
export interface JobReporter {
  stepStarted(number: number, name: string): void;
  line(text: string): void;
  stepFinished(number: number, name: string, conclusion: Conclusion): void;
  annotation(a: Annotation): void;
}

export interface JobRunInput {
  workflow: Workflow;
  job: JobSpec;
  /** Store id of this job (instance, attempt). */
  jobId: number;
  runId: number;
  runNumber: number;
  attempt: number;
  name: string;
  matrix: Record<string, Json> | null;
  strategy: Record<string, Json>;
  needs: Record<string, { result: string; outputs: Record<string, string> }>;
  /** The github context of the run (event, sha, ref, repository, ...). */
  github: Record<string, Json>;
  repo: BuiltinRepo & { owner: string; name: string };
  vars: Record<string, string>;
  secrets: Record<string, string>;
  inputs: Record<string, Json>;
  /** Workflow-level env (already evaluated). */
  workflowEnv: Record<string, string>;
  masker: Masker;
  executor: Executor;
  /**
   * Where the job's step records go: the store for a local job; for a job
   * run by an agent, events streamed to the server (agent/).
   */
  store: { createStep(...args: Parameters<Store["createStep"]>): { id: number }; finishStep: Store["finishStep"] };
  dataDir: string;
  /**
   * Where job workspaces and temp files go: outside the data directory, so
   * the scripts of `run:` steps (which may hold interpolated secrets) never
   * land in it.
   */
  workRoot: string;
  /**
   * Where each step's script and file-command files go, on tmpfs
   * (createStepFilesRoot()); without it, in the job's temp folder.
   */
  stepFilesRoot?: string;
  /** Directory for this job's logs. */
  logDir: string;
  /** Path of the event payload file (GITHUB_EVENT_PATH). */
  eventPath: string;
  reporter: JobReporter;
  /** Cancellation of the run. */
  signal: AbortSignal;
  actions: Omit<ResolveOptions, "workspace">;
  keepWorkspace?: boolean;
  /** The host environment the steps inherit (a self-hosted runner inherits its own). */
  baseEnv: Record<string, string>;
  /** OIDC request credentials (secrets/oidc.ts), for a job whose permissions grant `id-token: write`. */
  idToken?: { url: string; token: string };
  /** The server's cache beside the local one, for actions/cache on a runner agent (agent/cache.ts). */
  sharedCache?: SharedCache;
  /** The job token for the server's API and Git (secrets/job-tokens.ts): github.token and secrets.GITHUB_TOKEN; SLIPWAY_URL for steps. */
  jobToken?: { url: string; token: string };
}

export interface JobRunResult {
  result: JobResult;
  outputs: Record<string, string>;
  reason?: string;
  /**
   * Deletion of the job's workspace, still going on: the job's slot is free
   * for the next job meanwhile; the run waits for it before it ends.
   */
  cleanup?: Promise<void>;
  /** The names of the secrets the job's expressions read (never values), sorted: for the audit (store: secret reads). */
  secretsRead?: string[];
  /** The job's annotations (masked), in order: kept with the run (store: annotations). */
  annotations?: NewAnnotation[];
}

interface StepState {
  outputs: Record<string, string>;
  outcome: Conclusion;
  conclusion: Conclusion;
}

interface Scope {
  steps: Record<string, StepState>;
  /** Env inherited by the steps of this scope. */
  env: Record<string, string>;
  inputs: Record<string, Json>;
  actionPath?: string;
  actionRepository?: string;
  /** A step of this scope failed (after continue-on-error). */
  failed: boolean;
  /** Label used in step names, e.g. `Run ./my-action`. */
  prefix: string;
}

interface PostStep {
  name: string;
  condition: string;
  run: () => Promise<StepOutcome>;
}

interface StepOutcome {
  outcome: Conclusion;
  reason?: string;
}

const MINUTE = 60_000;

/**
 * A job's `timeout-minutes` evaluated with `contexts` (default 360): the
 * runner's timer, and the server's deadline for a job an agent runs.
 */
export function jobTimeoutMinutes(job: Pick<JobSpec, "timeoutMinutes">, contexts: Contexts): number {
  if (!job.timeoutMinutes) return 360;
  const n = Number(evaluateToken(job.timeoutMinutes, contexts));
  return Number.isFinite(n) && n > 0 ? n : 360;
}

/** jobTimeoutMinutes, or the default 360 when the expression cannot be evaluated with these contexts (the runner reports that when the job starts). */
export function jobTimeoutMinutesOrDefault(job: Pick<JobSpec, "timeoutMinutes">, contexts: Contexts): number {
  try {
    return jobTimeoutMinutes(job, contexts);
  } catch {
    return jobTimeoutMinutes({}, contexts);
  }
}
/** Inputs of built-in actions that end up in the data directory as given: an artifact's name, a cache's key. */
const STORED_INPUTS: Record<string, string[]> = { "actions/upload-artifact": ["name"], "actions/cache": ["key"], "actions/cache/save": ["key"] };

export class JobRunner {
  private readonly workspace: string;
  private readonly temp: string;
  /** The steps' scripts and file-command files (GITHUB_ENV, GITHUB_OUTPUT…). */
  private readonly stepFiles: string;
  private readonly toolCache: string;
  private readonly jobRoot: string;
  /** Env added by GITHUB_ENV, persisted for later steps. */
  private readonly addedEnv: Record<string, string> = {};
  /** PATH entries added by GITHUB_PATH, newest first. */
  private readonly addedPath: string[] = [];
  private readonly posts: PostStep[] = [];
  private readonly resolved = new Map<string, ResolvedAction>();
  private readonly jobAbort = new AbortController();
  private cancelled = false;
  private jobFailed = false;
  private stepNumber = 0;
  private failureReason: string | undefined;
  private jobEnv: Record<string, string> = {};
  private readonly summaryPath: string;

  /** The annotations reported, for the result. */
  private readonly annotations: NewAnnotation[] = [];
  /** Names of the secrets read by the job's expressions (trackSecretReads). */
  private readonly secretsRead = new Set<string>();
  private readonly secretsContext: Record<string, string>;

  constructor(private readonly input: JobRunInput) {
    // The job token is GITHUB_TOKEN, as on GitHub (a stored secret cannot be named GITHUB_*).
    const secrets = input.jobToken ? { ...input.secrets, GITHUB_TOKEN: input.jobToken.token } : input.secrets;
    this.secretsContext = trackSecretReads(secrets, (name) => this.secretsRead.add(name));
    this.jobRoot = join(input.workRoot, String(input.runId), String(input.jobId));
    this.workspace = join(this.jobRoot, "workspace");
    this.temp = join(this.jobRoot, "temp");
    this.stepFiles = input.stepFilesRoot ? join(input.stepFilesRoot, String(input.runId), String(input.jobId)) : join(this.temp, "_runner_file_commands");
    this.toolCache = join(input.dataDir, "tool-cache");
    this.summaryPath = join(input.logDir, JOB_SUMMARY_FILE);
  }

  async run(): Promise<JobRunResult> {
    const { input } = this;
    if (input.idToken) input.masker.add(input.idToken.token);
    if (input.jobToken) input.masker.add(input.jobToken.token);
    for (const d of [this.workspace, this.temp, this.stepFiles, this.toolCache, input.logDir]) mkdirSync(d, { recursive: true });
    const onCancel = () => {
      this.cancelled = true;
      this.jobAbort.abort();
    };
    if (input.signal.aborted) onCancel();
    else input.signal.addEventListener("abort", onCancel, { once: true });
    const timeoutMinutes = jobTimeoutMinutes(input.job, this.baseContexts());
    const timer = setTimeout(() => {
      this.failureReason = `the job exceeded its timeout of ${timeoutMinutes} minutes`;
      this.timedOut = true;
      this.jobAbort.abort();
    }, timeoutMinutes * MINUTE);
    timer.unref();
    let result: JobRunResult | undefined;
    try {
      result = await this.runJob();
    } finally {
      clearTimeout(timer);
      input.signal.removeEventListener("abort", onCancel);
      // Background processes the steps left running (`./server &`) live until
      // the job ends, as on GitHub ("Cleaning up orphan processes").
      killTrackedProcesses(this.trackingId, this.lastPidAtStart);
    }
    if (this.secretsRead.size > 0) result = { ...result, secretsRead: [...this.secretsRead].sort() };
    if (this.annotations.length > 0) result = { ...result, annotations: this.annotations };
    // Asynchronous: a big workspace takes seconds to delete, and other jobs go on meanwhile.
    if (input.keepWorkspace) return result;
    const cleanup = input.stepFilesRoot ? Promise.all([removeTree(this.jobRoot), removeTree(this.stepFiles)]).then(() => undefined) : removeTree(this.jobRoot);
    return { ...result, cleanup };
  }

  private annotate(a: Annotation): void {
    const { job: _job, ...kept } = a;
    this.annotations.push(kept);
    this.input.reporter.annotation(a);
  }

  /** Put in every step's environment: finds the processes the job started (GitHub's runner does the same). */
  private readonly trackingId = `github_${randomUUID()}`;
  /** The last process id the kernel gave out before the job started: what the job started has higher ones. */
  private readonly lastPidAtStart = lastPid();

  private timedOut = false;

  private async runJob(): Promise<JobRunResult> {
    const { input } = this;
    // Job env: workflow env < job env.
    try {
      this.jobEnv = { ...input.workflowEnv, ...this.evalEnv(input.job.env, this.baseContexts()) };
    } catch (err) {
      return this.setupFailure(`job env: ${(err as Error).message}`);
    }
    if (input.job.container || input.job.services) {
      const what = input.job.container ? "`container:`" : "`services:`";
      return this.setupFailure(
        `${what} needs a container engine, and none is available on this host; remove it or run the job on a host with Docker`,
      );
    }
    // Set up job: resolve every non-local action first, as GitHub does, so a
    // missing action fails the job before any step runs.
    for (const step of input.job.steps) {
      if (step.uses && !isLocalUses(step.uses) && !this.resolved.has(step.uses)) {
        try {
          this.resolved.set(step.uses, await resolveAction(step.uses, { ...input.actions, workspace: this.workspace }));
        } catch (err) {
          return this.setupFailure(`${step.location.file}:${step.location.line}:${step.location.column}: ${(err as Error).message}`);
        }
      }
    }
    const scope: Scope = { steps: {}, env: this.jobEnv, inputs: input.inputs, failed: false, prefix: "" };
    this.rootScope = scope;
    await this.runPreSteps(input.job.steps, scope);
    await this.runSteps(input.job.steps, scope);
    if (scope.failed) this.jobFailed = true;
    await this.runPostSteps();

    // Job outputs are evaluated after all steps, with the final steps context.
    const outputs: Record<string, string> = {};
    if (input.job.outputs) {
      try {
        const values = evaluateToken(input.job.outputs, this.contexts(scope), this.hostFunctions(scope));
        if (values && typeof values === "object" && !Array.isArray(values)) {
          for (const [k, v] of Object.entries(values)) {
            const s = coerceToString(v);
            if (input.masker.mask(s) !== s) {
              this.warn(`Skip output '${k}' since it may contain secret.`);
              continue;
            }
            outputs[k] = s;
          }
        }
      } catch (err) {
        this.error(`job outputs: ${(err as Error).message}`);
        this.jobFailed = true;
      }
    }
    // A job that failed before a cancellation reached it stays failed.
    const result: JobResult = this.jobFailed ? "failure" : this.cancelled ? "cancelled" : "success";
    const reason =
      result === "cancelled"
        ? typeof input.signal.reason === "string"
          ? input.signal.reason
          : "the run was cancelled"
        : result === "failure"
          ? (this.failureReason ?? "a step failed")
          : undefined;
    return { result, outputs, ...(reason ? { reason } : {}) };
  }

  /** A job that cannot start: a failed "Set up job" step, recorded with its log like any step (conformance 060). */
  private async setupFailure(reason: string): Promise<JobRunResult> {
    await this.reportStep("Set up job", async () => {
      this.error(reason);
      return { outcome: "failure", reason };
    });
    return { result: "failure", outputs: {}, reason };
  }

  // ---- contexts -----------------------------------------------------------

  private baseContexts(): Contexts {
    const { input } = this;
    return {
      // github.token: the job token, else a GITHUB_TOKEN given with -s (as act does).
      github: { ...input.github, workspace: this.workspace, job: input.job.id, action_path: "", token: input.jobToken?.token ?? input.secrets.GITHUB_TOKEN ?? input.github.token ?? "" },
      env: { ...this.jobEnv, ...this.addedEnv },
      vars: input.vars,
      secrets: this.secretsContext,
      inputs: input.inputs,
      matrix: input.matrix ?? {},
      strategy: input.strategy,
      needs: input.needs,
      runner: this.runnerContext(),
      job: { status: this.jobStatus() },
      steps: {},
    };
  }

  private contexts(scope: Scope, stepEnv?: Record<string, string>): Contexts {
    const base = this.baseContexts();
    return {
      ...base,
      github: {
        ...(base.github as Record<string, Json>),
        action_path: scope.actionPath ?? "",
        action_repository: scope.actionRepository ?? "",
      },
      env: { ...scope.env, ...this.addedEnv, ...(stepEnv ?? {}) },
      inputs: scope.inputs,
      steps: scope.steps as unknown as Json,
    };
  }

  private runnerContext(): Record<string, Json> {
    return {
      os: "Linux",
      arch: process.arch === "arm64" ? "ARM64" : "X64",
      name: "slipway-local",
      environment: "self-hosted",
      temp: this.temp,
      tool_cache: this.toolCache,
      debug: this.input.baseEnv.RUNNER_DEBUG === "1" ? "1" : "",
    };
  }

  /** The job's own steps scope, so that `job.status` sees a failed step before the job ends. */
  private rootScope: Scope | undefined;

  private jobStatus(): string {
    // A failed step of the job makes job.status `failure` for the steps after it (conformance 027).
    return this.cancelled ? "cancelled" : this.jobFailed || this.rootScope?.failed ? "failure" : "success";
  }

  private hostFunctions(scope: Scope): HostFunctions {
    return {
      success: () => !this.cancelled && !this.jobFailed && !scope.failed,
      failure: () => this.jobFailed || scope.failed,
      cancelled: () => this.cancelled,
      always: () => true,
      hashFiles: (patterns) => hashFiles(this.workspace, patterns),
    };
  }

  private evalEnv(token: StepSpec["env"], ctx: Contexts, fns?: HostFunctions): Record<string, string> {
    const value = evaluateToken(token, ctx, fns);
    const out: Record<string, string> = {};
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) out[k] = coerceToString(v);
    }
    return out;
  }

  private evalNumber(token: StepSpec["timeoutMinutes"], ctx: Contexts, fallback: number): number {
    if (!token) return fallback;
    const n = Number(evaluateToken(token, ctx));
    return Number.isFinite(n) && n > 0 ? n : fallback;
  }

  private evalBool(token: StepSpec["continueOnError"], ctx: Contexts): boolean {
    if (!token) return false;
    return isTruthy(evaluateToken(token, ctx));
  }

  // ---- output ---------------------------------------------------------------

  // Errors and warnings go to the step's stored log too, as GitHub's `##[error]` lines do.
  private error(message: string, step?: string): void {
    const masked = this.input.masker.mask(message);
    this.emit(`Error: ${masked}`);
    this.annotate({ level: "error", message: masked, job: this.input.name, ...(step ? { step } : {}) });
  }

  private warn(message: string): void {
    const masked = this.input.masker.mask(message);
    this.emit(`Warning: ${masked}`);
    this.annotate({ level: "warning", message: masked, job: this.input.name });
  }

  // ---- steps ----------------------------------------------------------------

  /** The step's name, masked: a `run:` script or a `name:` may hold a secret (conformance 042). */
  private stepDisplayName(step: StepSpec, scope: Scope, ctx: Contexts): string {
    return this.input.masker.mask(this.rawStepDisplayName(step, scope, ctx));
  }

  private rawStepDisplayName(step: StepSpec, scope: Scope, ctx: Contexts): string {
    if (step.name) {
      try {
        return evaluateString(step.name, ctx);
      } catch {
        // fall through to the generated name
      }
    }
    if (step.uses) return `${scope.prefix}Run ${step.uses}`;
    let run = "";
    try {
      run = step.run ? evaluateString(step.run, ctx) : "";
    } catch {
      run = "";
    }
    const first = run.split("\n").find((l) => l.trim() !== "") ?? "";
    return `${scope.prefix}Run ${first.trim()}`.slice(0, 120);
  }

  private async runPreSteps(steps: StepSpec[], scope: Scope): Promise<void> {
    for (const step of steps) {
      if (!step.uses) continue;
      const resolved = this.resolved.get(step.uses);
      if (!resolved || resolved.kind !== "action" || resolved.meta.runs.using !== "node" || !resolved.meta.runs.pre) continue;
      const meta = resolved.meta;
      const runs = resolved.meta.runs;
      const condition = runs.preIf ?? "always()";
      const ctx = this.contexts(scope);
      if (!this.condition(condition, ctx, scope)) continue;
      const name = `Pre ${step.uses}`;
      await this.reportStep(name, async () => {
        const inputs = this.actionInputs(meta, step, scope, ctx);
        return this.runNode(meta, runs.pre as string, inputs, {}, step, scope, {});
      });
    }
  }

  private async runPostSteps(): Promise<void> {
    while (this.posts.length > 0) {
      const post = this.posts.pop() as PostStep;
      const scope: Scope = { steps: {}, env: this.jobEnv, inputs: {}, failed: false, prefix: "" };
      if (!this.condition(post.condition, this.contexts(scope), scope)) continue;
      await this.reportStep(post.name, post.run);
    }
  }

  private condition(expr: string, ctx: Contexts, scope: Scope): boolean {
    return isTruthy(evaluateExpression(expr, ctx, this.hostFunctions(scope)));
  }

  /** Runs a step body with the step log and store records around it. */
  private async reportStep(name: string, body: () => Promise<StepOutcome>, continueOnError = false): Promise<StepOutcome & { conclusion: Conclusion }> {
    const { input } = this;
    const number = ++this.stepNumber;
    const logPath = stepLogPath(input.logDir, number);
    const record = input.store.createStep(input.jobId, number, name, logPath);
    input.reporter.stepStarted(number, name);
    const fd = openSync(logPath, "a");
    const previous = this.currentLog;
    this.currentLog = fd;
    let outcome: StepOutcome;
    try {
      outcome = await body();
    } catch (err) {
      this.error((err as Error).message, name);
      outcome = { outcome: "failure", reason: (err as Error).message };
    } finally {
      this.currentLog = previous;
    }
    closeSync(fd);
    const conclusion: Conclusion = outcome.outcome === "failure" && continueOnError ? "success" : outcome.outcome;
    input.store.finishStep(record.id, outcome.outcome, conclusion);
    input.reporter.stepFinished(number, name, conclusion);
    return { ...outcome, conclusion };
  }

  private currentLog: number | undefined;

  /** Writes a (masked) line to the current step log and the reporter. */
  private emit(text: string): void {
    if (this.currentLog !== undefined) writeSync(this.currentLog, text + "\n");
    this.input.reporter.line(text);
  }

  async runSteps(steps: StepSpec[], scope: Scope): Promise<void> {
    for (const step of steps) {
      const stepEnvCtx = this.contexts(scope);
      let stepEnv: Record<string, string> = {};
      let condition = false;
      let conditionError: string | undefined;
      try {
        stepEnv = this.evalEnv(step.env, stepEnvCtx, this.hostFunctions(scope));
      } catch (err) {
        conditionError = `env: ${(err as Error).message}`;
      }
      const ctx = this.contexts(scope, stepEnv);
      const name = this.stepDisplayName(step, scope, ctx);
      if (!conditionError) {
        try {
          condition = this.condition(step.if, ctx, scope);
        } catch (err) {
          conditionError = `if: ${(err as Error).message}`;
        }
      }
      const where = `${step.location.file}:${step.location.line}:${step.location.column}`;
      if (conditionError) {
        await this.reportStep(name, async () => {
          this.error(`${where}: ${conditionError}`, name);
          return { outcome: "failure", reason: conditionError };
        });
        scope.failed = true;
        this.failureReason ??= `step '${name}' failed: ${conditionError}`;
        continue;
      }
      if (!condition) {
        if (step.hasUserId) scope.steps[step.id] = { outputs: {}, outcome: "skipped", conclusion: "skipped" };
        continue;
      }
      let continueOnError = false;
      let timeoutMinutes = 0;
      try {
        continueOnError = this.evalBool(step.continueOnError, ctx);
        timeoutMinutes = this.evalNumber(step.timeoutMinutes, ctx, 0);
      } catch (err) {
        this.error(`${where}: ${(err as Error).message}`, name);
      }
      const outputs: Record<string, string> = {};
      const result = await this.reportStep(
        name,
        () =>
          this.runStepBody(step, scope, ctx, stepEnv, outputs, timeoutMinutes, name).catch((err: unknown) => {
            // Point at the step in the workflow, unless the message already points somewhere.
            const message = (err as Error).message;
            throw new Error(/^[^\s:]+:\d+:\d+: /.test(message) ? message : `${where}: ${message}`);
          }),
        continueOnError,
      );
      if (step.hasUserId) scope.steps[step.id] = { outputs, outcome: result.outcome, conclusion: result.conclusion };
      if (result.conclusion === "failure") {
        scope.failed = true;
        this.failureReason ??= `step '${name}' failed${result.reason ? `: ${result.reason}` : ""}`;
      }
    }
  }

  private async runStepBody(
    step: StepSpec,
    scope: Scope,
    ctx: Contexts,
    stepEnv: Record<string, string>,
    outputs: Record<string, string>,
    timeoutMinutes: number,
    name: string,
  ): Promise<StepOutcome> {
    if (step.run) {
      const script = evaluateString(step.run, ctx, this.hostFunctions(scope));
      const shell = step.shell ? evaluateString(step.shell, ctx) : this.input.job.defaults.shell ?? this.input.workflow.defaults.shell;
      const wd = step.workingDirectory
        ? evaluateString(step.workingDirectory, ctx)
        : (this.input.job.defaults.workingDirectory ?? this.input.workflow.defaults.workingDirectory);
      if (scope.actionPath && !step.shell) {
        throw new Error(`${step.location.file}:${step.location.line}:${step.location.column}: a run step in a composite action needs \`shell:\``);
      }
      return this.runScript(script, shell, wd, stepEnv, outputs, scope, timeoutMinutes, name);
    }
    if (!step.uses) throw new Error("step has neither run nor uses");
    let resolved = this.resolved.get(step.uses);
    if (!resolved) {
      // Local actions are resolved against the workspace, inside composites too, as on GitHub.
      resolved = await resolveAction(step.uses, { ...this.input.actions, workspace: this.workspace });
      if (!isLocalUses(step.uses)) this.resolved.set(step.uses, resolved);
    }
    const withValues = this.evalEnv(step.with, ctx, this.hostFunctions(scope));
    if (resolved.kind === "builtin") return this.runBuiltin(resolved.builtin, withValues, stepEnv, outputs, scope, name);
    const meta = resolved.meta;
    const inputs = this.actionInputs(meta, step, scope, ctx, withValues);
    if (meta.runs.using === "composite") {
      return this.runComposite(meta, inputs, stepEnv, outputs, scope, step);
    }
    if (meta.runs.using === "node") {
      const runs = meta.runs;
      const state: Record<string, string> = {};
      const r = await this.runNode(meta, runs.main, inputs, stepEnv, step, scope, outputs, state, timeoutMinutes);
      if (runs.post) {
        const post = runs.post;
        this.posts.push({
          name: `Post ${name}`,
          condition: runs.postIf ?? "always()",
          run: () => this.runNode(meta, post, inputs, stepEnv, step, scope, {}, state, 0, state),
        });
      }
      return r;
    }
    throw new Error(`\`${step.uses}\`: unsupported action type`);
  }

  /** Inputs of an action: `with:` values over evaluated defaults; required inputs checked. */
  private actionInputs(
    meta: ActionMetadata,
    step: StepSpec,
    scope: Scope,
    ctx: Contexts,
    withValues?: Record<string, string>,
  ): Record<string, string> {
    const given = withValues ?? this.evalEnv(step.with, ctx, this.hostFunctions(scope));
    const out: Record<string, string> = {};
    const lowerGiven = new Map(Object.entries(given).map(([k, v]) => [k.toLowerCase(), v]));
    for (const def of meta.inputs) {
      const v = lowerGiven.get(def.id.toLowerCase());
      if (v !== undefined) out[def.id] = v;
      else if (def.default) out[def.id] = evaluateString(def.default, ctx, this.hostFunctions(scope));
      else if (def.required) this.warn(`Input required and not supplied: ${def.id} (${step.uses})`);
      else out[def.id] = "";
    }
    for (const [k, v] of Object.entries(given)) {
      if (!meta.inputs.some((d) => d.id.toLowerCase() === k.toLowerCase())) {
        this.warn(`Unexpected input '${k}' for ${step.uses}; valid inputs are ${meta.inputs.map((i) => `'${i.id}'`).join(", ") || "none"}`);
        out[k] = v;
      }
    }
    return out;
  }

  private async runComposite(
    meta: ActionMetadata,
    inputs: Record<string, string>,
    stepEnv: Record<string, string>,
    outputs: Record<string, string>,
    parent: Scope,
    step: StepSpec,
  ): Promise<StepOutcome> {
    if (meta.runs.using !== "composite") throw new Error("not a composite action");
    const scope: Scope = {
      steps: {},
      env: { ...parent.env, ...stepEnv },
      inputs,
      actionPath: meta.dir,
      actionRepository: step.uses && !isLocalUses(step.uses) ? (step.uses.split("@")[0] ?? "") : "",
      failed: false,
      prefix: "",
    };
    // Composite steps log into the same step; they do not create store steps.
    for (const inner of meta.runs.steps) {
      const innerEnvCtx = this.contexts(scope);
      const innerEnv = this.evalEnv(inner.env, innerEnvCtx, this.hostFunctions(scope));
      const ctx = this.contexts(scope, innerEnv);
      if (!this.condition(inner.if, ctx, scope)) {
        if (inner.hasUserId) scope.steps[inner.id] = { outputs: {}, outcome: "skipped", conclusion: "skipped" };
        continue;
      }
      const innerOutputs: Record<string, string> = {};
      let r: StepOutcome;
      try {
        r = await this.runStepBody(inner, scope, ctx, innerEnv, innerOutputs, this.evalNumber(inner.timeoutMinutes, ctx, 0), this.stepDisplayName(inner, scope, ctx));
      } catch (err) {
        this.error((err as Error).message);
        r = { outcome: "failure", reason: (err as Error).message };
      }
      const coe = this.evalBool(inner.continueOnError, ctx);
      const conclusion: Conclusion = r.outcome === "failure" && coe ? "success" : r.outcome;
      if (inner.hasUserId) scope.steps[inner.id] = { outputs: innerOutputs, outcome: r.outcome, conclusion };
      if (conclusion === "failure") scope.failed = true;
    }
    const ctx = this.contexts(scope);
    for (const o of meta.outputs) {
      if (o.value) outputs[o.id] = evaluateString(o.value, ctx, this.hostFunctions(scope));
    }
    if (this.cancelled) return { outcome: "cancelled" };
    return scope.failed ? { outcome: "failure", reason: `composite action ${step.uses} failed` } : { outcome: "success" };
  }

  // ---- processes -----------------------------------------------------------

  private stepEnvironment(scope: Scope, stepEnv: Record<string, string>, files: FileCommandPaths, extra: Record<string, string>): Record<string, string> {
    const { input } = this;
    const g = input.github;
    const str = (v: Json | undefined) => (v === undefined || v === null ? "" : coerceToString(v));
    const env: Record<string, string> = {
      ...input.baseEnv,
      CI: "true",
      GITHUB_ACTIONS: "true",
      GITHUB_WORKFLOW: input.workflow.name,
      GITHUB_WORKFLOW_REF: str(g.workflow_ref),
      GITHUB_WORKFLOW_SHA: str(g.sha),
      GITHUB_RUN_ID: String(input.runId),
      GITHUB_RUN_NUMBER: String(input.runNumber),
      GITHUB_RUN_ATTEMPT: String(input.attempt),
      GITHUB_JOB: input.job.id,
      GITHUB_ACTION: String(this.stepNumber),
      GITHUB_ACTOR: str(g.actor),
      GITHUB_ACTOR_ID: "0",
      GITHUB_TRIGGERING_ACTOR: str(g.actor),
      GITHUB_REPOSITORY: str(g.repository),
      GITHUB_REPOSITORY_OWNER: str(g.repository_owner),
      GITHUB_EVENT_NAME: str(g.event_name),
      GITHUB_EVENT_PATH: input.eventPath,
      GITHUB_WORKSPACE: this.workspace,
      GITHUB_SHA: str(g.sha),
      GITHUB_REF: str(g.ref),
      GITHUB_REF_NAME: str(g.ref_name),
      GITHUB_REF_TYPE: str(g.ref_type),
      GITHUB_REF_PROTECTED: "false",
      GITHUB_HEAD_REF: str(g.head_ref),
      GITHUB_BASE_REF: str(g.base_ref),
      GITHUB_SERVER_URL: str(g.server_url),
      GITHUB_API_URL: str(g.api_url),
      GITHUB_GRAPHQL_URL: str(g.graphql_url),
      GITHUB_RETENTION_DAYS: "90",
      GITHUB_ACTION_PATH: scope.actionPath ?? "",
      GITHUB_ACTION_REPOSITORY: scope.actionRepository ?? "",
      GITHUB_ENV: files.env,
      GITHUB_OUTPUT: files.output,
      GITHUB_PATH: files.path,
      GITHUB_STATE: files.state,
      GITHUB_STEP_SUMMARY: files.summary,
      RUNNER_OS: "Linux",
      RUNNER_ARCH: process.arch === "arm64" ? "ARM64" : "X64",
      RUNNER_NAME: "slipway-local",
      RUNNER_ENVIRONMENT: "self-hosted",
      RUNNER_TEMP: this.temp,
      RUNNER_TOOL_CACHE: this.toolCache,
      RUNNER_TRACKING_ID: this.trackingId,
      ...(input.idToken ? { ACTIONS_ID_TOKEN_REQUEST_URL: input.idToken.url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: input.idToken.token } : {}),
      ...(input.jobToken ? { SLIPWAY_URL: input.jobToken.url } : {}),
      ...scope.env,
      ...this.addedEnv,
      ...stepEnv,
      ...extra,
    };
    if (this.addedPath.length > 0) env.PATH = [...this.addedPath, env.PATH ?? ""].filter(Boolean).join(delimiter);
    return env;
  }

  /** Fresh, empty file-command files for one step (the directory is made once per job). */
  private makeFileCommands(): FileCommandPaths {
    const paths = this.fileCommandPaths();
    for (const p of Object.values(paths)) writeFileSync(p, "");
    return paths;
  }

  /** Names of a step's file-command files, not created (built-in actions do not write them). */
  private fileCommandPaths(): FileCommandPaths {
    const dir = this.stepFiles;
    const id = randomUUID();
    return {
      env: join(dir, `set_env_${id}`),
      output: join(dir, `set_output_${id}`),
      path: join(dir, `add_path_${id}`),
      state: join(dir, `save_state_${id}`),
      summary: join(dir, `step_summary_${id}`),
    };
  }

  /** Applies GITHUB_ENV, GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STATE and GITHUB_STEP_SUMMARY after a step. */
  private applyFileCommands(files: FileCommandPaths, outputs: Record<string, string>, state: Record<string, string>): string[] {
    const errors: string[] = [];
    const read = (p: string): string => {
      try {
        return readFileSync(p, "utf8");
      } catch {
        return ""; // the step deleted it
      }
    };
    const env = parseEnvFile(read(files.env), "GITHUB_ENV");
    errors.push(...env.errors);
    for (const w of env.warnings) this.warn(w);
    for (const { name, value } of env.values) this.addedEnv[name] = value;
    const out = parseKeyValueFile(read(files.output), "GITHUB_OUTPUT");
    errors.push(...out.errors);
    for (const { name, value } of out.values) outputs[name] = value;
    const st = parseKeyValueFile(read(files.state), "GITHUB_STATE");
    errors.push(...st.errors);
    for (const { name, value } of st.values) state[name] = value;
    for (const p of parsePathFile(read(files.path))) this.addedPath.unshift(p);
    this.appendSummary(read(files.summary));
    for (const p of Object.values(files)) removeFile(p);
    return errors;
  }

  /** Appends (masked) Markdown to the job summary, `summary.md` in the job's log directory. */
  private appendSummary(summary: string): void {
    if (summary.trim() === "") return;
    const fd = openSync(this.summaryPath, "a");
    writeSync(fd, this.input.masker.mask(summary) + (summary.endsWith("\n") ? "" : "\n"));
    closeSync(fd);
  }

  private async runScript(
    script: string,
    shell: string | undefined,
    workingDirectory: string | undefined,
    stepEnv: Record<string, string>,
    outputs: Record<string, string>,
    scope: Scope,
    timeoutMinutes: number,
    name: string,
  ): Promise<StepOutcome> {
    const files = this.makeFileCommands();
    const env = this.stepEnvironment(scope, stepEnv, files, {});
    const scriptPath = join(this.stepFiles, `${randomUUID()}${scriptExtension(shell)}`);
    writeFileSync(scriptPath, script);
    const cmd = shellCommand(shell, scriptPath, env.PATH ?? "");
    const cwd = workingDirectory ? (isAbsolute(workingDirectory) ? workingDirectory : resolve(this.workspace, workingDirectory)) : this.workspace;
    if (!existsSync(cwd)) {
      rmSync(scriptPath, { force: true });
      throw new Error(`working-directory '${workingDirectory}' does not exist in the workspace`);
    }
    const state: Record<string, string> = {};
    const result = await this.spawn(cmd.command, cmd.args, cwd, env, timeoutMinutes, outputs, state, name);
    removeFile(scriptPath);
    for (const e of this.applyFileCommands(files, outputs, state)) this.error(e, name);
    return this.processOutcome(result, timeoutMinutes);
  }

  private async runNode(
    meta: ActionMetadata,
    entry: string,
    inputs: Record<string, string>,
    stepEnv: Record<string, string>,
    step: StepSpec,
    scope: Scope,
    outputs: Record<string, string>,
    state: Record<string, string> = {},
    timeoutMinutes = 0,
    savedState: Record<string, string> = {},
  ): Promise<StepOutcome> {
    const files = this.makeFileCommands();
    const extra: Record<string, string> = {};
    for (const [k, v] of Object.entries(inputs)) extra[`INPUT_${k.replace(/ /g, "_").toUpperCase()}`] = v;
    for (const [k, v] of Object.entries(savedState)) extra[`STATE_${k}`] = v;
    const actionScope: Scope = { ...scope, actionPath: meta.dir, actionRepository: step.uses && !isLocalUses(step.uses) ? (step.uses.split("@")[0] ?? "") : "" };
    const env = this.stepEnvironment(actionScope, stepEnv, files, extra);
    const script = join(meta.dir, entry);
    if (!existsSync(script)) throw new Error(`${meta.file}: entry point '${entry}' does not exist`);
    const result = await this.spawn(process.execPath, [script], this.workspace, env, timeoutMinutes, outputs, state, step.uses ?? "");
    for (const e of this.applyFileCommands(files, outputs, state)) this.error(e);
    return this.processOutcome(result, timeoutMinutes);
  }

  private async runBuiltin(
    builtin: BuiltinAction,
    inputs: Record<string, string>,
    stepEnv: Record<string, string>,
    outputs: Record<string, string>,
    scope: Scope,
    name: string,
  ): Promise<StepOutcome> {
    // Inputs a built-in keeps as they are in the data directory: one holding a secret is refused (secret-leak test).
    for (const k of STORED_INPUTS[builtin.name] ?? []) {
      const v = inputs[k] ?? "";
      if (this.input.masker.mask(v) !== v) throw new Error(`input '${k}' of ${builtin.name} contains a secret, which would be stored unmasked in the data directory; use a value without secrets`);
    }
    const env = this.stepEnvironment(scope, stepEnv, this.fileCommandPaths(), {});
    const state: Record<string, string> = {};
    const makeCtx = (): BuiltinContext => ({
      inputs,
      workspace: this.workspace,
      env,
      repo: this.input.repo,
      run: { id: this.input.runId, attempt: this.input.attempt, jobKey: this.input.job.id },
      dataDir: this.input.dataDir,
      ...(this.input.sharedCache ? { sharedCache: this.input.sharedCache } : {}),
      log: (line) => this.emit(this.input.masker.mask(line)),
      warning: (message: string) => this.warn(message),
      setOutput: (k, v) => {
        outputs[k] = v;
      },
      saveState: (k, v) => {
        state[k] = v;
      },
      state,
      signal: this.jobAbort.signal,
      addPath: (dir: string) => {
        this.addedPath.unshift(dir);
      },
      exportVariable: (k: string, v: string) => {
        this.addedEnv[k] = v;
      },
      job: { id: this.input.jobId, name: this.input.name, logDir: this.input.logDir },
      appendSummary: (markdown: string) => this.appendSummary(markdown),
      annotate: (a) => {
        const mask = (text: string) => this.input.masker.mask(text);
        const shown = {
          message: mask(a.message),
          ...(a.file ? { file: a.file } : {}),
          ...(a.line !== undefined ? { line: a.line } : {}),
          ...(a.col !== undefined ? { col: a.col } : {}),
          ...(a.title ? { title: mask(a.title) } : {}),
        };
        this.emit(mask(formatAnnotation({ kind: a.level, ...shown })));
        this.annotate({ level: a.level, job: this.input.name, step: name, ...shown });
      },
      mask: (text: string) => this.input.masker.mask(text),
    });
    await builtin.main(makeCtx());
    if (builtin.post) {
      const post = builtin.post.bind(builtin);
      this.posts.push({
        name: `Post ${name}`,
        condition: builtin.postIf ?? "success()",
        run: async () => {
          await post({ ...makeCtx(), setOutput: () => {} });
          return { outcome: "success" };
        },
      });
    }
    return { outcome: "success" };
  }

  private processOutcome(result: StepProcessResult, timeoutMinutes: number): StepOutcome {
    if (result.cancelled) return { outcome: this.timedOut ? "failure" : "cancelled", reason: this.timedOut ? this.failureReason : "cancelled" };
    if (result.timedOut) return { outcome: "failure", reason: `the step exceeded its timeout of ${timeoutMinutes} minutes` };
    // A refused workflow command (::set-env, a weak stop-commands token) fails the step, as on GitHub (conformance 080).
    if (result.exitCode === 0 && result.commandError) return { outcome: "failure", reason: result.commandError };
    if (result.exitCode === 0) return { outcome: "success" };
    const reason = result.exitCode !== null ? `Process completed with exit code ${result.exitCode}.` : `Process was killed by ${result.signal}.`;
    this.error(reason);
    return { outcome: "failure", reason };
  }

  private async spawn(
    command: string,
    args: string[],
    cwd: string,
    env: Record<string, string>,
    timeoutMinutes: number,
    outputs: Record<string, string>,
    state: Record<string, string>,
    stepName: string,
  ): Promise<StepProcessResult> {
    // The runner's options: annotation paths relative to the workspace, the insecure commands only when allowed.
    const processor = new CommandProcessor({
      workspace: this.workspace,
      allowUnsecureCommands: env.ACTIONS_ALLOW_UNSECURE_COMMANDS === "true",
      debug: env.ACTIONS_STEP_DEBUG === "true",
    });
    let commandError: string | undefined;
    const handle = (cmd: WorkflowCommand) => {
      if (cmd.kind === "invalid" && cmd.failsStep) commandError ??= cmd.message;
      this.applyCommand(cmd, outputs, state, stepName);
    };
    const out = new LineSplitter((line) => this.processLine(processor, line, handle));
    const err = new LineSplitter((line) => this.processLine(processor, line, handle));
    const stepAbort = new AbortController();
    const onAbort = () => stepAbort.abort();
    // A step started after cancellation (an always() step) runs to its end.
    if (!this.jobAbort.signal.aborted) this.jobAbort.signal.addEventListener("abort", onAbort, { once: true });
    let result: ProcessResult;
    try {
      result = await this.input.executor.run({
        command,
        args,
        cwd,
        env,
        ...(timeoutMinutes > 0 ? { timeoutMs: timeoutMinutes * MINUTE } : {}),
        signal: stepAbort.signal,
        onStdout: (c) => out.write(c),
        onStderr: (c) => err.write(c),
      });
    } finally {
      this.jobAbort.signal.removeEventListener("abort", onAbort);
      out.end();
      err.end();
    }
    return commandError !== undefined ? { ...result, commandError } : result;
  }

  private processLine(processor: CommandProcessor, line: string, handle: (c: WorkflowCommand) => void): void {
    const { command, display } = processor.process(line);
    if (command) handle(command);
    if (display !== null) this.emit(this.input.masker.mask(display));
  }

  private applyCommand(cmd: WorkflowCommand, outputs: Record<string, string>, state: Record<string, string>, step: string): void {
    switch (cmd.kind) {
      case "add-mask":
        if (cmd.value.trim() !== "") this.input.masker.add(cmd.value);
        break;
      case "set-output":
        outputs[cmd.name] = cmd.value;
        this.annotate({
          level: "warning",
          message: "The `set-output` command is deprecated; write to $GITHUB_OUTPUT instead",
          job: this.input.name,
          step,
        });
        break;
      case "save-state":
        state[cmd.name] = cmd.value;
        break;
      // Only produced with ACTIONS_ALLOW_UNSECURE_COMMANDS=true.
      case "set-env":
        this.addedEnv[cmd.name] = cmd.value;
        break;
      case "add-path":
        this.addedPath.unshift(cmd.path);
        break;
      case "error":
      case "warning":
      case "notice":
        this.annotate({
          level: cmd.kind,
          message: this.input.masker.mask(cmd.message),
          job: this.input.name,
          step,
          ...(cmd.file ? { file: cmd.file } : {}),
          ...(cmd.line !== undefined ? { line: cmd.line } : {}),
          ...(cmd.col !== undefined ? { col: cmd.col } : {}),
          ...(cmd.title ? { title: this.input.masker.mask(cmd.title) } : {}),
        });
        break;
      default:
        break;
    }
  }
}

/** A step process's result, plus the first workflow command that was refused and fails the step. */
type StepProcessResult = ProcessResult & { commandError?: string };

interface FileCommandPaths {
  env: string;
  output: string;
  path: string;
  state: string;
  summary: string;
}

/** Splits a stream of text chunks into lines (without the newline). */
class LineSplitter {
  private buffer = "";
  constructor(private readonly onLine: (line: string) => void) {}
  write(chunk: string): void {
    this.buffer += chunk;
    let i: number;
    while ((i = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 1);
      this.onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
    }
  }
  end(): void {
    if (this.buffer !== "") this.onLine(this.buffer);
    this.buffer = "";
  }
}

/**
 * Kills every process whose environment holds RUNNER_TRACKING_ID=<id>: what
 * the job's steps left running. Processes that cleared their environment
 * escape, as they do on GitHub. Linux only (/proc); elsewhere a no-op.
 *
 * `since` is {@link lastPid} when the job started: only processes created
 * after it are read (all of them when the kernel's pid counter wrapped).
 */
export function killTrackedProcesses(id: string, since?: number): number {
  if (!existsSync("/proc")) return 0;
  const now = lastPid();
  if (since !== undefined && now === since) return 0; // no process was created since
  const floor = since !== undefined && now !== undefined && now > since ? since : 0;
  const needle = Buffer.from(`RUNNER_TRACKING_ID=${id}\0`);
  let killed = 0;
  let pids: number[];
  if (floor > 0 && now !== undefined && now - floor <= 1024) {
    // Few processes were created since: look at just those.
    pids = Array.from({ length: now - floor }, (_, i) => floor + 1 + i);
  } else {
    try {
      pids = readdirSync("/proc").map(Number);
    } catch {
      return 0;
    }
  }
  for (const pid of pids) {
    if (!Number.isInteger(pid) || pid <= floor || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`).includes(needle)) continue;
      process.kill(pid, "SIGKILL");
      killed++;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return killed;
}

/** Deletes a file that may already be gone. */
function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already, or a folder the step made in its place: the job's folder is removed at its end
  }
}

/** The last process id handed out in this PID namespace (Linux), undefined when unknown. */
export function lastPid(): number | undefined {
  try {
    const value = Number(readFileSync("/proc/sys/kernel/ns_last_pid", "latin1"));
    return Number.isInteger(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function runJob(input: JobRunInput): Promise<JobRunResult> {
  return new JobRunner(input).run();
}
