import { describe, expect, it } from "vitest";
import { editDistance, suggest } from "./suggest.js";

describe("suggest", () => {
  it("finds likely typos only", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(suggest("comand", ["command", "cwd", "health"])).toBe("command");
    expect(suggest("blue_green", ["rolling", "blue-green", "canary"])).toBe("blue-green");
    expect(suggest("MinRequests", ["min_requests", "failure_limit"])).toBe("min_requests");
    expect(suggest("zzz", ["command", "cwd", "health"])).toBeUndefined();
    expect(suggest("x", [])).toBeUndefined();
  });
});
