// The outcome of one check, as the rollout records and shows it.
import { formatDuration } from "../duration.js";

export interface CheckResult {
  /** The check's name (slipway.yml `name`, else its kind, or `workflow e2e.yml`). */
  name: string;
  /** smoke, workflow, load or health. */
  kind: string;
  ok: boolean;
  /** Why it passed or failed, in words. */
  reason: string;
  durationMs: number;
  /** Kind-specific measurements: per-request results, the load report, probe counts, the run id. */
  details?: unknown;
}

/** Elapsed time for a message: milliseconds under a second, else whole seconds (`1m12s`). */
export function formatElapsed(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : formatDuration(Math.round(ms / 1000) * 1000);
}
