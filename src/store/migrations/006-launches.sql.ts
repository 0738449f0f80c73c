// The server's launches: an event (a push, a dispatch, a webhook) whose runs
// are to start, kept until its runs have started and ended, so an event
// accepted just before the server died is not lost: waiting launches wait
// across restarts, and a launch whose `slipway run` died before creating a
// run is taken again. `request` is the JSON of what the event needs to run
// (before, base branch, workflow, inputs, webhook payload, no-secrets);
// `runner` the `<host>:<pid>` of the `slipway run` that runs it, which is
// also the `owner` of the runs it creates.
export default `
CREATE TABLE launches (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  repository  TEXT    NOT NULL,
  event       TEXT    NOT NULL,
  ref         TEXT    NOT NULL,
  sha         TEXT    NOT NULL,
  request     TEXT    NOT NULL,
  actor       TEXT    NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('waiting', 'running', 'done')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  runner      TEXT,
  exit_code   INTEGER,
  detail      TEXT,
  created_at  TEXT    NOT NULL,
  started_at  TEXT,
  finished_at TEXT
) STRICT;
CREATE INDEX launches_by_state ON launches (state, id);
CREATE INDEX runs_by_owner ON runs (owner);
`;
