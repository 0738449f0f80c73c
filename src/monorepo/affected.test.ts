import { describe, expect, it } from "vitest";
import { changedFields, decideAffected, globalFilePatterns, type FileChange } from "./affected.js";
import type { Workspace, WorkspacePackage } from "./workspaces.js";

const p = (name: string, path: string, manifest: Record<string, unknown> = {}): WorkspacePackage => ({ name, path, version: "1.0.0", manifest: { name, version: "1.0.0", ...manifest } });

function ws(manager: Workspace["manager"], rootManifest: Record<string, unknown> = {}): Workspace {
  return {
    manager,
    root: p("root", "", rootManifest),
    packages: [p("a", "packages/a"), p("b", "packages/b", { dependencies: { a: "*" } }), p("a-tests", "packages/a/tests", { devDependencies: { a: "*" } })],
    warnings: [],
  };
}

const run = (workspace: Workspace, changes: FileChange[], base: Record<string, string | undefined> = {}, head: Record<string, string | undefined> = {}, headLockfiles: string[] = []) =>
  decideAffected({ workspace, changes, rootFiles: { base, head }, headLockfiles });
const names = (r: ReturnType<typeof run>) => r.packages.map((x) => x.name);

describe("decideAffected", () => {
  it("maps a file to the deepest package folder", () => {
    expect(names(run(ws("npm"), [{ status: "M", path: "packages/a/tests/x.test.ts" }]))).toEqual(["a-tests"]);
    expect(names(run(ws("npm"), [{ status: "M", path: "packages/a/src/x.ts" }]))).toEqual(["a", "a-tests", "b"]);
    expect(names(run(ws("npm"), [{ status: "M", path: "packages/ab/x.ts" }]))).toEqual(["root"]);
  });

  it("keeps every direct reason and one chain", () => {
    const r = run(ws("npm"), [
      { status: "M", path: "packages/a/x.ts" },
      { status: "R", path: "packages/b/new.ts", oldPath: "packages/a/old.ts" },
    ]);
    const b = r.packages.find((x) => x.name === "b");
    expect(b?.reasons.map((x) => x.message)).toEqual(["changed packages/b/new.ts", "depends on a (dependency)"]);
    expect(b?.chain).toEqual(["b", "changed packages/b/new.ts"]);
    expect(r.packages.find((x) => x.name === "a")?.reasons.map((x) => x.message)).toEqual(["changed packages/a/x.ts", "changed packages/a/old.ts"]);
  });

  it("counts a path once", () => {
    const r = run(ws("npm"), [
      { status: "M", path: "packages/a/x.ts" },
      { status: "M", path: "packages/a/x.ts" },
    ]);
    expect(r.packages[0]?.reasons).toHaveLength(1);
  });

  it("root package.json: overrides mark all without a lockfile, the root only with one (whose diff shows their effect)", () => {
    const base = JSON.stringify({ name: "root" });
    const head = JSON.stringify({ name: "root", resolutions: { x: "1" } });
    const change = [{ status: "M", path: "package.json" }];
    expect(names(run(ws("yarn"), change, { "package.json": base }, { "package.json": head }))).toEqual(["root", "a", "a-tests", "b"]);
    expect(names(run(ws("yarn"), change, { "package.json": base }, { "package.json": head }, ["yarn.lock"]))).toEqual(["root"]);
    expect(names(run(ws("npm"), change, { "package.json": base }, { "package.json": head }, ["bun.lockb"]))).toHaveLength(4);
    // Unreadable or new: everything.
    expect(names(run(ws("npm"), change, { "package.json": undefined }, { "package.json": head }))).toHaveLength(4);
    // No field changed (formatting only): nothing.
    expect(names(run(ws("npm"), change, { "package.json": base }, { "package.json": `${base}\n` }))).toEqual([]);
  });

  it("a package-lock.json it cannot analyse marks all, with a warning", () => {
    const r = run(ws("npm"), [{ status: "M", path: "package-lock.json" }], { "package-lock.json": "{}" }, { "package-lock.json": '{"lockfileVersion":1}' });
    expect(names(r)).toHaveLength(4);
    expect(r.warnings[0]).toMatch(/lockfileVersion 1/);
    const bun = run(ws("npm"), [{ status: "M", path: "bun.lockb" }]);
    expect(bun.packages.map((x) => x.reasons[0]?.message)).toEqual(Array(4).fill("bun.lockb changed (not analysed yet)"));
  });

  it("global files: defaults, and the root package.json's slipway.globalFiles", () => {
    expect(globalFilePatterns({})).toContain("tsconfig*.json");
    expect(globalFilePatterns({ slipway: { globalFiles: ["x", 1] } })).toEqual(["x"]);
    expect(names(run(ws("npm"), [{ status: "A", path: ".nvmrc" }]))).toHaveLength(4);
    expect(names(run(ws("npm"), [{ status: "A", path: "config/tsconfig.json" }]))).toEqual(["root"]);
  });
});

describe("changedFields", () => {
  it("lists the top-level fields that differ", () => {
    expect(changedFields('{"a":1,"b":{"c":1}}', '{"a":1,"b":{"c":2},"d":0}')).toEqual(["b", "d"]);
    expect(changedFields(undefined, "{}")).toBe("whole");
  });
});
