// Concurrency groups across processes: every `slipway run` sharing the
// store (the server starts one per event) claims a group here, so GitHub's
// rule holds across runs: at most one `running` and one `pending` claim per
// group. A newer pending claim turns the older one `cancelled`; with
// cancel-in-progress it also sets `cancel_requested` on the running one.
// Holders watch their own claim; `holder` is the claiming process,
// `<host>:<pid>`, so the claims of a dead process can be dropped.
export default `
CREATE TABLE concurrency_claims (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  group_key        TEXT    NOT NULL,
  holder           TEXT    NOT NULL,
  state            TEXT    NOT NULL CHECK (state IN ('running', 'pending', 'cancelled')),
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  created_at       TEXT    NOT NULL
) STRICT;
CREATE INDEX concurrency_claims_by_group ON concurrency_claims (group_key, state);
`;
