// The migration gate: expand and data migrations run before the rollout,
// contract migrations (drop, rename, type change, SET NOT NULL …) only after
// every release that used the old schema has left the environment. A
// release that used the old schema is a release still running in the
// environment that predates the contract migration (its commit does not
// have the file) and whose queries use what the migration drops or changes
// (the table, or the column: by name, or through `*`). A running release
// whose queries are unknown (no commit recorded, no queries folder) counts as
// using it: a gate without data is not green. Such a release blocks the
// promotion (`unsafe: block`, the default) or is a warning (`unsafe: warn`).
// Pure: the caller reads the releases' files (migrations/verify.ts).
import type { MigrationGate } from "../model.js";

/** A statement of a contract migration of the release to promote. */
export interface ContractChange {
  /** The migration file's name (its version), e.g. `003_drop_email.sql`. */
  version: string;
  file: string;
  line: number;
  column: number;
  text: string;
  /** Why it is contract, e.g. `drops column users.email: …`. */
  why: string;
  /** What it drops or changes: a table, or a column of it. */
  targets: { table: string; column?: string }[];
}

/** A use of the schema by a release's query: a table, a column of it, or `*`. */
export interface SchemaUse {
  table: string;
  /** The column; `*` for `SELECT *`; absent when only the table is named. */
  column?: string;
  file: string;
  line: number;
}

/** A release that runs in the environment now (the stable one, and both sides of an unfinished rollout). */
export interface RunningRelease {
  release: string;
  /** The migration file names in the release's commit. */
  migrations: string[];
  /** What its queries use; absent when that is unknown (`unknown` says why). */
  uses?: SchemaUse[];
  unknown?: string;
}

export interface MigrationGateInput {
  env: string;
  /** The release to promote, e.g. `web#3`. */
  release: string;
  /** Contract statements of the migrations it brings. */
  contract: ContractChange[];
  running: RunningRelease[];
}

export interface MigrationGateVerdict {
  open: boolean;
  /** In words: what blocks (the contract statement's file:line and the release still running) or why it may go. */
  reason: string;
  blockers: { change: ContractChange; release: string; use?: SchemaUse; unknown?: string }[];
}

const tableKey = (t: string): string => (t.split(".").pop() ?? t).toLowerCase();

function uses(change: ContractChange, use: SchemaUse): boolean {
  return change.targets.some(
    (t) => tableKey(t.table) === tableKey(use.table) && (t.column === undefined || use.column === "*" || use.column?.toLowerCase() === t.column.toLowerCase()),
  );
}

const targetName = (c: ContractChange): string => c.targets.map((t) => (t.column ? `${t.table}.${t.column}` : t.table)).join(", ") || "the object it changes";

/** Decides whether `input.release` may be promoted into `input.env` now. */
export function evaluateMigrationGate(gate: MigrationGate, input: MigrationGateInput): MigrationGateVerdict {
  const blockers: MigrationGateVerdict["blockers"] = [];
  for (const change of input.contract) {
    for (const r of input.running) {
      if (r.release === input.release || r.migrations.includes(change.version)) continue;
      if (!r.uses) {
        blockers.push({ change, release: r.release, unknown: r.unknown ?? "its queries are unknown" });
        continue;
      }
      const use = r.uses.find((u) => uses(change, u));
      if (use) blockers.push({ change, release: r.release, use });
    }
  }
  if (blockers.length === 0) {
    if (input.contract.length === 0) return { open: true, reason: "migrations: no contract migration", blockers };
    const files = [...new Set(input.contract.map((c) => c.file))].join(", ");
    return { open: true, reason: `migrations: contract migration ${files} runs after the rollout; no release running in ${input.env} uses what it changes`, blockers };
  }
  const parts = blockers.map((b) => {
    const where = `${b.change.file}:${b.change.line}:${b.change.column} (${b.change.text.replace(/\s+/g, " ")})`;
    const why = b.use ? `its query ${b.use.file}:${b.use.line} uses ${b.use.column && b.use.column !== "*" ? `${b.use.table}.${b.use.column}` : `${b.use.table}${b.use.column === "*" ? " (SELECT *)" : ""}`}` : `${b.unknown ?? "its queries are unknown"}, so it counts as using it`;
    return `contract migration ${where} changes ${targetName(b.change)} while ${b.release}, which predates it, still runs in ${input.env}: ${why}`;
  });
  const fix = `promote it after ${[...new Set(blockers.map((b) => b.release))].join(", ")} has left ${input.env} (first deploy a release that no longer uses what the migration changes), or move the contract migration to a later release`;
  if (gate.unsafe === "warn") return { open: true, reason: `migrations (warning, unsafe: warn): ${parts.join("; ")}`, blockers };
  return { open: false, reason: `migrations: ${parts.join("; ")}; ${fix}`, blockers };
}
