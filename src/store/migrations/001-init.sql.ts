// Migration 1: runs, jobs, steps, secrets and variables (SQLite).
// Times are ISO-8601 text in UTC. Secrets hold only ciphertext.
export default `
CREATE TABLE runs (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  workflow_path TEXT    NOT NULL,
  workflow_name TEXT    NOT NULL,
  event         TEXT    NOT NULL,
  ref           TEXT    NOT NULL,
  sha           TEXT    NOT NULL,
  status        TEXT    NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'in_progress', 'completed')),
  conclusion    TEXT    CHECK (conclusion IN ('success', 'failure', 'cancelled', 'skipped')),
  reason        TEXT,
  created_at    TEXT    NOT NULL,
  started_at    TEXT,
  completed_at  TEXT,
  CHECK ((status = 'completed') = (conclusion IS NOT NULL))
) STRICT;

CREATE INDEX runs_unfinished ON runs (status) WHERE status <> 'completed';

CREATE TABLE jobs (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  job_key      TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  matrix       TEXT,
  attempt      INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  status       TEXT    NOT NULL DEFAULT 'queued'
               CHECK (status IN ('queued', 'in_progress', 'completed')),
  conclusion   TEXT    CHECK (conclusion IN ('success', 'failure', 'cancelled', 'skipped')),
  reason       TEXT,
  environment  TEXT,
  outputs      TEXT,
  log_path     TEXT,
  started_at   TEXT,
  completed_at TEXT,
  CHECK ((status = 'completed') = (conclusion IS NOT NULL))
) STRICT;

CREATE INDEX jobs_run ON jobs (run_id);
CREATE INDEX jobs_unfinished ON jobs (status) WHERE status <> 'completed';

CREATE TABLE steps (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id       INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  number       INTEGER NOT NULL,
  name         TEXT    NOT NULL,
  status       TEXT    NOT NULL DEFAULT 'in_progress'
               CHECK (status IN ('queued', 'in_progress', 'completed')),
  outcome      TEXT    CHECK (outcome IN ('success', 'failure', 'cancelled', 'skipped')),
  conclusion   TEXT    CHECK (conclusion IN ('success', 'failure', 'cancelled', 'skipped')),
  log_path     TEXT,
  started_at   TEXT,
  completed_at TEXT,
  UNIQUE (job_id, number),
  CHECK ((status = 'completed') = (conclusion IS NOT NULL))
) STRICT;

CREATE INDEX steps_unfinished ON steps (status) WHERE status <> 'completed';

CREATE TABLE secrets (
  environment TEXT NOT NULL DEFAULT '',
  name        TEXT NOT NULL,
  ciphertext  BLOB NOT NULL,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (environment, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE variables (
  environment TEXT NOT NULL DEFAULT '',
  name        TEXT NOT NULL,
  value       TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (environment, name)
) STRICT, WITHOUT ROWID;
`;
