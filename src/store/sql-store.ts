// The Store over SQL: every operation is one prepared statement (SQL below,
// in plain sight) or a few in a transaction; recoverInterrupted runs its
// three updates in one transaction. A few operations choose between two
// statements (all rows, or those of one service, environment or repository)
// so that each can use its index. The embedded SQLite store
// (sqlite-store.ts) and the PostgreSQL one (postgres-store.ts) are this
// class over their connection.
import type { Migration } from "./migrations/index.js";
import {
  FINAL_ROLLOUT_PHASES,
  StoreError,
  type ApprovalRecord,
  type DeliveryCommand,
  type DeliveryEvent,
  type DeploymentRecord,
  type MeasurementRecord,
  type NewRollout,
  type RolloutPhase,
  type RolloutRecord,
  type RolloutUpdate,
  type Verdict,
  type Conclusion,
  type Finish,
  type JobRecord,
  type NewJob,
  type NewRelease,
  type NewRun,
  type ReleaseFile,
  type ReleaseRecord,
  type ReleaseAttestation,
  type AttestationKind,
  type Role,
  ROLES,
  type RunFilter,
  type LaunchRecord,
  type ConcurrencyClaim,
  type ChangeRequestRecord,
  type LaunchState,
  type NewLaunch,
  type RunRecord,
  type RunStatus,
  type SecretRecord,
  type StepRecord,
  type Store,
  type TokenRecord,
  type VariableRecord,
  type AgentRecord,
  type NewQueuedJob,
  type QueuedJobRecord,
  type QueuedJobResult,
  type SecretReadRecord,
  type NewAnnotation,
  type AnnotationRecord,
  MAX_ANNOTATIONS_PER_JOB,
  type QueuedJobState,
  type QueueSweep,
} from "./store.js";


// ---- SQL ------------------------------------------------------------------

const SQL = {
  createMigrationsTable: `
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at TEXT NOT NULL
    ) STRICT`,
  appliedVersions: `SELECT version FROM schema_migrations ORDER BY version`,
  isApplied: `SELECT 1 FROM schema_migrations WHERE version = ?`,
  recordMigration: `INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @now)`,

  createRun: `
    INSERT INTO runs (workflow_path, workflow_name, event, ref, sha, status, created_at, owner, repository)
    VALUES (@workflowPath, @workflowName, @event, @ref, @sha, 'queued', @now, @owner, @repository)
    RETURNING *`,
  startRun: `
    UPDATE runs SET status = 'in_progress', started_at = COALESCE(started_at, @now)
    WHERE id = @id AND status <> 'completed'`,
  finishRun: `
    UPDATE runs SET status = 'completed', conclusion = @conclusion, reason = @reason, completed_at = @now
    WHERE id = @id AND status <> 'completed'`,
  getRun: `SELECT * FROM runs WHERE id = ?`,
  // A filter left NULL matches every run; @beforeId is always set (paging walks down the ids).
  listRuns: `
    SELECT * FROM runs
    WHERE id < @beforeId AND (@status IS NULL OR status = @status) AND (@workflowPath IS NULL OR workflow_path = @workflowPath)
      AND (@sha IS NULL OR sha = @sha) AND (@ref IS NULL OR ref = @ref) AND (@owner IS NULL OR owner = @owner)
    ORDER BY id DESC LIMIT @limit`,
  // The same for one repository, by its index (runs_by_repository).
  listRunsOf: `
    SELECT * FROM runs
    WHERE repository = @repository AND id < @beforeId AND (@status IS NULL OR status = @status)
      AND (@workflowPath IS NULL OR workflow_path = @workflowPath) AND (@sha IS NULL OR sha = @sha) AND (@ref IS NULL OR ref = @ref)
      AND (@owner IS NULL OR owner = @owner)
    ORDER BY id DESC LIMIT @limit`,
  countRuns: `SELECT COUNT(*) AS n FROM runs WHERE workflow_path = ? AND id <= ?`,
  countRunsOf: `SELECT COUNT(*) AS n FROM runs WHERE repository = ? AND workflow_path = ? AND id <= ?`,

  createJob: `
    INSERT INTO jobs (run_id, job_key, name, matrix, attempt, environment, status)
    VALUES (@runId, @jobKey, @name, @matrix, @attempt, @environment, 'queued')
    RETURNING *`,
  startJob: `
    UPDATE jobs SET status = 'in_progress', log_path = @logPath, started_at = COALESCE(started_at, @now)
    WHERE id = @id AND status <> 'completed'`,
  noteJobWaiting: `UPDATE jobs SET reason = @reason WHERE id = @id AND status = 'queued'`,
  finishJob: `
    UPDATE jobs SET status = 'completed', conclusion = @conclusion, reason = @reason,
      outputs = COALESCE(@outputs, outputs), completed_at = @now
    WHERE id = @id AND status <> 'completed'`,
  getJob: `SELECT * FROM jobs WHERE id = ?`,
  listJobs: `SELECT * FROM jobs WHERE run_id = ? ORDER BY id`,

  createStep: `
    INSERT INTO steps (job_id, number, name, log_path, status, started_at)
    VALUES (@jobId, @number, @name, @logPath, 'in_progress', @now)
    RETURNING *`,
  finishStep: `
    UPDATE steps SET status = 'completed', outcome = @outcome, conclusion = @conclusion, completed_at = @now
    WHERE id = @id AND status <> 'completed'`,
  getStep: `SELECT * FROM steps WHERE id = ?`,
  listSteps: `SELECT * FROM steps WHERE job_id = ? ORDER BY number, id`,

  unfinishedRuns: `SELECT id, owner FROM runs WHERE status <> 'completed'`,
  recoverSteps: `
    UPDATE steps SET status = 'completed', outcome = 'cancelled', conclusion = 'cancelled', completed_at = @now
    WHERE status <> 'completed' AND job_id IN (SELECT id FROM jobs WHERE run_id = @runId)`,
  recoverJobs: `
    UPDATE jobs SET status = 'completed', conclusion = 'cancelled', reason = @reason, completed_at = @now
    WHERE status <> 'completed' AND run_id = @runId`,
  recoverRun: `
    UPDATE runs SET status = 'completed', conclusion = 'cancelled', reason = @reason, completed_at = @now
    WHERE status <> 'completed' AND id = @runId`,

  releaseByDigest: `SELECT * FROM releases WHERE service = ? AND digest = ?`,
  releaseByNumber: `SELECT * FROM releases WHERE service = ? AND number = ?`,
  nextReleaseNumber: `SELECT COALESCE(MAX(number), 0) + 1 AS n FROM releases WHERE service = ?`,
  createRelease: `
    INSERT INTO releases (service, number, digest, artifact, files, size, source_commit, source_ref, run_id, workflow_path, created_by, created_at)
    VALUES (@service, @number, @digest, @artifact, @files, @size, @sourceCommit, @sourceRef, @runId, @workflowPath, @createdBy, @now)
    RETURNING *`,
  listReleases: `SELECT * FROM releases ORDER BY created_at DESC, id DESC`,
  listReleasesOf: `SELECT * FROM releases WHERE service = ? ORDER BY number DESC`,
  insertAttestation: `
    INSERT INTO release_attestations (release_id, kind, digest, media_type, key_id, created_at)
    VALUES (@releaseId, @kind, @digest, @mediaType, @keyId, @now)
    ON CONFLICT (release_id, kind) DO NOTHING`,
  getAttestation: `SELECT * FROM release_attestations WHERE release_id = ? AND kind = ?`,
  listAttestations: `
    SELECT * FROM release_attestations WHERE release_id = ?
    ORDER BY CASE kind WHEN 'sbom' THEN 1 WHEN 'signature' THEN 2 ELSE 3 END`,

  getDeployment: `SELECT * FROM deployments WHERE env = ? AND service = ?`,
  listDeployments: `SELECT * FROM deployments ORDER BY env, service`,
  putDeployment: `
    INSERT INTO deployments (env, service, release, digest, config_hash, port, updated_at)
    VALUES (@env, @service, @release, @digest, @configHash, @port, @now)
    ON CONFLICT (env, service) DO UPDATE SET release = excluded.release, digest = excluded.digest,
      config_hash = excluded.config_hash, port = excluded.port, updated_at = excluded.updated_at
    RETURNING *`,

  createRollout: `
    INSERT INTO rollouts (env, service, from_release, from_digest, to_release, to_digest, strategy, phase, state_commit, started_at, updated_at)
    VALUES (@env, @service, @fromRelease, @fromDigest, @toRelease, @toDigest, @strategy, 'progressing', @stateCommit, @now, @now)
    RETURNING *`,
  updateRollout: `
    UPDATE rollouts SET phase = COALESCE(@phase, phase), step = COALESCE(@step, step), weight = COALESCE(@weight, weight),
      reason = CASE WHEN @setReason = 1 THEN @reason ELSE reason END, updated_at = @now,
      finished_at = CASE WHEN @final = 1 THEN @now ELSE NULL END
    WHERE id = @id AND finished_at IS NULL
    RETURNING *`,
  getRollout: `SELECT * FROM rollouts WHERE id = ?`,
  activeRollout: `SELECT * FROM rollouts WHERE env = ? AND service = ? AND finished_at IS NULL ORDER BY id DESC LIMIT 1`,
  listRollouts: `
    SELECT * FROM rollouts WHERE (@env IS NULL OR env = @env) AND (@service IS NULL OR service = @service)
    ORDER BY id DESC LIMIT @limit`,

  addMeasurement: `
    INSERT INTO measurements (rollout_id, step, at, verdict, measured, reason)
    VALUES (@rolloutId, @step, @now, @verdict, @measured, @reason) RETURNING *`,
  listMeasurements: `
    SELECT * FROM (SELECT * FROM measurements WHERE rollout_id = @rolloutId ORDER BY id DESC LIMIT @limit) AS recent ORDER BY id`,

  putApproval: `
    INSERT INTO approvals (env, release, by, groups, decision, comment, at)
    VALUES (@env, @release, @by, @groups, @decision, @comment, @now)
    ON CONFLICT (env, release, by) DO UPDATE SET groups = excluded.groups, decision = excluded.decision,
      comment = excluded.comment, at = excluded.at
    RETURNING *`,
  listApprovals: `SELECT * FROM approvals WHERE env = ? AND release = ? ORDER BY at, id`,

  addCommand: `
    INSERT INTO delivery_commands (env, service, kind, by, reason, created_at)
    VALUES (@env, @service, @kind, @by, @reason, @now) RETURNING *`,
  pendingCommands: `SELECT * FROM delivery_commands WHERE env = ? AND service = ? AND handled_at IS NULL ORDER BY id`,
  handleCommand: `UPDATE delivery_commands SET handled_at = @now WHERE id = @id`,

  addEvent: `
    INSERT INTO delivery_events (at, env, service, kind, message, details)
    VALUES (@now, @env, @service, @kind, @message, @details) RETURNING *`,
  listEvents: `
    SELECT * FROM (
      SELECT * FROM delivery_events
      WHERE (@env IS NULL OR env = @env) AND (@service IS NULL OR service = @service) AND id > @afterId
      ORDER BY id DESC LIMIT @limit
    ) AS recent ORDER BY id`,
  lastAlertEvent: `
    SELECT * FROM delivery_events
    WHERE env = @env AND service = @service AND kind IN ('alert-trigger', 'alert-resolve')
    ORDER BY id DESC LIMIT 1`,

  putSecret: `
    INSERT INTO secrets (environment, name, ciphertext, updated_at) VALUES (@environment, @name, @ciphertext, @now)
    ON CONFLICT (environment, name) DO UPDATE SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
  getSecret: `SELECT name, environment, ciphertext, updated_at FROM secrets WHERE environment = ? AND name = ?`,
  listSecrets: `SELECT name, environment, updated_at FROM secrets ORDER BY environment, name`,
  listSecretsIn: `SELECT name, environment, updated_at FROM secrets WHERE environment = ? ORDER BY name`,
  deleteSecret: `DELETE FROM secrets WHERE environment = ? AND name = ?`,
  countAnnotations: `SELECT COUNT(*) AS n FROM annotations WHERE job_id = ?`,
  recordAnnotation: `
    INSERT INTO annotations (job_id, run_id, level, message, title, file, line, col, step, created_at)
    SELECT id, run_id, @level, @message, @title, @file, @line, @col, @step, @now FROM jobs WHERE id = @jobId`,
  listAnnotations: `SELECT * FROM annotations WHERE run_id = ? ORDER BY job_id, id`,
  recordSecretRead: `
    INSERT INTO secret_reads (job_id, run_id, name, environment, read_at)
    SELECT id, run_id, @name, COALESCE(environment, ''), @now FROM jobs WHERE id = @jobId
    ON CONFLICT (job_id, name) DO NOTHING`,
  listSecretReads: `
    SELECT r.run_id, r.job_id, j.name AS job, r.environment, r.name, r.read_at FROM secret_reads r JOIN jobs j ON j.id = r.job_id
    WHERE (@runId IS NULL OR r.run_id = @runId) AND (@name IS NULL OR r.name = @name)
    ORDER BY r.read_at DESC, r.job_id DESC, r.name LIMIT @limit`,
  replaceSecret: `UPDATE secrets SET ciphertext = @ciphertext WHERE environment = @environment AND name = @name AND ciphertext = @expected`,

  putVariable: `
    INSERT INTO variables (environment, name, value, updated_at) VALUES (@environment, @name, @value, @now)
    ON CONFLICT (environment, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  listVariables: `SELECT name, environment, value, updated_at FROM variables ORDER BY environment, name`,
  listVariablesIn: `SELECT name, environment, value, updated_at FROM variables WHERE environment = ? ORDER BY name`,
  deleteVariable: `DELETE FROM variables WHERE environment = ? AND name = ?`,

  createToken: `
    INSERT INTO api_tokens (name, role, hash, created_at, created_by, groups)
    VALUES (@name, @role, @hash, @now, @createdBy, @groups)
    RETURNING *`,
  findToken: `SELECT * FROM api_tokens WHERE hash = ? AND revoked_at IS NULL`,
  getToken: `SELECT * FROM api_tokens WHERE id = ?`,
  listTokens: `SELECT * FROM api_tokens ORDER BY id`,
  revokeToken: `UPDATE api_tokens SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL`,
  touchToken: `UPDATE api_tokens SET last_used_at = @now WHERE id = @id`,
  countTokens: `SELECT COUNT(*) AS n FROM api_tokens WHERE revoked_at IS NULL`,

  claimsOfGroup: `SELECT * FROM concurrency_claims WHERE group_key = ? ORDER BY id`,
  dropClaim: `DELETE FROM concurrency_claims WHERE id = ?`,
  cancelClaim: `UPDATE concurrency_claims SET state = 'cancelled' WHERE id = ?`,
  requestCancel: `UPDATE concurrency_claims SET cancel_requested = 1 WHERE id = ?`,
  promoteClaim: `UPDATE concurrency_claims SET state = 'running' WHERE id = ?`,
  insertClaim: `
    INSERT INTO concurrency_claims (group_key, holder, state, created_at) VALUES (@group, @holder, @state, @now)
    RETURNING *`,
  getClaim: `SELECT * FROM concurrency_claims WHERE id = ?`,

  createChange: `
    INSERT INTO change_requests (repository, number, title, source, target, author, state, created_at, updated_at)
    VALUES (@repository, (SELECT COALESCE(MAX(number), 0) + 1 FROM change_requests WHERE repository = @repository), @title, @source, @target, @author, 'open', @now, @now)
    RETURNING *`,
  getChange: `SELECT * FROM change_requests WHERE repository = ? AND number = ?`,
  listChanges: `SELECT * FROM change_requests WHERE repository = @repository AND (@state IS NULL OR state = @state) ORDER BY number DESC`,
  setChangeMerge: `
    UPDATE change_requests SET head_sha = @headSha, base_sha = @baseSha, merge_sha = @mergeSha, detail = @detail, updated_at = @now
    WHERE repository = @repository AND number = @number AND state = 'open'`,
  finishChange: `
    UPDATE change_requests SET state = @state, merged_by = CASE WHEN @state = 'merged' THEN @by END, merged_at = CASE WHEN @state = 'merged' THEN @now END, updated_at = @now
    WHERE repository = @repository AND number = @number AND state = 'open'`,
  approveChange: `INSERT INTO change_approvals (repository, number, by, at) VALUES (@repository, @number, @by, @now) ON CONFLICT DO NOTHING`,
  listChangeApprovals: `SELECT by, at FROM change_approvals WHERE repository = ? AND number = ? ORDER BY at, by`,

  createLaunch: `
    INSERT INTO launches (repository, event, ref, sha, request, actor, state, created_at)
    VALUES (@repository, @event, @ref, @sha, @request, @actor, 'waiting', @now)
    RETURNING *`,
  getLaunch: `SELECT * FROM launches WHERE id = ?`,
  listLaunches: `SELECT * FROM launches WHERE (@state IS NULL OR state = @state) ORDER BY id LIMIT @limit`,
  startLaunch: `
    UPDATE launches SET state = 'running', runner = @runner, attempts = attempts + 1, started_at = @now
    WHERE id = @id AND state = 'waiting'
    RETURNING *`,
  finishLaunch: `
    UPDATE launches SET state = 'done', exit_code = @exitCode, detail = @detail, finished_at = @now
    WHERE id = @id AND state = 'running'`,
  requeueLaunch: `
    UPDATE launches SET state = 'waiting', runner = NULL, detail = @detail
    WHERE id = @id AND state = 'running'`,

  // ---- the agents' job queue (migration 011) ----
  enqueueJob: `
    INSERT INTO job_queue (job_id, run_id, labels, payload, secrets, state, max_attempts, timeout_ms, created_at)
    VALUES (@jobId, @runId, @labels, @payload, @secrets, 'queued', @maxAttempts, @timeoutMs, @now)
    RETURNING *`,
  getQueuedJob: `SELECT * FROM job_queue WHERE job_id = ?`,
  replaceQueuedJobSecrets: `UPDATE job_queue SET secrets = @sealed WHERE job_id = @jobId AND secrets = @expected AND state <> 'finished'`,
  queuedJobResults: `
    SELECT job_id, state, result, outputs, reason FROM job_queue
    WHERE job_id IN (SELECT value FROM json_each(?)) ORDER BY job_id`,
  queuedJobCounts: `SELECT state, COUNT(*) AS n FROM job_queue WHERE state <> 'finished' GROUP BY state`,
  listQueuedJobs: `
    SELECT * FROM job_queue WHERE (@state IS NULL OR state = @state) AND (@runId IS NULL OR run_id = @runId)
    ORDER BY job_id`,
  // Read-only, so an idle agent's poll does not take the write lock: is there a job it could lease?
  leasableJob: `
    SELECT 1 FROM job_queue q
    WHERE q.state = 'queued'
      AND NOT EXISTS (SELECT 1 FROM json_each(q.labels) l WHERE l.value NOT IN (SELECT value FROM json_each(@labels)))
    LIMIT 1`,
  // The oldest queued job whose every label the agent has, in one statement: never leased twice.
  leaseJob: `
    UPDATE job_queue SET state = 'leased', attempt = attempt + 1, agent = @agent, leased_at = @now, heartbeat_at = @now,
      lease_expires_at = @expires, cancel_requested = 0, cancel_reason = NULL,
      deadline_at = CASE WHEN timeout_ms IS NULL THEN NULL
                         ELSE strftime('%Y-%m-%dT%H:%M:%fZ', julianday(@now) + timeout_ms / 86400000.0) END
    WHERE job_id = (
        SELECT q.job_id FROM job_queue q
        WHERE q.state = 'queued'
          AND NOT EXISTS (SELECT 1 FROM json_each(q.labels) l WHERE l.value NOT IN (SELECT value FROM json_each(@labels)))
        ORDER BY q.job_id LIMIT 1)
      AND state = 'queued'
    RETURNING *`,
  heartbeatJob: `
    UPDATE job_queue SET heartbeat_at = @now, lease_expires_at = @expires
    WHERE job_id = @jobId AND state = 'leased' AND agent = @agent AND attempt = @attempt
    RETURNING *`,
  finishLeasedJob: `
    UPDATE job_queue SET state = 'finished', result = @result, outputs = @outputs, reason = @reason, finished_at = @now, lease_expires_at = NULL
    WHERE job_id = @jobId AND state = 'leased' AND agent = @agent AND attempt = @attempt
    RETURNING *`,
  finishQueuedJob: `
    UPDATE job_queue SET state = 'finished', result = @result, outputs = @outputs, reason = @reason, finished_at = @now, lease_expires_at = NULL
    WHERE job_id = @jobId AND state <> 'finished'
    RETURNING *`,
  cancelWaitingJob: `
    UPDATE job_queue SET state = 'finished', result = 'cancelled', reason = @reason, finished_at = @now
    WHERE job_id = @jobId AND state = 'queued'`,
  cancelLeasedJob: `
    UPDATE job_queue SET cancel_requested = 1, cancel_reason = COALESCE(cancel_reason, @reason)
    WHERE job_id = @jobId AND state = 'leased'`,
  // Read-only: the sweeper writes nothing while every job is finished.
  unfinishedJob: `SELECT 1 FROM job_queue WHERE state <> 'finished' LIMIT 1`,
  sweepRequeue: `
    UPDATE job_queue SET state = 'queued', agent = NULL, leased_at = NULL, heartbeat_at = NULL, lease_expires_at = NULL, deadline_at = NULL,
      reason = 'attempt ' || attempt || ': agent lost (' || agent || ' stopped renewing its lease); queued again'
    WHERE state = 'leased' AND lease_expires_at < @now AND attempt < max_attempts AND cancel_requested = 0
    RETURNING job_id`,
  sweepLost: `
    UPDATE job_queue SET state = 'finished', finished_at = @now, lease_expires_at = NULL,
      result = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'failure' END,
      reason = CASE WHEN cancel_requested = 1 THEN COALESCE(cancel_reason, 'cancelled') || ' (its agent was lost)'
               ELSE 'agent lost: ' || agent || ' stopped renewing its lease on attempt ' || attempt || ' of ' || max_attempts END
    WHERE state = 'leased' AND lease_expires_at < @now AND (attempt >= max_attempts OR cancel_requested = 1)
    RETURNING job_id`,
  sweepTimingOut: `
    UPDATE job_queue SET cancel_requested = 1,
      cancel_reason = 'the job exceeded its timeout of ' || printf('%g', timeout_ms / 60000.0) || ' minutes'
    WHERE state = 'leased' AND deadline_at < @now AND cancel_requested = 0
    RETURNING job_id`,
  sweepTimedOut: `
    UPDATE job_queue SET state = 'finished', result = 'failure', finished_at = @now, lease_expires_at = NULL,
      reason = 'the job exceeded its timeout of ' || printf('%g', timeout_ms / 60000.0) || ' minutes (its agent did not stop it)'
    WHERE state = 'leased' AND deadline_at < @graceBefore
    RETURNING job_id`,
  sweepOrphanedQueued: `
    UPDATE job_queue SET state = 'finished', result = 'cancelled', reason = 'its run is completed', finished_at = @now
    WHERE state = 'queued' AND EXISTS (SELECT 1 FROM runs r WHERE r.id = job_queue.run_id AND r.status = 'completed')
    RETURNING job_id`,
  sweepOrphanedLeased: `
    UPDATE job_queue SET cancel_requested = 1, cancel_reason = 'its run is completed'
    WHERE state = 'leased' AND cancel_requested = 0 AND EXISTS (SELECT 1 FROM runs r WHERE r.id = job_queue.run_id AND r.status = 'completed')
    RETURNING job_id`,
  addLogChunk: `
    INSERT INTO job_log_chunks (job_id, attempt, seq, received_at) VALUES (@jobId, @attempt, @seq, @now)
    ON CONFLICT DO NOTHING`,
  hasLogChunk: `SELECT 1 FROM job_log_chunks WHERE job_id = @jobId AND attempt = @attempt AND seq = @seq`,
  touchAgent: `
    INSERT INTO agents (name, labels, registered_at, last_seen_at) VALUES (@name, @labels, @now, @now)
    ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, last_seen_at = excluded.last_seen_at
    RETURNING *`,
  listAgents: `SELECT * FROM agents ORDER BY name`,
} as const;

// ---- rows -----------------------------------------------------------------

interface ChangeRow {
  repository: string;
  number: number;
  title: string;
  source: string;
  target: string;
  author: string;
  state: "open" | "merged" | "closed";
  head_sha: string | null;
  base_sha: string | null;
  merge_sha: string | null;
  detail: string | null;
  created_at: string;
  updated_at: string;
  merged_by: string | null;
  merged_at: string | null;
}

function toChange(r: ChangeRow): ChangeRequestRecord {
  return {
    repository: r.repository,
    number: r.number,
    title: r.title,
    source: r.source,
    target: r.target,
    author: r.author,
    state: r.state,
    headSha: r.head_sha,
    baseSha: r.base_sha,
    mergeSha: r.merge_sha,
    detail: r.detail,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    mergedBy: r.merged_by,
    mergedAt: r.merged_at,
  };
}

interface ClaimRow {
  id: number;
  group_key: string;
  holder: string;
  state: "running" | "pending" | "cancelled";
  cancel_requested: number;
  created_at: string;
}

function toClaim(r: ClaimRow): ConcurrencyClaim {
  return { id: r.id, group: r.group_key, holder: r.holder, state: r.state, cancelRequested: r.cancel_requested === 1 };
}

interface AttestationRow {
  release_id: number;
  kind: AttestationKind;
  digest: string;
  media_type: string;
  key_id: string | null;
  created_at: string;
}

function toAttestation(r: AttestationRow): ReleaseAttestation {
  return { releaseId: r.release_id, kind: r.kind, digest: r.digest, mediaType: r.media_type, keyId: r.key_id, createdAt: r.created_at };
}

interface LaunchRow {
  id: number;
  repository: string;
  event: string;
  ref: string;
  sha: string;
  request: string;
  actor: string;
  state: LaunchState;
  attempts: number;
  runner: string | null;
  exit_code: number | null;
  detail: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

function toLaunch(r: LaunchRow): LaunchRecord {
  return {
    id: r.id,
    repository: r.repository,
    event: r.event,
    ref: r.ref,
    sha: r.sha,
    request: r.request,
    actor: r.actor,
    state: r.state,
    attempts: r.attempts,
    runner: r.runner,
    exitCode: r.exit_code,
    detail: r.detail,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

interface QueuedJobRow {
  job_id: number;
  run_id: number;
  labels: string;
  payload: string;
  secrets: Buffer | null;
  state: QueuedJobState;
  attempt: number;
  max_attempts: number;
  timeout_ms: number | null;
  agent: string | null;
  leased_at: string | null;
  heartbeat_at: string | null;
  lease_expires_at: string | null;
  deadline_at: string | null;
  cancel_requested: number;
  cancel_reason: string | null;
  result: Conclusion | null;
  outputs: string | null;
  reason: string | null;
  created_at: string;
  finished_at: string | null;
}

function toQueuedJob(r: QueuedJobRow): QueuedJobRecord {
  return {
    jobId: r.job_id,
    runId: r.run_id,
    labels: JSON.parse(r.labels) as string[],
    payload: r.payload,
    secrets: r.secrets,
    state: r.state,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    timeoutMs: r.timeout_ms,
    agent: r.agent,
    leasedAt: r.leased_at,
    heartbeatAt: r.heartbeat_at,
    leaseExpiresAt: r.lease_expires_at,
    deadlineAt: r.deadline_at,
    cancelRequested: r.cancel_requested === 1,
    cancelReason: r.cancel_reason,
    result: r.result,
    outputs: r.outputs,
    reason: r.reason,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

interface AgentRow {
  name: string;
  labels: string;
  registered_at: string;
  last_seen_at: string;
}

function toAgent(r: AgentRow): AgentRecord {
  return { name: r.name, labels: JSON.parse(r.labels) as string[], registeredAt: r.registered_at, lastSeenAt: r.last_seen_at };
}

/** Labels as the queue compares them: lowercase, trimmed, each once, sorted. */
function normalLabels(labels: string[]): string[] {
  return [...new Set(labels.map((l) => l.trim().toLowerCase()).filter((l) => l !== ""))].sort();
}

interface RunRow {
  id: number;
  workflow_path: string;
  workflow_name: string;
  event: string;
  ref: string;
  sha: string;
  status: RunStatus;
  conclusion: Conclusion | null;
  reason: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  owner: string | null;
  repository: string | null;
}

interface JobRow {
  id: number;
  run_id: number;
  job_key: string;
  name: string;
  matrix: string | null;
  attempt: number;
  status: RunStatus;
  conclusion: Conclusion | null;
  reason: string | null;
  environment: string | null;
  outputs: string | null;
  log_path: string | null;
  started_at: string | null;
  completed_at: string | null;
}

interface StepRow {
  id: number;
  job_id: number;
  number: number;
  name: string;
  status: RunStatus;
  outcome: Conclusion | null;
  conclusion: Conclusion | null;
  log_path: string | null;
  started_at: string | null;
  completed_at: string | null;
}

interface ReleaseRow {
  id: number;
  service: string;
  number: number;
  digest: string;
  artifact: string;
  files: string;
  size: number;
  source_commit: string | null;
  source_ref: string | null;
  run_id: number | null;
  workflow_path: string | null;
  created_by: string;
  created_at: string;
}

function toRelease(r: ReleaseRow): ReleaseRecord {
  return {
    id: r.id,
    service: r.service,
    number: r.number,
    digest: r.digest,
    artifact: r.artifact,
    files: JSON.parse(r.files) as ReleaseFile[],
    size: r.size,
    sourceCommit: r.source_commit,
    sourceRef: r.source_ref,
    runId: r.run_id,
    workflowPath: r.workflow_path,
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}

interface SecretRow {
  name: string;
  environment: string;
  ciphertext: Buffer;
  updated_at: string;
}

interface VariableRow {
  name: string;
  environment: string;
  value: string;
  updated_at: string;
}

interface TokenRow {
  id: number;
  name: string;
  role: Role;
  hash: string;
  created_at: string;
  created_by: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  groups: string;
}

/** The hash stays in the database. */
function toToken(r: TokenRow): TokenRecord {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    groups: JSON.parse(r.groups) as string[],
    createdAt: r.created_at,
    createdBy: r.created_by,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

function toRun(r: RunRow): RunRecord {
  return {
    id: r.id,
    workflowPath: r.workflow_path,
    workflowName: r.workflow_name,
    event: r.event,
    ref: r.ref,
    sha: r.sha,
    status: r.status,
    conclusion: r.conclusion,
    reason: r.reason,
    createdAt: r.created_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    owner: r.owner ?? null,
    repository: r.repository ?? null,
  };
}

function toJob(r: JobRow): JobRecord {
  return {
    id: r.id,
    runId: r.run_id,
    jobKey: r.job_key,
    name: r.name,
    matrix: r.matrix,
    attempt: r.attempt,
    status: r.status,
    conclusion: r.conclusion,
    reason: r.reason,
    environment: r.environment,
    outputs: r.outputs,
    logPath: r.log_path,
    startedAt: r.started_at,
    completedAt: r.completed_at,
  };
}

function toStep(r: StepRow): StepRecord {
  return {
    id: r.id,
    jobId: r.job_id,
    number: r.number,
    name: r.name,
    status: r.status,
    outcome: r.outcome,
    conclusion: r.conclusion,
    logPath: r.log_path,
    startedAt: r.started_at,
    completedAt: r.completed_at,
  };
}

interface DeploymentRow {
  env: string;
  service: string;
  release: string | null;
  digest: string | null;
  config_hash: string | null;
  port: number | null;
  updated_at: string;
}

interface RolloutRow {
  id: number;
  env: string;
  service: string;
  from_release: string | null;
  from_digest: string | null;
  to_release: string;
  to_digest: string;
  strategy: string;
  phase: RolloutPhase;
  step: number;
  weight: number;
  state_commit: string | null;
  reason: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

interface MeasurementRow {
  id: number;
  rollout_id: number;
  step: number;
  at: string;
  verdict: Verdict;
  measured: string;
  reason: string;
}

interface ApprovalRow {
  id: number;
  env: string;
  release: string;
  by: string;
  groups: string;
  decision: "approve" | "reject";
  comment: string | null;
  at: string;
}

interface CommandRow {
  id: number;
  env: string;
  service: string;
  kind: "promote" | "abort";
  by: string;
  reason: string | null;
  created_at: string;
  handled_at: string | null;
}

interface EventRow {
  id: number;
  at: string;
  env: string;
  service: string;
  kind: string;
  message: string;
  details: string | null;
}

const toDeployment = (r: DeploymentRow): DeploymentRecord => ({
  env: r.env,
  service: r.service,
  release: r.release,
  digest: r.digest,
  configHash: r.config_hash,
  port: r.port,
  updatedAt: r.updated_at,
});

const toRollout = (r: RolloutRow): RolloutRecord => ({
  id: r.id,
  env: r.env,
  service: r.service,
  fromRelease: r.from_release,
  fromDigest: r.from_digest,
  toRelease: r.to_release,
  toDigest: r.to_digest,
  strategy: r.strategy,
  phase: r.phase,
  step: r.step,
  weight: r.weight,
  stateCommit: r.state_commit,
  reason: r.reason,
  startedAt: r.started_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

const toMeasurement = (r: MeasurementRow): MeasurementRecord => ({
  id: r.id,
  rolloutId: r.rollout_id,
  step: r.step,
  at: r.at,
  verdict: r.verdict,
  measured: JSON.parse(r.measured) as Record<string, number | null>,
  reason: r.reason,
});

const toApproval = (r: ApprovalRow): ApprovalRecord => ({
  id: r.id,
  env: r.env,
  release: r.release,
  by: r.by,
  groups: JSON.parse(r.groups) as string[],
  decision: r.decision,
  comment: r.comment,
  at: r.at,
});

const toCommand = (r: CommandRow): DeliveryCommand => ({
  id: r.id,
  env: r.env,
  service: r.service,
  kind: r.kind,
  by: r.by,
  reason: r.reason,
  createdAt: r.created_at,
  handledAt: r.handled_at,
});

const toEvent = (r: EventRow): DeliveryEvent => ({
  id: r.id,
  at: r.at,
  env: r.env,
  service: r.service,
  kind: r.kind,
  message: r.message,
  details: r.details === null ? null : (JSON.parse(r.details) as unknown),
});

// ---- store ----------------------------------------------------------------

/** A prepared statement, as better-sqlite3 and pg-sync.ts both give them. */
export interface StoreStatement {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number };
}

/**
 * What the store needs of its connection: better-sqlite3's Database
 * (sqlite-store.ts), or the synchronous PostgreSQL one (postgres-store.ts).
 */
export interface StoreConnection {
  prepare(sql: string): StoreStatement;
  exec(sql: string): void;
  /** better-sqlite3's transaction(fn): a function running fn in a transaction; `.immediate` takes the write lock first (SQLite). */
  transaction<A extends unknown[], T>(fn: (...args: A) => T): ((...args: A) => T) & { immediate: (...args: A) => T };
  readonly open: boolean;
  close(): void;
}

type StatementName = keyof typeof SQL;
type Statements = Record<StatementName, StoreStatement>;

export interface SqlStoreSetup {
  /** The database, as messages name it: a file, or a redacted URL. */
  label: string;
  dataDir: string;
  db: StoreConnection;
  /** The dialect's statements that differ from SQLite's. */
  overrides?: Partial<Record<StatementName, string>>;
  migrations: readonly Migration[];
  now?: () => Date;
}

/**
 * The Store over SQL: every operation one statement of `SQL` (above, in
 * plain sight) or a few in a transaction. SQLite (SqliteStore, the embedded
 * default) and PostgreSQL (PostgresStore) run the same code; PostgreSQL
 * overrides the few statements it writes differently.
 */
export class SqlStore implements Store {
  readonly file: string;
  /** The folder holding the database file. */
  readonly dataDir: string;
  protected readonly db: StoreConnection;
  private readonly now: () => Date;
  private readonly sql: Statements;

  constructor(setup: SqlStoreSetup) {
    this.file = setup.label;
    this.dataDir = setup.dataDir;
    this.db = setup.db;
    this.now = setup.now ?? (() => new Date());
    const text: Record<StatementName, string> = { ...SQL, ...setup.overrides };
    try {
      this.migrate(setup.migrations, text);
      this.sql = Object.fromEntries(Object.entries(text).map(([k, t]) => [k, this.db.prepare(t)])) as Statements;
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /** Versions recorded in schema_migrations, ascending. */
  appliedMigrations(): number[] {
    return this.db
      .prepare(SQL.appliedVersions)
      .all()
      .map((r) => (r as { version: number }).version);
  }

  private migrate(migrations: readonly Migration[], text: Record<StatementName, string>): void {
    this.db.exec(text.createMigrationsTable);
    const known = migrations.at(-1)?.version ?? 0;
    const applied = this.appliedMigrations();
    const newest = applied.at(-1) ?? 0;
    if (newest > known) {
      throw new StoreError(
        "schema",
        `${this.file} has schema version ${newest}, but this Slipway knows only up to ${known}: ` +
          `upgrade Slipway (or use a data directory made by this version)`,
      );
    }
    // All applied (every start but the first): no write transaction.
    if (migrations.every((m) => applied.includes(m.version))) return;
    for (const m of migrations) {
      // IMMEDIATE takes the write lock first, so two processes opening a new
      // database at once cannot both apply the same migration.
      this.db
        .transaction(() => {
          const applied = this.db.prepare(text.isApplied).get(m.version);
          if (applied) return;
          try {
            this.db.exec(m.sql);
          } catch (err) {
            throw new StoreError(
              "schema",
              `migration ${String(m.version).padStart(3, "0")}-${m.name} failed on ${this.file}: ${(err as Error).message}`,
            );
          }
          this.db.prepare(text.recordMigration).run({ version: m.version, name: m.name, now: this.timestamp() });
        })
        .immediate();
    }
  }

  private timestamp(): string {
    return this.now().toISOString();
  }

  /** Turns "0 rows changed" into not_found or conflict. */
  private requireChange(
    changes: number,
    kind: "run" | "job" | "step",
    id: number,
    action: string,
  ): void {
    if (changes > 0) return;
    const get = kind === "run" ? this.sql.getRun : kind === "job" ? this.sql.getJob : this.sql.getStep;
    if (!get.get(id)) throw new StoreError("not_found", `${kind} ${id} does not exist`);
    throw new StoreError("conflict", `cannot ${action} ${kind} ${id}: it is already completed`);
  }

  createRun(run: NewRun): RunRecord {
    const row = this.sql.createRun.get({
      workflowPath: run.workflowPath,
      workflowName: run.workflowName,
      event: run.event,
      ref: run.ref,
      sha: run.sha,
      owner: run.owner ?? null,
      repository: run.repository ?? null,
      now: this.timestamp(),
    }) as RunRow;
    return toRun(row);
  }

  startRun(id: number): void {
    const { changes } = this.sql.startRun.run({ id, now: this.timestamp() });
    this.requireChange(changes, "run", id, "start");
  }

  finishRun(id: number, finish: Finish): void {
    const { changes } = this.sql.finishRun.run({
      id,
      conclusion: finish.conclusion,
      reason: finish.reason ?? null,
      now: this.timestamp(),
    });
    this.requireChange(changes, "run", id, "finish");
  }

  getRun(id: number): RunRecord | undefined {
    const row = this.sql.getRun.get(id) as RunRow | undefined;
    return row && toRun(row);
  }

  listRuns(opts: RunFilter = {}): RunRecord[] {
    const { limit, beforeId } = opts;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
      throw new RangeError(`listRuns: limit must be a non-negative integer, got ${limit}`);
    }
    if (beforeId !== undefined && !Number.isInteger(beforeId)) {
      throw new RangeError(`listRuns: beforeId must be an integer, got ${beforeId}`);
    }
    const params = {
      // SQLite treats a negative LIMIT as "no limit".
      limit: limit ?? -1,
      beforeId: beforeId ?? Number.MAX_SAFE_INTEGER,
      status: opts.status ?? null,
      workflowPath: opts.workflowPath ?? null,
      sha: opts.sha ?? null,
      ref: opts.ref ?? null,
      owner: opts.owner ?? null,
    };
    const rows = opts.repository === undefined ? this.sql.listRuns.all(params) : this.sql.listRunsOf.all({ ...params, repository: opts.repository });
    return (rows as RunRow[]).map(toRun);
  }

  countRuns(workflowPath: string, repository?: string, upToId: number = Number.MAX_SAFE_INTEGER): number {
    const row = repository === undefined ? this.sql.countRuns.get(workflowPath, upToId) : this.sql.countRunsOf.get(repository, workflowPath, upToId);
    return (row as { n: number }).n;
  }

  createJob(job: NewJob): JobRecord {
    try {
      const row = this.sql.createJob.get({
        runId: job.runId,
        jobKey: job.jobKey,
        name: job.name,
        matrix: job.matrix,
        attempt: job.attempt,
        environment: job.environment,
      }) as JobRow;
      return toJob(row);
    } catch (err) {
      if (isForeignKeyError(err)) throw new StoreError("not_found", `run ${job.runId} does not exist`);
      throw err;
    }
  }

  startJob(id: number, logPath: string): void {
    const { changes } = this.sql.startJob.run({ id, logPath, now: this.timestamp() });
    this.requireChange(changes, "job", id, "start");
  }

  noteJobWaiting(id: number, reason: string | null): void {
    this.sql.noteJobWaiting.run({ id, reason });
  }

  finishJob(id: number, finish: Finish & { outputs?: Record<string, string> }): void {
    const { changes } = this.sql.finishJob.run({
      id,
      conclusion: finish.conclusion,
      reason: finish.reason ?? null,
      outputs: finish.outputs === undefined ? null : JSON.stringify(finish.outputs),
      now: this.timestamp(),
    });
    this.requireChange(changes, "job", id, "finish");
  }

  getJob(id: number): JobRecord | undefined {
    const row = this.sql.getJob.get(id) as JobRow | undefined;
    return row && toJob(row);
  }

  listJobs(runId: number): JobRecord[] {
    return (this.sql.listJobs.all(runId) as JobRow[]).map(toJob);
  }

  createStep(jobId: number, number: number, name: string, logPath: string | null): StepRecord {
    try {
      const row = this.sql.createStep.get({ jobId, number, name, logPath, now: this.timestamp() }) as StepRow;
      return toStep(row);
    } catch (err) {
      if (isForeignKeyError(err)) throw new StoreError("not_found", `job ${jobId} does not exist`);
      if (isUniqueError(err)) throw new StoreError("conflict", `job ${jobId} already has a step number ${number}`);
      throw err;
    }
  }

  finishStep(id: number, outcome: Conclusion, conclusion: Conclusion): void {
    const { changes } = this.sql.finishStep.run({ id, outcome, conclusion, now: this.timestamp() });
    this.requireChange(changes, "step", id, "finish");
  }

  listSteps(jobId: number): StepRecord[] {
    return (this.sql.listSteps.all(jobId) as StepRow[]).map(toStep);
  }

  createRelease(release: NewRelease): { release: ReleaseRecord; created: boolean } {
    // One transaction: the digest check and the next number cannot race with another writer.
    return this.db.transaction(() => {
      const existing = this.sql.releaseByDigest.get(release.service, release.digest) as ReleaseRow | undefined;
      if (existing) return { release: toRelease(existing), created: false };
      const { n } = this.sql.nextReleaseNumber.get(release.service) as { n: number };
      const row = this.sql.createRelease.get({
        service: release.service,
        number: n,
        digest: release.digest,
        artifact: release.artifact,
        files: JSON.stringify(release.files),
        size: release.size,
        sourceCommit: release.sourceCommit,
        sourceRef: release.sourceRef,
        runId: release.runId,
        workflowPath: release.workflowPath,
        createdBy: release.createdBy,
        now: this.timestamp(),
      }) as ReleaseRow;
      return { release: toRelease(row), created: true };
    }).immediate();
  }

  getRelease(service: string, ref: number | string): ReleaseRecord | undefined {
    const row = (typeof ref === "number" ? this.sql.releaseByNumber.get(service, ref) : this.sql.releaseByDigest.get(service, ref)) as
      | ReleaseRow
      | undefined;
    return row && toRelease(row);
  }

  listReleases(service?: string): ReleaseRecord[] {
    const rows = (service === undefined ? this.sql.listReleases.all() : this.sql.listReleasesOf.all(service)) as ReleaseRow[];
    return rows.map(toRelease);
  }

  putReleaseAttestation(a: Omit<ReleaseAttestation, "createdAt">): { attestation: ReleaseAttestation; created: boolean } {
    return this.db
      .transaction(() => {
        const { changes } = this.sql.insertAttestation.run({ ...a, now: this.timestamp() });
        const row = this.sql.getAttestation.get(a.releaseId, a.kind) as AttestationRow | undefined;
        if (!row) throw new StoreError("not_found", `release ${a.releaseId} does not exist`);
        return { attestation: toAttestation(row), created: changes > 0 };
      })
      .immediate();
  }

  listReleaseAttestations(releaseId: number): ReleaseAttestation[] {
    return (this.sql.listAttestations.all(releaseId) as AttestationRow[]).map(toAttestation);
  }

  recoverInterrupted(reason: string, isOwnerAlive: (owner: string | null) => boolean = () => false): number {
    return this.db.transaction(() => {
      const now = this.timestamp();
      let marked = 0;
      for (const run of this.sql.unfinishedRuns.all() as Array<{ id: number; owner: string | null }>) {
        if (isOwnerAlive(run.owner)) continue;
        this.sql.recoverSteps.run({ now, runId: run.id });
        this.sql.recoverJobs.run({ reason, now, runId: run.id });
        marked += this.sql.recoverRun.run({ reason, now, runId: run.id }).changes;
      }
      return marked;
    })();
  }

  getDeployment(env: string, service: string): DeploymentRecord | undefined {
    const row = this.sql.getDeployment.get(env, service) as DeploymentRow | undefined;
    return row && toDeployment(row);
  }

  listDeployments(): DeploymentRecord[] {
    return (this.sql.listDeployments.all() as DeploymentRow[]).map(toDeployment);
  }

  putDeployment(d: Omit<DeploymentRecord, "updatedAt">): DeploymentRecord {
    return toDeployment(this.sql.putDeployment.get({ ...d, now: this.timestamp() }) as DeploymentRow);
  }

  createRollout(rollout: NewRollout): RolloutRecord {
    return toRollout(this.sql.createRollout.get({ ...rollout, now: this.timestamp() }) as RolloutRow);
  }

  updateRollout(id: number, update: RolloutUpdate): RolloutRecord {
    if (update.weight !== undefined && !(Number.isInteger(update.weight) && update.weight >= 0 && update.weight <= 100)) {
      throw new StoreError("conflict", `rollout ${id}: weight ${update.weight} is not a whole percentage from 0 to 100`);
    }
    const row = this.sql.updateRollout.get({
      id,
      phase: update.phase ?? null,
      step: update.step ?? null,
      weight: update.weight ?? null,
      setReason: update.reason !== undefined ? 1 : 0,
      reason: update.reason ?? null,
      final: update.phase !== undefined && FINAL_ROLLOUT_PHASES.includes(update.phase) ? 1 : 0,
      now: this.timestamp(),
    }) as RolloutRow | undefined;
    if (row) return toRollout(row);
    const existing = this.sql.getRollout.get(id) as RolloutRow | undefined;
    if (!existing) throw new StoreError("not_found", `rollout ${id} does not exist`);
    throw new StoreError("conflict", `rollout ${id} already ended (${existing.phase}); it cannot change`);
  }

  getRollout(id: number): RolloutRecord | undefined {
    const row = this.sql.getRollout.get(id) as RolloutRow | undefined;
    return row && toRollout(row);
  }

  activeRollout(env: string, service: string): RolloutRecord | undefined {
    const row = this.sql.activeRollout.get(env, service) as RolloutRow | undefined;
    return row && toRollout(row);
  }

  listRollouts(filter: { env?: string; service?: string; limit?: number } = {}): RolloutRecord[] {
    const rows = this.sql.listRollouts.all({ env: filter.env ?? null, service: filter.service ?? null, limit: filter.limit ?? -1 }) as RolloutRow[];
    return rows.map(toRollout);
  }

  addMeasurement(m: Omit<MeasurementRecord, "id" | "at">): MeasurementRecord {
    const row = this.sql.addMeasurement.get({
      rolloutId: m.rolloutId,
      step: m.step,
      verdict: m.verdict,
      measured: JSON.stringify(m.measured),
      reason: m.reason,
      now: this.timestamp(),
    }) as MeasurementRow;
    return toMeasurement(row);
  }

  listMeasurements(rolloutId: number, limit?: number): MeasurementRecord[] {
    return (this.sql.listMeasurements.all({ rolloutId, limit: limit ?? -1 }) as MeasurementRow[]).map(toMeasurement);
  }

  putApproval(a: Omit<ApprovalRecord, "id" | "at">): ApprovalRecord {
    const row = this.sql.putApproval.get({ ...a, groups: JSON.stringify(a.groups), now: this.timestamp() }) as ApprovalRow;
    return toApproval(row);
  }

  listApprovals(env: string, release: string): ApprovalRecord[] {
    return (this.sql.listApprovals.all(env, release) as ApprovalRow[]).map(toApproval);
  }

  addCommand(c: Pick<DeliveryCommand, "env" | "service" | "kind" | "by" | "reason">): DeliveryCommand {
    return toCommand(this.sql.addCommand.get({ ...c, now: this.timestamp() }) as CommandRow);
  }

  takeCommands(env: string, service: string): DeliveryCommand[] {
    return this.db.transaction(() => {
      const now = this.timestamp();
      const rows = this.sql.pendingCommands.all(env, service) as CommandRow[];
      for (const r of rows) this.sql.handleCommand.run({ id: r.id, now });
      return rows.map((r) => ({ ...toCommand(r), handledAt: now }));
    }).immediate();
  }

  addEvent(e: Omit<DeliveryEvent, "id" | "at">): DeliveryEvent {
    const details = e.details === undefined || e.details === null ? null : JSON.stringify(e.details);
    return toEvent(this.sql.addEvent.get({ env: e.env, service: e.service, kind: e.kind, message: e.message, details, now: this.timestamp() }) as EventRow);
  }

  listEvents(filter: { env?: string; service?: string; afterId?: number; limit?: number } = {}): DeliveryEvent[] {
    const rows = this.sql.listEvents.all({
      env: filter.env ?? null,
      service: filter.service ?? null,
      afterId: filter.afterId ?? 0,
      limit: filter.limit ?? -1,
    }) as EventRow[];
    return rows.map(toEvent);
  }

  lastAlertEvent(env: string, service: string): DeliveryEvent | undefined {
    const row = this.sql.lastAlertEvent.get({ env, service }) as EventRow | undefined;
    return row && toEvent(row);
  }

  putSecret(name: string, environment: string, ciphertext: Buffer): void {
    this.sql.putSecret.run({ name, environment, ciphertext, now: this.timestamp() });
  }

  getSecret(name: string, environment: string): SecretRecord | undefined {
    const row = this.sql.getSecret.get(environment, name) as SecretRow | undefined;
    return row && { name: row.name, environment: row.environment, ciphertext: row.ciphertext, updatedAt: row.updated_at };
  }

  listSecrets(environment?: string): Omit<SecretRecord, "ciphertext">[] {
    const rows = (
      environment === undefined ? this.sql.listSecrets.all() : this.sql.listSecretsIn.all(environment)
    ) as Omit<SecretRow, "ciphertext">[];
    return rows.map((r) => ({ name: r.name, environment: r.environment, updatedAt: r.updated_at }));
  }

  deleteSecret(name: string, environment: string): boolean {
    return this.sql.deleteSecret.run(environment, name).changes > 0;
  }

  recordAnnotations(jobId: number, annotations: readonly NewAnnotation[]): void {
    if (annotations.length === 0) return;
    const now = this.timestamp();
    this.db.transaction(() => {
      const have = (this.sql.countAnnotations.get(jobId) as { n: number }).n;
      for (const a of annotations.slice(0, Math.max(0, MAX_ANNOTATIONS_PER_JOB - have))) {
        this.sql.recordAnnotation.run({ jobId, level: a.level, message: a.message, title: a.title ?? null, file: a.file ?? null, line: a.line ?? null, col: a.col ?? null, step: a.step ?? null, now });
      }
    })();
  }

  listAnnotations(runId: number): AnnotationRecord[] {
    const rows = this.sql.listAnnotations.all(runId) as Array<{
      id: number;
      job_id: number;
      run_id: number;
      level: NewAnnotation["level"];
      message: string;
      title: string | null;
      file: string | null;
      line: number | null;
      col: number | null;
      step: string | null;
      created_at: string;
    }>;
    return rows.map((r) => ({
      id: r.id,
      jobId: r.job_id,
      runId: r.run_id,
      level: r.level,
      message: r.message,
      ...(r.title !== null ? { title: r.title } : {}),
      ...(r.file !== null ? { file: r.file } : {}),
      ...(r.line !== null ? { line: r.line } : {}),
      ...(r.col !== null ? { col: r.col } : {}),
      ...(r.step !== null ? { step: r.step } : {}),
      createdAt: r.created_at,
    }));
  }

  recordSecretReads(jobId: number, names: readonly string[]): void {
    if (names.length === 0) return;
    const now = this.timestamp();
    this.db.transaction(() => {
      for (const name of names) this.sql.recordSecretRead.run({ jobId, name, now });
    })();
  }

  listSecretReads(filter: { runId?: number; name?: string; limit?: number } = {}): SecretReadRecord[] {
    const rows = this.sql.listSecretReads.all({ runId: filter.runId ?? null, name: filter.name ?? null, limit: filter.limit ?? 1000 }) as Array<{
      run_id: number;
      job_id: number;
      job: string;
      environment: string;
      name: string;
      read_at: string;
    }>;
    return rows.map((r) => ({ runId: r.run_id, jobId: r.job_id, job: r.job, environment: r.environment, name: r.name, readAt: r.read_at }));
  }

  replaceSecret(name: string, environment: string, expected: Buffer, ciphertext: Buffer): boolean {
    return this.sql.replaceSecret.run({ name, environment, expected, ciphertext }).changes > 0;
  }

  putVariable(name: string, environment: string, value: string): void {
    this.sql.putVariable.run({ name, environment, value, now: this.timestamp() });
  }

  listVariables(environment?: string): VariableRecord[] {
    const rows = (
      environment === undefined ? this.sql.listVariables.all() : this.sql.listVariablesIn.all(environment)
    ) as VariableRow[];
    return rows.map((r) => ({ name: r.name, environment: r.environment, value: r.value, updatedAt: r.updated_at }));
  }

  deleteVariable(name: string, environment: string): boolean {
    return this.sql.deleteVariable.run(environment, name).changes > 0;
  }

  createToken(t: { name: string; role: Role; hash: string; createdBy?: string | null; groups?: string[] }): TokenRecord {
    if (!ROLES.includes(t.role)) throw new RangeError(`createToken: role must be one of ${ROLES.join(", ")}, got '${String(t.role)}'`);
    if (!/^[0-9a-f]{64}$/.test(t.hash)) throw new RangeError("createToken: hash must be the sha256 of the token in lowercase hex (64 characters)");
    try {
      const row = this.sql.createToken.get({ name: t.name, role: t.role, hash: t.hash, createdBy: t.createdBy ?? null, groups: JSON.stringify(t.groups ?? []), now: this.timestamp() }) as TokenRow;
      return toToken(row);
    } catch (err) {
      // Never repeat the hash in the message.
      if (isUniqueError(err)) throw new StoreError("conflict", `a token with the same secret already exists (token '${t.name}' not created)`);
      throw err;
    }
  }

  findToken(hash: string): TokenRecord | undefined {
    const row = this.sql.findToken.get(hash) as TokenRow | undefined;
    return row && toToken(row);
  }

  listTokens(): TokenRecord[] {
    return (this.sql.listTokens.all() as TokenRow[]).map(toToken);
  }

  revokeToken(id: number): void {
    const { changes } = this.sql.revokeToken.run({ id, now: this.timestamp() });
    if (changes > 0) return;
    const existing = this.sql.getToken.get(id) as TokenRow | undefined;
    if (!existing) throw new StoreError("not_found", `token ${id} does not exist`);
    throw new StoreError("conflict", `token ${id} is already revoked (since ${existing.revoked_at ?? "?"})`);
  }

  touchToken(id: number): void {
    const { changes } = this.sql.touchToken.run({ id, now: this.timestamp() });
    if (changes === 0) throw new StoreError("not_found", `token ${id} does not exist`);
  }

  claimConcurrency(group: string, holder: string, cancelInProgress: boolean, alive: (holder: string) => boolean): ConcurrencyClaim {
    return this.db.transaction(() => {
      let claims = this.sql.claimsOfGroup.all(group) as ClaimRow[];
      for (const c of claims) if (!alive(c.holder)) this.sql.dropClaim.run(c.id);
      claims = (this.sql.claimsOfGroup.all(group) as ClaimRow[]).filter((c) => c.state !== "cancelled");
      const running = claims.find((c) => c.state === "running");
      for (const c of claims) if (c.state === "pending") this.sql.cancelClaim.run(c.id);
      if (running && cancelInProgress) this.sql.requestCancel.run(running.id);
      const row = this.sql.insertClaim.get({ group, holder, state: running ? "pending" : "running", now: this.timestamp() }) as ClaimRow;
      return toClaim(row);
    })();
  }

  checkConcurrency(id: number, alive: (holder: string) => boolean): ConcurrencyClaim | undefined {
    return this.db.transaction(() => {
      const row = this.sql.getClaim.get(id) as ClaimRow | undefined;
      if (!row || row.state !== "pending") return row ? toClaim(row) : undefined;
      // The running holder died without releasing: the pending claim goes ahead.
      const others = this.sql.claimsOfGroup.all(row.group_key) as ClaimRow[];
      const running = others.find((c) => c.state === "running");
      if (running && alive(running.holder)) return toClaim(row);
      if (running) this.sql.dropClaim.run(running.id);
      this.sql.promoteClaim.run(row.id);
      return { ...toClaim(row), state: "running" as const };
    })();
  }

  releaseConcurrency(id: number): void {
    this.db.transaction(() => {
      const row = this.sql.getClaim.get(id) as ClaimRow | undefined;
      if (!row) return;
      this.sql.dropClaim.run(id);
      if (row.state !== "running") return;
      const next = (this.sql.claimsOfGroup.all(row.group_key) as ClaimRow[]).find((c) => c.state === "pending");
      if (next) this.sql.promoteClaim.run(next.id);
    })();
  }

  createChangeRequest(c: { repository: string; title: string; source: string; target: string; author: string }): ChangeRequestRecord {
    return toChange(this.sql.createChange.get({ ...c, now: this.timestamp() }) as ChangeRow);
  }

  getChangeRequest(repository: string, number: number): ChangeRequestRecord | undefined {
    const row = this.sql.getChange.get(repository, number) as ChangeRow | undefined;
    return row ? toChange(row) : undefined;
  }

  listChangeRequests(repository: string, state?: ChangeRequestRecord["state"]): ChangeRequestRecord[] {
    return (this.sql.listChanges.all({ repository, state: state ?? null }) as ChangeRow[]).map(toChange);
  }

  setChangeMerge(repository: string, number: number, m: { headSha: string; baseSha: string; mergeSha: string | null; detail: string | null }): void {
    const { changes } = this.sql.setChangeMerge.run({ repository, number, ...m, now: this.timestamp() });
    if (changes === 0) throw this.changeConflict(repository, number);
  }

  finishChangeRequest(repository: string, number: number, state: "merged" | "closed", by: string): void {
    const { changes } = this.sql.finishChange.run({ repository, number, state, by, now: this.timestamp() });
    if (changes === 0) throw this.changeConflict(repository, number);
  }

  approveChangeRequest(repository: string, number: number, by: string): boolean {
    if (!this.getChangeRequest(repository, number)) throw new StoreError("not_found", `change request ${repository}#${number} does not exist`);
    return this.sql.approveChange.run({ repository, number, by, now: this.timestamp() }).changes > 0;
  }

  listChangeApprovals(repository: string, number: number): Array<{ by: string; at: string }> {
    return this.sql.listChangeApprovals.all(repository, number) as Array<{ by: string; at: string }>;
  }

  private changeConflict(repository: string, number: number): StoreError {
    const c = this.getChangeRequest(repository, number);
    if (!c) return new StoreError("not_found", `change request ${repository}#${number} does not exist`);
    return new StoreError("conflict", `change request ${repository}#${number} is ${c.state}`);
  }

  createLaunch(launch: NewLaunch): LaunchRecord {
    return toLaunch(this.sql.createLaunch.get({ ...launch, now: this.timestamp() }) as LaunchRow);
  }

  getLaunch(id: number): LaunchRecord | undefined {
    const row = this.sql.getLaunch.get(id) as LaunchRow | undefined;
    return row ? toLaunch(row) : undefined;
  }

  listLaunches(opts: { state?: LaunchState; limit?: number } = {}): LaunchRecord[] {
    return (this.sql.listLaunches.all({ state: opts.state ?? null, limit: opts.limit ?? -1 }) as LaunchRow[]).map(toLaunch);
  }

  startLaunch(id: number, runner: string): LaunchRecord {
    const row = this.sql.startLaunch.get({ id, runner, now: this.timestamp() }) as LaunchRow | undefined;
    if (row) return toLaunch(row);
    throw this.launchConflict(id, "waiting");
  }

  finishLaunch(id: number, result: { exitCode: number | null; detail: string | null }): void {
    const { changes } = this.sql.finishLaunch.run({ id, exitCode: result.exitCode, detail: result.detail, now: this.timestamp() });
    if (changes === 0) throw this.launchConflict(id, "running");
  }

  requeueLaunch(id: number, detail: string): void {
    const { changes } = this.sql.requeueLaunch.run({ id, detail });
    if (changes === 0) throw this.launchConflict(id, "running");
  }

  private launchConflict(id: number, expected: LaunchState): StoreError {
    const row = this.sql.getLaunch.get(id) as LaunchRow | undefined;
    if (!row) return new StoreError("not_found", `launch ${id} does not exist`);
    return new StoreError("conflict", `launch ${id} is ${row.state}, not ${expected}`);
  }

  countTokens(): number {
    return (this.sql.countTokens.get() as { n: number }).n;
  }

  enqueueJob(job: NewQueuedJob): QueuedJobRecord {
    try {
      const row = this.sql.enqueueJob.get({
        jobId: job.jobId,
        runId: job.runId,
        labels: JSON.stringify(normalLabels(job.labels)),
        payload: job.payload,
        secrets: job.secrets,
        maxAttempts: job.maxAttempts ?? 3,
        timeoutMs: job.timeoutMs ?? null,
        now: this.timestamp(),
      }) as QueuedJobRow;
      return toQueuedJob(row);
    } catch (err) {
      if (isUniqueError(err) || constraintOf(err) === "primary-key") throw new StoreError("conflict", `job ${job.jobId} is already in the queue`);
      if (isForeignKeyError(err)) throw new StoreError("not_found", `job ${job.jobId} or run ${job.runId} does not exist`);
      throw err;
    }
  }

  getQueuedJob(jobId: number): QueuedJobRecord | undefined {
    const row = this.sql.getQueuedJob.get(jobId) as QueuedJobRow | undefined;
    return row ? toQueuedJob(row) : undefined;
  }

  replaceQueuedJobSecrets(jobId: number, expected: Buffer, sealed: Buffer): boolean {
    return this.sql.replaceQueuedJobSecrets.run({ jobId, expected, sealed }).changes > 0;
  }

  queuedJobResults(jobIds: number[]): QueuedJobResult[] {
    if (jobIds.length === 0) return [];
    return (this.sql.queuedJobResults.all(JSON.stringify(jobIds)) as Array<Pick<QueuedJobRow, "job_id" | "state" | "result" | "outputs" | "reason">>).map((r) => ({
      jobId: r.job_id,
      state: r.state,
      result: r.result,
      outputs: r.outputs,
      reason: r.reason,
    }));
  }

  queuedJobCounts(): { queued: number; leased: number } {
    const counts = { queued: 0, leased: 0 };
    for (const r of this.sql.queuedJobCounts.all() as Array<{ state: "queued" | "leased"; n: number }>) counts[r.state] = r.n;
    return counts;
  }

  listQueuedJobs(filter: { state?: QueuedJobState; runId?: number } = {}): QueuedJobRecord[] {
    return (this.sql.listQueuedJobs.all({ state: filter.state ?? null, runId: filter.runId ?? null }) as QueuedJobRow[]).map(toQueuedJob);
  }

  leaseJob(agent: string, labels: string[], leaseMs: number): QueuedJobRecord | undefined {
    const normal = JSON.stringify(normalLabels(labels));
    if (this.sql.leasableJob.get({ labels: normal }) === undefined) return undefined;
    const now = this.now();
    const row = this.sql.leaseJob.get({
      agent,
      labels: normal,
      now: now.toISOString(),
      expires: new Date(now.getTime() + leaseMs).toISOString(),
    }) as QueuedJobRow | undefined;
    return row ? toQueuedJob(row) : undefined;
  }

  heartbeatJob(jobId: number, agent: string, attempt: number, leaseMs: number): QueuedJobRecord {
    const now = this.now();
    const row = this.sql.heartbeatJob.get({ jobId, agent, attempt, now: now.toISOString(), expires: new Date(now.getTime() + leaseMs).toISOString() }) as QueuedJobRow | undefined;
    if (row) return toQueuedJob(row);
    throw this.leaseConflict(jobId, agent, attempt);
  }

  finishQueuedJob(jobId: number, lease: { agent: string; attempt: number } | null, result: { result: Conclusion; outputs?: Record<string, string>; reason?: string | null }): QueuedJobRecord {
    const values = { jobId, result: result.result, outputs: result.outputs ? JSON.stringify(result.outputs) : null, reason: result.reason ?? null, now: this.timestamp() };
    const row = (lease ? this.sql.finishLeasedJob.get({ ...values, agent: lease.agent, attempt: lease.attempt }) : this.sql.finishQueuedJob.get(values)) as QueuedJobRow | undefined;
    if (row) return toQueuedJob(row);
    throw this.leaseConflict(jobId, lease?.agent, lease?.attempt);
  }

  cancelQueuedJob(jobId: number, reason: string): QueuedJobRecord {
    return this.db.transaction(() => {
      this.sql.cancelWaitingJob.run({ jobId, reason, now: this.timestamp() });
      this.sql.cancelLeasedJob.run({ jobId, reason });
      const row = this.sql.getQueuedJob.get(jobId) as QueuedJobRow | undefined;
      if (!row) throw new StoreError("not_found", `job ${jobId} is not in the queue`);
      return toQueuedJob(row);
    })();
  }

  sweepJobQueue(graceMs: number): QueueSweep {
    const now = this.now();
    const at = now.toISOString();
    const ids = (rows: unknown[]) => (rows as Array<{ job_id: number }>).map((r) => r.job_id);
    if (this.sql.unfinishedJob.get() === undefined) return { requeued: [], lost: [], timedOut: [], timingOut: [], orphaned: [] };
    return this.db.transaction(() => ({
      requeued: ids(this.sql.sweepRequeue.all({ now: at })),
      lost: ids(this.sql.sweepLost.all({ now: at })),
      timedOut: ids(this.sql.sweepTimedOut.all({ now: at, graceBefore: new Date(now.getTime() - graceMs).toISOString() })),
      timingOut: ids(this.sql.sweepTimingOut.all({ now: at })),
      orphaned: [...ids(this.sql.sweepOrphanedQueued.all({ now: at })), ...ids(this.sql.sweepOrphanedLeased.all({ now: at }))],
    }))();
  }

  addLogChunk(jobId: number, attempt: number, seq: number): boolean {
    try {
      return this.sql.addLogChunk.run({ jobId, attempt, seq, now: this.timestamp() }).changes > 0;
    } catch (err) {
      if (isForeignKeyError(err)) throw new StoreError("not_found", `job ${jobId} does not exist`);
      throw err;
    }
  }

  hasLogChunk(jobId: number, attempt: number, seq: number): boolean {
    return this.sql.hasLogChunk.get({ jobId, attempt, seq }) !== undefined;
  }

  touchAgent(name: string, labels: string[]): AgentRecord {
    return toAgent(this.sql.touchAgent.get({ name, labels: JSON.stringify(normalLabels(labels)), now: this.timestamp() }) as AgentRow);
  }

  listAgents(): AgentRecord[] {
    return (this.sql.listAgents.all() as AgentRow[]).map(toAgent);
  }

  /** Why a lease operation found no row it could change. */
  private leaseConflict(jobId: number, agent: string | undefined, attempt: number | undefined): StoreError {
    const row = this.sql.getQueuedJob.get(jobId) as QueuedJobRow | undefined;
    if (!row) return new StoreError("not_found", `job ${jobId} is not in the queue`);
    if (row.state === "finished") return new StoreError("conflict", `job ${jobId} is already finished (${row.result ?? "unknown"})`);
    if (agent !== undefined) return new StoreError("conflict", `job ${jobId} attempt ${attempt ?? "?"} is no longer leased to ${agent} (it is ${row.state}${row.agent ? ` by ${row.agent}, attempt ${row.attempt}` : ""})`);
    return new StoreError("conflict", `job ${jobId} is ${row.state}`);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}


/** A constraint a statement broke, from SQLite's error codes or PostgreSQL's SQLSTATE. */
function constraintOf(err: unknown): "unique" | "primary-key" | "foreign-key" | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "SQLITE_CONSTRAINT_UNIQUE") return "unique";
  if (code === "SQLITE_CONSTRAINT_PRIMARYKEY") return "primary-key";
  if (code === "SQLITE_CONSTRAINT_FOREIGNKEY" || code === "23503") return "foreign-key";
  if (code === "23505") return String((err as { constraint?: unknown }).constraint ?? "").endsWith("_pkey") ? "primary-key" : "unique";
  return undefined;
}

function isForeignKeyError(err: unknown): boolean {
  return constraintOf(err) === "foreign-key";
}

function isUniqueError(err: unknown): boolean {
  return constraintOf(err) === "unique";
}
