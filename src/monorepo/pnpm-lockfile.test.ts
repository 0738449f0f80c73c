import { describe, expect, it } from "vitest";
import { pnpmLockfileEffect } from "./pnpm-lockfile.js";
import type { Workspace } from "./workspaces.js";

const ws: Workspace = {
  manager: "pnpm",
  root: { name: "root", version: undefined, path: "", manifest: {} },
  packages: [
    { name: "a", version: "1.0.0", path: "packages/a", manifest: {} },
    { name: "b", version: "1.0.0", path: "packages/b", manifest: {} },
  ],
  warnings: [],
};

function v9(opts: { lodash?: string; jsTokens?: string } = {}): string {
  const lodash = opts.lodash ?? "4.17.21";
  const jsTokens = opts.jsTokens ?? "4.0.0";
  return `lockfileVersion: '9.0'

importers:
  .:
    devDependencies:
      typescript:
        specifier: ^5
        version: 5.4.0
  packages/a:
    dependencies:
      b:
        specifier: workspace:*
        version: link:../b
      lodash:
        specifier: ^4
        version: ${lodash}
  packages/b:
    dependencies:
      react:
        specifier: ^18
        version: 18.2.0
      my-alias:
        specifier: npm:left-pad@^1
        version: left-pad@1.3.0

packages:
  typescript@5.4.0:
    resolution: {integrity: sha512-ts}
  lodash@${lodash}:
    resolution: {integrity: sha512-lodash${lodash}}
  react@18.2.0:
    resolution: {integrity: sha512-react}
  js-tokens@${jsTokens}:
    resolution: {integrity: sha512-jt${jsTokens}}
  loose-envify@1.4.0:
    resolution: {integrity: sha512-le}
  left-pad@1.3.0:
    resolution: {integrity: sha512-lp}

snapshots:
  typescript@5.4.0: {}
  lodash@${lodash}: {}
  react@18.2.0:
    dependencies:
      loose-envify: 1.4.0
  loose-envify@1.4.0:
    dependencies:
      js-tokens: ${jsTokens}
  js-tokens@${jsTokens}: {}
  left-pad@1.3.0: {}
`;
}

const effect = (base: string | undefined, head: string | undefined) => {
  const e = pnpmLockfileEffect(base, head, ws);
  return e.ok ? Object.fromEntries(e.affected) : e.reason;
};

describe("pnpmLockfileEffect (v9)", () => {
  it("marks the importers whose closure changed", () => {
    expect(effect(v9(), v9())).toEqual({});
    expect(effect(v9(), v9({ lodash: "4.17.22" }))).toEqual({ "packages/a": ["lodash"] });
    expect(effect(v9(), v9({ jsTokens: "4.0.1" }))).toEqual({ "packages/b": ["js-tokens", "loose-envify"] });
  });

  it("follows npm: aliases to the package they name", () => {
    expect(effect(v9(), v9().replace("sha512-lp", "sha512-lp2"))).toEqual({ "packages/b": ["left-pad"] });
  });

  it("reads v6 lockfiles (keys with a leading slash)", () => {
    const v6 = (lodash: string) => `lockfileVersion: '6.0'
importers:
  .: {}
  packages/a:
    dependencies:
      lodash:
        specifier: ^4
        version: ${lodash}
packages:
  /lodash@${lodash}:
    resolution: {integrity: sha512-${lodash}}
    dev: false
`;
    expect(effect(v6("4.17.20"), v6("4.17.21"))).toEqual({ "packages/a": ["lodash"] });
  });

  it("refuses old or broken lockfiles with a reason", () => {
    expect(effect("lockfileVersion: 5.4\n", v9())).toMatch(/older than 6.0/);
    expect(effect(": [", v9())).toMatch(/not valid YAML/);
  });
});
