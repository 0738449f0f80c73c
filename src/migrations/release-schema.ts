// What the migration gate (delivery/gates/migrations.ts) needs of a release,
// read with git at its commit: the contract statements of its migrations,
// and the tables and columns its queries use. Results are kept per (commit,
// folder) in a ReleaseSchemaCache the caller owns: a commit never changes,
// and the control loop asks again at every tick. (A commit that is missing
// now may be fetched later, and a branch name moves: neither is kept.)
import type { ContractChange, SchemaUse } from "../delivery/index.js";
import { arr, dropObjectNames, findAll, obj, relName, str } from "./ast.js";
import { parseMigrations, type ParsedMigration } from "./apply.js";
import { commitOf, filesAt, repoPath, type RepoLocation } from "./git-files.js";
import { parseSql, type SqlStatement } from "./parse.js";

export { locateRepo, type RepoLocation } from "./git-files.js";

/** The queries folder of a migrations folder when none is given: `<dir>/queries`. */
export function defaultQueriesDir(dir: string): string {
  return `${dir.replace(/\/+$/, "")}/queries`;
}

/** A release's migrations as of its commit; `missingCommit` (why) when the commit is not in the repository. */
export interface ReleaseMigrations {
  migrations: ParsedMigration[];
  missingCommit?: string;
}

/** The schema a release's queries use as of its commit; absent (`unknown` says why) when that cannot be told. */
export interface ReleaseQueries {
  uses?: SchemaUse[];
  unknown?: string;
}

/** Results by repository, commit and folder, at most `limit` of each kind (the oldest go first). */
export class ReleaseSchemaCache {
  private readonly migrations = new Map<string, ReleaseMigrations>();
  private readonly queries = new Map<string, ReleaseQueries>();

  constructor(private readonly limit = 64) {}

  /** `read` says whether its result may be kept (it was read from the commit the key names). */
  migrationsOf(key: string, read: () => Promise<{ result: ReleaseMigrations; keep: boolean }>): Promise<ReleaseMigrations> {
    return this.cached(this.migrations, key, read);
  }

  queriesOf(key: string, read: () => Promise<{ result: ReleaseQueries; keep: boolean }>): Promise<ReleaseQueries> {
    return this.cached(this.queries, key, read);
  }

  private async cached<T>(map: Map<string, T>, key: string, read: () => Promise<{ result: T; keep: boolean }>): Promise<T> {
    const hit = map.get(key);
    if (hit !== undefined) return hit;
    const { result, keep } = await read();
    if (keep) {
      map.set(key, result);
      if (map.size > this.limit) map.delete(map.keys().next().value as string);
    }
    return result;
  }
}

const missing = (repo: RepoLocation, commit: string): string => `its commit ${commit.slice(0, 12)} is not in the repository at ${repo.root}`;
const keyOf = (repo: RepoLocation, commit: string, dir: string): string => JSON.stringify([repo.root, commit, dir]);

/**
 * The migrations (`dir`, relative to the directory `repo` was located from)
 * of the release at `commit`. Throws SqlParseError on SQL that does not parse.
 */
export async function releaseMigrations(repo: RepoLocation, commit: string, dir: string, cache = new ReleaseSchemaCache()): Promise<ReleaseMigrations> {
  const path = repoPath(repo, dir);
  return cache.migrationsOf(keyOf(repo, commit, path), async () => {
    const found = await commitOf(repo, commit);
    if (!found) return { result: { migrations: [], missingCommit: missing(repo, commit) }, keep: false };
    return { result: { migrations: await parseMigrations(await filesAt(repo, found, path, false)) }, keep: found === commit };
  });
}

/**
 * The tables and columns the queries (`queriesDir`, searched recursively) of
 * the release at `commit` use. Throws SqlParseError on SQL that does not parse.
 */
export async function releaseQueries(repo: RepoLocation, commit: string, queriesDir: string, cache = new ReleaseSchemaCache()): Promise<ReleaseQueries> {
  const path = repoPath(repo, queriesDir);
  return cache.queriesOf(keyOf(repo, commit, path), async () => {
    const found = await commitOf(repo, commit);
    if (!found) return { result: { unknown: missing(repo, commit) }, keep: false };
    const keep = found === commit;
    const queryFiles = await filesAt(repo, found, path, true);
    if (queryFiles.length === 0) return { result: { unknown: `it has no queries in ${queriesDir} at ${commit.slice(0, 12)}` }, keep };
    const uses: SchemaUse[] = [];
    for (const f of queryFiles) for (const st of await parseSql(f.file, f.sql)) uses.push(...schemaUses(f.file, st));
    return { result: { uses }, keep };
  });
}

/** The tables and columns a contract statement drops or changes (`*` when it cannot tell, e.g. DROP FUNCTION). */
function contractTargets(st: Pick<SqlStatement, "kind" | "node">): { table: string; column?: string }[] {
  const s = obj(st.node[st.kind]);
  const table = relName(s.relation);
  switch (st.kind) {
    case "AlterTableStmt": {
      const cols = arr(s.cmds)
        .map((c) => obj(obj(c).AlterTableCmd))
        .map((cmd) => str(cmd.name) ?? str(obj(obj(cmd.def).ColumnDef).colname));
      const named = cols.filter((c): c is string => c !== undefined);
      return named.length > 0 ? named.map((column) => ({ table, column })) : [{ table }];
    }
    case "RenameStmt":
      if (str(s.renameType) === "OBJECT_COLUMN") return [{ table, column: str(s.subname) ?? "" }];
      return table ? [{ table }] : [{ table: "*" }];
    case "DropStmt": {
      const type = str(s.removeType);
      if (type === "OBJECT_TABLE" || type === "OBJECT_VIEW" || type === "OBJECT_MATVIEW" || type === "OBJECT_FOREIGN_TABLE") {
        return dropObjectNames(s).map((name) => ({ table: name }));
      }
      return [{ table: "*" }];
    }
    default:
      return table ? [{ table }] : [{ table: "*" }];
  }
}

/** The contract statements of some migrations, for the gate. */
export function contractChanges(migrations: ParsedMigration[]): ContractChange[] {
  const out: ContractChange[] = [];
  for (const m of migrations) {
    m.statements.forEach((st, i) => {
      const c = m.classification.statements[i];
      if (c?.phase !== "contract") return;
      out.push({ version: m.version, file: m.file, line: st.line, column: st.column, text: st.text, why: c.why, targets: contractTargets(st) });
    });
  }
  return out;
}

/** Tables and columns a query statement names (unqualified columns count for every table of the statement). */
function schemaUses(file: string, st: SqlStatement): SchemaUse[] {
  const out: SchemaUse[] = [];
  const vars = [...findAll(st.node, "RangeVar"), ...findAll(st.node, "relation")];
  const alias = new Map<string, string>();
  for (const v of vars) {
    const t = relName(v);
    if (!t) continue;
    alias.set(t.split(".").pop() ?? t, t);
    const a = str(obj(v.alias).aliasname);
    if (a) alias.set(a, t);
    out.push({ table: t, file, line: st.line });
  }
  const tables = [...new Set(alias.values())];
  const addColumn = (qualifier: string | undefined, column: string) => {
    const ts = qualifier !== undefined ? [alias.get(qualifier) ?? qualifier] : tables;
    for (const table of ts) out.push({ table, column, file, line: st.line });
  };
  for (const ref of findAll(st.node, "ColumnRef")) {
    const fields = arr(ref.fields);
    const last = obj(fields[fields.length - 1]);
    const column = "A_Star" in last ? "*" : str(obj(last.String).sval);
    if (column === undefined) continue;
    const qualifier = fields.length >= 2 ? str(obj(obj(fields[fields.length - 2]).String).sval) : undefined;
    addColumn(qualifier, column);
  }
  // INSERT INTO t (a, b) and UPDATE t SET a = …: the target columns.
  const s = obj(st.node[st.kind]);
  const target = relName(s.relation);
  if (target && (st.kind === "InsertStmt" || st.kind === "UpdateStmt")) {
    for (const rt of findAll(st.kind === "InsertStmt" ? s.cols : s.targetList, "ResTarget")) {
      const n = str(rt.name);
      if (n) out.push({ table: target, column: n, file, line: st.line });
    }
  }
  return out;
}
