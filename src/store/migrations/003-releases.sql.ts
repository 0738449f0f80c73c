// Releases: one immutable row per service and artifact digest. A service's
// releases are numbered 1, 2, 3, … in the order they were made; the same
// content (digest) is never a second release of the same service.
export default `
CREATE TABLE releases (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  service       TEXT    NOT NULL,
  number        INTEGER NOT NULL CHECK (number >= 1),
  digest        TEXT    NOT NULL CHECK (digest GLOB 'sha256:*'),
  artifact      TEXT    NOT NULL,
  files         TEXT    NOT NULL,
  size          INTEGER NOT NULL CHECK (size >= 0),
  source_commit TEXT,
  source_ref    TEXT,
  run_id        INTEGER REFERENCES runs (id) ON DELETE SET NULL,
  workflow_path TEXT,
  created_by    TEXT    NOT NULL,
  created_at    TEXT    NOT NULL,
  UNIQUE (service, digest),
  UNIQUE (service, number)
) STRICT;
`;
