// `slipway affected` on monorepos generated here, with real git history: one
// test per rule of docs/affected.md.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { affectedCommand } from "../src/cli/affected.js";
import { git as gitIn, makeRepo, removeDir, runCli } from "./helpers/cli.js";
import { CYCLE, lock, NPM, pkg, PNPM, pnpmLock, removeRepos, repo, rootJson, sh, VERSION_BUMP, write, YARN, yarnLock, type Files } from "./helpers/monorepo.js";
import { findAffected, type FindAffectedResult } from "../src/monorepo/index.js";

afterAll(removeRepos);

async function affected(dir: string, opts: { base?: string; uncommitted?: boolean } = {}): Promise<FindAffectedResult> {
  return findAffected(dir, { base: "main", ...opts });
}
const names = (r: FindAffectedResult) => r.packages.map((p) => p.name).sort();
const byName = (r: FindAffectedResult, name: string) => r.packages.find((p) => p.name === name);
const ALL = ["root", "@acme/lib", "@acme/ui", "@acme/web", "@acme/docs", "@acme/peer", "@acme/opt", "@acme/linked", "@acme/alias", "@acme/alias-old", "@acme/registry-lib", "@acme/solo"].sort();

describe("slipway affected on generated monorepos", () => {
  it("a source change marks its package only", async () => {
    const r = await affected(repo(NPM, (d) => write(d, { "packages/solo/src/a.ts": "export const a = 2;\n" })));
    expect(names(r)).toEqual(["@acme/solo"]);
    expect(byName(r, "@acme/solo")?.chain).toEqual(["@acme/solo", "changed packages/solo/src/a.ts"]);
    expect(r.cycles).toEqual([]);
  });

  it("propagates to dependents transitively, through every dependency kind, aliases and paths", async () => {
    const r = await affected(repo(NPM, (d) => write(d, { "packages/lib/index.js": "export const lib = 2;\n" })));
    // Not alias-old nor registry-lib: their ranges (^2) are not satisfied by the workspace's 1.0.0, so npm installs from the registry.
    expect(names(r)).toEqual(["root", "@acme/lib", "@acme/ui", "@acme/web", "@acme/docs", "@acme/peer", "@acme/opt", "@acme/linked", "@acme/alias"].sort());
    expect(byName(r, "@acme/web")?.chain).toEqual(["@acme/web", "@acme/ui (dependency)", "@acme/lib (dependency)", "changed packages/lib/index.js"]);
    expect(byName(r, "@acme/docs")?.chain[1]).toBe("@acme/ui (devDependency)");
    expect(byName(r, "@acme/peer")?.chain[1]).toBe("@acme/lib (peerDependency)");
    expect(byName(r, "@acme/opt")?.chain[1]).toBe("@acme/lib (optionalDependency)");
    expect(byName(r, "@acme/linked")?.chain[1]).toBe("@acme/lib (dependency)");
    expect(byName(r, "@acme/alias")?.chain[1]).toBe("@acme/lib (dependency)");
    // The root depends on @acme/ui: it is a dependent like any other, not a reason to mark everything.
    expect(byName(r, "root")?.chain).toEqual(["root", "@acme/ui (devDependency)", "@acme/lib (dependency)", "changed packages/lib/index.js"]);
  });

  it("a lockfile change marks only the packages whose resolved dependencies changed", async () => {
    const r = await affected(repo(NPM, (d) => write(d, { "package-lock.json": lock("4.17.21", "1.4.0") })));
    expect(names(r)).toEqual(["@acme/solo"]);
    expect(byName(r, "@acme/solo")?.reasons[0]).toMatchObject({ type: "lockfile", dependencies: ["lodash"] });
    // A transitive dependency (react → loose-envify) reaches the app that uses react.
    const t = await affected(repo(NPM, (d) => write(d, { "package-lock.json": lock("4.17.20", "1.4.1") })));
    expect(names(t)).toEqual(["@acme/web"]);
    expect(byName(t, "@acme/web")?.chain).toEqual(["@acme/web", "package-lock.json: resolved loose-envify changed"]);
  });

  it("a root package.json dependency or scripts change marks the root only; a workspaces change marks all", async () => {
    const deps = await affected(
      repo(NPM, (d) => write(d, { "package.json": rootJson({ devDependencies: { "@acme/ui": "*", typescript: "^5" } }) })),
    );
    expect(names(deps)).toEqual(["root"]);
    expect(deps.packages[0]?.reasons[0]).toMatchObject({ type: "manifest", fields: ["devDependencies"] });
    const scripts = await affected(
      repo(NPM, (d) => write(d, { "package.json": rootJson({ scripts: { build: "tsc -b", lint: "eslint ." } }) })),
    );
    expect(names(scripts)).toEqual(["root"]);
    const ws = await affected(
      repo(NPM, (d) => write(d, { "package.json": rootJson({ workspaces: ["packages/*", "apps/*", "tools/*"] }) })),
    );
    expect(names(ws)).toEqual(ALL);
    expect(byName(ws, "@acme/solo")?.reasons[0]?.message).toBe("package.json: workspaces changed");
  });

  it("a root global file marks all; the list is configurable in the root package.json", async () => {
    const r = await affected(repo(NPM, (d) => write(d, { "tsconfig.base.json": '{ "compilerOptions": {} }\n' })));
    expect(names(r)).toEqual(ALL);
    expect(byName(r, "@acme/web")?.chain).toEqual(["@acme/web", "global file tsconfig.base.json changed"]);
    const configured = { ...NPM, "package.json": pkg("root", { workspaces: ["packages/*", "apps/*"], slipway: { globalFiles: ["babel.config.js"] } }), "babel.config.js": "x\n" };
    expect(names(await affected(repo(configured, (d) => write(d, { "tsconfig.base.json": "{ }\n" }))))).toEqual(["root"]);
    expect(names(await affected(repo(configured, (d) => write(d, { "babel.config.js": "y\n" }))))).toHaveLength(ALL.length);
  });

  it("the root package's own files mark the root package", async () => {
    const r = await affected(repo(NPM, (d) => write(d, { "scripts/release.sh": "echo v2\n", "README.md": "# acme 2\n" })));
    expect(names(r)).toEqual(["root"]);
    expect(byName(r, "root")?.reasons.map((x) => x.message).sort()).toEqual(["changed README.md", "changed scripts/release.sh"]);
  });

  it("a renamed file counts for its old and new package; a deleted file counts", async () => {
    const renamed = await affected(repo(NPM, (d) => sh(d, "mv", "packages/solo/src/a.ts", "apps/docs/a.ts")));
    expect(names(renamed)).toEqual(["@acme/docs", "@acme/solo"]);
    const deleted = await affected(repo(NPM, (d) => write(d, { "packages/solo/src/a.ts": null })));
    expect(names(deleted)).toEqual(["@acme/solo"]);
    expect(deleted.packages[0]?.reasons[0]).toMatchObject({ type: "file", status: "D" });
    // A whole package moved: its old paths belong to it, not to the root.
    const moved = await affected(repo(NPM, (d) => sh(d, "mv", "packages/solo", "packages/solo2")));
    expect(names(moved)).toEqual(["@acme/solo"]);
    // A package removed: nothing to build for it, reported as removed.
    const removed = await affected(repo(NPM, (d) => rmSync(join(d, "packages/solo"), { recursive: true })));
    expect(names(removed)).toEqual([]);
    expect(removed.removed).toEqual(["@acme/solo"]);
  });

  it("a dependent whose range a version bump no longer satisfies is affected through the base graph", async () => {
    const r = await affected(repo(VERSION_BUMP, (d) => write(d, { "packages/a/package.json": { name: "a", version: "2.0.0" } })));
    expect(names(r)).toEqual(["a", "b", "c"]);
    expect(byName(r, "b")?.chain).toEqual(["b", "a (dependency, at the base)", "changed packages/a/package.json"]);
    expect(byName(r, "c")?.chain).toEqual(["c", "a (dependency)", "changed packages/a/package.json"]);
  });

  it("cycles are reported and propagation ends", async () => {
    const r = await affected(repo(CYCLE, (d) => write(d, { "packages/c/x.js": "2\n" })));
    expect(r.cycles).toEqual([["a", "b", "c"]]);
    expect(names(r)).toEqual(["a", "b", "c", "d"]);
    expect(byName(r, "a")?.chain).toEqual(["a", "b (dependency)", "c (dependency)", "changed packages/c/x.js"]);
  });

  it("pnpm: pnpm-workspace.yaml with exclusions and workspace: ranges; a pnpm-lock.yaml change touching one package", async () => {
    const r = await affected(repo(PNPM, (d) => write(d, { "packages/core/x.js": "2\n" })));
    expect(names(r)).toEqual(["app", "core", "range", "tilde"]);
    const lockChange = await affected(repo(PNPM, (d) => write(d, { "pnpm-lock.yaml": pnpmLock("4.17.21") })));
    expect(names(lockChange)).toEqual(["app", "core", "range", "tilde"]);
    expect(byName(lockChange, "core")?.reasons[0]?.message).toBe("pnpm-lock.yaml: resolved lodash changed");
    expect(byName(lockChange, "app")?.chain).toEqual(["app", "core (dependency)", "pnpm-lock.yaml: resolved lodash changed"]);
  });

  it("yarn: workspaces as { packages }; a yarn.lock change touching one package; a bun.lock it cannot read marks all", async () => {
    const r = await affected(repo(YARN, (d) => write(d, { "yarn.lock": yarnLock("4.17.21") })));
    expect(names(r)).toEqual(["three"]);
    expect(names(await affected(repo(YARN, (d) => write(d, { "libs/one/x.js": "1\n" }))))).toEqual(["one", "two"]);
    const bun = await affected(repo(YARN, (d) => write(d, { "bun.lock": "{}\n" })));
    expect(names(bun)).toEqual(["one", "root", "three", "two"]);
    expect(byName(bun, "two")?.reasons[0]?.message).toBe("bun.lock changed (bun.lock has lockfileVersion undefined, which this Slipway does not read)");
  });

  it("bun: a bun.lock change marks the package whose resolved dependency changed, and its dependents", async () => {
    const bunLock = (lodash: string) => `{
  "lockfileVersion": 1,
  "workspaces": {
    "": { "name": "root", },
    "packages/util": { "name": "util", "dependencies": { "lodash": "^4", }, },
    "packages/app": { "name": "app", "dependencies": { "util": "workspace:*", }, },
    "packages/other": { "name": "other", "dependencies": { "left-pad": "^1", }, },
  },
  "packages": {
    "app": ["app@workspace:packages/app"],
    "left-pad": ["left-pad@1.3.0", "", {}, "sha512-lp"],
    "lodash": ["lodash@${lodash}", "", {}, "sha512-${lodash}"],
    "other": ["other@workspace:packages/other"],
    "util": ["util@workspace:packages/util"],
  }
}
`;
    const BUN: Files = {
      "package.json": pkg("root", { private: true, workspaces: ["packages/*"] }),
      "packages/util/package.json": pkg("util", { dependencies: { lodash: "^4" } }),
      "packages/app/package.json": pkg("app", { dependencies: { util: "workspace:*" } }),
      "packages/other/package.json": pkg("other", { dependencies: { "left-pad": "^1" } }),
      "bun.lock": bunLock("4.17.20"),
    };
    const r = await affected(repo(BUN, (d) => write(d, { "bun.lock": bunLock("4.17.21") })));
    expect(names(r)).toEqual(["app", "util"]);
    expect(byName(r, "util")?.reasons[0]?.message).toBe("bun.lock: resolved lodash changed");
    expect(byName(r, "app")?.chain).toEqual(["app", "util (dependency)", "bun.lock: resolved lodash changed"]);
  });

  it("--uncommitted adds staged, unstaged and untracked files", async () => {
    const dir = repo(NPM);
    write(dir, { "packages/solo/new.ts": "untracked\n", "apps/docs/README.md": "staged\n", "packages/lib/index.js": "unstaged\n" });
    sh(dir, "add", "apps/docs/README.md");
    expect(names(await affected(dir))).toEqual([]);
    const r = await affected(dir, { uncommitted: true });
    expect(names(r)).toEqual(expect.arrayContaining(["@acme/solo", "@acme/docs", "@acme/lib", "@acme/ui"]));
  });

  it("affectedCommand prints JSON and explanations", async () => {
    const dir = repo(NPM, (d) => write(d, { "packages/ui/src/button.ts": "export const button = 2;\n" }));
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true));
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(await affectedCommand({ directory: dir, base: "main", json: true })).toBe(0);
      const json = JSON.parse(out.join("")) as { base: string; head: string; packages: { name: string; path: string; reasons: unknown[] }[]; cycles: unknown[] };
      expect(json.base).toMatch(/^[0-9a-f]{40}$/);
      expect(json.packages.map((p) => p.name).sort()).toEqual(["@acme/docs", "@acme/ui", "@acme/web", "root"]);
      expect(json.packages.find((p) => p.name === "root")?.path).toBe(".");
      expect(json.cycles).toEqual([]);
      out.length = 0;
      expect(await affectedCommand({ directory: dir, base: "main", explain: true })).toBe(0);
      expect(out.join("")).toContain("@acme/web ← @acme/ui (dependency) ← changed packages/ui/src/button.ts");
    } finally {
      spy.mockRestore();
      err.mockRestore();
    }
  });

  it("the workspace root may be a folder of the repository; the base defaults to the default branch", async () => {
    const files: Files = {
      "go/main.go": "package main\n",
      "js/package.json": pkg("js-root", { workspaces: ["packages/*"] }),
      "js/packages/a/package.json": pkg("a"),
      "js/packages/b/package.json": pkg("b", { dependencies: { a: "^1" } }),
      "js/packages/a/x.js": "1\n",
    };
    const dir = repo(files, (d) => write(d, { "go/main.go": "package main // changed\n", "js/packages/a/x.js": "2\n", "js/package.json": pkg("js-root", { workspaces: ["packages/*"], scripts: { t: "x" } }) }));
    const r = await findAffected(join(dir, "js"));
    expect(r.baseRef).toBe("main");
    expect(names(r)).toEqual(["a", "b", "js-root"]);
    expect(byName(r, "js-root")?.reasons[0]).toMatchObject({ type: "manifest", fields: ["scripts"] });
    expect(byName(r, "a")?.chain).toEqual(["a", "changed packages/a/x.js"]);
  });

  it("a base that does not exist is an error naming it", async () => {
    await expect(findAffected(repo(NPM), { base: "nope" })).rejects.toThrow(/'nope' is not a commit/);
  });
});

describe("slipway affected on the command line", () => {
  it("prints the affected packages as JSON and their reasons with --explain; a bad ref is exit 2", async () => {
    const repo = makeRepo({
      "package.json": JSON.stringify({ name: "root", private: true, workspaces: ["packages/*"] }),
      "packages/a/package.json": JSON.stringify({ name: "@x/a", version: "1.0.0" }),
      "packages/b/package.json": JSON.stringify({ name: "@x/b", version: "1.0.0", dependencies: { "@x/a": "workspace:*" } }),
      "packages/c/package.json": JSON.stringify({ name: "@x/c", version: "1.0.0" }),
    });
    try {
      gitIn(repo, "checkout", "-q", "-b", "feature");
      writeFileSync(join(repo, "packages/a/index.js"), "export const a = 1;\n");
      gitIn(repo, "add", "-A");
      gitIn(repo, "commit", "-q", "-m", "a");
      const json = await runCli(["affected", "--base", "main", "--json"], { cwd: repo });
      expect(json.code, json.stderr).toBe(0);
      expect((JSON.parse(json.stdout) as { packages: Array<{ name: string }> }).packages.map((p) => p.name)).toEqual(["@x/a", "@x/b"]);
      const explain = await runCli(["affected", "--base", "main", "--explain"], { cwd: repo });
      expect(explain.stdout).toContain("@x/b ← @x/a (dependency) ← changed packages/a/index.js");
      const bad = await runCli(["affected", "--base", "no-such-ref"], { cwd: repo });
      expect(bad.code).toBe(2);
    } finally {
      removeDir(repo);
    }
  });
});

describe("the slipway/affected action and examples/monorepo", () => {
  it("tests only the affected packages: all three after a change to util, web alone after a change to web", async () => {
    const example = join(import.meta.dirname, "../examples/monorepo");
    const repo = makeRepo({}, example);
    const data = mkdtempSync(join(tmpdir(), "slipway-affected-data-"));
    try {
      const run = async () => {
        const res = await runCli(["run", "--json", "--data-dir", data], { cwd: repo, timeoutMs: 120_000 });
        expect(res.code, res.stderr + res.stdout.slice(-2000)).toBe(0);
        const jobs = (JSON.parse(res.stdout) as { runs: Array<{ jobs: Array<{ name: string; conclusion: string }> }> }).runs[0]?.jobs ?? [];
        return jobs.filter((j) => j.name.startsWith("test ")).map((j) => `${j.name}=${j.conclusion}`).sort();
      };
      writeFileSync(join(repo, "packages/util/index.js"), "export const shout = (s) => `${s.toUpperCase()}!`; // changed\n");
      gitIn(repo, "commit", "-qam", "util");
      expect(await run()).toEqual(["test @example/ui=success", "test @example/util=success", "test @example/web=success"]);
      writeFileSync(join(repo, "apps/web/extra.js"), "export const x = 1;\n");
      gitIn(repo, "add", "-A");
      gitIn(repo, "commit", "-qm", "web");
      expect(await run()).toEqual(["test @example/web=success"]);
    } finally {
      removeDir(repo);
      removeDir(data);
    }
  });
});
