import { describe, expect, it } from "vitest";
import { buildGraph, resolveDependency } from "./graph.js";
import type { Workspace, WorkspacePackage } from "./workspaces.js";

const p = (name: string, path: string, manifest: Record<string, unknown> = {}, version = "1.2.0"): WorkspacePackage => ({ name, path, version, manifest: { name, version, ...manifest } });

function workspace(...packages: WorkspacePackage[]): Workspace {
  return { manager: "npm", root: p("root", ""), packages, warnings: [] };
}

describe("resolveDependency", () => {
  const lib = p("@acme/lib", "packages/lib");
  const app = p("app", "apps/app");
  const byName = new Map([[lib.name, lib], [app.name, app]]);
  const byPath = new Map([[lib.path, lib], [app.path, app]]);
  const resolve = (alias: string, spec: string) => resolveDependency(alias, spec, app, byName, byPath)?.name;

  it.each([
    ["@acme/lib", "workspace:*", "@acme/lib"],
    ["@acme/lib", "workspace:^", "@acme/lib"],
    ["@acme/lib", "workspace:~", "@acme/lib"],
    ["@acme/lib", "workspace:1.x", "@acme/lib"],
    ["other", "workspace:@acme/lib@*", "@acme/lib"],
    ["x", "workspace:../../packages/lib", "@acme/lib"],
    ["x", "npm:@acme/lib@^1", "@acme/lib"],
    ["x", "npm:@acme/lib@^2", undefined],
    ["x", "npm:@acme/lib", "@acme/lib"],
    ["x", "npm:@acme/lib@workspace:*", "@acme/lib"],
    ["x", "npm:lodash@^4", undefined],
    ["x", "file:../../packages/lib", "@acme/lib"],
    ["x", "link:../../packages/lib/", "@acme/lib"],
    ["x", "file:../../vendor/lib", undefined],
    ["@acme/lib", "^1.0.0", "@acme/lib"],
    ["@acme/lib", "^2.0.0", undefined],
    ["@acme/lib", "*", "@acme/lib"],
    ["@acme/lib", "some-dist-tag", "@acme/lib"],
    ["@acme/lib", "github:acme/lib", undefined],
    ["@acme/lib", "https://example.com/lib.tgz", undefined],
    ["lodash", "^4", undefined],
  ])("%s: %s → %s", (alias, spec, expected) => {
    expect(resolve(alias, spec)).toBe(expected);
  });
});

describe("buildGraph", () => {
  it("records dependents of every kind and ignores self-references", () => {
    const g = buildGraph(
      workspace(
        p("lib", "lib", { dependencies: { lib: "*" } }),
        p("a", "a", { dependencies: { lib: "*" } }),
        p("b", "b", { devDependencies: { lib: "*" }, peerDependencies: { lib: "*" } }),
        p("c", "c", { optionalDependencies: { a: "*" } }),
      ),
    );
    expect(g.dependents.get("lib")?.map((e) => `${e.from}:${e.kind}`)).toEqual(["a:dependencies", "b:devDependencies", "b:peerDependencies"]);
    expect(g.dependents.get("a")?.map((e) => e.from)).toEqual(["c"]);
    expect(g.cycles).toEqual([]);
  });

  it("finds every cycle, once", () => {
    const g = buildGraph(
      workspace(
        p("a", "a", { dependencies: { b: "*" } }),
        p("b", "b", { dependencies: { a: "*" } }),
        p("c", "c", { dependencies: { d: "*" } }),
        p("d", "d", { dependencies: { e: "*" } }),
        p("e", "e", { dependencies: { c: "*", a: "*" } }),
      ),
    );
    expect(g.cycles).toEqual([["a", "b"], ["c", "d", "e"]]);
  });

  it("handles long chains without recursion", () => {
    const pkgs = Array.from({ length: 20_000 }, (_, i) => p(`p${i}`, `p${i}`, i > 0 ? { dependencies: { [`p${i - 1}`]: "*" } } : { dependencies: { p19999: "*" } }));
    const g = buildGraph(workspace(...pkgs));
    expect(g.cycles).toHaveLength(1);
    expect(g.cycles[0]).toHaveLength(20_000);
  });
});
