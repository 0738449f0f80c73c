// The database migrations a rollout brings, applied by the control loop to
// the environment's database (the service's `migrations.database`), in
// expand/contract order: the expand and data phases before the rollout
// starts (the release still running keeps working with them), the contract
// phase once the rollout has succeeded and the previous release has left.
// The files are read from the release's own commit, so what is applied is
// what was built, whatever the checkout holds now. The migration gate
// (promotion.ts) has already refused a contract change that a release still
// running depends on.
import type { DeliveryConfig, EnvironmentSpec } from "../delivery/index.js";
import { applyMigrations, connectPostgres, locateRepo, releaseMigrations, type ApplyResult, type Phase, type ReleaseSchemaCache } from "../migrations/index.js";
import { redactUrl, type ReleaseRecord } from "../store/index.js";
import { releaseName } from "./promotion.js";
import type { Resolve } from "./values.js";

export interface ReleaseMigrationOptions {
  config: DeliveryConfig;
  env: EnvironmentSpec;
  release: ReleaseRecord;
  /** The repository the release's commit is in. */
  repoDir: string;
  /** Reads the database URL (`env:` / `secret:`) for the environment. */
  resolve: Resolve;
  cache: ReleaseSchemaCache;
  phases: Phase[];
}

/** What was applied where; `database` is the URL without its password. */
export interface ReleaseMigrationResult extends ApplyResult {
  database: string;
}

/**
 * Applies the release's pending migrations of these phases. Undefined when
 * there is nothing to do here: the service declares no migrations, or the
 * environment says `migrations: { apply: false }`. Throws an Error saying
 * why it could not (no commit, no database URL, a refused statement).
 */
export async function applyReleaseMigrations(o: ReleaseMigrationOptions): Promise<ReleaseMigrationResult | undefined> {
  const spec = o.config.services[o.release.service]?.migrations;
  if (!spec || !o.env.migrations.apply) return undefined;
  const name = releaseName(o.release);
  if (!o.release.sourceCommit) throw new Error(`${name} has no source commit, so its migrations cannot be read; make releases from a run or in a git checkout`);
  const read = await releaseMigrations(await locateRepo(o.repoDir), o.release.sourceCommit, spec.dir, o.cache);
  if (read.missingCommit !== undefined) throw new Error(`${name}: ${read.missingCommit}`);
  const url = o.resolve(spec.database);
  const db = await connectPostgres(url).catch((err: unknown) => {
    throw new Error(`cannot connect to ${redactUrl(url)} (migrations.database of ${o.release.service}): ${(err as Error).message}`);
  });
  try {
    return { ...(await applyMigrations(db, read.migrations, { phases: o.phases })), database: redactUrl(url) };
  } finally {
    await db.close();
  }
}

/** One line for the event: what was applied, and what waits for a later phase. */
export function describeMigrationRun(r: ReleaseMigrationResult, when: string): string {
  const applied = r.applied.length > 0 ? `applied ${r.applied.map((m) => `${m.file} (${m.phase})`).join(", ")}` : "no migration to apply";
  const pending = r.pending.length > 0 ? `; pending for later: ${r.pending.map((m) => `${m.file} (${m.phase})`).join(", ")}` : "";
  return `migrations ${when} on ${r.database}: ${applied}${pending}`;
}
