import { describe, expect, it } from "vitest";
import { bunLockfileEffect, parseJsonc } from "./bun-lockfile.js";
import type { Workspace } from "./workspaces.js";

const ws: Workspace = {
  manager: "npm",
  root: { name: "root", version: undefined, path: "", manifest: {} },
  packages: [
    { name: "@acme/a", version: "1.0.0", path: "packages/a", manifest: {} },
    { name: "@acme/b", version: "1.0.0", path: "packages/b", manifest: {} },
    { name: "@acme/c", version: "1.0.0", path: "packages/c", manifest: {} },
  ],
  warnings: [],
};

/** A bun.lock as bun writes it: a depends on lodash (hoisted) and left-pad; b on old-lodash-user, which has its own lodash 3; c on nothing external. */
function lock(o: { lodash?: string; lodash3?: string; leftPad?: string; react?: string } = {}): string {
  return `{
  "lockfileVersion": 1,
  "workspaces": {
    "": {
      "name": "root",
      "devDependencies": { "typescript": "^5", },
    },
    "packages/a": {
      "name": "@acme/a",
      "dependencies": { "@acme/c": "workspace:*", "lodash": "^4", "left-pad": "^1", },
    },
    "packages/b": {
      "name": "@acme/b",
      "dependencies": { "old-lodash-user": "^2", },
      "optionalDependencies": { "react": "^18", },
    },
    "packages/c": {
      "name": "@acme/c",
    },
  },
  "packages": {
    "@acme/a": ["@acme/a@workspace:packages/a"],
    "@acme/b": ["@acme/b@workspace:packages/b"],
    "@acme/c": ["@acme/c@workspace:packages/c"],
    "left-pad": ["left-pad@${o.leftPad ?? "1.3.0"}", "", {}, "sha512-left"],
    "lodash": ["lodash@${o.lodash ?? "4.17.21"}", "", {}, "sha512-lodash4"],
    "old-lodash-user": ["old-lodash-user@2.0.0", "", { "dependencies": { "lodash": "^3" } }, "sha512-olu"],
    "old-lodash-user/lodash": ["lodash@${o.lodash3 ?? "3.10.1"}", "", {}, "sha512-lodash3"],
    // bun does not write comments, but reads them
    "react": ["react@${o.react ?? "18.2.0"}", "", { "dependencies": { "loose-envify": "^1" } }, "sha512-react"],
    "loose-envify": ["loose-envify@1.4.0", "", {}, "sha512-le"],
    "typescript": ["typescript@5.4.0", "", { "bin": { "tsc": "bin/tsc" } }, "sha512-ts"],
  }
}
`;
}

const affected = (base: string | undefined, head: string | undefined) => {
  const e = bunLockfileEffect(base, head, ws);
  if (!e.ok) throw new Error(e.reason);
  return Object.fromEntries(e.affected);
};

describe("bun.lock", () => {
  it("reads bun's JSONC: trailing commas and comments, strings left alone", () => {
    expect(parseJsonc('{ "a": [1, 2,], /* x */ "b": "//not a comment, }", // y\n }')).toEqual({ a: [1, 2], b: "//not a comment, }" });
    expect(() => parseJsonc("{ nope }")).toThrow(SyntaxError);
  });

  it("marks only the workspaces whose resolved dependencies changed, following nested resolutions", () => {
    expect(affected(lock(), lock())).toEqual({});
    // The hoisted lodash: only a resolves to it; b's old-lodash-user has its own lodash 3.
    expect(affected(lock(), lock({ lodash: "4.17.22" }))).toEqual({ "packages/a": ["lodash"] });
    // The nested lodash 3: only b, through old-lodash-user.
    expect(affected(lock(), lock({ lodash3: "3.10.2" }))).toEqual({ "packages/b": ["lodash"] });
    // An optional dependency, and a root devDependency.
    expect(affected(lock(), lock({ react: "18.3.0" }))).toEqual({ "packages/b": ["react"] });
    expect(affected(lock(), lock().replace("typescript@5.4.0", "typescript@5.5.0"))).toEqual({ "": ["typescript"] });
  });

  it("a transitive change reaches the workspace through its dependency", () => {
    const head = lock().replace('"loose-envify@1.4.0", "", {}, "sha512-le"', '"loose-envify@1.4.1", "", {}, "sha512-le2"');
    expect(affected(lock(), head)).toEqual({ "packages/b": ["loose-envify"] });
  });

  it("a lockfile added or removed marks what it resolves; one it cannot read is a reason to mark all", () => {
    expect(affected(undefined, lock())).toEqual({ "": ["typescript"], "packages/a": ["left-pad", "lodash"], "packages/b": ["lodash", "loose-envify", "old-lodash-user", "react"] });
    expect(bunLockfileEffect(lock(), "{ broken", ws)).toMatchObject({ ok: false, reason: expect.stringMatching(/^bun\.lock is not valid JSON/) });
    expect(bunLockfileEffect(lock(), lock().replace('"lockfileVersion": 1', '"lockfileVersion": 7'), ws)).toEqual({ ok: false, reason: "bun.lock has lockfileVersion 7, which this Slipway does not read" });
  });
});
