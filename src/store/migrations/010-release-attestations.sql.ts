// A release's attestations: its SBOM (CycloneDX JSON), its signature (a
// Sigstore bundle with a messageSignature) and its provenance (a Sigstore
// bundle with a DSSE envelope of an in-toto SLSA statement). Each is a blob
// in the blob store, named here by its digest; one of each kind per release,
// written once when the release is made (never replaced: what was signed at
// creation stays the evidence).
export default `
CREATE TABLE release_attestations (
  release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
  kind       TEXT    NOT NULL CHECK (kind IN ('sbom', 'signature', 'provenance')),
  digest     TEXT    NOT NULL CHECK (digest GLOB 'sha256:*'),
  media_type TEXT    NOT NULL,
  key_id     TEXT,
  created_at TEXT    NOT NULL,
  PRIMARY KEY (release_id, kind)
) STRICT;
`;
