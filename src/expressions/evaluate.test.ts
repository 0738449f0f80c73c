import { describe, expect, it } from "vitest";
import { evaluateExpression, trackSecretReads } from "./evaluate.js";

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

describe("trackSecretReads", () => {
  it("reports the names of the secrets an expression reads (as stored), never values, and only those", () => {
    const read: string[] = [];
    const secrets = trackSecretReads({ TOKEN: "t0k3n", OTHER: "o" }, (n) => read.push(n));
    expect(evaluateExpression("secrets.token", { secrets })).toBe("t0k3n");
    expect(evaluateExpression("secrets['OTHER'] == 'x'", { secrets })).toBe(false);
    expect(evaluateExpression("secrets.MISSING", { secrets })).toBeNull();
    expect(read).toEqual(["TOKEN", "OTHER"]);
    // An expression that does not name secrets reads none; a spread copy does not track.
    read.length = 0;
    expect(evaluateExpression("github.ref", { github: { ref: "r" }, secrets })).toBe("r");
    expect(evaluateExpression("secrets.TOKEN", { secrets: { ...secrets } })).toBe("t0k3n");
    expect(read).toEqual([]);
    // The whole context read: every name.
    evaluateExpression("toJSON(secrets)", { secrets });
    expect([...new Set(read)].sort()).toEqual(["OTHER", "TOKEN"]);
  });
});
