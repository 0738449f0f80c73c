import { describe, expect, it } from "vitest";
import { memoryTree } from "./tree.js";
import { discoverWorkspace, matchWorkspaceFolders, workspacePatterns } from "./workspaces.js";

describe("workspacePatterns", () => {
  it("reads npm, yarn and pnpm declarations", () => {
    expect(workspacePatterns({ workspaces: ["a/*"] }, undefined)).toEqual({ manager: "npm", patterns: ["a/*"] });
    expect(workspacePatterns({ workspaces: { packages: ["b/*"] }, packageManager: "yarn@4.1.0" }, undefined)).toEqual({ manager: "yarn", patterns: ["b/*"] });
    expect(workspacePatterns({ workspaces: ["ignored"] }, "packages:\n  - c/*\n  - '!c/x'\n")).toEqual({ manager: "pnpm", patterns: ["c/*", "!c/x"] });
    expect(workspacePatterns({}, undefined)).toEqual({ manager: "none", patterns: [] });
    expect(workspacePatterns({}, ": not yaml : [")).toEqual({ manager: "pnpm", patterns: [] });
  });
});

describe("matchWorkspaceFolders", () => {
  const folders = ["", "packages/a", "packages/b", "packages/b/fixtures/x", "packages/nested/c", "apps/web", "packages/a/node_modules/dep", "tools"];
  it("matches folders with globs, exclusions, ./ and trailing slashes", () => {
    expect(matchWorkspaceFolders(["packages/*"], folders)).toEqual(["packages/a", "packages/b"]);
    expect(matchWorkspaceFolders(["./packages/**", "!packages/b/**", "!packages/b"], folders)).toEqual(["packages/a", "packages/nested/c"]);
    expect(matchWorkspaceFolders(["apps/web/", "tools"], folders)).toEqual(["apps/web", "tools"]);
    expect(matchWorkspaceFolders(["!packages/a"], folders)).toEqual([]);
  });
});

describe("discoverWorkspace", () => {
  it("reads the packages; names default to the folder; problems are warnings", async () => {
    const ws = await discoverWorkspace(
      memoryTree({
        "package.json": JSON.stringify({ name: "mono", workspaces: ["packages/*"] }),
        "packages/a/package.json": JSON.stringify({ name: "a", version: "1.0.0" }),
        "packages/b/package.json": JSON.stringify({ version: "2.0.0" }),
        "packages/c/package.json": "{ broken",
        "packages/d/package.json": JSON.stringify({ name: "a" }),
        "packages/e/readme.md": "no manifest",
      }),
    );
    expect(ws.root.name).toBe("mono");
    expect(ws.packages.map((p) => [p.name, p.path, p.version])).toEqual([
      ["a", "packages/a", "1.0.0"],
      ["packages/b", "packages/b", "2.0.0"],
      ["a", "packages/d", undefined],
    ]);
    expect(ws.warnings).toEqual(["packages/c/package.json: not a JSON object; skipped", "packages/d/package.json: the name 'a' is also used by packages/a"]);
  });
});
