// Delivery: what runs where (deployments), the rollouts that move an
// environment from one release to the next, their analysis measurements,
// approvals, commands from the command line to the control loop (promote,
// abort) and the event log `slipway status` and the UI read. Desired state
// is not here: it lives in the state repository (Git).
export default `
CREATE TABLE deployments (
  env            TEXT    NOT NULL,
  service        TEXT    NOT NULL,
  release        TEXT,
  digest         TEXT,
  config_hash    TEXT,
  port           INTEGER,
  updated_at     TEXT    NOT NULL,
  PRIMARY KEY (env, service)
) STRICT;

CREATE TABLE rollouts (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  env            TEXT    NOT NULL,
  service        TEXT    NOT NULL,
  from_release   TEXT,
  from_digest    TEXT,
  to_release     TEXT    NOT NULL,
  to_digest      TEXT    NOT NULL,
  strategy       TEXT    NOT NULL,
  phase          TEXT    NOT NULL CHECK (phase IN ('progressing', 'paused', 'succeeded', 'failed', 'rolled-back', 'aborted', 'superseded')),
  step           INTEGER NOT NULL DEFAULT 0,
  weight         INTEGER NOT NULL DEFAULT 0 CHECK (weight BETWEEN 0 AND 100),
  state_commit   TEXT,
  reason         TEXT,
  started_at     TEXT    NOT NULL,
  updated_at     TEXT    NOT NULL,
  finished_at    TEXT
) STRICT;
CREATE INDEX rollouts_by_target ON rollouts (env, service, id);

CREATE TABLE measurements (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  rollout_id     INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  step           INTEGER NOT NULL,
  at             TEXT    NOT NULL,
  verdict        TEXT    NOT NULL CHECK (verdict IN ('pass', 'fail', 'inconclusive', 'error')),
  measured       TEXT    NOT NULL,
  reason         TEXT    NOT NULL
) STRICT;
CREATE INDEX measurements_by_rollout ON measurements (rollout_id, id);

CREATE TABLE approvals (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  env            TEXT    NOT NULL,
  release        TEXT    NOT NULL,
  by             TEXT    NOT NULL,
  groups         TEXT    NOT NULL,
  decision       TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
  comment        TEXT,
  at             TEXT    NOT NULL,
  UNIQUE (env, release, by)
) STRICT;

CREATE TABLE delivery_commands (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  env            TEXT    NOT NULL,
  service        TEXT    NOT NULL,
  kind           TEXT    NOT NULL CHECK (kind IN ('promote', 'abort')),
  by             TEXT    NOT NULL,
  reason         TEXT,
  created_at     TEXT    NOT NULL,
  handled_at     TEXT
) STRICT;

CREATE TABLE delivery_events (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  at             TEXT    NOT NULL,
  env            TEXT    NOT NULL,
  service        TEXT    NOT NULL,
  kind           TEXT    NOT NULL,
  message        TEXT    NOT NULL,
  details        TEXT
) STRICT;
CREATE INDEX delivery_events_by_target ON delivery_events (env, service, id);
`;
