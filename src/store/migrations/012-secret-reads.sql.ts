// The audit of secret use: which job read which secret names (never values).
// A row per job and secret name its expressions read (runner/job-runner.ts
// tracks the reads of the `secrets` context), written when the job ends, by
// `slipway run` or, for a job a runner agent ran, by the server from the
// agent's report. `environment` is the job's (`environment:`), "" for none.
export default `
CREATE TABLE secret_reads (
  job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  name        TEXT    NOT NULL,
  environment TEXT    NOT NULL,
  read_at     TEXT    NOT NULL,
  PRIMARY KEY (job_id, name)
) WITHOUT ROWID;
CREATE INDEX secret_reads_by_name ON secret_reads (name, read_at);
CREATE INDEX secret_reads_by_run ON secret_reads (run_id);
`;
