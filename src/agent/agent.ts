// `slipway agent`: a runner on any host. It registers with the server, long-
// polls for a job whose `runs-on` labels it has, runs it with the same
// runJob a local `slipway run` uses (its own executor, workspace and data
// folder), streams the log in numbered chunks, renews its lease by heartbeats
// (whose answer can cancel the job), and reports the result. One job at a
// time: run more agents for more parallelism.
//
// When the server is unreachable it retries with exponential backoff. stop()
// (the first SIGTERM) takes no more jobs and lets the current one finish and
// report; cancel() (a second SIGTERM, or SIGINT) also cancels the current
// job, whose always() and post steps still run.
import { arch, hostname, platform } from "node:os";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { builtinActions } from "../actions/index.js";
import type { Executor } from "../executor/index.js";
import { runJob, type JobRunResult } from "../runner/index.js";
import { evaluateWorkflowEnv, type QueuedJobPayload } from "../scheduler/index.js";
import { COLLECT_EVERY_MS, gcLogFields, PeriodicCollector, type RetentionPolicy } from "../retention/index.js";
import { Masker } from "../secrets/index.js";
import { AgentClient, backoff, describe, sleep, type AgentLog } from "./client.js";
import { artifactDigests, downloadsArtifacts, fetchArtifacts, sendArtifacts } from "./artifacts.js";
import { serverCache } from "./cache.js";
import { sendJobFiles } from "./job-files.js";
import { LogStream } from "./log-stream.js";
import { prepareRepository, PrepareError } from "./repository.js";

export interface AgentOptions {
  /** The server's URL. */
  server: string;
  token: string;
  /** Unique per agent (default `<host>-<pid>`). */
  name?: string;
  /** Labels besides the implicit `self-hosted`, the OS and the architecture. */
  labels: string[];
  executor: Executor;
  /** Mirrors of repositories, the data folder (actions, tool cache), job logs. */
  workDir: string;
  log: AgentLog;
  /** The environment the steps inherit. */
  baseEnv: Record<string, string>;
  /** Parent of job workspaces (createWorkRoot(); the caller removes it when the agent is done). */
  workRoot: string;
  /** Steps' scripts and file-command files, on tmpfs (createStepFilesRoot(); the caller removes it too). */
  stepFilesRoot?: string;
  /** What the hourly collection of the data folder keeps (default DEFAULT_RETENTION). */
  retention?: RetentionPolicy;
}


/** A job as the lease answer gives it. */
interface LeasedJob {
  id: number;
  runId: number;
  attempt: number;
  leaseSeconds: number;
  payload: QueuedJobPayload;
  secrets: Record<string, string>;
  /** OIDC request credentials for the server's issuer, when the job's permissions grant `id-token: write`. */
  idToken?: { url: string; token: string };
  /** The job token for the server's API and Git (secrets/job-tokens.ts). */
  jobToken?: { url: string; token: string };
}

/** The labels every agent has, as on GitHub's self-hosted runners: `self-hosted`, `linux`/`macos`/`windows`, `x64`/`arm64`. */
export function implicitLabels(): string[] {
  const os = platform() === "darwin" ? "macos" : platform() === "win32" ? "windows" : platform();
  return ["self-hosted", os, arch()];
}

export class Agent {
  readonly name: string;
  readonly labels: string[];
  private readonly client: AgentClient;
  private readonly stopping = new AbortController();
  private readonly hardStop = new AbortController();
  private current: AbortController | undefined;
  /** Job workspaces being deleted in the background. */
  private readonly cleanups = new Set<Promise<void>>();
  /** Jobs finished by this agent, for its log and tests. */
  jobs = 0;
  /** Collects the data folder (retention/). */
  private readonly collector: PeriodicCollector;

  constructor(private readonly o: AgentOptions) {
    this.name = o.name ?? `${hostname()}-${process.pid}`;
    // Sent as given: the server compares labels lowercase, trimmed, each once (the store's normalLabels).
    this.labels = [...implicitLabels(), ...o.labels];
    this.client = new AgentClient(o.server.replace(/\/+$/, ""), o.token, o.log);
    mkdirSync(o.workDir, { recursive: true });
    this.collector = new PeriodicCollector({
      dataDir: this.dataDir,
      store: null, // an agent's data folder holds no releases
      ...(o.retention ? { policy: o.retention } : {}),
      everyMs: COLLECT_EVERY_MS,
      onReport: (r) => o.log(r.problems.length > 0 ? "warn" : "info", "garbage collected", gcLogFields(r)),
      onError: (err) => o.log("warn", "garbage collection failed", { error: describe(err) }),
    });
  }

  /** Its data folder: remote actions, the tool cache, caches and the artifacts of its jobs. */
  private get dataDir(): string {
    return join(this.o.workDir, "data");
  }

  /** Takes no new job; the current one finishes and is reported. */
  stop(): void {
    this.stopping.abort();
  }

  /** Stops and cancels the current job (its always() and post steps still run). */
  cancel(): void {
    this.stopping.abort();
    this.current?.abort("the agent was stopped");
  }

  /** Registers, then takes and runs jobs until stop(). */
  async run(): Promise<void> {
    const registered = await this.client.postRetry("/api/agents/register", { name: this.name, labels: this.labels }, { signal: this.stopping.signal, what: "register" });
    if (!registered) return this.waitForCleanups();
    if (registered.status !== 200) throw new Error(`the server refused the agent: HTTP ${registered.status}: ${String(registered.json.error ?? "")}`);
    this.o.log("info", "agent registered", { agent: this.name, labels: registered.json.labels ?? this.labels, server: this.client.server });
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      let answer;
      try {
        answer = await this.client.post("/api/agents/lease", { name: this.name, labels: this.labels, waitSeconds: 20 }, { signal: this.stopping.signal, timeoutMs: 40_000 });
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        const wait = backoff(failures++);
        this.o.log("warn", "server unreachable; retrying", { server: this.client.server, error: describe(err), retryInMs: wait });
        await sleep(wait, this.stopping.signal);
        continue;
      }
      if (answer.status >= 500 || answer.status === 429) {
        const wait = backoff(failures++);
        this.o.log("warn", "the server failed to answer a lease; retrying", { status: answer.status, error: answer.json.error, retryInMs: wait });
        await sleep(wait, this.stopping.signal);
        continue;
      }
      if (answer.status !== 200) throw new Error(`the server refused the lease: HTTP ${answer.status}: ${String(answer.json.error ?? "")}`);
      failures = 0;
      const job = answer.json.job as LeasedJob | null;
      if (job) await this.runLeased(job);
    }
    await this.waitForCleanups();
    this.o.log("info", "agent stopped", { agent: this.name, jobs: this.jobs });
  }

  /** Waits for the job workspaces still being deleted. */
  private async waitForCleanups(): Promise<void> {
    await Promise.all(this.cleanups);
  }

  /** Runs one leased job: heartbeats, log stream, result. Never throws. */
  private async runLeased(job: LeasedJob): Promise<void> {
    const lease = { name: this.name, attempt: job.attempt };
    const abort = new AbortController();
    this.current = abort;
    let lost: string | undefined;
    const loseLease = (why: string) => {
      if (lost) return;
      lost = why;
      this.o.log("warn", "lease lost: the job is stopped and its results dropped", { job: job.id, attempt: job.attempt, why });
      abort.abort("the agent lost its lease");
    };
    const stream = new LogStream(this.client, { id: job.id, attempt: job.attempt, agent: this.name }, this.hardStop.signal, loseLease, (why) =>
      this.o.log("error", "a log chunk was dropped: the server refused it", { job: job.id, why }),
    );
    this.o.log("info", "job started", { job: job.id, run: job.runId, attempt: job.attempt, name: job.payload?.name });
    const beat = setInterval(() => void this.heartbeat(job, lease, abort, loseLease), Math.max(200, (job.leaseSeconds * 1000) / 3));
    let result: JobRunResult;
    try {
      result = await this.execute(job, stream, abort.signal);
    } catch (err) {
      const reason = err instanceof PrepareError ? err.message : `the agent could not run the job: ${(err as Error).message}`;
      stream.line(`Error: ${reason}`);
      result = { result: "failure", outputs: {}, reason };
    } finally {
      this.current = undefined;
    }
    // Heartbeats go on until the result is in: sending the last of a big log takes a while.
    await stream.close();
    if (!lost) {
      const done = await this.client.postRetry(
        `/api/agents/jobs/${job.id}/complete`,
        { ...lease, result: result.result, outputs: result.outputs, ...(result.reason ? { reason: result.reason } : {}), ...(result.secretsRead ? { secretsRead: result.secretsRead } : {}), ...(result.annotations ? { annotations: result.annotations } : {}) },
        { signal: this.hardStop.signal, what: `result of job ${job.id}` },
      );
      if (done && done.status !== 200) this.o.log("warn", "the server refused the job's result", { job: job.id, status: done.status, error: done.json.error });
    }
    clearInterval(beat);
    this.jobs++;
    this.o.log("info", "job finished", { job: job.id, attempt: job.attempt, result: result.result, ...(lost ? { lost } : {}) });
    // Its data folder (caches, artifacts fetched, their blobs) is collected at most hourly, between jobs.
    await this.collector.runIfDue();
    // The workspace is deleted while the next job runs; the agent waits for it only when it stops.
    if (result.cleanup) {
      const cleanup = result.cleanup.catch(() => undefined);
      this.cleanups.add(cleanup);
      void cleanup.then(() => this.cleanups.delete(cleanup));
    }
  }

  private async heartbeat(job: LeasedJob, lease: { name: string; attempt: number }, abort: AbortController, loseLease: (why: string) => void): Promise<void> {
    try {
      const a = await this.client.post(`/api/agents/jobs/${job.id}/heartbeat`, lease, { timeoutMs: 10_000 });
      if (a.status === 200) {
        if (a.json.cancel === true && !abort.signal.aborted) {
          this.o.log("info", "job cancelled by the server", { job: job.id, reason: a.json.reason });
          abort.abort(typeof a.json.reason === "string" ? a.json.reason : "the run was cancelled");
        }
      } else if (a.status === 409 || a.status === 404) loseLease(String(a.json.error ?? `HTTP ${a.status}`));
    } catch (err) {
      this.o.log("warn", "heartbeat failed; retrying at the next one", { job: job.id, error: describe(err) });
    }
  }

  /** Gets the repository and workflow, and runs the job with runJob. */
  private async execute(job: LeasedJob, stream: LogStream, signal: AbortSignal): Promise<JobRunResult> {
    const p = job.payload;
    if (!p || p.version !== 1) throw new PrepareError(`job ${job.id}: the server sent a payload this agent does not understand (version ${String(p?.version)}); upgrade the agent`);
    const jobDir = join(this.o.workDir, "jobs", String(job.id));
    rmSync(jobDir, { recursive: true, force: true });
    mkdirSync(jobDir, { recursive: true });
    try {
      const repo = await prepareRepository(p, { server: this.client.server, token: this.o.token, workDir: this.o.workDir });
      const spec = repo.workflow.jobs.find((j) => j.id === p.jobKey);
      if (!spec) throw new PrepareError(`${p.workflowPath} at ${p.repo.sha} has no job '${p.jobKey}'`);
      const masker = new Masker();
      for (const v of Object.values(job.secrets)) masker.add(v);
      const eventPath = join(jobDir, "event.json");
      const logDir = join(jobDir, "logs");
      writeFileSync(eventPath, JSON.stringify(p.github.event ?? {}, null, 2));
      const github = { ...p.github, event_path: eventPath };
      const workflowEnv = evaluateWorkflowEnv(repo.workflow.env, { github, vars: p.vars, inputs: p.inputs, secrets: job.secrets, env: {} });
      const dataDir = this.dataDir;
      mkdirSync(dataDir, { recursive: true });
      // Artifacts of earlier jobs of the run, which other agents may have made: from the server.
      if (downloadsArtifacts(spec.steps)) {
        const fetched = await fetchArtifacts(this.client, { id: job.id, attempt: job.attempt, agent: this.name, runId: p.runId }, dataDir, this.hardStop.signal);
        if (fetched.length > 0) stream.line(`Artifacts fetched from the server: ${fetched.join(", ")}`);
      }
      const before = await artifactDigests(dataDir, p.runId);
      const result = await runJob({
        workflow: repo.workflow,
        job: spec,
        jobId: job.id,
        runId: p.runId,
        runNumber: p.runNumber,
        attempt: p.attempt,
        name: p.name,
        matrix: p.matrix,
        strategy: p.strategy,
        needs: p.needs,
        github,
        repo: { ...p.repo, root: repo.root },
        vars: p.vars,
        secrets: job.secrets,
        inputs: p.inputs,
        workflowEnv,
        masker,
        executor: this.o.executor,
        store: stream.steps,
        dataDir,
        workRoot: this.o.workRoot,
        ...(this.o.stepFilesRoot ? { stepFilesRoot: this.o.stepFilesRoot } : {}),
        logDir,
        eventPath,
        reporter: stream.reporter,
        signal,
        actions: { source: p.actionSource, cacheDir: join(dataDir, "actions"), builtins: builtinActions, useBuiltins: true },
        baseEnv: this.o.baseEnv,
        ...(job.idToken ? { idToken: job.idToken } : {}),
        // actions/cache shares its entries through the server with the other agents and the server's own runs.
        sharedCache: serverCache(this.client, { id: job.id, attempt: job.attempt, agent: this.name }, this.hardStop.signal),
        // The server as this agent reaches it.
        ...(job.jobToken ? { jobToken: { url: this.client.server, token: job.jobToken.token } } : {}),
      });
      try {
        const sent = await sendArtifacts(this.client, { id: job.id, attempt: job.attempt, agent: this.name, runId: p.runId }, dataDir, before, this.hardStop.signal);
        if (sent.length > 0) stream.line(`Artifacts sent to the server: ${sent.join(", ")}`);
      } catch (err) {
        stream.line(`Error: ${(err as Error).message}`);
        return { ...result, result: "failure", reason: (err as Error).message };
      }
      try {
        const files = await sendJobFiles(this.client, { id: job.id, attempt: job.attempt, agent: this.name }, logDir, this.hardStop.signal);
        if (files.length > 0) stream.line(`Sent to the server: ${files.join(", ")}`);
      } catch (err) {
        // A summary or report that does not arrive is reported; the job's result stands (as on GitHub).
        stream.line(`Warning: ${(err as Error).message}`);
      }
      return result;
    } finally {
      rmSync(jobDir, { recursive: true, force: true });
    }
  }
}

