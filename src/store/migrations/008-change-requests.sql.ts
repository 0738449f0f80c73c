// Change requests of hosted repositories (`slipway change`): a source branch
// proposed into a target branch, numbered per repository. `merge_sha` is the
// commit Slipway made of the source merged into the target (the runs of
// `pull_request` workflows run on it, their jobs are its checks); it is made
// again whenever either branch moves. Approvals are one row per person.
export default `
CREATE TABLE change_requests (
  repository  TEXT    NOT NULL,
  number      INTEGER NOT NULL CHECK (number >= 1),
  title       TEXT    NOT NULL,
  source      TEXT    NOT NULL,
  target      TEXT    NOT NULL,
  author      TEXT    NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('open', 'merged', 'closed')),
  head_sha    TEXT,
  base_sha    TEXT,
  merge_sha   TEXT,
  detail      TEXT,
  created_at  TEXT    NOT NULL,
  updated_at  TEXT    NOT NULL,
  merged_by   TEXT,
  merged_at   TEXT,
  PRIMARY KEY (repository, number)
) STRICT;

CREATE TABLE change_approvals (
  repository  TEXT    NOT NULL,
  number      INTEGER NOT NULL,
  by          TEXT    NOT NULL,
  at          TEXT    NOT NULL,
  PRIMARY KEY (repository, number, by),
  FOREIGN KEY (repository, number) REFERENCES change_requests (repository, number) ON DELETE CASCADE
) STRICT;
`;
