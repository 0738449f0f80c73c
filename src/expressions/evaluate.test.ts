import { describe, expect, it } from "vitest";
import { evaluateExpression } from "./evaluate.js";

describe("evaluateExpression", () => {
  it("evaluates a parsed (cached) expression against the contexts of each call", () => {
    expect(evaluateExpression("github.ref == 'refs/heads/main'", { github: { ref: "refs/heads/main" } })).toBe(true);
    expect(evaluateExpression("github.ref == 'refs/heads/main'", { github: { ref: "refs/heads/dev" } })).toBe(false);
  });

  it("reads contexts named in any case, by index and inside functions", () => {
    const contexts = { github: { sha: "abc" }, env: { A: "1" }, matrix: { os: "linux" } };
    expect(evaluateExpression("GitHub.sha", contexts)).toBe("abc");
    expect(evaluateExpression("format('{0}-{1}', env['A'], matrix.os)", contexts)).toBe("1-linux");
    expect(evaluateExpression("toJSON(matrix)", contexts)).toBe('{\n  "os": "linux"\n}');
  });

  it("gives missing contexts as empty objects", () => {
    expect(evaluateExpression("needs.build.result || 'none'", {})).toBe("none");
  });
});
