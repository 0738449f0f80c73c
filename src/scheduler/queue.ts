// The job queue seam: with `slipway run --queue`, a job instance is not run in
// this process but put in the store's job queue (migration 011), where a
// runner agent (`slipway agent`, agent/) leases it through the server; this
// process waits for its result by polling the store, which every process on
// the data directory shares (SQLite in WAL mode).
//
// The payload holds what an agent needs to run the job with the same runJob
// a local run uses — the workflow file and job key, matrix, needs, the github
// context, vars, inputs, the repository (by name, and the path it was read
// from) — but no secret value: the job's secrets are sealed with the data
// directory's master key (AES-256-GCM, secrets module) and only the server
// opens them, for the agent holding the lease.
import { MasterKeyring, type IdTokenCredentials, type JobTokenCredentials } from "../secrets/index.js";
import { coerceToString, evaluateToken, type Contexts, type Json } from "../expressions/index.js";
import type { ActionSource } from "../actions/index.js";
import { jobTimeoutMinutesOrDefault, type JobRunInput, type JobRunResult } from "../runner/index.js";
import type { JobResult } from "../engine/index.js";
import type { Store } from "../store/index.js";
import type { JobSpec, Workflow } from "../workflow/index.js";

/**
 * What an agent gets for a queued job (JSON in job_queue.payload): the
 * JobRunInput fields it cannot get itself. `github.event_path` is the
 * agent's own copy of `event`. The repository comes from the server's
 * hosted `repo.owner/repo.name` (smart HTTP, with the agent's token), else
 * from `repo.root` when the agent runs on a host that can read it. No
 * secret: their values come with the lease.
 */
export type QueuedJobPayload = Pick<JobRunInput, "runId" | "runNumber" | "attempt" | "name" | "matrix" | "strategy" | "needs" | "github" | "repo" | "vars" | "inputs"> & {
  version: 1;
  /** The workflow file, relative to the repository directory (or absolute when it lies outside). */
  workflowPath: string;
  /** The job's id in that workflow. */
  jobKey: string;
  actionSource: ActionSource;
};

/** The name of the server's hosted repository a payload's job is of (`owner/name`). */
export function payloadRepository(p: Pick<QueuedJobPayload, "repo">): string {
  return `${p.repo.owner}/${p.repo.name}`;
}

/** A workflow's top-level `env`, evaluated (with the run's github, vars, inputs and secrets): what every job of it inherits. */
export function evaluateWorkflowEnv(token: Workflow["env"], contexts: Contexts): Record<string, string> {
  const value = evaluateToken(token, contexts);
  const out: Record<string, string> = {};
  if (value && typeof value === "object" && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) out[k] = coerceToString(v);
  return out;
}

/** Job queue settings of a `slipway run --queue`. */
export interface QueueDispatcherOptions {
  /** Leases an agent may lose before the job fails as "agent lost" (default 3, $SLIPWAY_JOB_ATTEMPTS). */
  maxAttempts?: number;
  /** How often the store is asked for results (default 200 ms). */
  pollMs?: number;
}

/** The default number of attempts: $SLIPWAY_JOB_ATTEMPTS, else 3. */
export function defaultJobAttempts(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.SLIPWAY_JOB_ATTEMPTS ?? "3");
  return Number.isInteger(n) && n >= 1 ? n : 3;
}

/** The `runs-on` labels of a job (string, list, or `{group, labels}`), lowercase; evaluated with the job's contexts. */
export function runsOnLabels(token: JobSpec["runsOn"], contexts: Parameters<typeof evaluateToken>[1]): string[] {
  const value = evaluateToken(token, contexts);
  const list = (v: Json): string[] => (Array.isArray(v) ? v.map((x) => coerceToString(x)) : typeof v === "string" ? [v] : []);
  let labels: string[] = [];
  if (value && typeof value === "object" && !Array.isArray(value)) labels = list(value.labels ?? null);
  else labels = list(value);
  return [...new Set(labels.map((l) => l.trim().toLowerCase()).filter((l) => l !== ""))];
}

/** Binds a job's sealed secrets to that job: they cannot be moved to another row. */
function secretsAad(jobId: number): string {
  return `slipway queued job\0${jobId}`;
}

/** What a queued job gets sealed: its secrets, its OIDC request credentials (a bearer token for the server's issuer) and its job token. */
export interface JobSecrets {
  secrets: Record<string, string>;
  idToken?: IdTokenCredentials;
  jobToken?: JobTokenCredentials;
}

/** The job's secrets (and credentials) sealed with the master key, or null when there are none. */
export function sealJobSecrets(dataDir: string, jobId: number, sealed: JobSecrets): Buffer | null {
  if (Object.keys(sealed.secrets).length === 0 && !sealed.idToken && !sealed.jobToken) return null;
  return new MasterKeyring(dataDir).encrypt(JSON.stringify(sealed), secretsAad(jobId));
}

/** Opens what sealJobSecrets sealed (the server, answering a lease). */
export function openJobSecrets(dataDir: string, jobId: number, sealed: Buffer | null): JobSecrets {
  if (!sealed) return { secrets: {} };
  const opened = JSON.parse(new MasterKeyring(dataDir).decrypt(sealed, secretsAad(jobId)).toString("utf8")) as JobSecrets | Record<string, string>;
  // Jobs queued before OIDC credentials were sealed with them hold the secrets alone (names are upper-case: no "secrets" key).
  return typeof opened.secrets === "object" ? (opened as JobSecrets) : { secrets: opened as Record<string, string> };
}

/**
 * Re-seals the secrets of unfinished queued jobs under the current master key
 * (a master key rotation's step 2, `slipway secrets rotate-key`); how many were.
 */
export function resealQueuedJobSecrets(store: Store, keys: MasterKeyring): number {
  let n = 0;
  for (const q of store.listQueuedJobs()) {
    if (q.state === "finished" || !q.secrets) continue;
    const next = keys.reencrypt(q.secrets, secretsAad(q.jobId));
    if (next && store.replaceQueuedJobSecrets(q.jobId, q.secrets, next)) n++;
  }
  return n;
}

interface Waiter {
  jobId: number;
  done: (r: JobRunResult) => void;
}

/**
 * Runs job instances through the store's queue: `dispatch` enqueues one and
 * resolves with its result once an agent (or the server's sweeper) finished
 * it. Cancelling the signal cancels it: at once while queued, through the
 * agent's next heartbeat while leased.
 */
export class QueueDispatcher {
  private readonly waiters = new Set<Waiter>();
  private timer: NodeJS.Timeout | undefined;
  private readonly maxAttempts: number;
  private readonly pollMs: number;

  constructor(
    private readonly store: Store,
    private readonly dataDir: string,
    options: QueueDispatcherOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? defaultJobAttempts();
    this.pollMs = options.pollMs ?? 200;
  }

  /**
   * Enqueues the job that `input` describes, with its `runs-on` labels, and
   * waits for its result. A `runs-on` that cannot be evaluated fails the job
   * without queueing it.
   */
  dispatch(input: JobRunInput): Promise<JobRunResult> {
    const spec = input.job;
    const contexts: Contexts = {
      github: input.github,
      vars: input.vars,
      inputs: input.inputs,
      secrets: input.secrets,
      env: {},
      needs: input.needs,
      matrix: input.matrix ?? {},
      strategy: input.strategy,
    };
    let labels: string[];
    try {
      labels = runsOnLabels(spec.runsOn, contexts);
    } catch (err) {
      return Promise.resolve({ result: "failure", outputs: {}, reason: `${spec.location.file}:${spec.location.line}:${spec.location.column}: runs-on: ${(err as Error).message}` });
    }
    const payload: QueuedJobPayload = {
      version: 1,
      workflowPath: input.workflow.path,
      jobKey: spec.id,
      runId: input.runId,
      runNumber: input.runNumber,
      attempt: input.attempt,
      name: input.name,
      matrix: input.matrix,
      strategy: input.strategy,
      needs: input.needs,
      github: { ...input.github, event_path: "" },
      repo: {
        root: input.repo.root,
        prefix: input.repo.prefix,
        sha: input.repo.sha,
        ref: input.repo.ref,
        ...(input.repo.branch ? { branch: input.repo.branch } : {}),
        defaultBranch: input.repo.defaultBranch,
        owner: input.repo.owner,
        name: input.repo.name,
      },
      vars: input.vars,
      inputs: input.inputs,
      actionSource: input.actions.source,
    };
    // The deadline the server enforces: the runner's own timer (jobTimeoutMinutes), with the contexts known here.
    const timeoutMs = Math.round(jobTimeoutMinutesOrDefault(spec, contexts) * 60_000);
    this.store.enqueueJob({
      jobId: input.jobId,
      runId: input.runId,
      labels,
      payload: JSON.stringify(payload),
      secrets: sealJobSecrets(this.dataDir, input.jobId, { secrets: input.secrets, ...(input.idToken ? { idToken: input.idToken } : {}), ...(input.jobToken ? { jobToken: input.jobToken } : {}) }),
      maxAttempts: this.maxAttempts,
      timeoutMs,
    });
    return new Promise((resolve) => {
      const onAbort = () => {
        const reason = typeof input.signal.reason === "string" ? input.signal.reason : "the run was cancelled";
        this.store.cancelQueuedJob(input.jobId, reason);
        this.poll();
      };
      const w: Waiter = {
        jobId: input.jobId,
        done: (r) => {
          input.signal.removeEventListener("abort", onAbort);
          resolve(r);
        },
      };
      this.waiters.add(w);
      if (input.signal.aborted) onAbort();
      else input.signal.addEventListener("abort", onAbort, { once: true });
      this.timer ??= setInterval(() => this.poll(), this.pollMs);
    });
  }

  private poll(): void {
    let results;
    try {
      results = this.store.queuedJobResults([...this.waiters].map((w) => w.jobId));
    } catch {
      return; // busy for longer than the store's timeout: next time
    }
    const finished = new Map(results.filter((q) => q.state === "finished").map((q) => [q.jobId, q]));
    for (const w of [...this.waiters]) {
      const q = finished.get(w.jobId);
      if (!q) continue;
      this.waiters.delete(w);
      let outputs: Record<string, string> = {};
      try {
        outputs = q.outputs ? (JSON.parse(q.outputs) as Record<string, string>) : {};
      } catch {
        outputs = {};
      }
      w.done({ result: (q.result ?? "failure") as JobResult, outputs, ...(q.reason ? { reason: q.reason } : {}) });
    }
    if (this.waiters.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
