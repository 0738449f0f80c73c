import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkMatches, decide, readProtection, ruleFor, writeProtection, type BranchProtection } from "./protected-branches.js";

const a = "a".repeat(40);
const b = "b".repeat(40);
const zero = "0".repeat(40);
const rule: BranchProtection = { branch: "main", requiredChecks: ["build"], allowForcePush: false, allowDeletion: false, requiredApprovals: 0, preventSelfApproval: true };
const passed = [{ name: "build", state: "success" as const, detail: "run 1" }];

describe("decide", () => {
  it("lets a fast-forward with passed checks through", () => {
    expect(decide({ ref: "refs/heads/main", before: a, after: b }, rule, { fastForward: true, checks: passed })).toBeUndefined();
  });

  it("refuses deletion and force pushes unless allowed", () => {
    expect(decide({ ref: "refs/heads/main", before: a, after: zero }, rule, { fastForward: true, checks: [] })).toContain("cannot be deleted");
    expect(decide({ ref: "refs/heads/main", before: a, after: zero }, { ...rule, allowDeletion: true }, { fastForward: true, checks: [] })).toBeUndefined();
    expect(decide({ ref: "refs/heads/main", before: a, after: b }, rule, { fastForward: false, checks: passed })).toContain("force pushes are refused");
    expect(decide({ ref: "refs/heads/main", before: a, after: b }, { ...rule, allowForcePush: true }, { fastForward: false, checks: passed })).toBeUndefined();
  });

  it("refuses direct pushes when changes need approvals", () => {
    expect(decide({ ref: "refs/heads/main", before: a, after: b }, { ...rule, requiredApprovals: 1 }, { fastForward: true, checks: passed })).toContain("only through change requests");
  });

  it("names each required check that has not passed, and what to do", () => {
    const why = decide({ ref: "refs/heads/main", before: zero, after: b }, { ...rule, requiredChecks: ["build", "test", "lint"] }, {
      fastForward: true,
      checks: [
        { name: "build", state: "success", detail: "run 1" },
        { name: "test", state: "failure", detail: "run 2" },
        { name: "lint", state: "pending", detail: "run 3" },
      ],
    });
    expect(why).toContain("'test' failed (run 2); 'lint' is still running (run 3)");
    expect(why).toContain("Push the commit to another branch");
    expect(why).not.toContain("'build'");
  });
});

describe("rules", () => {
  it("match branches exactly and only branches", () => {
    expect(ruleFor([rule], "refs/heads/main")).toBe(rule);
    expect(ruleFor([rule], "refs/heads/main2")).toBeUndefined();
    expect(ruleFor([rule], "refs/tags/main")).toBeUndefined();
  });

  it("are written and read back", () => {
    const dir = mkdtempSync(join(tmpdir(), "slipway-protection-"));
    try {
      expect(readProtection(dir)).toEqual([]);
      writeProtection(dir, [{ ...rule, branch: "release" }, rule]);
      expect(readProtection(dir).map((r) => r.branch)).toEqual(["main", "release"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("match checks by job id, display name or workflow / job", () => {
    const job = { key: "test", name: "test (20)", workflow: "CI" };
    expect(["test", "test (20)", "CI / test", "CI / test (20)"].every((c) => checkMatches(c, job))).toBe(true);
    expect(checkMatches("Other / test", job)).toBe(false);
  });
});
