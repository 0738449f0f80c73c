// Every case of rules.cases.ts: the rule ids found must be exactly the ones expected.
import { describe, expect, it } from "vitest";
import { lintMigrations } from "./lint.js";
import { RULE_LIST } from "./rules.js";
import { AMBIENT, CASES } from "./rules.cases.js";

describe("lint rules (data-driven corpus)", () => {
  it("has at least 150 cases, and every rule has a case that flags it and a near-miss", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(150);
    for (const rule of RULE_LIST) {
      expect(CASES.some((k) => k.expect.includes(rule.id)), `${rule.id} flagged by some case`).toBe(true);
    }
    expect(CASES.filter((k) => k.expect.length === 0).length).toBeGreaterThanOrEqual(50);
  });

  it.each(CASES.map((k, i) => [i, k.sql.replace(/\s+/g, " ").slice(0, 90), k] as const))("case %i: %s", async (_i, _name, k) => {
    const files = [...(k.before !== undefined ? [{ file: "001_before.sql", sql: k.before }] : []), { file: "002_case.sql", sql: k.sql }];
    const r = await lintMigrations(files, k.options);
    expect(r.errors).toEqual([]);
    const found = r.findings.filter((f) => f.file === "002_case.sql" && (k.all || !AMBIENT.has(f.ruleId) || k.expect.includes(f.ruleId)));
    expect([...new Set(found.map((f) => f.ruleId))].sort()).toEqual([...new Set(k.expect)].sort());
    for (const f of found) {
      expect(f.line).toBeGreaterThanOrEqual(1);
      expect(f.column).toBeGreaterThanOrEqual(1);
      expect(f.why.length).toBeGreaterThan(10);
      expect(f.fix.length).toBeGreaterThan(10);
    }
  });
});

describe("lint never crashes", () => {
  it("on mutated corpus statements: findings with positions, or parse errors with line and column", async () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    let parsed = 0;
    let refused = 0;
    for (let n = 0; n < 400; n++) {
      const words = CASES[rnd(CASES.length)]!.sql.split(/(\s+)/);
      // Drop, duplicate or swap a few words.
      for (let k = 0; k < 1 + rnd(3); k++) {
        const i = rnd(words.length);
        const op = rnd(3);
        if (op === 0) words.splice(i, 1);
        else if (op === 1) words.splice(i, 0, words[rnd(words.length)] ?? "");
        else words.splice(i, 1, ["NOT VALID", "CONCURRENTLY", "IF EXISTS", "(", "'", ";", "BEGIN;", "é"][rnd(8)]!);
      }
      const sql = words.join("");
      const r = await lintMigrations([{ file: "m.sql", sql }], { assumeInTransaction: rnd(2) === 1, pgVersion: 9 + rnd(10) });
      for (const f of r.findings) expect(f.line >= 1 && f.column >= 1 && f.fix.length > 0, JSON.stringify(sql)).toBe(true);
      for (const e of r.errors) expect(e.line >= 1 && e.column >= 1, JSON.stringify(sql)).toBe(true);
      if (r.errors.length) refused++;
      else parsed++;
    }
    // Both paths were exercised.
    expect(parsed).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(50);
  });
});
