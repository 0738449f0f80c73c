// Expand / contract / data: what a migration does to the release still running against the database.
import { arr, dropObjectNames, inner, obj, relName, requiredWithoutDefault, str, type Node } from "./ast.js";
import { parseSql, type SqlStatement } from "./parse.js";

/**
 * `expand`: the previous release keeps working; `contract`: it breaks the previous release
 * (drop, rename, SET NOT NULL, type change …); `data`: rows change (backfill).
 */
export type Phase = "expand" | "contract" | "data";

/** One statement's phase, where it is, and why. */
export interface StatementPhase {
  phase: Phase;
  line: number;
  column: number;
  text: string;
  why: string;
  /** For a contract statement: the expand/contract sequence to write instead. */
  instead?: string[];
}

/** A migration file's phase (the strongest of its statements': contract > data > expand). */
export interface MigrationClassification {
  file: string;
  phase: Phase;
  statements: StatementPhase[];
}

type Verdict = Omit<StatementPhase, "line" | "column" | "text">;

const EXPAND: Verdict = { phase: "expand", why: "adds to the schema; the previous release keeps working" };

/** The expand/contract sequences, by kind of contract change. */
const SEQUENCES = {
  renameColumn: (t: string, c: string, n: string) => [
    `expand: ALTER TABLE ${t} ADD COLUMN ${n} <type>;`,
    `expand: dual write — a trigger (or the new release) writes both ${c} and ${n}`,
    `data: backfill ${n} from ${c} in batches (UPDATE … WHERE id BETWEEN … )`,
    `deploy: the new release reads ${n}`,
    `contract (after every release that reads ${c} has left): ALTER TABLE ${t} DROP COLUMN ${c};`,
  ],
  renameTable: (t: string, n: string) => [
    `expand: CREATE VIEW ${n} AS SELECT * FROM ${t}; (or create ${n} and dual write)`,
    `deploy: the new release uses ${n}`,
    `contract (after every release that uses ${t} has left): drop the view, then ALTER TABLE ${t} RENAME TO ${n} in the same transaction`,
  ],
  typeChange: (t: string, c: string) => [
    `expand: ALTER TABLE ${t} ADD COLUMN ${c}_new <new type>;`,
    `expand: dual write ${c} and ${c}_new (trigger or application)`,
    `data: backfill ${c}_new from ${c} in batches`,
    `deploy: the new release reads ${c}_new`,
    `contract (after every release that reads ${c} has left): drop ${c}, rename ${c}_new to ${c} (or keep the new name)`,
  ],
  setNotNull: (t: string, c: string) => [
    `data: backfill NULLs in ${t}.${c} in batches; make sure every running release writes ${c}`,
    `expand: ALTER TABLE ${t} ADD CONSTRAINT ${c}_not_null CHECK (${c} IS NOT NULL) NOT VALID;`,
    `expand (separate transaction): ALTER TABLE ${t} VALIDATE CONSTRAINT ${c}_not_null;`,
    `contract: ALTER TABLE ${t} ALTER COLUMN ${c} SET NOT NULL; (PostgreSQL 12+ uses the constraint, no scan) then drop the CHECK`,
  ],
  dropColumn: (t: string, c: string) => [
    `deploy: a release that no longer reads or writes ${t}.${c} (Rails: ignored_columns)`,
    `contract (after every release that uses ${c} has left): ALTER TABLE ${t} DROP COLUMN ${c};`,
  ],
  dropObject: (what: string) => [
    `deploy: a release that no longer uses ${what}`,
    `contract (after every release that uses it has left): drop ${what}`,
  ],
  addNotNullColumn: (t: string, c: string) => [
    `expand: ALTER TABLE ${t} ADD COLUMN ${c} <type> DEFAULT <value>; (a constant default is instant from PostgreSQL 11) — or add it nullable`,
    `deploy: the new release writes ${c}`,
    `data: backfill ${c} in batches, then SET NOT NULL through a NOT VALID CHECK`,
  ],
} as const;

function contract(why: string, instead: string[]): Verdict {
  return { phase: "contract", why, instead };
}

// DROP of these does not break a running release's queries.
const HARMLESS_DROPS = new Set(["OBJECT_INDEX", "OBJECT_TRIGGER", "OBJECT_STATISTIC_EXT", "OBJECT_POLICY", "OBJECT_RULE"]);
const HARMLESS_RENAMES = new Set(["OBJECT_INDEX", "OBJECT_TRIGGER", "OBJECT_TABCONSTRAINT", "OBJECT_DOMCONSTRAINT", "OBJECT_POLICY", "OBJECT_RULE"]);

function objectLabel(type: string): string {
  return type.replace(/^OBJECT_/, "").toLowerCase().replace(/_/g, " ");
}

function alterTable(s: Node): Verdict {
  const table = relName(s.relation);
  for (const c of arr(s.cmds)) {
    const cmd = obj(obj(c).AlterTableCmd);
    const col = str(cmd.name) ?? "";
    switch (str(cmd.subtype)) {
      case "AT_DropColumn":
        return contract(`drops column ${table}.${col}: the previous release still reads or writes it`, SEQUENCES.dropColumn(table, col));
      case "AT_AlterColumnType":
        return contract(`changes the type of ${table}.${col}: the previous release reads and writes the old type`, SEQUENCES.typeChange(table, col));
      case "AT_SetNotNull":
        return contract(`SET NOT NULL on ${table}.${col}: inserts of the previous release that leave it NULL fail`, SEQUENCES.setNotNull(table, col));
      case "AT_DropExpression":
      case "AT_DropDefault":
        return contract(`drops the default of ${table}.${col}: inserts of the previous release that rely on it change or fail`, SEQUENCES.dropObject(`the default of ${table}.${col}`));
      case "AT_DetachPartition":
        return contract(`detaches a partition of ${table}: its rows disappear from the previous release's queries`, SEQUENCES.dropObject(`the partition`));
      case "AT_AddColumn": {
        const def = inner(cmd.def, "ColumnDef") ?? {};
        const name = str(def.colname) ?? "";
        if (requiredWithoutDefault(def)) {
          return contract(`adds ${table}.${name} NOT NULL without a default: inserts of the previous release, which do not know it, fail`, SEQUENCES.addNotNullColumn(table, name));
        }
        break;
      }
    }
  }
  return EXPAND;
}

/** The phase of one parsed statement. */
function classifyStatement(stmt: Pick<SqlStatement, "kind" | "node">): Verdict {
  const s = obj(stmt.node[stmt.kind]);
  switch (stmt.kind) {
    case "InsertStmt":
    case "UpdateStmt":
    case "DeleteStmt":
    case "MergeStmt":
    case "CopyStmt":
      return { phase: "data", why: "changes rows (backfill); run it in batches, apart from schema changes" };
    case "TruncateStmt":
      return { phase: "data", why: "deletes every row of the table" };
    case "DropStmt": {
      const type = str(s.removeType) ?? "";
      if (HARMLESS_DROPS.has(type)) return EXPAND;
      const what = `${objectLabel(type)} ${dropObjectNames(s).join(", ")}`;
      return contract(`drops ${what}: the previous release still uses it`, SEQUENCES.dropObject(what));
    }
    case "DropdbStmt":
      return contract(`drops database ${str(s.dbname) ?? ""}`, SEQUENCES.dropObject(`database ${str(s.dbname) ?? ""}`));
    case "RenameStmt": {
      const type = str(s.renameType) ?? "";
      if (HARMLESS_RENAMES.has(type)) return EXPAND;
      const table = relName(s.relation);
      const newName = str(s.newname) ?? "";
      if (type === "OBJECT_COLUMN") {
        const col = str(s.subname) ?? "";
        return contract(`renames ${table}.${col} to ${newName}: the previous release still uses ${col}`, SEQUENCES.renameColumn(table, col, newName));
      }
      if (type === "OBJECT_TABLE" || type === "OBJECT_VIEW" || type === "OBJECT_MATVIEW") {
        return contract(`renames ${table} to ${newName}: the previous release still uses ${table}`, SEQUENCES.renameTable(table, newName));
      }
      const old = str(s.subname) ?? table;
      return contract(`renames ${objectLabel(type)} ${old} to ${newName}: the previous release still uses the old name`, SEQUENCES.dropObject(`the old name ${old}`));
    }
    case "AlterEnumStmt":
      if (s.oldVal !== undefined) {
        return contract(`renames enum value '${str(s.oldVal) ?? ""}': the previous release still writes it`, SEQUENCES.dropObject(`enum value '${str(s.oldVal) ?? ""}'`));
      }
      return EXPAND;
    case "AlterObjectSchemaStmt":
      return contract(`moves ${relName(s.relation) || "an object"} to schema ${str(s.newschema) ?? ""}: the previous release uses the old qualified name`, SEQUENCES.dropObject("the old schema path"));
    case "AlterTableStmt":
      return alterTable(s);
    default:
      return EXPAND;
  }
}

const RANK: Record<Phase, number> = { expand: 0, data: 1, contract: 2 };

/** Classifies a parsed migration (no parsing). */
export function classifyStatements(file: string, statements: SqlStatement[]): MigrationClassification {
  const out: StatementPhase[] = statements.map((st) => ({ ...classifyStatement(st), line: st.line, column: st.column, text: st.text }));
  const phase = out.reduce<Phase>((p, s) => (RANK[s.phase] > RANK[p] ? s.phase : p), "expand");
  return { file, phase, statements: out };
}

/**
 * Classifies a migration file: `contract` if any statement is contract, else `data` if any
 * is data, else `expand`. Throws `SqlParseError` on SQL that does not parse.
 */
export async function classifyMigration(file: string, sql: string): Promise<MigrationClassification> {
  return classifyStatements(file, await parseSql(file, sql));
}
