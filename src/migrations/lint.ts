// `slipway migrations lint`: PostgreSQL migration files → findings, each with the rule, where, why and the fix.
// Pure over parsed statements; files are linted in the order given (lexical: the order they apply).
import { arr, columnConstraints, dropObjectNames, findAll, inner, isArrayType, names, obj, relName, requiredWithoutDefault, SERIALS, str, typeMods, typeName, type Node } from "./ast.js";
import { parseSql, SqlParseError, type SqlStatement } from "./parse.js";
import { RULES, type RuleSeverity } from "./rules.js";

/** One rule violation at one statement. */
export interface Finding {
  ruleId: string;
  severity: RuleSeverity;
  file: string;
  line: number;
  column: number;
  /** What this statement does, with its names. */
  message: string;
  /** Why it is unsafe: the lock, what it blocks or breaks. */
  why: string;
  /** What to write instead. */
  fix: string;
}

export interface LintOptions {
  /** The PostgreSQL major version the migrations run on (default 14). */
  pgVersion?: number;
  /** Treat each file as wrapped in a transaction (what most migration tools do). */
  assumeInTransaction?: boolean;
  /** Rule ids turned off for the whole project. */
  disable?: readonly string[];
}

/** The default `--pg-version`: the oldest PostgreSQL still supported upstream. */
export const DEFAULT_PG_VERSION = 14;

/** `-- slipway:disable-next-statement rule-a, rule-b  reason` / `-- slipway:disable-file rule-a reason` */
const DIRECTIVE = /slipway:disable-(next-statement|file)\b([^\n]*)/g;

/** Rule ids named by a directive's text (`all` disables every rule). */
function directiveRules(rest: string): string[] {
  return [...rest.matchAll(/[a-z][a-z0-9]*(?:-[a-z0-9]+)+|\ball\b/g)].map((m) => m[0]).filter((id) => id === "all" || RULES.has(id));
}

interface Column {
  type: string;
  mods: number[];
}

/** What earlier statements (of this file and earlier files) tell about the schema. */
interface SchemaState {
  columns: Map<string, Map<string, Column>>;
  /** table → constraint name → the column a `CHECK (col IS NOT NULL)` covers. */
  notNullChecks: Map<string, Map<string, string>>;
  /** table.column whose NOT NULL CHECK has been validated. */
  validatedNotNull: Set<string>;
}

interface Transaction {
  explicit: boolean;
  begin?: SqlStatement;
  ddl: boolean;
  updates: SqlStatement[];
  notValid: Set<string>;
  enumValues: Set<string>;
}

const VOLATILE_SAFE = new Set(["now", "current_timestamp", "statement_timestamp", "transaction_timestamp", "lower", "upper", "coalesce", "length", "char_length", "to_jsonb", "jsonb_build_object", "json_build_object", "array", "concat"]);

/** Safe casts: the type change needs no rewrite (and no scan). */
function isSafeCast(from: Column, to: Column, opts: { pgVersion: number; utc: boolean }): boolean {
  const [f, t] = [from.type, to.type];
  const wider = (i: number) => to.mods.length === 0 || (from.mods[i] !== undefined && (to.mods[i] ?? 0) >= from.mods[i]!);
  if ((f === "varchar" || f === "text") && t === "text") return true;
  if (f === "varchar" && t === "varchar") return to.mods.length === 0 || (from.mods.length > 0 && wider(0));
  if (f === "text" && t === "varchar") return to.mods.length === 0;
  if (f === "numeric" && t === "numeric") return to.mods.length === 0 || (from.mods.length > 0 && wider(0) && (to.mods[1] ?? 0) === (from.mods[1] ?? 0));
  if (f === "cidr" && t === "inet") return true;
  if (f === "varbit" && t === "varbit") return to.mods.length === 0 || (from.mods.length > 0 && wider(0));
  if (["time", "timetz", "timestamp", "timestamptz", "interval"].includes(f) && f === t) return to.mods.length === 0 || (from.mods.length > 0 && wider(0));
  if (f === "timestamp" && t === "timestamptz") return opts.pgVersion >= 12 && opts.utc;
  return false;
}

function columnType(def: Node): Column {
  const tn = obj(def.typeName);
  return { type: typeName(tn) + (isArrayType(tn) ? "[]" : ""), mods: typeMods(tn) };
}

/** The linter's pass over one file; `schema` carries over to the next file. */
class FileLint {
  readonly findings: Finding[] = [];
  private readonly reported = new Set<string>();
  private tx: Transaction | undefined;
  private lockTimeout = false;
  private statementTimeout = false;
  private timeoutReported = false;
  private utc = false;
  private readonly created = new Set<string>();
  private readonly droppedConstraints = new Set<string>();
  private readonly fileDisabled = new Set<string>();
  private current!: SqlStatement;
  private disabled = new Set<string>();
  /** The rules disabled by comments before each statement. */
  private readonly disabledAt = new Map<SqlStatement, Set<string>>();
  private readonly pgVersion: number;

  constructor(
    private readonly file: string,
    private readonly sql: string,
    private readonly schema: SchemaState,
    private readonly options: LintOptions,
  ) {
    this.pgVersion = options.pgVersion ?? DEFAULT_PG_VERSION;
    if (options.assumeInTransaction) this.tx = this.newTx(false);
  }

  private newTx(explicit: boolean, begin?: SqlStatement): Transaction {
    return { explicit, ddl: false, updates: [], notValid: new Set(), enumValues: new Set(), ...(begin ? { begin } : {}) };
  }

  private report(ruleId: string, message: string, at: SqlStatement = this.current, fix?: string, disabled = this.disabled): void {
    const rule = RULES.get(ruleId);
    if (!rule || this.options.disable?.includes(ruleId)) return;
    if (this.fileDisabled.has(ruleId) || this.fileDisabled.has("all") || disabled.has(ruleId) || disabled.has("all")) return;
    const key = `${ruleId}@${at.start}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.findings.push({ ruleId, severity: rule.severity, file: this.file, line: at.line, column: at.column, message, why: rule.why, fix: fix ?? rule.fix });
  }

  run(statements: SqlStatement[]): Finding[] {
    let prevEnd = 0;
    let nextDirective = this.sql.indexOf("slipway:disable-");
    const disabledAt = this.disabledAt;
    for (const st of statements) {
      this.current = st;
      this.disabled = new Set();
      if (nextDirective >= 0 && nextDirective < st.start) {
        for (const m of this.sql.slice(prevEnd, st.start).matchAll(DIRECTIVE)) {
          for (const id of directiveRules(m[2] ?? "")) (m[1] === "file" ? this.fileDisabled : this.disabled).add(id);
        }
        nextDirective = this.sql.indexOf("slipway:disable-", st.start);
      }
      disabledAt.set(st, this.disabled);
      prevEnd = st.end;
      this.statement(st);
    }
    this.endTransaction();
    if (this.tx?.explicit && this.tx.begin) {
      this.report("ban-uncommitted-transaction", "BEGIN is never committed in this file", this.tx.begin, undefined, disabledAt.get(this.tx.begin) ?? new Set());
    }
    return this.findings;
  }

  /** At COMMIT or the end of the file: backfills that shared the transaction with DDL. */
  private endTransaction(): void {
    const tx = this.tx;
    if (!tx || !tx.ddl) return;
    for (const u of tx.updates) this.report("ban-update-in-ddl-transaction", `${u.kind === "UpdateStmt" ? "UPDATE" : "DELETE"} runs in the same transaction as schema changes`, u, undefined, this.disabledAt.get(u) ?? new Set());
  }

  /** Marks a statement that takes a lock on an existing table: timeouts are needed, and DDL is in the transaction. */
  private locking(table: string | undefined): void {
    if (table !== undefined && this.created.has(table)) return;
    if (this.tx) this.tx.ddl = true;
    if (this.timeoutReported) return;
    if (!this.lockTimeout) this.report("require-lock-timeout", "takes a lock with no lock_timeout set before it in this file");
    if (!this.statementTimeout) this.report("require-statement-timeout", "takes a lock with no statement_timeout set before it in this file");
    this.timeoutReported = true;
  }

  private isNew(table: string): boolean {
    return this.created.has(table);
  }

  private statement(st: SqlStatement): void {
    const s = obj(st.node[st.kind]);
    this.identifiers(st.text);
    this.enumUse(st);
    switch (st.kind) {
      case "TransactionStmt":
        return this.transaction(s, st);
      case "VariableSetStmt": {
        const name = str(s.name);
        const arg = obj(obj(arr(s.args)[0]).A_Const);
        const value = String(obj(arg.sval).sval ?? obj(arg.ival).ival ?? (arg.ival ? 0 : ""));
        const off = s.kind === "VAR_RESET" || s.kind === "VAR_SET_DEFAULT" || /^0+\s*(ms|s|min)?$/i.test(value.trim());
        if (name === "lock_timeout") this.lockTimeout = !off;
        if (name === "statement_timeout") this.statementTimeout = !off;
        if (name === "timezone") this.utc = /^(utc|etc\/utc|gmt|z)$/i.test(value);
        return;
      }
      case "CreateStmt":
        return this.createTable(s);
      case "AlterTableStmt":
        return this.alterTable(s, st);
      case "IndexStmt": {
        const table = relName(s.relation);
        if (s.concurrent) this.concurrentlyInTx("CREATE INDEX CONCURRENTLY");
        else if (!this.isNew(table)) this.report("require-concurrent-index-creation", `CREATE INDEX on ${table} without CONCURRENTLY`);
        this.locking(table);
        if (!s.if_not_exists) this.robust(`CREATE INDEX${s.idxname ? ` ${str(s.idxname)}` : ""} without IF NOT EXISTS`);
        return;
      }
      case "DropStmt":
        return this.drop(s);
      case "DropdbStmt":
        this.report("ban-drop-database", `DROP DATABASE ${str(s.dbname) ?? ""}`);
        return;
      case "RenameStmt":
        return this.rename(s);
      case "AlterEnumStmt": {
        const type = names(s.typeName).join(".");
        if (s.oldVal !== undefined) this.report("renaming-enum-value", `renames value '${str(s.oldVal) ?? ""}' of enum ${type} to '${str(s.newVal) ?? ""}'`);
        else if (s.newVal !== undefined) {
          if (this.tx && this.pgVersion < 12) this.report("enum-value-used-in-same-transaction", `ALTER TYPE ${type} ADD VALUE inside a transaction fails before PostgreSQL 12`);
          this.tx?.enumValues.add(str(s.newVal) ?? "");
        }
        return;
      }
      case "ReindexStmt": {
        const concurrent = arr(s.params).some((p) => str(obj(obj(p).DefElem).defname) === "concurrently");
        if (concurrent) this.concurrentlyInTx("REINDEX CONCURRENTLY");
        else this.report("require-concurrent-reindex", `REINDEX ${relName(s.relation) || str(s.name) || ""} without CONCURRENTLY`);
        this.locking(relName(s.relation));
        return;
      }
      case "VacuumStmt": {
        if (arr(s.options).some((p) => str(obj(obj(p).DefElem).defname) === "full")) {
          this.report("ban-vacuum-full", `VACUUM FULL ${arr(s.rels).map((r) => relName(obj(obj(r).VacuumRelation).relation)).join(", ")}`.trim());
        }
        return;
      }
      case "ClusterStmt":
        this.report("ban-cluster", `CLUSTER ${relName(s.relation)}`.trim());
        this.locking(relName(s.relation));
        return;
      case "AlterDomainStmt":
        if (s.subtype === "C") this.report("ban-alter-domain-with-add-constraint", `ALTER DOMAIN ${names(s.typeName).join(".")} ADD CONSTRAINT`);
        this.locking(undefined);
        return;
      case "CreateDomainStmt":
        if (arr(s.constraints).some((c) => obj(obj(c).Constraint).contype === "CONSTR_CHECK")) {
          this.report("ban-create-domain-with-constraint", `CREATE DOMAIN ${names(s.domainname).join(".")} with a CHECK constraint`);
        }
        return;
      case "TruncateStmt":
        if (s.behavior === "DROP_CASCADE") this.report("ban-truncate-cascade", `TRUNCATE ${arr(s.relations).map((r) => relName(obj(r).RangeVar)).join(", ")} CASCADE`);
        this.locking(undefined);
        return;
      case "UpdateStmt":
      case "DeleteStmt": {
        const table = relName(s.relation);
        if (!this.isNew(table) && !batched(s)) {
          this.report("unbatched-backfill", `${st.kind === "UpdateStmt" ? "UPDATE" : "DELETE FROM"} ${table} ${s.whereClause ? "with a WHERE clause that is not a batch" : "without WHERE"}: every row in one transaction`);
        }
        if (this.tx && !this.isNew(table)) this.tx.updates.push(st);
        return;
      }
      case "CreateSchemaStmt":
        if (!s.if_not_exists) this.robust(`CREATE SCHEMA ${str(s.schemaname) ?? ""} without IF NOT EXISTS`);
        return;
      case "AlterObjectSchemaStmt":
      case "CreateTrigStmt":
        this.locking(relName(s.relation) || undefined);
        return;
      default:
        return;
    }
  }

  private transaction(s: Node, st: SqlStatement): void {
    const kind = str(s.kind) ?? "";
    if (kind === "TRANS_STMT_BEGIN" || kind === "TRANS_STMT_START") {
      if (this.tx) this.report("transaction-nesting", this.tx.explicit ? "BEGIN inside a transaction already begun" : "BEGIN in a file that runs in a transaction (--assume-in-transaction)");
      else this.tx = this.newTx(true, st);
      return;
    }
    if (kind === "TRANS_STMT_COMMIT" || kind === "TRANS_STMT_ROLLBACK" || kind === "TRANS_STMT_COMMIT_PREPARED" || kind === "TRANS_STMT_PREPARE") {
      if (this.tx && !this.tx.explicit) this.report("transaction-nesting", "COMMIT in a file that runs in a transaction (--assume-in-transaction): the rest runs outside it");
      this.endTransaction();
      this.tx = undefined;
    }
  }

  private robust(message: string): void {
    if (!this.tx) this.report("prefer-robust-stmts", message);
  }

  private concurrentlyInTx(what: string): void {
    if (this.tx) this.report("ban-concurrent-index-creation-in-transaction", `${what} inside a transaction`);
  }

  private typeAdvice(col: string, def: Node, table: string): void {
    const tn = obj(def.typeName);
    const t = typeName(tn);
    const where = `${table}.${col}`;
    if (t === "json") this.report("prefer-jsonb", `${where} is json`);
    if (t === "int4" || t === "serial" || t === "serial4") this.report("prefer-bigint-over-int", `${where} is ${t === "int4" ? "integer" : t}`);
    if (t === "int2" || t === "smallserial" || t === "serial2") this.report("prefer-bigint-over-smallint", `${where} is ${t === "int2" ? "smallint" : t}`);
    if (SERIALS[t]) this.report("prefer-identity", `${where} is ${t}`);
    if (t === "varchar" && typeMods(tn).length > 0) this.report("prefer-text-field", `${where} is varchar(${typeMods(tn).join(",")})`);
    if (t === "timestamp") this.report("prefer-timestamp-tz", `${where} is timestamp without time zone`);
    if (t === "bpchar" || t === "char" || t === "character") this.report("ban-char-field", `${where} is char`);
  }

  private remember(table: string, col: string, c: Column): void {
    let cols = this.schema.columns.get(table);
    if (!cols) this.schema.columns.set(table, (cols = new Map()));
    cols.set(col, c);
  }

  private createTable(s: Node): void {
    const table = relName(s.relation);
    this.created.add(table);
    this.schema.columns.delete(table);
    for (const e of arr(s.tableElts)) {
      const def = inner(e, "ColumnDef");
      if (!def) continue;
      const col = str(def.colname) ?? "";
      this.typeAdvice(col, def, table);
      this.remember(table, col, columnType(def));
    }
    if (!s.if_not_exists) this.robust(`CREATE TABLE ${table} without IF NOT EXISTS`);
  }

  private drop(s: Node): void {
    const type = str(s.removeType) ?? "";
    const objects = dropObjectNames(s);
    const list = objects.join(", ");
    if (type === "OBJECT_TABLE") {
      this.report("ban-drop-table", `DROP TABLE ${list}`);
      for (const o of objects) this.schema.columns.delete(o);
    } else if (type === "OBJECT_SCHEMA") this.report("ban-drop-schema", `DROP SCHEMA ${list}`);
    else if (type === "OBJECT_INDEX") {
      if (s.concurrent) this.concurrentlyInTx("DROP INDEX CONCURRENTLY");
      else this.report("require-concurrent-index-deletion", `DROP INDEX ${list} without CONCURRENTLY`);
    }
    if (type === "OBJECT_TABLE" || type === "OBJECT_INDEX" || type === "OBJECT_SCHEMA" || type === "OBJECT_VIEW" || type === "OBJECT_MATVIEW") {
      if (!objects.every((o) => this.isNew(o))) this.locking(undefined);
    }
    if (!s.missing_ok) this.robust(`DROP ${type.replace(/^OBJECT_/, "")} ${list} without IF EXISTS`);
  }

  private rename(s: Node): void {
    const type = str(s.renameType) ?? "";
    const table = relName(s.relation);
    const newName = str(s.newname) ?? "";
    if (type === "OBJECT_COLUMN") this.report("renaming-column", `renames ${table}.${str(s.subname) ?? ""} to ${newName}`);
    else if (type === "OBJECT_TABLE") this.report("renaming-table", `renames table ${table} to ${newName}`);
    else if (type === "OBJECT_SCHEMA") this.report("renaming-schema", `renames schema ${str(s.subname) ?? ""} to ${newName}`);
    this.locking(table || undefined);
  }

  private alterTable(s: Node, st: SqlStatement): void {
    const table = relName(s.relation);
    const isNew = this.isNew(table);
    if (s.objtype === "OBJECT_TABLE" || s.objtype === undefined) this.locking(table);
    for (const c of arr(s.cmds)) {
      const cmd = obj(obj(c).AlterTableCmd);
      const col = str(cmd.name) ?? "";
      switch (str(cmd.subtype)) {
        case "AT_AddColumn": {
          const def = inner(cmd.def, "ColumnDef") ?? {};
          const name = str(def.colname) ?? "";
          this.addColumn(table, name, def, isNew);
          if (!cmd.missing_ok) this.robust(`ADD COLUMN ${table}.${name} without IF NOT EXISTS`);
          break;
        }
        case "AT_DropColumn":
          this.report("ban-drop-column", `drops column ${table}.${col}`);
          this.schema.columns.get(table)?.delete(col);
          if (!cmd.missing_ok) this.robust(`DROP COLUMN ${table}.${col} without IF EXISTS`);
          break;
        case "AT_AlterColumnType": {
          const def = inner(cmd.def, "ColumnDef") ?? {};
          const to = columnType(def);
          const from = this.schema.columns.get(table)?.get(col);
          const safe = from !== undefined && !def.raw_default && isSafeCast(from, to, { pgVersion: this.pgVersion, utc: this.utc });
          if (!safe && !isNew) {
            this.report("changing-column-type", `changes ${table}.${col}${from ? ` from ${from.type}${from.mods.length ? `(${from.mods.join(",")})` : ""}` : ""} to ${to.type}${to.mods.length ? `(${to.mods.join(",")})` : ""}${from ? "" : " (its current type is not known from earlier migrations)"}`);
          }
          this.typeAdvice(col, def, table);
          this.remember(table, col, to);
          break;
        }
        case "AT_SetNotNull": {
          const covered = this.pgVersion >= 12 && this.schema.validatedNotNull.has(`${table}.${col}`);
          if (!covered && !isNew) this.report("adding-not-nullable-field", `SET NOT NULL on ${table}.${col}`, st, `ALTER TABLE ${table} ADD CONSTRAINT ${col}_not_null CHECK (${col} IS NOT NULL) NOT VALID; then (another transaction) ALTER TABLE ${table} VALIDATE CONSTRAINT ${col}_not_null; then ALTER TABLE ${table} ALTER COLUMN ${col} SET NOT NULL (PostgreSQL 12+ uses the constraint instead of a scan under ACCESS EXCLUSIVE); then DROP CONSTRAINT ${col}_not_null`);
          break;
        }
        case "AT_DropNotNull":
          this.report("ban-drop-not-null", `DROP NOT NULL on ${table}.${col}`);
          break;
        case "AT_AddConstraint": {
          const con = obj(obj(cmd.def).Constraint);
          // ADD CONSTRAINT has no IF NOT EXISTS: a run again fails (or, unnamed, adds a second copy) unless
          // the file drops it IF EXISTS first.
          if (!isNew && !this.droppedConstraints.has(`${table}.${str(con.conname) ?? ""}`)) {
            this.robust(`ADD CONSTRAINT ${str(con.conname) ?? "(unnamed)"} on ${table} without a DROP CONSTRAINT IF EXISTS before it`);
          }
          this.addConstraint(table, con, isNew);
          break;
        }
        case "AT_ValidateConstraint": {
          if (this.tx?.notValid.has(`${table}.${col}`)) this.report("constraint-missing-not-valid", `VALIDATE CONSTRAINT ${col} in the same transaction that added it NOT VALID: the lock of ADD CONSTRAINT is still held during the scan`);
          const checked = this.schema.notNullChecks.get(table)?.get(col);
          if (checked) this.schema.validatedNotNull.add(`${table}.${checked}`);
          break;
        }
        case "AT_DetachPartition": {
          const name = relName(obj(obj(cmd.def).PartitionCmd).name);
          if (obj(obj(cmd.def).PartitionCmd).concurrent) this.concurrentlyInTx("DETACH PARTITION CONCURRENTLY");
          else this.report("require-concurrent-partition-detach", `DETACH PARTITION ${name} of ${table} without CONCURRENTLY`);
          break;
        }
        case "AT_DropConstraint":
          if (!cmd.missing_ok) this.robust(`DROP CONSTRAINT ${col} without IF EXISTS`);
          else this.droppedConstraints.add(`${table}.${col}`);
          break;
      }
    }
  }

  private addColumn(table: string, name: string, def: Node, isNew: boolean): void {
    const cons = columnConstraints(def);
    const t = typeName(def.typeName);
    const defaultC = cons.find((k) => k.contype === "CONSTR_DEFAULT");
    const generated = cons.find((k) => k.contype === "CONSTR_GENERATED");
    const identity = cons.some((k) => k.contype === "CONSTR_IDENTITY");
    const where = `${table}.${name}`;
    this.typeAdvice(name, def, table);
    this.remember(table, name, columnType(def));
    if (isNew) return;
    if (requiredWithoutDefault(def)) this.report("adding-required-field", `adds ${where} NOT NULL without a DEFAULT`);
    if (defaultC) {
      const fn = volatileCall(defaultC.raw_expr);
      if (this.pgVersion < 11) this.report("adding-field-with-default", `adds ${where} with a DEFAULT: before PostgreSQL 11 every default rewrites the table`);
      else if (fn) this.report("adding-field-with-default", `adds ${where} with the default ${fn}(), evaluated for every row: the table is rewritten`);
    }
    if (generated && str(generated.generated_kind) !== "v") this.report("adding-field-with-default", `adds ${where} as a stored generated column: the table is rewritten`);
    if (identity) this.report("adding-field-with-default", `adds ${where} as an identity column: the table is rewritten to fill it`);
    if (SERIALS[t]) this.report("adding-field-with-default", `adds ${where} as ${t}: the table is rewritten to fill it from the sequence`);
    for (const k of cons) this.addConstraint(table, { ...k, fk_attrs: k.fk_attrs ?? [{ String: { sval: name } }] }, isNew, true);
  }

  private addConstraint(table: string, c: Node, isNew: boolean, inColumn = false): void {
    const name = str(c.conname) ?? "";
    const label = name ? `constraint ${name}` : "a constraint";
    const notValid = c.skip_validation === true;
    if (notValid && name) this.tx?.notValid.add(`${table}.${name}`);
    if (c.contype === "CONSTR_CHECK") {
      const nn = notNullCheckColumn(c.raw_expr);
      if (nn && name) {
        let m = this.schema.notNullChecks.get(table);
        if (!m) this.schema.notNullChecks.set(table, (m = new Map()));
        m.set(name, nn);
        if (!notValid) this.schema.validatedNotNull.add(`${table}.${nn}`);
      }
    }
    if (isNew) return;
    switch (c.contype) {
      case "CONSTR_CHECK":
        if (!notValid) this.report("constraint-missing-not-valid", `adds CHECK ${label} on ${table} without NOT VALID`);
        break;
      case "CONSTR_FOREIGN":
        if (!notValid) {
          this.report("constraint-missing-not-valid", `adds FOREIGN KEY ${label} on ${table} without NOT VALID`);
          this.report("adding-foreign-key-constraint", `adds FOREIGN KEY ${label} on ${table} → ${relName(c.pktable)} without NOT VALID`);
        }
        break;
      case "CONSTR_UNIQUE":
        if (!c.indexname && !inColumn) this.report("disallowed-unique-constraint", `adds UNIQUE ${label} on ${table} without USING INDEX`);
        else if (inColumn) this.report("disallowed-unique-constraint", `adds a UNIQUE column to ${table}: its index is built under the lock`);
        break;
      case "CONSTR_PRIMARY":
        if (!c.indexname) this.report("adding-serial-primary-key-field", `adds PRIMARY KEY on ${table} without USING INDEX`);
        break;
      case "CONSTR_EXCLUSION":
        this.report("adding-exclusion-constraint", `adds EXCLUDE ${label} on ${table}`);
        break;
    }
  }

  /** Names over 63 bytes: the parser has already truncated them in the AST, so they are read from the text. */
  private identifiers(text: string): void {
    // A UTF-16 unit is at most 3 bytes of UTF-8: over 63 bytes takes 22 units in a row; most statements have none.
    if (!/[^\s,;()'.=<>+*/:-]{22,}/.test(text)) return;
    const code = !/['$]|--|\/\*/.test(text)
      ? text
      : text
          .replace(/\$([A-Za-z_]*)\$[\s\S]*?\$\1\$/g, "''")
          .replace(/'(?:[^']|'')*'/g, "''")
          .replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, " ");
    for (const m of code.matchAll(/"((?:[^"]|"")+)"|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*/g)) {
      if (m[0].length < 22) continue;
      const name = m[1] !== undefined ? m[1].replace(/""/g, '"') : m[0];
      const bytes = Buffer.byteLength(name, "utf8");
      if (bytes > 63) this.report("identifier-too-long", `'${[...name].slice(0, 24).join("")}…' is ${bytes} bytes; PostgreSQL keeps the first 63`);
    }
  }

  private enumUse(st: SqlStatement): void {
    if (!this.tx || this.tx.enumValues.size === 0 || st.kind === "AlterEnumStmt") return;
    for (const c of findAll(st.node, "A_Const")) {
      const v = str(obj(c.sval).sval);
      if (v !== undefined && this.tx.enumValues.has(v)) this.report("enum-value-used-in-same-transaction", `uses enum value '${v}' added in the same transaction`);
    }
  }
}

/** A WHERE clause that limits one statement to a batch: a LIMIT subquery, or a range, list or equality on a key. */
function batched(s: Node): boolean {
  const where = s.whereClause;
  if (!where) return false;
  if (findAll(where, "SelectStmt").some((q) => q.limitCount !== undefined)) return true;
  const exprs = findAll(where, "A_Expr");
  return exprs.some((e) => e.kind === "AEXPR_BETWEEN" || e.kind === "AEXPR_IN" || ["<", "<=", ">", ">=", "="].includes(names(e.name)[0] ?? ""));
}

/** The column `c` of a `CHECK (c IS NOT NULL)`. */
function notNullCheckColumn(expr: unknown): string | undefined {
  const t = obj(obj(expr).NullTest);
  if (t.nulltesttype !== "IS_NOT_NULL") return undefined;
  return names(obj(obj(t.arg).ColumnRef).fields).at(-1);
}

/** The first function called in a default that may be volatile (not a known stable/immutable one). */
function volatileCall(expr: unknown): string | undefined {
  for (const f of findAll(expr, "FuncCall")) {
    const name = names(f.funcname).at(-1)?.toLowerCase() ?? "";
    if (!VOLATILE_SAFE.has(name)) return name;
  }
  return undefined;
}

/** A file to lint: its name as shown in findings and its text. */
export interface MigrationSource {
  file: string;
  sql: string;
}

/** Findings, and the files that do not parse (bad input: exit 2). */
export interface LintResult {
  findings: Finding[];
  errors: SqlParseError[];
  statements: number;
}

/** Lints already-parsed files in order (what earlier files create is known to later ones). */
export function lintParsed(files: { file: string; sql: string; statements: SqlStatement[] }[], options: LintOptions = {}): Finding[] {
  const linter = new MigrationLinter(options);
  return files.flatMap((f) => linter.lint(f.file, f.sql, f.statements));
}

/**
 * Lints migration files one at a time, in the order they apply, each seeing
 * what the earlier ones did to the schema (a column added NOT NULL, a CHECK
 * validated): a caller can drop each file's statements once it is linted.
 */
export class MigrationLinter {
  private readonly schema: SchemaState = { columns: new Map(), notNullChecks: new Map(), validatedNotNull: new Set() };

  constructor(private readonly options: LintOptions = {}) {}

  lint(file: string, sql: string, statements: SqlStatement[]): Finding[] {
    return new FileLint(file, sql, this.schema, this.options).run(statements);
  }
}

/** Parses and lints migration files, in the order given (the order they apply). */
export async function lintMigrations(files: MigrationSource[], options: LintOptions = {}): Promise<LintResult> {
  const parsed: { file: string; sql: string; statements: SqlStatement[] }[] = [];
  const errors: SqlParseError[] = [];
  for (const f of files) {
    try {
      parsed.push({ ...f, statements: await parseSql(f.file, f.sql) });
    } catch (e) {
      if (e instanceof SqlParseError) errors.push(e);
      else throw e;
    }
  }
  return { findings: lintParsed(parsed, options), errors, statements: parsed.reduce((n, f) => n + f.statements.length, 0) };
}
