import { describe, expect, it } from "vitest";
import { diffRefs } from "./hosted-repositories.js";

describe("diffRefs", () => {
  it("gives each created, moved and deleted ref with its old and new commit", () => {
    const a = "a".repeat(40);
    const b = "b".repeat(40);
    const z = "0".repeat(40);
    const before = new Map([
      ["refs/heads/main", a],
      ["refs/heads/old", a],
      ["refs/tags/v1", a],
    ]);
    const after = new Map([
      ["refs/heads/main", b],
      ["refs/heads/new", b],
      ["refs/tags/v1", a],
    ]);
    expect(diffRefs(before, after)).toEqual([
      { ref: "refs/heads/main", before: a, after: b },
      { ref: "refs/heads/new", before: z, after: b },
      { ref: "refs/heads/old", before: a, after: z },
    ]);
  });
});
