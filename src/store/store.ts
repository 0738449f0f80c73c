// The Store interface: everything Slipway persists about runs, jobs, steps,
// secrets and variables. SQLite implements it now; PostgreSQL later runs the
// same shared test suite (store.case.test.ts).

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

export interface Store {
  createRun(run: NewRun): RunRecord;
  startRun(id: number): void;
  finishRun(id: number, finish: Finish): void;
  getRun(id: number): RunRecord | undefined;
  listRuns(opts?: { limit?: number }): RunRecord[];

  createJob(job: NewJob): JobRecord;
  startJob(id: number, logPath: string): void;
  finishJob(id: number, finish: Finish & { outputs?: Record<string, string> }): void;
  listJobs(runId: number): JobRecord[];

  createStep(jobId: number, number: number, name: string, logPath: string | null): StepRecord;
  finishStep(id: number, outcome: Conclusion, conclusion: Conclusion): void;
  listSteps(jobId: number): StepRecord[];

  /** Marks everything still queued or in progress as cancelled (after a crash). */
  recoverInterrupted(reason: string): number;

  putSecret(name: string, environment: string, ciphertext: Buffer): void;
  getSecret(name: string, environment: string): SecretRecord | undefined;
  listSecrets(environment?: string): Omit<SecretRecord, "ciphertext">[];
  deleteSecret(name: string, environment: string): boolean;

  putVariable(name: string, environment: string, value: string): void;
  listVariables(environment?: string): VariableRecord[];
  deleteVariable(name: string, environment: string): boolean;

  close(): void;
}
