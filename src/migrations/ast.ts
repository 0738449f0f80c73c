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

/** The serial pseudo-types and the integer type each stands for. */
export const SERIALS: Readonly<Record<string, string>> = { serial: "int4", serial4: "int4", bigserial: "int8", serial8: "int8", smallserial: "int2", serial2: "int2" };

/**
 * True when a ColumnDef is NOT NULL (or PRIMARY KEY) with nothing that fills
 * it: no DEFAULT, not generated, not an identity, not a serial (whose
 * sequence is its default). Adding such a column to a table with rows (or
 * that a running release inserts into) fails.
 */
export function requiredWithoutDefault(def: Node): boolean {
  const cons = columnConstraints(def);
  const notNull = cons.some((k) => k.contype === "CONSTR_NOTNULL" || k.contype === "CONSTR_PRIMARY");
  const filled = cons.some((k) => k.contype === "CONSTR_DEFAULT" || k.contype === "CONSTR_GENERATED" || k.contype === "CONSTR_IDENTITY");
  return notNull && !filled && !SERIALS[typeName(def.typeName)];
}

/** The qualified names of the objects of a DropStmt (`a.b` for a schema-qualified one; "" for an object that is not a name, e.g. a function with arguments). */
export function dropObjectNames(s: Node): string[] {
  return arr(s.objects).map((o) => (obj(o).List ? names(obj(obj(o).List).items) : names([o])).join("."));
}
