export {
  type Conclusion,
  type Finish,
  type JobRecord,
  type NewJob,
  type NewRelease,
  type NewRun,
  type ReleaseFile,
  type ReleaseRecord,
  type RunRecord,
  type RunStatus,
  type SecretRecord,
  type StepRecord,
  type Store,
  type StoreErrorCode,
  type VariableRecord,
  StoreError,
} from "./store.js";
export { BUSY_TIMEOUT_MS, DATABASE_FILE, SqliteStore, type SqliteStoreOptions, openStore } from "./sqlite-store.js";
export { type Migration, migrations } from "./migrations/index.js";
