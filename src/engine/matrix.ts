// Expands a job's evaluated `strategy:` mapping into matrix combinations,
// following GitHub's documented algorithm ("Running variations of jobs in a
// workflow"): cartesian product of the vectors in key order (first key varies
// slowest), then `exclude` (partial matches), then each `include` entry in
// order. Pure: no I/O, no clock.
// Only the Json type comes from expressions: importing its runtime would load
// @actions/workflow-parser, which this pure module does not need.
import { data } from "@actions/expressions";
import type { Json } from "../expressions/index.js";

/** GitHub's limit: "A job matrix can generate a maximum of 256 jobs per workflow run." */
export const MAX_MATRIX_JOBS = 256;

/**
 * Upper bound on partial combinations visited while applying `exclude`
 * entries during the product; protects against products of billions of
 * combinations that exclusions would mostly remove.
 */
const MAX_EXPANSION_STEPS = 1_000_000;

export interface MatrixExpansion {
  /**
   * One entry per job, in creation order. A strategy without `matrix` yields a
   * single empty combination (the job runs once, with an empty matrix context).
   * Empty when `errors` is not empty.
   */
  combinations: Array<Record<string, Json>>;
  /** `fail-fast`, default true. */
  failFast: boolean;
  /** `max-parallel`, undefined when not set (no limit). */
  maxParallel: number | undefined;
  /** Human-readable problems; the job must not run when there are any. */
  errors: string[];
}

type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: Json | undefined): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a sequence";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Deep equality of JSON values; mapping key order does not matter. */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

function copy(value: Json): Json {
  return typeof value === "object" && value !== null ? structuredClone(value) : value;
}

export function expandMatrix(strategy: Json): MatrixExpansion {
  const errors: string[] = [];
  let failFast = true;
  let maxParallel: number | undefined;

  if (strategy !== null && strategy !== undefined && !isObject(strategy)) {
    return { combinations: [], failFast, maxParallel, errors: [`strategy must be a mapping, got ${describe(strategy)}`] };
  }
  const s: JsonObject = strategy ?? {};

  const ff = s["fail-fast"];
  if (ff !== undefined && ff !== null) {
    if (typeof ff === "boolean") failFast = ff;
    else errors.push(`strategy.fail-fast must be a boolean, got ${describe(ff)}`);
  }

  const mp = s["max-parallel"];
  if (mp !== undefined && mp !== null) {
    if (typeof mp === "number" && Number.isInteger(mp) && mp > 0) maxParallel = mp;
    else errors.push(`strategy.max-parallel must be a positive integer, got ${describe(mp)}`);
  }

  const matrix = s["matrix"];
  let combinations: Array<Record<string, Json>> = [];
  if (matrix === undefined || matrix === null) {
    combinations = [{}];
  } else if (!isObject(matrix)) {
    errors.push(`strategy.matrix must be a mapping, got ${describe(matrix)}`);
  } else {
    const result = expandVectors(matrix);
    errors.push(...result.errors);
    combinations = result.combinations;
  }

  if (errors.length > 0) combinations = [];
  return { combinations, failFast, maxParallel, errors };
}

function readEntries(matrix: JsonObject, key: "include" | "exclude", errors: string[]): JsonObject[] {
  const value = matrix[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    errors.push(`strategy.matrix.${key} must be a sequence of mappings, got ${describe(value)}`);
    return [];
  }
  const entries: JsonObject[] = [];
  value.forEach((entry, i) => {
    if (isObject(entry)) entries.push(entry);
    else errors.push(`strategy.matrix.${key}[${i}] must be a mapping, got ${describe(entry)}`);
  });
  return entries;
}

function expandVectors(matrix: JsonObject): { combinations: Array<Record<string, Json>>; errors: string[] } {
  const errors: string[] = [];
  const keys: string[] = [];
  const vectors: Json[][] = [];
  for (const [key, value] of Object.entries(matrix)) {
    if (key === "include" || key === "exclude") continue;
    if (!Array.isArray(value)) {
      errors.push(`Matrix vector '${key}' must be a sequence, got ${describe(value)}`);
    } else if (value.length === 0) {
      errors.push(`Matrix vector '${key}' does not contain any values`);
    } else {
      keys.push(key);
      vectors.push(value);
    }
  }
  const includes = readEntries(matrix, "include", errors);
  const excludes = readEntries(matrix, "exclude", errors);
  if (errors.length > 0) return { combinations: [], errors };
  if (keys.length === 0 && includes.length === 0) {
    return { combinations: [], errors: ["Matrix must define at least one vector"] };
  }

  const keyIndex = new Map(keys.map((k, i) => [k, i]));

  // An exclude entry is decided once its last key (in matrix order) is chosen.
  // An entry naming a key that is not a vector can never match: it is inert.
  const excludesAtDepth: JsonObject[][] = keys.map(() => []);
  let excludeAll = false;
  for (const entry of excludes) {
    const entryKeys = Object.keys(entry);
    if (!entryKeys.every((k) => keyIndex.has(k))) continue;
    if (entryKeys.length === 0) {
      excludeAll = true;
      continue;
    }
    const depth = Math.max(...entryKeys.map((k) => keyIndex.get(k) ?? 0));
    excludesAtDepth[depth]?.push(entry);
  }

  /** Whether `include` may extend an original combination (no original value overwritten). */
  const fits = (include: JsonObject, pick: (key: string) => Json | undefined): boolean =>
    Object.entries(include).every(([k, v]) => !keyIndex.has(k) || jsonEqual(pick(k), v));

  // Without exclusions the size is known up front: refuse oversized products
  // without enumerating them.
  if (keys.length > 0 && !excludeAll && excludes.length === 0) {
    const product = vectors.reduce((n, v) => n * BigInt(v.length), 1n);
    if (product > BigInt(MAX_MATRIX_JOBS)) {
      const added = includes.filter(
        (inc) => !fits(inc, (k) => (vectors[keyIndex.get(k) ?? -1]?.some((v) => jsonEqual(v, inc[k])) ? inc[k] : undefined)),
      ).length;
      return { combinations: [], errors: [tooMany((product + BigInt(added)).toString())] };
    }
  }

  // Enumerate the product depth-first (first key slowest), pruning subtrees an
  // exclude entry removes. Keep at most MAX_MATRIX_JOBS + 1 combinations; past
  // that, only count (to report the size) and note which includes would apply.
  const originals: Array<Record<string, Json>> = [];
  const includeApplies = includes.map(() => false);
  let survivors = 0;
  let steps = 0;
  let exhausted = false;
  if (keys.length > 0 && !excludeAll) {
    const chosen: Json[] = [];
    const visit = (depth: number): void => {
      if (exhausted) return;
      const vector = vectors[depth] ?? [];
      for (const value of vector) {
        if (++steps > MAX_EXPANSION_STEPS) {
          exhausted = true;
          return;
        }
        chosen[depth] = value;
        const excluded = (excludesAtDepth[depth] ?? []).some((entry) =>
          Object.entries(entry).every(([k, v]) => jsonEqual(chosen[keyIndex.get(k) ?? -1], v)),
        );
        if (excluded) continue;
        if (depth + 1 < keys.length) {
          visit(depth + 1);
          if (exhausted) return;
          continue;
        }
        survivors++;
        if (survivors <= MAX_MATRIX_JOBS) {
          const combination: Record<string, Json> = {};
          keys.forEach((k, i) => (combination[k] = copy(chosen[i] ?? null)));
          originals.push(combination);
        } else {
          includes.forEach((inc, i) => {
            if (!includeApplies[i]) includeApplies[i] = fits(inc, (k) => chosen[keyIndex.get(k) ?? -1]);
          });
        }
      }
    };
    visit(0);
  }

  if (exhausted) {
    return {
      combinations: [],
      errors: [tooMany(`more than ${Math.max(survivors, MAX_MATRIX_JOBS)}`)], // a lower bound
    };
  }
  if (survivors > MAX_MATRIX_JOBS) {
    includes.forEach((inc, i) => {
      if (!includeApplies[i]) includeApplies[i] = originals.some((c) => fits(inc, (k) => c[k]));
    });
    const added = includeApplies.filter((applies) => !applies).length;
    return { combinations: [], errors: [tooMany(String(survivors + added))] };
  }

  // Includes: extend every original combination they fit (values of original
  // keys must be equal; other keys are added, overwriting earlier additions);
  // an entry that fits none becomes a new combination. New combinations are
  // never extended by later entries.
  const added: Array<Record<string, Json>> = [];
  for (const include of includes) {
    let applied = false;
    for (const combination of originals) {
      if (!fits(include, (k) => combination[k])) continue;
      applied = true;
      for (const [k, v] of Object.entries(include)) {
        if (!keyIndex.has(k)) combination[k] = copy(v);
      }
    }
    if (!applied) {
      const combination: Record<string, Json> = {};
      for (const [k, v] of Object.entries(include)) combination[k] = copy(v);
      added.push(combination);
    }
  }

  const combinations = [...originals, ...added];
  if (combinations.length > MAX_MATRIX_JOBS) {
    return { combinations: [], errors: [tooMany(String(combinations.length))] };
  }
  if (combinations.length === 0) {
    return { combinations: [], errors: ["strategy.matrix excludes every combination; the job would run zero times"] };
  }
  return { combinations, errors: [] };
}

function tooMany(count: string): string {
  return `A matrix can generate a maximum of ${MAX_MATRIX_JOBS} jobs per workflow run; this matrix generates ${count}`;
}

function flattenValues(value: Json, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) flattenValues(item, out);
  } else if (isObject(value)) {
    for (const item of Object.values(value)) flattenValues(item, out);
  } else if (value === null) {
    out.push("");
  } else if (typeof value === "number") {
    out.push(new data.NumberData(value).coerceString());
  } else {
    out.push(String(value));
  }
}

/**
 * GitHub's display name for one matrix job whose `name:` does not itself use
 * the matrix: `build (ubuntu-latest, 14)`. Values appear in combination order;
 * mappings and sequences are flattened to their values.
 */
export function matrixJobName(jobName: string, combination: Record<string, Json>): string {
  const values: string[] = [];
  for (const value of Object.values(combination)) flattenValues(value, values);
  return values.length === 0 ? jobName : `${jobName} (${values.join(", ")})`;
}
