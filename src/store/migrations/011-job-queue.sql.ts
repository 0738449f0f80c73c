// The job queue of runner agents (`slipway agent`). A `slipway run --queue`
// enqueues each job instance here instead of running it; agents lease them
// over HTTP from the server, which shares this store.
//
// job_queue: one row per store job (jobs.id). `labels` is the JSON array of
// the job's `runs-on` labels (lowercase): an agent takes a job only when it
// has all of them. `payload` is the JSON an agent needs to run the job — it
// holds no secret value: `secrets` is the job's secrets as one envelope
// encrypted with the data directory's master key (secrets module), decrypted
// by the server only in the lease answer. States: queued → leased (attempt +
// 1, `agent`, `lease_expires_at` renewed by heartbeats, `deadline_at` from
// `timeout-minutes`) → finished (`result`, `outputs`, `reason`); a lease that
// expires goes back to queued while attempts remain. `cancel_requested` is
// answered to the agent's heartbeat.
//
// agents: who polled, with which labels, and when last.
//
// job_log_chunks: the numbered log chunks an agent sent for a job's attempt:
// delivery is at least once, the first copy is kept (its events are applied
// once), later copies are acknowledged and dropped.
export default `
CREATE TABLE job_queue (
  job_id           INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
  run_id           INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  labels           TEXT    NOT NULL,
  payload          TEXT    NOT NULL,
  secrets          BLOB,
  state            TEXT    NOT NULL CHECK (state IN ('queued', 'leased', 'finished')),
  attempt          INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  timeout_ms       INTEGER,
  agent            TEXT,
  leased_at        TEXT,
  heartbeat_at     TEXT,
  lease_expires_at TEXT,
  deadline_at      TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  cancel_reason    TEXT,
  result           TEXT    CHECK (result IN ('success', 'failure', 'cancelled', 'skipped')),
  outputs          TEXT,
  reason           TEXT,
  created_at       TEXT    NOT NULL,
  finished_at      TEXT,
  CHECK ((state = 'finished') = (result IS NOT NULL))
) STRICT;
CREATE INDEX job_queue_by_state ON job_queue (state, job_id);
CREATE INDEX job_queue_by_run ON job_queue (run_id);

CREATE TABLE agents (
  name          TEXT PRIMARY KEY,
  labels        TEXT NOT NULL,
  registered_at TEXT NOT NULL,
  last_seen_at  TEXT NOT NULL
) STRICT;

CREATE TABLE job_log_chunks (
  job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  received_at TEXT    NOT NULL,
  PRIMARY KEY (job_id, attempt, seq)
) STRICT;
`;
