// The Store interface: everything Slipway persists about runs, jobs, steps,
// secrets and variables, releases, delivery and the server's API tokens.
// SQLite implements it now; PostgreSQL later runs the same shared test suite
// (store.case.ts).
//
// Times are ISO-8601 strings in UTC. Transitions are guarded: starting or
// finishing something already completed throws a StoreError with code
// "conflict"; an unknown id throws code "not_found".

export type RunStatus = "queued" | "in_progress" | "completed";
/** GitHub's conclusions; `skipped` also for workflows whose triggers did not match. */
export type Conclusion = "success" | "failure" | "cancelled" | "skipped";

export interface RunRecord {
  id: number;
  workflowPath: string;
  workflowName: string;
  event: string;
  ref: string;
  sha: string;
  status: RunStatus;
  conclusion: Conclusion | null;
  /** Human-readable reason for a failure/skip/cancel, never secret. */
  reason: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  owner: string | null;
  /** `owner/name` of the run's repository; null for runs stored before it was recorded. */
  repository: string | null;
}

export interface JobRecord {
  id: number;
  runId: number;
  /** Job id in the workflow (`build`). */
  jobKey: string;
  /** Display name, with matrix values: `build (node 20, linux)`. */
  name: string;
  /** JSON of the matrix combination, or null. */
  matrix: string | null;
  attempt: number;
  status: RunStatus;
  conclusion: Conclusion | null;
  reason: string | null;
  environment: string | null;
  /** JSON object of job outputs (already masked/filtered). */
  outputs: string | null;
  logPath: string | null;
  startedAt: string | null;
  completedAt: string | null;
}

export interface StepRecord {
  id: number;
  jobId: number;
  number: number;
  name: string;
  status: RunStatus;
  /** Result before continue-on-error. */
  outcome: Conclusion | null;
  /** Result after continue-on-error. */
  conclusion: Conclusion | null;
  logPath: string | null;
  startedAt: string | null;
  completedAt: string | null;
}

export interface NewRun {
  /** The process running it, `<host>:<pid>`; see recoverInterrupted. */
  owner?: string;
  /** `owner/name` of the repository the run is of. */
  repository?: string;
  workflowPath: string;
  workflowName: string;
  event: string;
  ref: string;
  sha: string;
}

export interface NewJob {
  runId: number;
  jobKey: string;
  name: string;
  matrix: string | null;
  attempt: number;
  environment: string | null;
}

export interface Finish {
  conclusion: Conclusion;
  reason?: string | null;
}

/** A secret as stored: only ciphertext, never the value. */
export interface SecretRecord {
  name: string;
  /** Environment name, or "" for repository-level. */
  environment: string;
  /** Opaque encrypted blob produced by the secrets module. */
  ciphertext: Buffer;
  updatedAt: string;
}

export interface VariableRecord {
  name: string;
  environment: string;
  value: string;
  updatedAt: string;
}

/** One file of a release's artifact (the same shape as a workflow artifact's files). */
export interface ReleaseFile {
  /** Path inside the artifact, `/`-separated. */
  path: string;
  /** `sha256:<hex>` of the file's bytes, a blob in the blob store. */
  digest: string;
  size: number;
  /** Permission bits, e.g. 0o755. */
  mode: number;
}

/** An immutable release of a service: built once, promoted everywhere, never rebuilt. */
export interface ReleaseRecord {
  id: number;
  service: string;
  /** 1, 2, 3, … per service, in the order the releases were made. */
  number: number;
  /** `sha256:<hex>` of the artifact's canonical file list: equal content, equal digest. */
  digest: string;
  /** The workflow artifact's name, or the file or folder it was made from. */
  artifact: string;
  files: ReleaseFile[];
  /** Total bytes of the files. */
  size: number;
  sourceCommit: string | null;
  sourceRef: string | null;
  runId: number | null;
  workflowPath: string | null;
  createdBy: string;
  createdAt: string;
}

export type NewRelease = Omit<ReleaseRecord, "id" | "number" | "createdAt">;

/** What a release's attestation is: its SBOM, its signature bundle, its provenance bundle. */
export type AttestationKind = "sbom" | "signature" | "provenance";

/** One attestation of a release: a blob (by digest) in the blob store. */
export interface ReleaseAttestation {
  releaseId: number;
  kind: AttestationKind;
  /** `sha256:<hex>` of the blob. */
  digest: string;
  /** `application/vnd.cyclonedx+json`, `application/vnd.dev.sigstore.bundle.v0.3+json`. */
  mediaType: string;
  /** The signing key's id (hex SHA-256 of its public key), for signed attestations. */
  keyId: string | null;
  createdAt: string;
}

/** What runs in an environment for a service: its stable release (the one the router sends traffic to). */
export interface DeploymentRecord {
  env: string;
  service: string;
  /** `web#3`, or null before the first deploy finished. */
  release: string | null;
  digest: string | null;
  configHash: string | null;
  /** The router's stable port. */
  port: number | null;
  updatedAt: string;
}

export type RolloutPhase = "progressing" | "paused" | "succeeded" | "failed" | "rolled-back" | "aborted" | "superseded";

/** The move of one environment's service from its stable release to a new one. */
export interface RolloutRecord {
  id: number;
  env: string;
  service: string;
  fromRelease: string | null;
  fromDigest: string | null;
  toRelease: string;
  toDigest: string;
  strategy: string;
  phase: RolloutPhase;
  /** Index of the strategy step in progress (canary steps, rolling batches). */
  step: number;
  /** Percent of requests the new release gets now. */
  weight: number;
  /** The state repository commit that asked for this release. */
  stateCommit: string | null;
  /** Why it paused, failed or was rolled back, in words. */
  reason: string | null;
  startedAt: string;
  updatedAt: string;
  /** Set when the phase is final (succeeded, failed, rolled-back, aborted, superseded). */
  finishedAt: string | null;
}

export type NewRollout = Pick<RolloutRecord, "env" | "service" | "fromRelease" | "fromDigest" | "toRelease" | "toDigest" | "strategy" | "stateCommit">;
export type RolloutUpdate = Partial<Pick<RolloutRecord, "phase" | "step" | "weight" | "reason">>;
export const FINAL_ROLLOUT_PHASES: readonly RolloutPhase[] = ["succeeded", "failed", "rolled-back", "aborted", "superseded"];

export type Verdict = "pass" | "fail" | "inconclusive" | "error";

/** One analysis measurement of a rollout step, with what was measured and the verdict in words. */
export interface MeasurementRecord {
  id: number;
  rolloutId: number;
  step: number;
  at: string;
  verdict: Verdict;
  measured: Record<string, number | null>;
  reason: string;
}

export interface ApprovalRecord {
  id: number;
  env: string;
  /** `web#3`. */
  release: string;
  by: string;
  groups: string[];
  decision: "approve" | "reject";
  comment: string | null;
  at: string;
}

/** A request from the command line to the control loop, handled once. */
export interface DeliveryCommand {
  id: number;
  env: string;
  service: string;
  kind: "promote" | "abort";
  by: string;
  reason: string | null;
  createdAt: string;
  handledAt: string | null;
}

export interface DeliveryEvent {
  id: number;
  at: string;
  env: string;
  service: string;
  /** e.g. `rollout-started`, `step`, `analysis`, `rolled-back`, `drift`, `healed`. */
  kind: string;
  message: string;
  details: unknown;
}

/** Roles of API tokens, lowest to highest: each one may do what the ones before it may. */
export type Role = "viewer" | "developer" | "release-manager" | "admin";
export const ROLES: readonly Role[] = ["viewer", "developer", "release-manager", "admin"];

/** An API token as stored: its secret is never kept (only its sha256, which this record leaves out). */
export interface TokenRecord {
  id: number;
  name: string;
  role: Role;
  /** Groups its holder is in (for approval gates), set when it was made. */
  groups: string[];
  createdAt: string;
  createdBy: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** Filters of listRuns, combined with AND; every one optional. */
export interface RunFilter {
  /** At most this many runs (the newest). */
  limit?: number;
  /** `owner/name`. */
  repository?: string;
  status?: RunStatus;
  workflowPath?: string;
  sha?: string;
  /** The full ref, `refs/heads/main`. */
  ref?: string;
  /** Only runs with a smaller id: the next page after a page ending at this id. */
  beforeId?: number;
  /** The process that runs (ran) them, `<host>:<pid>`. */
  owner?: string;
}

export type LaunchState = "waiting" | "running" | "done";

/** A source branch proposed into a target branch of a hosted repository (see migration 008). */
export interface ChangeRequestRecord {
  repository: string;
  number: number;
  title: string;
  source: string;
  target: string;
  author: string;
  state: "open" | "merged" | "closed";
  /** The source's commit the merge commit was made of. */
  headSha: string | null;
  /** The target's commit the merge commit was made on. */
  baseSha: string | null;
  /** The merge result the checks run on; null while it cannot be made (a conflict: see detail). */
  mergeSha: string | null;
  detail: string | null;
  createdAt: string;
  updatedAt: string;
  mergedBy: string | null;
  mergedAt: string | null;
}

/** A process's claim on a concurrency group (see migration 007). */
export interface ConcurrencyClaim {
  id: number;
  group: string;
  holder: string;
  state: "running" | "pending" | "cancelled";
  /** A newer claim with cancel-in-progress asks the running holder to cancel. */
  cancelRequested: boolean;
}

/** An event whose runs the server starts (see migration 006). */
export interface LaunchRecord {
  id: number;
  repository: string;
  event: string;
  ref: string;
  sha: string;
  /** JSON of the rest of what the event needs to run. */
  request: string;
  actor: string;
  state: LaunchState;
  /** How many times a `slipway run` was started for it. */
  attempts: number;
  /** `<host>:<pid>` of the `slipway run` running it (the owner of its runs). */
  runner: string | null;
  exitCode: number | null;
  detail: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface NewLaunch {
  repository: string;
  event: string;
  ref: string;
  sha: string;
  request: string;
  actor: string;
}

/** A job instance in the agents' queue (see migration 011). */
export type QueuedJobState = "queued" | "leased" | "finished";

export interface QueuedJobRecord {
  /** The store job (jobs.id). */
  jobId: number;
  runId: number;
  /** `runs-on` labels, lowercase: an agent needs all of them. */
  labels: string[];
  /** JSON of what an agent needs to run the job; never a secret value. */
  payload: string;
  /** The job's secrets, encrypted with the master key; null when it has none. */
  secrets: Buffer | null;
  state: QueuedJobState;
  /** Leases so far: 1 for the first agent that took it. */
  attempt: number;
  maxAttempts: number;
  timeoutMs: number | null;
  agent: string | null;
  leasedAt: string | null;
  heartbeatAt: string | null;
  leaseExpiresAt: string | null;
  /** When the job's `timeout-minutes` runs out (set when leased). */
  deadlineAt: string | null;
  cancelRequested: boolean;
  cancelReason: string | null;
  result: Conclusion | null;
  /** JSON object of the job's outputs. */
  outputs: string | null;
  reason: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** One job's read of one secret (by name: values are never recorded). */
/** At most this many annotations are kept per job (GitHub's limit). */
export const MAX_ANNOTATIONS_PER_JOB = 50;

/** An annotation of a job: a workflow command's or a built-in action's, with its place when given. */
export interface NewAnnotation {
  level: "error" | "warning" | "notice";
  message: string;
  title?: string;
  /** Relative to the workspace. */
  file?: string;
  line?: number;
  col?: number;
  /** The step's name. */
  step?: string;
}

export interface AnnotationRecord extends NewAnnotation {
  id: number;
  jobId: number;
  runId: number;
  createdAt: string;
}

export interface SecretReadRecord {
  runId: number;
  jobId: number;
  /** The job's display name. */
  job: string;
  /** The job's environment, "" for none. */
  environment: string;
  name: string;
  readAt: string;
}

/** A queued job's state and result, without its payload and secrets (what a waiting run polls). */
export type QueuedJobResult = Pick<QueuedJobRecord, "jobId" | "state" | "result" | "outputs" | "reason">;

export interface NewQueuedJob {
  jobId: number;
  runId: number;
  labels: string[];
  payload: string;
  secrets: Buffer | null;
  /** Default 3. */
  maxAttempts?: number;
  timeoutMs?: number | null;
}

/** A runner agent as last seen by the server. */
export interface AgentRecord {
  name: string;
  labels: string[];
  registeredAt: string;
  lastSeenAt: string;
}

/** What sweepJobQueue changed: job ids per outcome. */
export interface QueueSweep {
  /** Lease expired, attempts remain: queued again. */
  requeued: number[];
  /** Lease expired on the last attempt: finished as failure "agent lost". */
  lost: number[];
  /** Past their deadline: cancel requested. */
  timingOut: number[];
  /** Past their deadline plus the grace: finished as failure (timed out). */
  timedOut: number[];
  /** Their run is completed (its `slipway run` is gone): cancelled. */
  orphaned: number[];
}

/** `open`: the data directory or database cannot be opened (a user can fix it). */
export type StoreErrorCode = "not_found" | "conflict" | "schema" | "open";

/** A store operation that cannot be applied; never carries secret values. */
export class StoreError extends Error {
  override readonly name = "StoreError";
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface Store {
  /** The data directory the store belongs to (its blobs and keys live there too). */
  readonly dataDir: string;
  createRun(run: NewRun): RunRecord;
  startRun(id: number): void;
  finishRun(id: number, finish: Finish): void;
  getRun(id: number): RunRecord | undefined;
  /** Newest first; all runs when no limit is given; the filters are combined with AND. */
  listRuns(opts?: RunFilter): RunRecord[];
  /**
   * How many runs a workflow has had (its latest run's `run_number`): of
   * every repository, or of `repository` only when given; with `upToId`, only
   * the runs up to that one, so a run's number stays its own when other runs
   * of the workflow are created at the same time.
   */
  countRuns(workflowPath: string, repository?: string, upToId?: number): number;

  /**
   * Claims a concurrency group for `holder`, in one transaction: drops the
   * claims of holders `alive` says are dead, cancels the pending claim, asks
   * the running one to cancel when `cancelInProgress`, then takes the group
   * (`running`) if it is free, else waits in it (`pending`).
   */
  claimConcurrency(group: string, holder: string, cancelInProgress: boolean, alive: (holder: string) => boolean): ConcurrencyClaim;
  /**
   * A claim as it is now; a pending claim whose running holder `alive` says
   * is dead becomes running. Undefined once released.
   */
  checkConcurrency(id: number, alive: (holder: string) => boolean): ConcurrencyClaim | undefined;
  /** Drops a claim; when it was running, the group's pending claim becomes running. */
  releaseConcurrency(id: number): void;

  /** Numbered per repository: 1, 2, 3, … */
  createChangeRequest(c: { repository: string; title: string; source: string; target: string; author: string }): ChangeRequestRecord;
  getChangeRequest(repository: string, number: number): ChangeRequestRecord | undefined;
  /** Newest first. */
  listChangeRequests(repository: string, state?: ChangeRequestRecord["state"]): ChangeRequestRecord[];
  /** Sets the merge result (and why there is none). Conflict unless open. */
  setChangeMerge(repository: string, number: number, m: { headSha: string; baseSha: string; mergeSha: string | null; detail: string | null }): void;
  /** open → merged or closed. Conflict unless open. */
  finishChangeRequest(repository: string, number: number, state: "merged" | "closed", by: string): void;
  /** Records one person's approval once; false when they had approved already. */
  approveChangeRequest(repository: string, number: number, by: string): boolean;
  listChangeApprovals(repository: string, number: number): Array<{ by: string; at: string }>;

  createLaunch(launch: NewLaunch): LaunchRecord;
  getLaunch(id: number): LaunchRecord | undefined;
  /** By id, oldest first. */
  listLaunches(opts?: { state?: LaunchState; limit?: number }): LaunchRecord[];
  /** waiting → running, with the runner's `<host>:<pid>`; attempts + 1. Conflict unless waiting. */
  startLaunch(id: number, runner: string): LaunchRecord;
  /** running → done. Conflict unless running. */
  finishLaunch(id: number, result: { exitCode: number | null; detail: string | null }): void;
  /** running → waiting again (its runner died before creating a run). Conflict unless running. */
  requeueLaunch(id: number, detail: string): void;

  createJob(job: NewJob): JobRecord;
  startJob(id: number, logPath: string): void;
  finishJob(id: number, finish: Finish & { outputs?: Record<string, string> }): void;
  /** What a job that has not started waits for (its environment's approval, a window), as its `reason` (null: nothing any more); ignored once it started. */
  noteJobWaiting(id: number, reason: string | null): void;
  getJob(id: number): JobRecord | undefined;
  listJobs(runId: number): JobRecord[];

  /** A step is created when it starts: status `in_progress`, startedAt now. */
  createStep(jobId: number, number: number, name: string, logPath: string | null): StepRecord;
  finishStep(id: number, outcome: Conclusion, conclusion: Conclusion): void;
  listSteps(jobId: number): StepRecord[];

  /**
   * Marks everything still queued or in progress (runs, jobs, steps) as
   * completed/cancelled (after a crash); runs and jobs get `reason`.
   * Returns the number of runs marked.
   */
  recoverInterrupted(reason: string, isOwnerAlive?: (owner: string | null) => boolean): number;

  /**
   * Records a release, or returns the service's existing release with the
   * same digest (`created: false`): the same content is never released twice.
   */
  createRelease(release: NewRelease): { release: ReleaseRecord; created: boolean };
  /** By the service's release number, or by digest (`sha256:<hex>`). */
  getRelease(service: string, ref: number | string): ReleaseRecord | undefined;
  /** Newest first; every service's when `service` is undefined. */
  listReleases(service?: string): ReleaseRecord[];
  /**
   * Records a release's attestation; one of each kind per release, never
   * replaced: a second one of the same kind returns the first (`created: false`).
   */
  putReleaseAttestation(attestation: Omit<ReleaseAttestation, "createdAt">): { attestation: ReleaseAttestation; created: boolean };
  /** A release's attestations (sbom, signature, provenance order). */
  listReleaseAttestations(releaseId: number): ReleaseAttestation[];

  getDeployment(env: string, service: string): DeploymentRecord | undefined;
  /** Ordered by environment, service. */
  listDeployments(): DeploymentRecord[];
  putDeployment(deployment: Omit<DeploymentRecord, "updatedAt">): DeploymentRecord;

  createRollout(rollout: NewRollout): RolloutRecord;
  /** A final phase sets finishedAt; updating a finished rollout throws "conflict". */
  updateRollout(id: number, update: RolloutUpdate): RolloutRecord;
  getRollout(id: number): RolloutRecord | undefined;
  /** The unfinished rollout of an environment's service, if any. */
  activeRollout(env: string, service: string): RolloutRecord | undefined;
  /** Newest first. */
  listRollouts(filter?: { env?: string; service?: string; limit?: number }): RolloutRecord[];

  addMeasurement(measurement: Omit<MeasurementRecord, "id" | "at">): MeasurementRecord;
  /** Oldest first; only the newest `limit` when given. */
  listMeasurements(rolloutId: number, limit?: number): MeasurementRecord[];

  /** One decision per person, environment and release: a second one replaces the first. */
  putApproval(approval: Omit<ApprovalRecord, "id" | "at">): ApprovalRecord;
  listApprovals(env: string, release: string): ApprovalRecord[];

  addCommand(command: Pick<DeliveryCommand, "env" | "service" | "kind" | "by" | "reason">): DeliveryCommand;
  /** The unhandled commands of an environment's service, oldest first, marked handled. */
  takeCommands(env: string, service: string): DeliveryCommand[];

  addEvent(event: Omit<DeliveryEvent, "id" | "at">): DeliveryEvent;
  /** Oldest first, after `afterId` when given; the newest `limit` when given. */
  listEvents(filter?: { env?: string; service?: string; afterId?: number; limit?: number }): DeliveryEvent[];
  /** The newest `alert-trigger` or `alert-resolve` event of an environment's service: whether its alert is open. */
  lastAlertEvent(env: string, service: string): DeliveryEvent | undefined;

  putSecret(name: string, environment: string, ciphertext: Buffer): void;
  getSecret(name: string, environment: string): SecretRecord | undefined;
  /** All environments when `environment` is undefined; ordered by environment, name. */
  listSecrets(environment?: string): Omit<SecretRecord, "ciphertext">[];
  deleteSecret(name: string, environment: string): boolean;
  /** Records a job's annotations (masked already), after those it has; beyond MAX_ANNOTATIONS_PER_JOB for the job they are dropped. */
  recordAnnotations(jobId: number, annotations: readonly NewAnnotation[]): void;
  /** A run's annotations, by job and then in the order they were made. */
  listAnnotations(runId: number): AnnotationRecord[];
  /** Records that a job read these secrets (names only; a name already recorded for the job is kept). */
  recordSecretReads(jobId: number, names: readonly string[]): void;
  /** Who read secrets: newest first, filtered by run and/or secret name, at most `limit` (default 1,000). */
  listSecretReads(filter?: { runId?: number; name?: string; limit?: number }): SecretReadRecord[];
  /** Replaces a secret's ciphertext if it is still `expected` (re-encryption: updatedAt is kept); false otherwise. */
  replaceSecret(name: string, environment: string, expected: Buffer, ciphertext: Buffer): boolean;

  putVariable(name: string, environment: string, value: string): void;
  /** All environments when `environment` is undefined; ordered by environment, name. */
  listVariables(environment?: string): VariableRecord[];
  deleteVariable(name: string, environment: string): boolean;

  /** `hash` is the sha256 (hex) of the token; a hash already stored throws "conflict". */
  createToken(token: { name: string; role: Role; hash: string; createdBy?: string | null; groups?: string[] }): TokenRecord;
  /** The token with this hash, unless it was revoked. */
  findToken(hash: string): TokenRecord | undefined;
  /** Every token, revoked ones too, by id. */
  listTokens(): TokenRecord[];
  /** Unknown id: "not_found"; already revoked: "conflict". */
  revokeToken(id: number): void;
  /** Sets lastUsedAt to now; unknown id: "not_found". */
  touchToken(id: number): void;
  /** Tokens not revoked. */
  countTokens(): number;

  /** Puts a job in the agents' queue (state queued, attempt 0). Conflict if it is there already. */
  enqueueJob(job: NewQueuedJob): QueuedJobRecord;
  getQueuedJob(jobId: number): QueuedJobRecord | undefined;
  /** The state and result of each of these jobs in the queue (those not in it are left out), by job id. One read. */
  queuedJobResults(jobIds: number[]): QueuedJobResult[];
  /** How many jobs of the agents' queue are queued and leased (for /metrics): one count, no payloads read. */
  queuedJobCounts(): { queued: number; leased: number };
  /** Oldest first; filters combined with AND. */
  listQueuedJobs(filter?: { state?: QueuedJobState; runId?: number }): QueuedJobRecord[];
  /**
   * Atomically leases the oldest queued job whose labels are all in `labels`
   * to `agent` for `leaseMs` (attempt + 1): one UPDATE … RETURNING, so no job
   * is leased twice. Undefined when none fits.
   */
  leaseJob(agent: string, labels: string[], leaseMs: number): QueuedJobRecord | undefined;
  /**
   * Renews the lease of `agent` on the job's `attempt`; returns the record
   * (whose cancelRequested the agent is told). Conflict when the lease is no
   * longer theirs (expired and taken again, finished, cancelled).
   */
  heartbeatJob(jobId: number, agent: string, attempt: number, leaseMs: number): QueuedJobRecord;
  /**
   * leased (by `agent` on `attempt`) → finished with the result; with
   * agent null, queued or leased → finished (the orchestrator or the server
   * deciding). Conflict when already finished or the lease is not theirs.
   */
  finishQueuedJob(jobId: number, lease: { agent: string; attempt: number } | null, result: { result: Conclusion; outputs?: Record<string, string>; reason?: string | null }): QueuedJobRecord;
  /** queued → finished cancelled; leased → cancel requested (told at the next heartbeat). Finished: unchanged. */
  cancelQueuedJob(jobId: number, reason: string): QueuedJobRecord;
  /** Replaces an unfinished queued job's sealed secrets if they are still `expected` (re-encryption); false otherwise. */
  replaceQueuedJobSecrets(jobId: number, expected: Buffer, sealed: Buffer): boolean;
  /**
   * One pass of the server's sweeper, in one transaction: expired leases
   * queued again or (last attempt) failed as "agent lost"; jobs past their
   * deadline asked to cancel, and failed when `graceMs` later still running;
   * queued and leased jobs of completed runs cancelled.
   */
  sweepJobQueue(graceMs: number): QueueSweep;
  /** Records a log chunk's number for a job's attempt: true the first time, false for a copy. */
  addLogChunk(jobId: number, attempt: number, seq: number): boolean;
  /** Whether a log chunk's number was recorded for the job's attempt. */
  hasLogChunk(jobId: number, attempt: number, seq: number): boolean;
  /** Creates or updates an agent (its labels), last seen now. */
  touchAgent(name: string, labels: string[]): AgentRecord;
  /** By name. */
  listAgents(): AgentRecord[];

  close(): void;
}
