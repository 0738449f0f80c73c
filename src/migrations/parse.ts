// SQL text → statements with their positions, through PostgreSQL's own parser (libpg-query, WASM).
// libpg-query is loaded when first needed, with require: the CLI bundle keeps it external (external.ts).
import { requireExternal } from "./external.js";

/** One top-level statement of a migration file. */
export interface SqlStatement {
  /** The statement's AST, e.g. `{ AlterTableStmt: {...} }` (fields with default values are absent). */
  node: Record<string, unknown>;
  /** The node's kind, e.g. `"AlterTableStmt"`. */
  kind: string;
  /** The statement's text, from its first keyword up to (not including) its `;`. */
  text: string;
  /** Offsets of `text` in the JS string given to `parseSql`. */
  start: number;
  end: number;
  /** 1-based line and column (in characters) of the statement's first non-space character. */
  line: number;
  column: number;
}

/** SQL that PostgreSQL's parser refuses; `line`/`column` are 1-based and point at the error. */
/** Statement kinds a release's queries are made of (reads and writes): what `verify` PREPAREs and `capture` keeps; transactions, SET and DDL are not queries. */
export const QUERY_KINDS: ReadonlySet<string> = new Set(["SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]);

export class SqlParseError extends Error {
  constructor(
    message: string,
    public readonly file: string,
    public readonly line: number,
    public readonly column: number,
  ) {
    super(message);
    this.name = "SqlParseError";
  }
}

interface PgQuery {
  parseSync(sql: string): { stmts?: { stmt?: Record<string, unknown>; stmt_location?: number; stmt_len?: number }[] };
  loadModule(): Promise<void>;
}

let loading: Promise<PgQuery> | undefined;

/** Loads libpg-query once per process (its 1.7 MB WASM module; compiled by Liftoff only when started by bin/slipway.js). */
function loadParser(): Promise<PgQuery> {
  loading ??= (async () => {
    const mod = requireExternal("libpg-query") as PgQuery & { default?: PgQuery };
    const api = typeof mod.parseSync === "function" ? mod : (mod.default as PgQuery);
    await api.loadModule();
    return api;
  })();
  return loading;
}

/** Maps offsets and line/column for one source text (UTF-8 byte offsets → JS string offsets). */
export class SourceText {
  private readonly lineStarts: number[] = [0];
  private byteToChar: Int32Array | undefined;

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    if (Buffer.byteLength(text, "utf8") !== text.length) {
      const map = new Int32Array(Buffer.byteLength(text, "utf8") + 1);
      let b = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.codePointAt(i) ?? 0;
        const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        for (let k = 0; k < n; k++) map[b + k] = i;
        b += n;
        if (c >= 0x10000) i++;
      }
      map[b] = text.length;
      this.byteToChar = map;
    }
  }

  /** A UTF-8 byte offset as a JS string offset. */
  charOffset(byteOffset: number): number {
    if (!this.byteToChar) return Math.min(byteOffset, this.text.length);
    return this.byteToChar[Math.min(byteOffset, this.byteToChar.length - 1)] ?? this.text.length;
  }

  /** A code-point index (what PostgreSQL's error cursor counts) from offset `from` as a JS string offset, at most `to`. */
  codePointOffset(index: number, from = 0, to = this.text.length): number {
    let i = from;
    for (let n = 0; n < index && i < to; n++) i += (this.text.codePointAt(i) ?? 0) >= 0x10000 ? 2 : 1;
    return i;
  }

  /** 1-based line and column (column counted in code points) of a JS string offset. */
  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const startOfLine = this.lineStarts[lo] ?? 0;
    return { line: lo + 1, column: [...this.text.slice(startOfLine, offset)].length + 1 };
  }
}

/**
 * 1-based line and column in the file of PostgreSQL's 1-based error
 * `position` (in characters) inside statement `st`, whose file is `source`.
 */
export function statementPosition(source: SourceText, st: Pick<SqlStatement, "start" | "text">, position: number): { line: number; column: number } {
  return source.position(Math.min(source.codePointOffset(Math.max(0, position - 1), st.start, st.start + st.text.length), source.text.length));
}

/** Offset of the first character after whitespace and comments, from `from`. */
export function skipTrivia(text: string, from: number, to = text.length): number {
  let i = from;
  while (i < to) {
    const c = text[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f") i++;
    else if (c === "-" && text[i + 1] === "-") {
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? to : nl + 1;
    } else if (c === "/" && text[i + 1] === "*") {
      let depth = 0;
      while (i < to) {
        if (text[i] === "/" && text[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (text[i] === "*" && text[i + 1] === "/") {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
    } else break;
  }
  return Math.min(i, to);
}

/**
 * Parses `sql` (the contents of `file`) into its top-level statements.
 * Throws `SqlParseError` with the line and column PostgreSQL's parser reports.
 */
export async function parseSql(file: string, sql: string): Promise<SqlStatement[]> {
  return parseSource(file, new SourceText(sql));
}

/** `parseSql` over a SourceText the caller keeps (e.g. to place errors of the statements later: statementPosition). */
export async function parseSource(file: string, source: SourceText): Promise<SqlStatement[]> {
  const pg = await loadParser();
  const sql = source.text;
  // The parser reads a C string: it would stop at a NUL and silently drop the rest of the file.
  const nul = sql.indexOf("\0");
  if (nul >= 0) {
    const { line, column } = source.position(nul);
    throw new SqlParseError(`${file}:${line}:${column}: a NUL character (0x00) is not valid in SQL text`, file, line, column);
  }
  if (skipTrivia(sql, 0) >= sql.length) return [];
  let result: ReturnType<PgQuery["parseSync"]>;
  try {
    result = pg.parseSync(sql);
  } catch (e) {
    const details = (e as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    const cursor = details?.cursorPosition;
    const offset = typeof cursor === "number" && cursor >= 0 ? source.codePointOffset(cursor) : sql.length;
    const { line, column } = source.position(offset);
    const message = e instanceof Error ? e.message : String(e);
    throw new SqlParseError(`${file}:${line}:${column}: ${message}`, file, line, column);
  }
  const out: SqlStatement[] = [];
  for (const raw of result.stmts ?? []) {
    const node = raw.stmt;
    if (!node) continue;
    const kind = Object.keys(node)[0] ?? "Unknown";
    const byteStart = raw.stmt_location ?? 0;
    const rawStart = source.charOffset(byteStart);
    const end = raw.stmt_len ? source.charOffset(byteStart + raw.stmt_len) : sql.length;
    const start = skipTrivia(sql, rawStart, end);
    const { line, column } = source.position(start);
    out.push({ node, kind, text: sql.slice(start, end).trimEnd(), start, end, line, column });
  }
  return out;
}
