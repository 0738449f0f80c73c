// Generated monorepos with real git history, for `slipway affected` and the
// comparison with `turbo ls --affected`: a `main` branch with the base files
// and a `feature` branch with one change committed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { git } from "./cli.js";

/** Files by path: text, an object written as JSON, or null to delete. */
export type Files = Record<string, string | object | null>;

/** Runs git in `dir` with a fixed identity (helpers/cli.ts's git); its output, trimmed. */
export function sh(dir: string, ...args: string[]): string {
  return git(dir, ...args);
}

/** Writes (or with null removes) files under `dir`. */
export function write(dir: string, files: Files): void {
  for (const [path, content] of Object.entries(files)) {
    const abs = join(dir, path);
    if (content === null) {
      rmSync(abs, { force: true });
      continue;
    }
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, typeof content === "string" ? content : JSON.stringify(content, null, 2) + "\n");
  }
}

const made: string[] = [];

/** Removes the repositories `repo` made (call it in afterAll). */
export function removeRepos(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * A repository whose `main` has `base`, and a branch `feature` checked out
 * with `change` committed; `removeRepos` removes it.
 */
export function repo(base: Files, change?: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), "slipway-affected-"));
  made.push(dir);
  sh(dir, "init", "-q", "-b", "main");
  write(dir, base);
  sh(dir, "add", "-A");
  sh(dir, "commit", "-q", "-m", "base");
  sh(dir, "checkout", "-q", "-b", "feature");
  if (change) {
    change(dir);
    sh(dir, "add", "-A");
    sh(dir, "commit", "-q", "--allow-empty", "-m", "change");
  }
  return dir;
}

/** A package.json object. */
export const pkg = (name: string, extra: object = {}) => ({ name, version: "1.0.0", ...extra });

/** The package-lock.json (v3) of NPM, with the versions of lodash and of react's dependency loose-envify. */
export const lock = (lodash: string, looseEnvify: string) => ({
  name: "root",
  lockfileVersion: 3,
  requires: true,
  packages: {
    "": { name: "root", workspaces: ["packages/*", "apps/*"], devDependencies: { "@acme/ui": "*" } },
    "apps/web": { name: "@acme/web", version: "1.0.0", dependencies: { "@acme/ui": "^1.0.0", react: "^18" } },
    "packages/solo": { name: "@acme/solo", version: "1.0.0", dependencies: { lodash: "^4" } },
    "packages/ui": { name: "@acme/ui", version: "1.0.0" },
    "node_modules/@acme/ui": { resolved: "packages/ui", link: true },
    "node_modules/@acme/web": { resolved: "apps/web", link: true },
    "node_modules/@acme/solo": { resolved: "packages/solo", link: true },
    "node_modules/lodash": { version: lodash, resolved: `https://registry.npmjs.org/lodash/-/lodash-${lodash}.tgz` },
    "node_modules/react": { version: "18.2.0", dependencies: { "loose-envify": "^1.1.0" } },
    "node_modules/loose-envify": { version: looseEnvify },
  },
});

/** NPM's root package.json, with `extra` fields replacing its own. */
export const rootJson = (extra: object = {}) => pkg("root", { private: true, workspaces: ["packages/*", "apps/*"], scripts: { build: "tsc -b" }, devDependencies: { "@acme/ui": "*" }, ...extra });

/** The npm monorepo: every dependency kind, `npm:` aliases, `file:`/`link:`, ranges that do not match, a root that depends on a workspace package. */
export const NPM: Files = {
  "package.json": rootJson(),
  "package-lock.json": lock("4.17.20", "1.4.0"),
  "tsconfig.base.json": "{}\n",
  "scripts/release.sh": "echo release\n",
  "README.md": "# acme\n",
  "packages/lib/package.json": pkg("@acme/lib"),
  "packages/lib/index.js": "export const lib = 1;\n",
  "packages/ui/package.json": pkg("@acme/ui", { dependencies: { "@acme/lib": "workspace:*" } }),
  "packages/ui/src/button.ts": "export const button = 1;\n",
  "apps/web/package.json": pkg("@acme/web", { dependencies: { "@acme/ui": "^1.0.0", react: "^18" } }),
  "apps/docs/package.json": pkg("@acme/docs", { devDependencies: { "@acme/ui": "*" } }),
  "packages/peer/package.json": pkg("@acme/peer", { peerDependencies: { "@acme/lib": "^1" } }),
  "packages/opt/package.json": pkg("@acme/opt", { optionalDependencies: { "@acme/lib": "file:../lib" } }),
  "packages/linked/package.json": pkg("@acme/linked", { dependencies: { "lib-link": "link:../lib" } }),
  "packages/alias/package.json": pkg("@acme/alias", { dependencies: { "lib-alias": "npm:@acme/lib@^1.0.0" } }),
  "packages/alias-old/package.json": pkg("@acme/alias-old", { dependencies: { "lib-v2": "npm:@acme/lib@^2.0.0" } }),
  "packages/registry-lib/package.json": pkg("@acme/registry-lib", { dependencies: { "@acme/lib": "^2.0.0" } }),
  "packages/solo/package.json": pkg("@acme/solo", { dependencies: { lodash: "^4" } }),
  "packages/solo/src/a.ts": "export const a = 1;\n",
};

/** A pnpm-lock.yaml (v9) of PNPM, with this lodash version. */
export const pnpmLock = (lodash: string) => `lockfileVersion: '9.0'
importers:
  .: {}
  packages/core:
    dependencies:
      lodash:
        specifier: ^4
        version: ${lodash}
  packages/nested/app:
    dependencies:
      core:
        specifier: workspace:^
        version: link:../../core
packages:
  lodash@${lodash}:
    resolution: {integrity: sha512-${lodash}}
snapshots:
  lodash@${lodash}: {}
`;

/** A pnpm monorepo: pnpm-workspace.yaml with an exclusion, `workspace:` ranges. */
export const PNPM: Files = {
  "package.json": pkg("root"),
  "pnpm-workspace.yaml": "packages:\n  - 'packages/**'\n  - '!packages/excluded'\n",
  "pnpm-lock.yaml": pnpmLock("4.17.20"),
  "packages/core/package.json": pkg("core", { dependencies: { lodash: "^4" } }),
  "packages/core/x.js": "1\n",
  "packages/nested/app/package.json": pkg("app", { dependencies: { core: "workspace:^" } }),
  "packages/tilde/package.json": pkg("tilde", { devDependencies: { core: "workspace:~" } }),
  "packages/range/package.json": pkg("range", { dependencies: { core: "workspace:1.x" } }),
  "packages/excluded/package.json": pkg("excluded", { dependencies: { core: "workspace:*" } }),
  "packages/other/package.json": pkg("other"),
};

/** A yarn 1 lockfile with this lodash version. */
export const yarnLock = (lodash: string) => `# yarn lockfile v1\n\n\nlodash@^4:\n  version "${lodash}"\n  resolved "https://registry.yarnpkg.com/lodash/-/lodash-${lodash}.tgz"\n`;

/** A yarn monorepo: workspaces as `{ packages }`. */
export const YARN: Files = {
  "package.json": pkg("root", { workspaces: { packages: ["libs/*"] } }),
  "yarn.lock": yarnLock("4.17.20"),
  "libs/one/package.json": pkg("one"),
  "libs/two/package.json": pkg("two", { dependencies: { one: "^1.0.0" } }),
  "libs/three/package.json": pkg("three", { dependencies: { lodash: "^4" } }),
};

/** Four packages; b and c depend on a, whose version bump b's range no longer satisfies. */
export const VERSION_BUMP: Files = {
  "package.json": pkg("root", { workspaces: ["packages/*"] }),
  "packages/a/package.json": pkg("a"),
  "packages/b/package.json": pkg("b", { dependencies: { a: "^1.0.0" } }),
  "packages/c/package.json": pkg("c", { dependencies: { a: "*" } }),
  "packages/d/package.json": pkg("d"),
};

/** a → b → c → a, and d → a. */
export const CYCLE: Files = {
  "package.json": pkg("root", { workspaces: ["packages/*"] }),
  "packages/a/package.json": pkg("a", { dependencies: { b: "*" } }),
  "packages/b/package.json": pkg("b", { dependencies: { c: "*" } }),
  "packages/c/package.json": pkg("c", { dependencies: { a: "*" } }),
  "packages/d/package.json": pkg("d", { dependencies: { a: "*" } }),
  "packages/c/x.js": "1\n",
};
