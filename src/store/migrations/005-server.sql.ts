// The server: runs of several hosted repositories share one store, so a run
// records its repository (`owner/name`; NULL for the runs stored before this
// migration), and the API tokens. A token is stored only as the sha256 (hex)
// of its secret; revoking keeps the row, so the audit of who made it stays.
export default `
ALTER TABLE runs ADD COLUMN repository TEXT;
CREATE INDEX runs_by_repository ON runs (repository, id);

CREATE TABLE api_tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT    NOT NULL,
  role         TEXT    NOT NULL CHECK (role IN ('viewer', 'developer', 'release-manager', 'admin')),
  hash         TEXT    NOT NULL UNIQUE CHECK (length(hash) = 64 AND NOT hash GLOB '*[^0-9a-f]*'),
  created_at   TEXT    NOT NULL,
  created_by   TEXT,
  last_used_at TEXT,
  revoked_at   TEXT
) STRICT;
`;
