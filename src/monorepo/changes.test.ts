import { describe, expect, it } from "vitest";
import { parseNameStatus } from "./changes.js";

describe("parseNameStatus", () => {
  it("reads -z output with renames, copies and odd names", () => {
    const out = ["M", "a.ts", "R087", "old dir/x.ts", "new dir/x.ts", "D", "gone\nline.ts", "C100", "src.ts", "copy.ts", "A", "new.ts", ""].join("\0");
    expect(parseNameStatus(out)).toEqual([
      { status: "M", path: "a.ts" },
      { status: "R", path: "new dir/x.ts", oldPath: "old dir/x.ts" },
      { status: "D", path: "gone\nline.ts" },
      { status: "C", path: "copy.ts", oldPath: "src.ts" },
      { status: "A", path: "new.ts" },
    ]);
    expect(parseNameStatus("")).toEqual([]);
  });
});
