import { describe, expect, it } from "vitest";
import { nameAt, npmLockfileEffect } from "./npm-lockfile.js";
import type { Workspace } from "./workspaces.js";

const ws: Workspace = {
  manager: "npm",
  root: { name: "root", version: undefined, path: "", manifest: {} },
  packages: [
    { name: "a", version: "1.0.0", path: "packages/a", manifest: {} },
    { name: "b", version: "1.0.0", path: "packages/b", manifest: {} },
    { name: "c", version: "1.0.0", path: "packages/c", manifest: {} },
  ],
  warnings: [],
};

function lock(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    lockfileVersion: 3,
    packages: {
      "": { devDependencies: { prettier: "^3" } },
      "packages/a": { dependencies: { b: "*", x: "^1" } },
      "packages/b": { dependencies: { y: "^1" } },
      "packages/c": { dependencies: { x: "^2" } },
      "node_modules/a": { link: true, resolved: "packages/a" },
      "node_modules/b": { link: true, resolved: "packages/b" },
      "node_modules/prettier": { version: "3.0.0" },
      "node_modules/x": { version: "1.0.0", dependencies: { "@s/z": "^1" } },
      "node_modules/@s/z": { version: "1.0.0" },
      "packages/c/node_modules/x": { version: "2.0.0" },
      "node_modules/y": { version: "1.0.0" },
      ...extra,
    },
  });
}

describe("npmLockfileEffect", () => {
  const effect = (base: string | undefined, head: string | undefined) => {
    const e = npmLockfileEffect(base, head, ws);
    return e.ok ? Object.fromEntries(e.affected) : e.reason;
  };

  it("marks the workspaces whose closure reaches a changed entry, hoisted or nested", () => {
    expect(effect(lock(), lock())).toEqual({});
    expect(effect(lock(), lock({ "node_modules/@s/z": { version: "1.0.1" } }))).toEqual({ "packages/a": ["@s/z"] });
    expect(effect(lock(), lock({ "packages/c/node_modules/x": { version: "2.0.1" } }))).toEqual({ "packages/c": ["x"] });
    // b's own dependency: b only; a depends on b, which the package graph propagates.
    expect(effect(lock(), lock({ "node_modules/y": { version: "1.1.0" } }))).toEqual({ "packages/b": ["y"] });
    expect(effect(lock(), lock({ "node_modules/prettier": { version: "3.1.0" } }))).toEqual({ "": ["prettier"] });
  });

  it("counts entries added or removed, from either side's closure", () => {
    const base = lock();
    const head = JSON.parse(lock()) as { packages: Record<string, unknown> };
    delete head.packages["node_modules/@s/z"];
    expect(effect(base, JSON.stringify(head))).toEqual({ "packages/a": ["@s/z"] });
    expect(effect(undefined, lock())).toEqual({ "": ["prettier"], "packages/a": ["@s/z", "x"], "packages/b": ["y"], "packages/c": ["x"] });
  });

  it("refuses lockfile v1 and malformed text, with a reason", () => {
    expect(effect(JSON.stringify({ lockfileVersion: 1, dependencies: {} }), lock())).toMatch(/lockfileVersion 1/);
    expect(effect("{", lock())).toMatch(/not JSON/);
  });

  it("names the package at a location", () => {
    expect(nameAt("node_modules/a/node_modules/@s/b")).toBe("@s/b");
    expect(nameAt("node_modules/x")).toBe("x");
  });
});
