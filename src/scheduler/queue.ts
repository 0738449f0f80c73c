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
import { decryptSecret, encryptSecret, loadMasterKey } from "../secrets/index.js";
import { coerceToString, evaluateToken, type Json } from "../expressions/index.js";
import type { ActionSource } from "../actions/index.js";
import type { JobRunInput, JobRunResult } from "../runner/index.js";
import type { JobResult } from "../engine/index.js";
import type { Store } from "../store/index.js";
import type { JobSpec } from "../workflow/index.js";

/** What an agent gets for a queued job (JSON in job_queue.payload). */
export interface QueuedJobPayload {
  version: 1;
  /** The workflow file, relative to the repository directory (or absolute when it lies outside). */
  workflowPath: string;
  /** The job's id in that workflow. */
  jobKey: string;
  runId: number;
  runNumber: number;
  attempt: number;
  name: string;
  matrix: Record<string, Json> | null;
  strategy: Record<string, Json>;
  needs: Record<string, { result: string; outputs: Record<string, string> }>;
  /** The github context; `event_path` is the agent's own copy of `event`. */
  github: Record<string, Json>;
  repo: { prefix: string; sha: string; ref: string; branch?: string; defaultBranch: string; owner: string; name: string };
  /**
   * Where the agent gets the repository: the server's hosted repository
   * `repository` (smart HTTP, with the agent's token), else `path` when the
   * agent runs on a host that can read it.
   */
  source: { repository: string; path: string };
  vars: Record<string, string>;
  inputs: Record<string, Json>;
  actionSource: ActionSource;
  /** The names of the job's secrets (their values come with the lease). */
  secretNames: string[];
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

/** The job's secrets sealed with the master key, or null when there are none. */
export function sealJobSecrets(dataDir: string, jobId: number, secrets: Record<string, string>): Buffer | null {
  if (Object.keys(secrets).length === 0) return null;
  return encryptSecret(JSON.stringify(secrets), loadMasterKey(dataDir), secretsAad(jobId));
}

/** Opens what sealJobSecrets sealed (the server, answering a lease). */
export function openJobSecrets(dataDir: string, jobId: number, sealed: Buffer | null): Record<string, string> {
  if (!sealed) return {};
  return JSON.parse(decryptSecret(sealed, loadMasterKey(dataDir), secretsAad(jobId)).toString("utf8")) as Record<string, string>;
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

  /** Enqueues the job that `input` describes and waits for its result. */
  dispatch(input: JobRunInput, labels: string[]): Promise<JobRunResult> {
    const payload: QueuedJobPayload = {
      version: 1,
      workflowPath: input.workflow.path,
      jobKey: input.job.id,
      runId: input.runId,
      runNumber: input.runNumber,
      attempt: input.attempt,
      name: input.name,
      matrix: input.matrix,
      strategy: input.strategy,
      needs: input.needs,
      github: { ...input.github, event_path: "" },
      repo: {
        prefix: input.repo.prefix,
        sha: input.repo.sha,
        ref: input.repo.ref,
        ...(input.repo.branch ? { branch: input.repo.branch } : {}),
        defaultBranch: input.repo.defaultBranch,
        owner: input.repo.owner,
        name: input.repo.name,
      },
      source: { repository: `${input.repo.owner}/${input.repo.name}`, path: input.repo.root },
      vars: input.vars,
      inputs: input.inputs,
      actionSource: input.actions.source,
      secretNames: Object.keys(input.secrets).sort(),
    };
    const contexts = { github: input.github, vars: input.vars, inputs: input.inputs, matrix: input.matrix ?? {}, needs: input.needs, strategy: input.strategy, env: {} };
    let timeoutMs: number | null = null;
    try {
      const minutes = Number(evaluateToken(input.job.timeoutMinutes, contexts));
      timeoutMs = input.job.timeoutMinutes && Number.isFinite(minutes) && minutes > 0 ? Math.round(minutes * 60_000) : 360 * 60_000;
    } catch {
      timeoutMs = 360 * 60_000;
    }
    this.store.enqueueJob({
      jobId: input.jobId,
      runId: input.runId,
      labels,
      payload: JSON.stringify(payload),
      secrets: sealJobSecrets(this.dataDir, input.jobId, input.secrets),
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
    for (const w of [...this.waiters]) {
      let q;
      try {
        q = this.store.getQueuedJob(w.jobId);
      } catch {
        continue; // busy for longer than the store's timeout: next time
      }
      if (!q || q.state !== "finished") continue;
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
