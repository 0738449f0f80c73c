// Runs one workflow on this host: walks the jobs DAG (engine), expands
// matrices when a job becomes ready (so `fromJSON(needs.x.outputs.m)`
// works), starts job instances in parallel up to the slot limit, applies
// fail-fast, max-parallel, concurrency groups and cancellation, and records
// everything in the store.
import { mkdirSync, writeFileSync } from "node:fs";
import { setMaxListeners } from "node:events";
import { hostname } from "node:os";
import { join } from "node:path";
import {
  aggregateResults,
  createRunState,
  expandMatrix,
  jobStatusFunctions,
  markDone,
  markRunning,
  matrixJobName,
  medianDurations,
  needsContext,
  readyJobs,
  remainingPath,
  runConclusion,
  type JobResult,
  type RunState,
} from "../engine/index.js";
import { coerceToString, evaluateExpression, evaluateString, evaluateToken, isTruthy, type Contexts, type Json } from "../expressions/index.js";
import type { EventInfo, RepoInfo } from "../git/index.js";
import { jobTimeoutMinutesOrDefault, processAlive, runJob, type JobReporter, type JobRunInput, type JobRunResult } from "../runner/index.js";
import type { Executor } from "../executor/index.js";
import type { IdTokenCredentials, JobTokenCredentials, Masker, OidcJob } from "../secrets/index.js";
import { jobLogDir, type Store } from "../store/index.js";
import { loadWorkflowFile, resolveInputs, type JobSpec, type Workflow } from "../workflow/index.js";
import type { ResolveOptions } from "../actions/index.js";
import { ConcurrencyGroups } from "./concurrency.js";
import { evaluateWorkflowEnv, type QueueDispatcher } from "./queue.js";
import { Semaphore } from "./semaphore.js";

export interface RunReporter {
  runStarted(runId: number, workflow: Workflow): void;
  /** A reporter for one job instance. */
  /** `started(true)`: the job went to the runner agents' queue (`--queue`); it starts when an agent leases it. `waiting`: its environment's gates are not open yet. */
  job(jobId: number, name: string): JobReporter & { started(queued?: boolean): void; waiting?(reason: string): void; finished(result: JobResult, reason?: string): void };
  runFinished(runId: number, conclusion: JobResult): void;
}

export interface RunWorkflowOptions {
  workflow: Workflow;
  repo: RepoInfo;
  event: EventInfo;
  store: Store;
  dataDir: string;
  /** Job slots shared by every job of every workflow in this process. */
  slots: Semaphore;
  concurrency: ConcurrencyGroups;
  secrets: Record<string, string>;
  vars: Record<string, string>;
  /** Raw `--input k=v` values. */
  inputs: Record<string, string>;
  masker: Masker;
  executor: Executor;
  reporter: RunReporter;
  signal: AbortSignal;
  actions: Omit<ResolveOptions, "workspace">;
  /** Only this job and the jobs it needs (act's -j). */
  onlyJob?: string;
  keepWorkspace?: boolean;
  /** Parent of job workspaces (outside the data directory). */
  workRoot: string;
  /** Steps' scripts and file-command files, on tmpfs (see JobRunInput.stepFilesRoot). */
  stepFilesRoot?: string;
  baseEnv: Record<string, string>;
  actor: string;
  /**
   * Secrets and variables of a job that names an `environment:`: the
   * environment's own override the repository's, as on GitHub.
   */
  environmentScope?: (environment: string) => { secrets: Record<string, string>; vars: Record<string, string> };
  /**
   * The environment's protection rules for a job with `environment:` (control/job-gates.ts):
   * resolves when the job may start, or with why it may not; `waiting` is told what it waits for.
   */
  environmentGate?: (environment: string, o: { runId: number; signal: AbortSignal; waiting: (reason: string) => void }) => Promise<{ open: true } | { open: false; reason: string }>;
  /** OIDC request credentials for a job (undefined unless its permissions grant `id-token: write`); see secrets/oidc.ts. */
  idToken?: (job: OidcJob) => Promise<IdTokenCredentials | undefined>;
  /** The job token for the server's API and Git, scoped by the job's permissions (secrets/job-tokens.ts); only under `slipway server`. */
  jobToken?: (job: { workflow: Workflow; job: JobSpec; jobId: number; runId: number; timeoutMinutes: number }) => JobTokenCredentials;
  /**
   * Runs job instances through the store's job queue (runner agents) instead
   * of in this process (`slipway run --queue`); `runs-on` gives the labels.
   */
  dispatch?: QueueDispatcher;
}

export interface RunSummary {
  runId: number;
  conclusion: JobResult;
  reason?: string;
}

interface GraphContext {
  workflow: Workflow;
  inputs: Record<string, Json>;
  secrets: Record<string, string>;
  /** Prefix of job names for reusable workflows: `call / `. */
  namePrefix: string;
  /** Cancels this graph (the run, or a fail-fast of a caller). */
  signal: AbortSignal;
  depth: number;
}

interface GraphResult {
  state: RunState;
  conclusion: JobResult;
}

export class WorkflowRun {
  private runId = 0;
  private runNumber = 1;
  /** Job id → longest remaining path (ms, from earlier runs): who gets a free slot first. */
  private priorities = new Map<string, number>();
  private eventPath = "";
  private github: Record<string, Json> = {};
  /** Job workspaces being deleted: the run ends when they are gone. */
  private readonly cleanups: Array<Promise<void>> = [];

  constructor(private readonly opts: RunWorkflowOptions) {}

  async run(): Promise<RunSummary> {
    try {
      return await this.runWorkflow();
    } finally {
      await Promise.all(this.cleanups);
    }
  }

  private async runWorkflow(): Promise<RunSummary> {
    const { opts } = this;
    const { workflow, event, store, repo } = opts;
    const resolved = resolveInputs(workflow, event.name, opts.inputs);
    const repository = `${repo.owner}/${repo.name}`;
    const run = store.createRun({
      workflowPath: workflow.path,
      workflowName: workflow.name,
      event: event.name,
      ref: event.ref,
      sha: event.sha,
      owner: processOwner(),
      repository,
    });
    this.runId = run.id;
    // Numbered per repository: a store shared by hosted repositories does not mix their numbers.
    this.runNumber = store.countRuns(workflow.path, repository, run.id);
    this.priorities = criticalPath(store, workflow, repository, run.id);
    if (resolved.errors.length > 0) {
      const reason = resolved.errors.join("; ");
      store.finishRun(run.id, { conclusion: "failure", reason });
      return { runId: run.id, conclusion: "failure", reason };
    }
    const runDir = join(opts.dataDir, "work", String(run.id));
    mkdirSync(runDir, { recursive: true });
    this.eventPath = join(runDir, "event.json");
    const payload = { ...event.payload, ...(event.name === "workflow_dispatch" ? { inputs: stringInputs(resolved.inputs) } : {}) };
    writeFileSync(this.eventPath, JSON.stringify(payload, null, 2));
    this.github = this.githubContext(payload as Json);
    store.startRun(run.id);
    opts.reporter.runStarted(run.id, workflow);

    // Workflow-level concurrency.
    const runAbort = new AbortController();
    // Every waiting job listens on the run's signal: no listener limit warning.
    setMaxListeners(0, runAbort.signal);
    const onAbort = () => runAbort.abort("the run was cancelled");
    if (opts.signal.aborted) runAbort.abort("the run was cancelled");
    else opts.signal.addEventListener("abort", onAbort, { once: true });
    let release: (() => void) | undefined;
    try {
      if (workflow.concurrency) {
        const c = this.concurrencySetting(workflow.concurrency, this.topContexts(resolved.inputs, {}));
        if (c) {
          const lease = await opts.concurrency.acquire(c.group, c.cancelInProgress, runAbort);
          if (!lease) {
            store.finishRun(run.id, { conclusion: "cancelled", reason: `cancelled by a newer run in concurrency group '${c.group}'` });
            opts.reporter.runFinished(run.id, "cancelled");
            return { runId: run.id, conclusion: "cancelled", reason: `concurrency group '${c.group}'` };
          }
          release = lease;
        }
      }
      const env = this.workflowEnv(workflow, resolved.inputs, opts.secrets);
      const result = await this.runGraph(
        { workflow, inputs: resolved.inputs, secrets: opts.secrets, namePrefix: "", signal: runAbort.signal, depth: 0 },
        env,
      );
      const conclusion = runAbort.signal.aborted && result.conclusion !== "failure" ? "cancelled" : result.conclusion;
      const reason = conclusion === "cancelled" ? "the run was cancelled" : conclusion === "failure" ? failedJobsReason(result.state) : null;
      store.finishRun(run.id, { conclusion: conclusion === "skipped" ? "skipped" : conclusion, reason });
      opts.reporter.runFinished(run.id, conclusion);
      return { runId: run.id, conclusion, ...(reason ? { reason } : {}) };
    } finally {
      release?.();
      opts.signal.removeEventListener("abort", onAbort);
    }
  }

  private githubContext(payload: Json): Record<string, Json> {
    const { repo, event, workflow, actor } = this.opts;
    const fullName = `${repo.owner}/${repo.name}`;
    return {
      event: payload,
      event_name: event.name,
      event_path: this.eventPath,
      sha: event.sha,
      ref: event.ref,
      ref_name: event.refName,
      ref_type: event.refType,
      ref_protected: false,
      head_ref: event.headRef ?? "",
      base_ref: event.baseRef ?? "",
      repository: fullName,
      repository_owner: repo.owner,
      repositoryUrl: `file://${repo.dir}`,
      actor,
      triggering_actor: actor,
      workflow: workflow.name,
      workflow_ref: `${fullName}/${workflow.path}@${event.ref}`,
      workflow_sha: event.sha,
      run_id: String(this.runId),
      run_number: String(this.runNumber),
      run_attempt: "1",
      retention_days: "90",
      server_url: "https://github.com",
      api_url: "https://api.github.com",
      graphql_url: "https://api.github.com/graphql",
      secret_source: "Actions",
      token: "",
    };
  }

  private topContexts(inputs: Record<string, Json>, secrets: Record<string, string>, extra: Contexts = {}): Contexts {
    return { github: this.github, vars: this.opts.vars, inputs, secrets, env: {}, ...extra };
  }

  private workflowEnv(workflow: Workflow, inputs: Record<string, Json>, secrets: Record<string, string>): Record<string, string> {
    return evaluateWorkflowEnv(workflow.env, this.topContexts(inputs, secrets));
  }

  private concurrencySetting(token: JobSpec["concurrency"], ctx: Contexts): { group: string; cancelInProgress: boolean } | undefined {
    const value = evaluateToken(token, ctx);
    if (typeof value === "string") return value ? { group: value, cancelInProgress: false } : undefined;
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const group = coerceToString(value.group ?? "");
      if (!group) return undefined;
      return { group, cancelInProgress: isTruthy(value["cancel-in-progress"] ?? false) };
    }
    return undefined;
  }

  /** Runs the jobs of a workflow (the run's, or a reusable workflow's) to completion. */
  private async runGraph(g: GraphContext, workflowEnv: Record<string, string>): Promise<GraphResult> {
    const { opts } = this;
    let jobs = g.workflow.jobs;
    if (g.depth === 0 && opts.onlyJob) jobs = withNeeds(jobs, opts.onlyJob);
    const state = createRunState(jobs.map((j) => ({ key: j.id, needs: j.needs })));
    if (g.signal.aborted) state.cancelled = true;
    const onAbort = () => {
      state.cancelled = true;
    };
    g.signal.addEventListener("abort", onAbort, { once: true });
    const running = new Set<Promise<void>>();
    const wake = new Wakeup();
    try {
      while (true) {
        // The job on the longest remaining path asks for a slot first.
        const ready = readyJobs(state).sort((a, b) => (this.priorities.get(b.key) ?? 0) - (this.priorities.get(a.key) ?? 0));
        for (const job of ready) {
          markRunning(state, job.key);
          const spec = jobs.find((j) => j.id === job.key) as JobSpec;
          const p = this.runNode(g, state, spec, workflowEnv).then(() => {
            running.delete(p);
            wake.notify();
          });
          running.add(p);
        }
        if (running.size === 0) break;
        await wake.wait();
      }
    } finally {
      g.signal.removeEventListener("abort", onAbort);
    }
    return { state, conclusion: runConclusion(state) };
  }

  /** Runs one job of the DAG: its `if`, its matrix instances, or its reusable workflow. */
  private async runNode(g: GraphContext, state: RunState, spec: JobSpec, workflowEnv: Record<string, string>): Promise<void> {
    const { opts } = this;
    const needs = needsContext(state, spec.id);
    const ctx = this.topContexts(g.inputs, g.secrets, { needs });
    const status = jobStatusFunctions(state, spec.id);
    const displayBase = `${g.namePrefix}${spec.name ? safeString(() => evaluateString(spec.name, ctx), spec.id) : spec.id}`;
    let condition: boolean;
    try {
      condition = isTruthy(evaluateExpression(spec.if, ctx, status));
    } catch (err) {
      this.recordSetupFailure(spec, displayBase, `${spec.location.file}:${spec.location.line}:${spec.location.column}: if: ${(err as Error).message}`);
      markDone(state, spec.id, "failure", "failure", {});
      return;
    }
    if (!condition) {
      const job = opts.store.createJob({ runId: this.runId, jobKey: spec.id, name: displayBase, matrix: null, attempt: 1, environment: null });
      opts.store.finishJob(job.id, { conclusion: "skipped", reason: `if: ${spec.if} was false` });
      const r = opts.reporter.job(job.id, displayBase);
      r.finished("skipped", `if: ${spec.if}`);
      markDone(state, spec.id, "skipped", "skipped", {});
      return;
    }
    if (spec.uses) {
      await this.runReusable(g, state, spec, ctx, displayBase);
      return;
    }
    // Strategy: evaluated now, so a matrix can come from the outputs of needs.
    let combinations: Array<Record<string, Json> | null> = [null];
    let failFast = true;
    let maxParallel: number | undefined;
    if (spec.strategy) {
      let expanded;
      try {
        expanded = expandMatrix(evaluateToken(spec.strategy, ctx));
      } catch (err) {
        expanded = { combinations: [], failFast: true, maxParallel: undefined, errors: [(err as Error).message] };
      }
      if (expanded.errors.length > 0) {
        this.recordSetupFailure(spec, displayBase, `${spec.location.file}:${spec.location.line}:${spec.location.column}: strategy: ${expanded.errors.join("; ")}`);
        markDone(state, spec.id, "failure", "failure", {});
        return;
      }
      combinations = expanded.combinations.length > 0 ? expanded.combinations : [null];
      failFast = expanded.failFast;
      maxParallel = expanded.maxParallel;
    }
    const siblingsAbort = new AbortController();
    setMaxListeners(0, siblingsAbort.signal);
    const cancelSiblings = () => siblingsAbort.abort(g.signal.reason);
    g.signal.addEventListener("abort", cancelSiblings, { once: true });
    const local = new Semaphore(maxParallel ?? combinations.length);
    const results: JobResult[] = new Array(combinations.length).fill("cancelled");
    const effective: JobResult[] = new Array(combinations.length).fill("cancelled");
    const outputs: Record<string, string> = {};
    const total = combinations.length;
    await Promise.all(
      combinations.map(async (matrix, index) => {
        await local.acquire();
        try {
          const name = matrix ? this.instanceName(g, spec, ctx, matrix, displayBase) : displayBase;
          const strategy = { "fail-fast": failFast, "job-index": index, "job-total": total, "max-parallel": maxParallel ?? total };
          const r = await this.runInstance(g, spec, name, matrix, strategy, needs, workflowEnv, siblingsAbort.signal);
          results[index] = r.result;
          effective[index] = r.effective;
          Object.assign(outputs, r.outputs);
          if (r.effective === "failure" && failFast && total > 1 && !siblingsAbort.signal.aborted) {
            siblingsAbort.abort(`cancelled by fail-fast: '${name}' failed`);
          }
        } finally {
          local.release();
        }
      }),
    );
    g.signal.removeEventListener("abort", cancelSiblings);
    markDone(state, spec.id, aggregateResults(results), aggregateResults(effective), outputs);
  }

  /**
   * A matrix instance's display name. GitHub appends the matrix values to the
   * job's name — unless `name:` uses the matrix context, which then names each
   * instance itself (`name: Test on node ${{ matrix.node }}`, conformance 084).
   */
  private instanceName(g: GraphContext, spec: JobSpec, ctx: Contexts, matrix: Record<string, Json>, displayBase: string): string {
    const expression = (spec.name as { expression?: unknown } | undefined)?.expression;
    if (typeof expression === "string" && /\bmatrix\b/.test(expression)) {
      return `${g.namePrefix}${safeString(() => evaluateString(spec.name, { ...ctx, matrix }), spec.id)}`;
    }
    return matrixJobName(displayBase, matrix);
  }

  private async runInstance(
    g: GraphContext,
    spec: JobSpec,
    name: string,
    matrix: Record<string, Json> | null,
    strategy: Record<string, Json>,
    needs: Record<string, { result: string; outputs: Record<string, string> }>,
    workflowEnv: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ result: JobResult; effective: JobResult; outputs: Record<string, string> }> {
    const { opts } = this;
    const ctx = this.topContexts(g.inputs, g.secrets, { needs, matrix: matrix ?? {}, strategy });
    const environment = spec.environment ? environmentName(evaluateToken(spec.environment, ctx)) : null;
    const job = opts.store.createJob({
      runId: this.runId,
      jobKey: spec.id,
      name,
      matrix: matrix ? JSON.stringify(matrix) : null,
      attempt: 1,
      environment,
    });
    const reporter = opts.reporter.job(job.id, name);
    if (signal.aborted) {
      const reason = typeof signal.reason === "string" ? signal.reason : "cancelled before it started";
      opts.store.finishJob(job.id, { conclusion: "cancelled", reason });
      reporter.finished("cancelled", reason);
      return { result: "cancelled", effective: "cancelled", outputs: {} };
    }
    let continueOnError = false;
    let group: { group: string; cancelInProgress: boolean } | undefined;
    try {
      continueOnError = spec.continueOnError ? isTruthy(evaluateToken(spec.continueOnError, ctx)) : false;
      group = spec.concurrency ? this.concurrencySetting(spec.concurrency, ctx) : undefined;
    } catch (err) {
      const reason = `${spec.location.file}:${spec.location.line}:${spec.location.column}: ${(err as Error).message}`;
      opts.store.finishJob(job.id, { conclusion: "failure", reason });
      reporter.finished("failure", reason);
      return { result: "failure", effective: "failure", outputs: {} };
    }
    const jobAbort = new AbortController();
    const onAbort = () => jobAbort.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    let releaseGroup: (() => void) | undefined;
    try {
      // Environment protection: the job waits (without a slot) until its environment's gates open.
      if (environment && opts.environmentGate) {
        let waited = false;
        const waiting = (reason: string) => {
          waited = true;
          // Kept with the job: the run's API and page show what it waits for (and offer the approval).
          opts.store.noteJobWaiting(job.id, reason);
          reporter.waiting?.(reason);
        };
        const gate = await opts.environmentGate(environment, { runId: this.runId, signal: jobAbort.signal, waiting });
        if (waited && gate.open) opts.store.noteJobWaiting(job.id, null);
        if (!gate.open) {
          const conclusion = jobAbort.signal.aborted ? "cancelled" : "failure";
          opts.store.finishJob(job.id, { conclusion, reason: gate.reason });
          reporter.finished(conclusion, gate.reason);
          return { result: conclusion, effective: conclusion, outputs: {} };
        }
      }
      if (group) {
        const lease = await opts.concurrency.acquire(group.group, group.cancelInProgress, jobAbort);
        if (!lease) {
          const reason = `cancelled: a newer job took concurrency group '${group.group}'`;
          opts.store.finishJob(job.id, { conclusion: "cancelled", reason });
          reporter.finished("cancelled", reason);
          return { result: "cancelled", effective: "cancelled", outputs: {} };
        }
        releaseGroup = lease;
      }
      await opts.slots.acquire(this.priorities.get(spec.id) ?? 0);
      try {
        const logDir = jobLogDir(opts.dataDir, this.runId, job.id);
        // A queued job starts when an agent leases it (the server records that).
        if (!opts.dispatch) opts.store.startJob(job.id, logDir);
        reporter.started(opts.dispatch !== undefined);
        // A job for the agents' queue gets credentials only from the server's issuer (cli/run.ts): they are sealed with its secrets.
        const idToken = await opts.idToken?.({ workflow: g.workflow, job: spec, jobId: job.id, environment, github: this.github }).catch((err: unknown) => err as Error);
        if (idToken instanceof Error) {
          const reason = `cannot give the job its OIDC request token (permissions: id-token: write): ${idToken.message}`;
          opts.store.finishJob(job.id, { conclusion: "failure", reason });
          reporter.finished("failure", reason);
          return { result: "failure", effective: "failure", outputs: {} };
        }
        const jobToken = opts.jobToken?.({ workflow: g.workflow, job: spec, jobId: job.id, runId: this.runId, timeoutMinutes: jobTimeoutMinutesOrDefault(spec, ctx) });
        const r = await this.execute({
          workflow: g.workflow,
          job: spec,
          jobId: job.id,
          runId: this.runId,
          runNumber: this.runNumber,
          attempt: 1,
          name,
          matrix,
          strategy,
          needs,
          github: this.github,
          repo: {
            root: opts.repo.root,
            prefix: opts.repo.prefix,
            sha: opts.event.sha,
            ref: opts.event.ref,
            ...(opts.event.branch ? { branch: opts.event.branch } : {}),
            defaultBranch: opts.repo.defaultBranch,
            owner: opts.repo.owner,
            name: opts.repo.name,
          },
          ...this.scoped(g, environment),
          inputs: g.inputs,
          workflowEnv,
          masker: opts.masker,
          executor: opts.executor,
          store: opts.store,
          dataDir: opts.dataDir,
          workRoot: opts.workRoot,
          ...(opts.stepFilesRoot ? { stepFilesRoot: opts.stepFilesRoot } : {}),
          logDir,
          eventPath: this.eventPath,
          reporter,
          signal: jobAbort.signal,
          actions: opts.actions,
          ...(opts.keepWorkspace ? { keepWorkspace: true } : {}),
          baseEnv: opts.baseEnv,
          ...(idToken ? { idToken } : {}),
          ...(jobToken ? { jobToken } : {}),
        });
        if (r.cleanup) this.cleanups.push(r.cleanup);
        const effective: JobResult = r.result === "failure" && continueOnError ? "success" : r.result;
        if (r.secretsRead) opts.store.recordSecretReads(job.id, r.secretsRead);
        if (r.annotations) opts.store.recordAnnotations(job.id, r.annotations);
        opts.store.finishJob(job.id, { conclusion: r.result, reason: r.reason ?? null, outputs: r.outputs });
        reporter.finished(r.result, r.reason);
        return { result: r.result, effective, outputs: r.outputs };
      } finally {
        opts.slots.release();
      }
    } finally {
      releaseGroup?.();
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Runs a job instance here, or through the job queue (with its `runs-on` labels). */
  private execute(input: JobRunInput): Promise<JobRunResult> {
    const dispatch = this.opts.dispatch;
    return dispatch ? dispatch.dispatch(input) : runJob(input);
  }

  /** The vars and secrets a job sees: repository-level, or its environment's over them (top-level jobs). */
  private scoped(g: GraphContext, environment: string | null): { vars: Record<string, string>; secrets: Record<string, string> } {
    const { opts } = this;
    if (!environment || !opts.environmentScope) return { vars: opts.vars, secrets: g.secrets };
    const scope = opts.environmentScope(environment);
    // A reusable workflow's jobs see the secrets passed to it, plus their environment's.
    return { vars: { ...opts.vars, ...scope.vars }, secrets: { ...g.secrets, ...scope.secrets } };
  }

  /** `jobs.<id>.uses: ./.github/workflows/x.yml`: runs the called workflow's jobs as part of this run. */
  private async runReusable(g: GraphContext, state: RunState, spec: JobSpec, ctx: Contexts, displayBase: string): Promise<void> {
    const { opts } = this;
    const uses = spec.uses as string;
    const fail = (reason: string) => {
      this.recordSetupFailure(spec, displayBase, `${spec.location.file}:${spec.location.line}:${spec.location.column}: ${reason}`);
      markDone(state, spec.id, "failure", "failure", {});
    };
    if (!uses.startsWith("./")) {
      fail(`reusable workflow '${uses}': only workflows of this repository (./.github/workflows/...) can be called offline`);
      return;
    }
    if (g.depth >= 4) {
      fail(`reusable workflow '${uses}': nesting deeper than 4 levels, as GitHub allows`);
      return;
    }
    const path = uses.split("@")[0] as string;
    const loaded = await loadWorkflowFile(join(opts.repo.dir, path), path.replace(/^\.\//, ""));
    if (!loaded.workflow) {
      const d = loaded.diagnostics[0];
      fail(`reusable workflow '${uses}': ${d ? `${d.file}:${d.line}:${d.column}: ${d.message}` : "cannot load"}`);
      return;
    }
    const called = loaded.workflow;
    if (!("workflow_call" in called.events)) {
      fail(`'${path}' is not a reusable workflow: add \`on: workflow_call\` to it`);
      return;
    }
    let withValues: Record<string, string> = {};
    let secrets: Record<string, string> = {};
    try {
      const w = evaluateToken(spec.with, ctx);
      if (w && typeof w === "object" && !Array.isArray(w)) withValues = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, coerceToString(v)]));
      if (spec.inheritSecrets) secrets = { ...g.secrets };
      else if (spec.secrets) {
        const s = evaluateToken(spec.secrets, ctx);
        if (s && typeof s === "object" && !Array.isArray(s)) secrets = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, coerceToString(v)]));
      }
    } catch (err) {
      fail((err as Error).message);
      return;
    }
    const inputs = resolveInputs(called, "workflow_call", withValues);
    const secretDefs = ((called.events as Record<string, { secrets?: Record<string, { required?: boolean }> }>).workflow_call?.secrets) ?? {};
    const missing = Object.entries(secretDefs).filter(([n, d]) => d.required && !(n in secrets) && !(n.toUpperCase() in secrets));
    if (inputs.errors.length > 0 || missing.length > 0) {
      fail([...inputs.errors, ...missing.map(([n]) => `secret '${n}' is required by ${path}; pass it under \`secrets:\` or use \`secrets: inherit\``)].join("; "));
      return;
    }
    const env = this.workflowEnv(called, inputs.inputs, secrets);
    const inner = await this.runGraph(
      { workflow: called, inputs: inputs.inputs, secrets, namePrefix: `${displayBase} / `, signal: g.signal, depth: g.depth + 1 },
      env,
    );
    const jobsCtx: Record<string, Json> = {};
    for (const [k, n] of inner.state.nodes) jobsCtx[k] = { result: n.effectiveResult ?? "skipped", outputs: n.outputs };
    const outputs: Record<string, string> = {};
    if (called.callOutputs) {
      const defs = evaluateToken(called.callOutputs, { github: this.github, jobs: jobsCtx, inputs: inputs.inputs, vars: opts.vars });
      if (defs && typeof defs === "object" && !Array.isArray(defs)) {
        for (const [k, v] of Object.entries(defs)) {
          const value = v && typeof v === "object" && !Array.isArray(v) ? v.value : v;
          outputs[k] = coerceToString(value ?? "");
        }
      }
    }
    markDone(state, spec.id, inner.conclusion, inner.conclusion, outputs);
  }

  private recordSetupFailure(spec: JobSpec, name: string, reason: string): void {
    const { opts } = this;
    const job = opts.store.createJob({ runId: this.runId, jobKey: spec.id, name, matrix: null, attempt: 1, environment: null });
    opts.store.finishJob(job.id, { conclusion: "failure", reason: opts.masker.mask(reason) });
    const r = opts.reporter.job(job.id, name);
    r.line(`Error: ${opts.masker.mask(reason)}`);
    r.annotation({ level: "error", message: opts.masker.mask(reason), job: name });
    r.finished("failure", opts.masker.mask(reason));
  }
}

/** `<host>:<pid>` of this process, recorded on each run it owns. */
/**
 * Priorities by critical path, from the durations of the workflow's jobs in
 * its last 5 completed runs in this repository (engine/critical-path.ts).
 */
function criticalPath(store: Store, workflow: Workflow, repository: string, runId: number): Map<string, number> {
  const samples: Array<{ jobKey: string; ms: number }> = [];
  for (const r of store.listRuns({ repository, workflowPath: workflow.path, status: "completed", beforeId: runId, limit: 5 })) {
    for (const j of store.listJobs(r.id)) {
      if (j.startedAt && j.completedAt && (j.conclusion === "success" || j.conclusion === "failure")) samples.push({ jobKey: j.jobKey, ms: Date.parse(j.completedAt) - Date.parse(j.startedAt) });
    }
  }
  return remainingPath(
    workflow.jobs.map((j) => ({ id: j.id, needs: j.needs })),
    medianDurations(samples),
  );
}

export function processOwner(): string {
  return `${hostname()}:${process.pid}`;
}

/** The pid of an owner (`<host>:<pid>`) on this host; undefined for another host's. */
export function ownerPid(owner: string): number | undefined {
  const i = owner.lastIndexOf(":");
  if (owner.slice(0, i) !== hostname()) return undefined;
  const pid = Number(owner.slice(i + 1));
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether the process that owns a run is still alive (a different host counts as alive: we cannot tell). */
export function ownerAlive(owner: string | null): boolean {
  if (!owner) return false;
  const i = owner.lastIndexOf(":");
  const host = owner.slice(0, i);
  const pid = Number(owner.slice(i + 1));
  if (host !== hostname()) return true;
  return Number.isInteger(pid) && pid > 0 && processAlive(pid);
}

function safeString(fn: () => string, fallback: string): string {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function environmentName(value: Json): string | null {
  if (typeof value === "string") return value || null;
  if (value && typeof value === "object" && !Array.isArray(value) && typeof value.name === "string") return value.name;
  return null;
}

function stringInputs(inputs: Record<string, Json>): Record<string, string> {
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, coerceToString(v)]));
}

function failedJobsReason(state: RunState): string {
  const failed = [...state.nodes.values()].filter((n) => n.effectiveResult === "failure").map((n) => n.key);
  return failed.length > 0 ? `job${failed.length > 1 ? "s" : ""} ${failed.join(", ")} failed` : "the run failed";
}

/** The job and, transitively, the jobs it needs. */
function withNeeds(jobs: JobSpec[], key: string): JobSpec[] {
  const keep = new Set<string>();
  const visit = (k: string) => {
    if (keep.has(k)) return;
    keep.add(k);
    for (const n of jobs.find((j) => j.id === k)?.needs ?? []) visit(n);
  };
  visit(key);
  return jobs.filter((j) => keep.has(j.id));
}

/** A promise that resolves at the next notify(). */
class Wakeup {
  private resolvers: Array<() => void> = [];
  wait(): Promise<void> {
    return new Promise((r) => this.resolvers.push(r));
  }
  notify(): void {
    const rs = this.resolvers;
    this.resolvers = [];
    for (const r of rs) r();
  }
}

export async function runWorkflow(opts: RunWorkflowOptions): Promise<RunSummary> {
  return new WorkflowRun(opts).run();
}
