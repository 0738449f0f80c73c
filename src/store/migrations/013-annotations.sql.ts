// Annotations: the `::error`/`::warning`/`::notice` workflow commands and
// the built-in actions' findings, per job, with their file, line and column
// when given (relative to the workspace), kept for the run page and the API.
// Written when the job ends, by `slipway run` or, for a job a runner agent
// ran, by the server from the agent's report. At most 50 per job are kept,
// as on GitHub.
export default `
CREATE TABLE annotations (
  id         INTEGER PRIMARY KEY,
  job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  level      TEXT    NOT NULL CHECK (level IN ('error', 'warning', 'notice')),
  message    TEXT    NOT NULL,
  title      TEXT,
  file       TEXT,
  line       INTEGER,
  col        INTEGER,
  step       TEXT,
  created_at TEXT    NOT NULL
) STRICT;
CREATE INDEX annotations_by_run ON annotations (run_id, job_id, id);
`;
