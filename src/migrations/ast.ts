// Small readers over libpg-query's JSON AST (fields with default values are absent).

/** A JSON object node, or an empty object when `v` is not one. */
export type Node = Record<string, unknown>;

export function obj(v: unknown): Node {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Node) : {};
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** The inner object of a wrapped node: `inner({ColumnDef: {...}}, "ColumnDef")`. */
export function inner(v: unknown, kind: string): Node | undefined {
  const o = obj(v)[kind];
  return o !== undefined ? obj(o) : undefined;
}

/** The `sval` of each `String` node of a list (qualified names). */
export function names(v: unknown): string[] {
  return arr(v).map((n) => str(obj(obj(n).String).sval) ?? "");
}

/** `schema.name` of a RangeVar. */
export function relName(v: unknown): string {
  const r = obj(v);
  return [str(r.schemaname), str(r.relname)].filter(Boolean).join(".");
}

/** A type's name without `pg_catalog.`, e.g. `int4`, `varchar`. */
export function typeName(v: unknown): string {
  const n = names(obj(v).names).filter((s) => s !== "pg_catalog");
  return n.join(".").toLowerCase();
}

/** A type's modifiers as integers (`varchar(20)` → [20], `numeric(10,2)` → [10, 2]). */
export function typeMods(v: unknown): number[] {
  return arr(obj(v).typmods).map((m) => {
    const c = obj(obj(m).A_Const);
    return Number(obj(c.ival).ival ?? 0);
  });
}

/** True when the type is an array (`int[]`). */
export function isArrayType(v: unknown): boolean {
  return arr(obj(v).arrayBounds).length > 0;
}

/** The constraints of a ColumnDef, unwrapped. */
export function columnConstraints(colDef: Node): Node[] {
  return arr(colDef.constraints).map((c) => obj(obj(c).Constraint));
}

/** Every node of `kind` found anywhere below `v`. */
export function findAll(v: unknown, kind: string, out: Node[] = []): Node[] {
  if (Array.isArray(v)) for (const x of v) findAll(x, kind, out);
  else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v as Node)) {
      if (k === kind) out.push(obj(x));
      findAll(x, kind, out);
    }
  }
  return out;
}
