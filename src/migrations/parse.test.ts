import { describe, expect, it } from "vitest";
import { classifyMigration, lintMigrations, parseSql, SqlParseError } from "./index.js";
import { SourceText, statementPosition } from "./parse.js";

describe("parseSql", () => {
  it("gives each statement its kind, text and 1-based position, counting UTF-8 correctly", async () => {
    const sql = "-- header\nSELECT 'ééé';\n  /* c */ ALTER TABLE t RENAME COLUMN a TO b;\nUPDATE t SET x = 1";
    const st = await parseSql("m.sql", sql);
    expect(st.map((s) => [s.kind, s.line, s.column, s.text])).toEqual([
      ["SelectStmt", 2, 1, "SELECT 'ééé'"],
      ["RenameStmt", 3, 11, "ALTER TABLE t RENAME COLUMN a TO b"],
      ["UpdateStmt", 4, 1, "UPDATE t SET x = 1"],
    ]);
    expect(sql.slice(st[1]!.start, st[1]!.end)).toBe("ALTER TABLE t RENAME COLUMN a TO b");
  });

  it("returns no statements for an empty or comment-only file", async () => {
    expect(await parseSql("m.sql", "")).toEqual([]);
    expect(await parseSql("m.sql", "  -- nothing\n")).toEqual([]);
  });

  it("throws SqlParseError with file, line and column of the error", async () => {
    const err = await parseSql("m.sql", "SELECT 'ééé';\n  SELEC 1;").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlParseError);
    expect(err).toMatchObject({ file: "m.sql", line: 2, column: 3 });
    expect((err as Error).message).toContain('m.sql:2:3: syntax error at or near "SELEC"');
  });

  it("refuses a NUL character (the parser would stop there and drop the rest) with its position", async () => {
    await expect(parseSql("m.sql", "DROP TABLE a;\nSELECT 1;\0 DROP TABLE b;")).rejects.toMatchObject({ line: 2, column: 10, message: "m.sql:2:10: a NUL character (0x00) is not valid in SQL text" });
  });

  it("never crashes on random input: statements or a SqlParseError", async () => {
    const alphabet = "abcSELECT ALTER;()'\"-/*\n\té€😀0123$\0";
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed / 0x7fffffff);
    for (let n = 0; n < 300; n++) {
      const s = Array.from({ length: Math.floor(rnd() * 40) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join("");
      const r = await parseSql("f.sql", s).then((x) => x.length >= 0, (e: unknown) => e instanceof SqlParseError && e.line >= 1 && e.column >= 1);
      expect(r, JSON.stringify(s)).toBe(true);
    }
  });
});

describe("classifyMigration", () => {
  it("file phase is contract if any statement is, else data, else expand", async () => {
    expect((await classifyMigration("a.sql", "CREATE TABLE t (id bigint);")).phase).toBe("expand");
    expect((await classifyMigration("a.sql", "CREATE TABLE t (id bigint); UPDATE t SET id = 1;")).phase).toBe("data");
    const c = await classifyMigration("a.sql", "UPDATE t SET id = 1;\nALTER TABLE t RENAME COLUMN a TO b;");
    expect(c.phase).toBe("contract");
    expect(c.statements[1]).toMatchObject({ phase: "contract", line: 2, column: 1 });
    expect(c.statements[1]!.instead?.join("\n")).toContain("dual write");
  });

  it.each([
    ["ALTER TABLE t DROP COLUMN c", "contract"],
    ["ALTER TABLE t ALTER COLUMN c TYPE bigint", "contract"],
    ["ALTER TABLE t ALTER COLUMN c SET NOT NULL", "contract"],
    ["ALTER TABLE t ALTER COLUMN c DROP NOT NULL", "expand"],
    ["ALTER TABLE t ADD COLUMN c int NOT NULL", "contract"],
    ["ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0", "expand"],
    ["DROP TABLE t", "contract"],
    ["DROP INDEX CONCURRENTLY i", "expand"],
    ["ALTER INDEX i RENAME TO j", "expand"],
    ["ALTER TABLE t RENAME TO u", "contract"],
    ["ALTER TYPE e RENAME VALUE 'a' TO 'b'", "contract"],
    ["ALTER TYPE e ADD VALUE 'c'", "expand"],
    ["DELETE FROM t WHERE id < 10", "data"],
    ["INSERT INTO t VALUES (1)", "data"],
    ["CREATE INDEX CONCURRENTLY i ON t (c)", "expand"],
  ])("%s → %s", async (sql, phase) => {
    expect((await classifyMigration("a.sql", sql)).phase).toBe(phase);
  });
});

describe("the expand/contract sequence of a contract change", () => {
  it.each([
    ["ALTER TABLE users ALTER COLUMN age TYPE bigint", ["ADD COLUMN age_new", "dual write", "backfill", "reads age_new", "drop age"]],
    ["ALTER TABLE users ALTER COLUMN email SET NOT NULL", ["backfill NULLs", "CHECK (email IS NOT NULL) NOT VALID", "VALIDATE CONSTRAINT", "SET NOT NULL"]],
    ["ALTER TABLE users DROP COLUMN email", ["no longer reads or writes users.email", "DROP COLUMN email"]],
    ["DROP TABLE sessions", ["no longer uses table sessions", "drop table sessions"]],
    ["ALTER TABLE users RENAME TO accounts", ["CREATE VIEW accounts", "uses accounts"]],
  ])("%s", async (sql, steps) => {
    const c = await classifyMigration("m.sql", sql);
    expect(c.phase).toBe("contract");
    const text = c.statements[0]!.instead!.join("\n");
    let at = 0;
    for (const step of steps) {
      const i = text.indexOf(step, at);
      expect(i, `'${step}' after position ${at} in:\n${text}`).toBeGreaterThanOrEqual(0);
      at = i;
    }
  });
});

describe("statementPosition", () => {
  it("places PostgreSQL's 1-based error position (in characters) inside a statement at the file's line and column", async () => {
    const sql = "SELECT 'é😀';\n  SELECT 'ü',\n    nope FROM t;";
    const source = new SourceText(sql);
    const [, st] = await parseSql("q.sql", sql);
    // `nope` is the 17th character of the second statement's text: "SELECT 'ü',\n    nope".
    expect(statementPosition(source, st!, 17)).toEqual({ line: 3, column: 5 });
    expect(statementPosition(source, st!, 1)).toEqual({ line: 2, column: 3 });
    expect(statementPosition(source, st!, 10_000)).toEqual(source.position(st!.start + st!.text.length));
  });
});

describe("NOT NULL without a default: plan and lint agree", () => {
  it("a serial column NOT NULL has its sequence as default: expand for plan, no adding-required-field for lint", async () => {
    const sql = "ALTER TABLE t ADD COLUMN id bigserial NOT NULL;";
    expect((await classifyMigration("m.sql", sql)).phase).toBe("expand");
    const { findings } = await lintMigrations([{ file: "m.sql", sql }]);
    expect(findings.map((f) => f.ruleId)).not.toContain("adding-required-field");
  });

  it("a plain column NOT NULL without a default is contract for plan and adding-required-field for lint", async () => {
    const sql = "ALTER TABLE t ADD COLUMN n bigint NOT NULL;";
    expect((await classifyMigration("m.sql", sql)).phase).toBe("contract");
    const { findings } = await lintMigrations([{ file: "m.sql", sql }]);
    expect(findings.map((f) => f.ruleId)).toContain("adding-required-field");
  });
});
