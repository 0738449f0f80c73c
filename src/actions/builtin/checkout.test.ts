import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ActionError, type BuiltinContext } from "./builtin-action.js";
import { checkoutAction, resolveCheckoutPath } from "./checkout.js";

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Test Author",
  GIT_AUTHOR_EMAIL: "author@example.com",
  GIT_COMMITTER_NAME: "Test Committer",
  GIT_COMMITTER_EMAIL: "committer@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: GIT_ENV, encoding: "utf8" }).trim();
}

let tmp: string;
let sharedDir: string;
let shared: TestRepo;

beforeAll(() => {
  sharedDir = mkdtempSync(join(tmpdir(), "slipway-checkout-source-"));
  shared = makeRepo(sharedDir);
});

afterAll(() => {
  rmSync(sharedDir, { recursive: true, force: true });
});

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "slipway-checkout-"));
});

afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface TestRepo {
  root: string;
  /** Commits on main, oldest first. */
  shas: [string, string, string];
  feature: string;
}

/** main: c1 (tag v0) → c2 (annotated tag v1) → c3; feature: c1 → f1. Shared by the tests, which must not change it. */
function makeRepo(dir: string): TestRepo {
  const root = join(dir, "source");
  mkdirSync(root);
  git(root, "-c", "init.defaultBranch=main", "init", "-q");
  const commit = (file: string, content: string, message: string) => {
    mkdirSync(join(root, file, ".."), { recursive: true });
    writeFileSync(join(root, file), content);
    git(root, "add", "-A");
    git(root, "commit", "-q", "-m", message);
    return git(root, "rev-parse", "HEAD");
  };
  const c1 = commit("README.md", "one\n", "first");
  git(root, "tag", "v0");
  const c2 = commit("README.md", "two\n", "second");
  git(root, "tag", "-a", "v1", "-m", "release 1");
  const c3 = commit("src/index.ts", "export {};\n", "third");
  git(root, "checkout", "-q", "-b", "feature", c1);
  const f1 = commit("feature.txt", "feature\n", "feature work");
  git(root, "checkout", "-q", "main");
  return { root, shas: [c1, c2, c3], feature: f1 };
}

interface Harness {
  ctx: BuiltinContext;
  outputs: Record<string, string>;
  logs: string[];
}

function makeCtx(repo: TestRepo, inputs: Record<string, string> = {}, overrides: Partial<BuiltinContext["repo"]> = {}): Harness {
  const workspace = join(tmp, "workspace");
  mkdirSync(workspace, { recursive: true });
  const outputs: Record<string, string> = {};
  const logs: string[] = [];
  const ctx: BuiltinContext = {
    inputs,
    workspace,
    env: { GITHUB_REPOSITORY: "octo/project" },
    repo: { root: repo.root, prefix: "", sha: repo.shas[2], ref: "refs/heads/main", branch: "main", defaultBranch: "main", ...overrides },
    run: { id: 1, attempt: 1, jobKey: "build" },
    dataDir: join(tmp, "data"),
    log: (line) => logs.push(line),
    setOutput: (name, value) => {
      outputs[name] = value;
    },
    saveState: () => {},
    state: {},
    signal: new AbortController().signal,
  };
  return { ctx, outputs, logs };
}

describe("actions/checkout (offline)", () => {
  it("checks out the event commit with depth 1 on its branch, with origin set to the source", async () => {
    const repo = shared;
    const { ctx, outputs } = makeCtx(repo);
    await checkoutAction.main(ctx);
    const ws = ctx.workspace;
    expect(readFileSync(join(ws, "README.md"), "utf8")).toBe("two\n");
    expect(readFileSync(join(ws, "src/index.ts"), "utf8")).toBe("export {};\n");
    expect(git(ws, "rev-parse", "HEAD")).toBe(repo.shas[2]);
    expect(git(ws, "rev-list", "--count", "HEAD")).toBe("1");
    expect(existsSync(join(ws, ".git", "shallow"))).toBe(true);
    expect(git(ws, "rev-parse", "--abbrev-ref", "HEAD")).toBe("main");
    expect(git(ws, "rev-parse", "refs/remotes/origin/main")).toBe(repo.shas[2]);
    expect(git(ws, "remote", "get-url", "origin")).toBe(repo.root);
    expect(git(ws, "tag", "--list")).toBe("");
    expect(git(ws, "status", "--porcelain")).toBe("");
    expect(outputs).toEqual({ ref: "refs/heads/main", commit: repo.shas[2] });
  });

  it("checks out the event's sha even when the branch has moved on", async () => {
    const repo = shared;
    const { ctx } = makeCtx(repo, {}, { sha: repo.shas[1] });
    await checkoutAction.main(ctx);
    expect(git(ctx.workspace, "rev-parse", "HEAD")).toBe(repo.shas[1]);
    expect(existsSync(join(ctx.workspace, "src"))).toBe(false);
  });

  it("checks out detached when the event has no branch (ref is the sha)", async () => {
    const repo = shared;
    const { ctx, outputs } = makeCtx(repo, {}, { sha: repo.shas[0], ref: repo.shas[0], branch: undefined });
    await checkoutAction.main(ctx);
    expect(git(ctx.workspace, "rev-parse", "HEAD")).toBe(repo.shas[0]);
    expect(git(ctx.workspace, "rev-parse", "--abbrev-ref", "HEAD")).toBe("HEAD");
    expect(outputs.commit).toBe(repo.shas[0]);
  });

  it("fetches all history, branches and tags with fetch-depth 0", async () => {
    const repo = shared;
    const { ctx } = makeCtx(repo, { "fetch-depth": "0" }, { sha: repo.shas[1] });
    await checkoutAction.main(ctx);
    const ws = ctx.workspace;
    expect(git(ws, "rev-list", "--count", "HEAD")).toBe("2");
    expect(existsSync(join(ws, ".git", "shallow"))).toBe(false);
    expect(git(ws, "tag", "--list").split("\n")).toEqual(["v0", "v1"]);
    expect(git(ws, "cat-file", "-t", "v1")).toBe("tag");
    expect(git(ws, "rev-parse", "refs/remotes/origin/feature")).toBe(repo.feature);
    // origin/main is the event's commit, as actions/checkout leaves it.
    expect(git(ws, "rev-parse", "refs/remotes/origin/main")).toBe(repo.shas[1]);
    expect(git(ws, "rev-parse", "--abbrev-ref", "HEAD")).toBe("main");
    expect(git(ws, "describe", "--tags")).toBe("v1");
  });

  it("fetches tags pointing into the fetched history with fetch-tags", async () => {
    const repo = shared;
    const { ctx } = makeCtx(repo, { "fetch-depth": "2", "fetch-tags": "true" });
    await checkoutAction.main(ctx);
    expect(git(ctx.workspace, "rev-list", "--count", "HEAD")).toBe("2");
    expect(git(ctx.workspace, "tag", "--list")).toBe("v1");
  });

  it("checks out the ref input: a tag, a branch, a commit", async () => {
    const repo = shared;
    const tag = makeCtx(repo, { ref: "v1" });
    await checkoutAction.main(tag.ctx);
    expect(git(tag.ctx.workspace, "rev-parse", "HEAD")).toBe(repo.shas[1]);
    expect(git(tag.ctx.workspace, "rev-parse", "--abbrev-ref", "HEAD")).toBe("HEAD");
    expect(tag.outputs).toEqual({ ref: "v1", commit: repo.shas[1] });

    const branch = makeCtx(repo, { ref: "feature" });
    await checkoutAction.main(branch.ctx);
    expect(git(branch.ctx.workspace, "rev-parse", "HEAD")).toBe(repo.feature);
    expect(git(branch.ctx.workspace, "rev-parse", "--abbrev-ref", "HEAD")).toBe("feature");
    expect(readFileSync(join(branch.ctx.workspace, "feature.txt"), "utf8")).toBe("feature\n");
    expect(existsSync(join(branch.ctx.workspace, "src"))).toBe(false);

    const sha = makeCtx(repo, { ref: repo.shas[0] });
    await checkoutAction.main(sha.ctx);
    expect(git(sha.ctx.workspace, "rev-parse", "HEAD")).toBe(repo.shas[0]);
    expect(sha.outputs).toEqual({ ref: "", commit: repo.shas[0] });

    const missing = makeCtx(repo, { ref: "no-such-branch" });
    await expect(checkoutAction.main(missing.ctx)).rejects.toThrow(/'no-such-branch' could not be found/);
  });

  it("checks out into the path input and refuses paths outside the workspace", async () => {
    const repo = shared;
    const { ctx } = makeCtx(repo, { path: "sub/dir" });
    await checkoutAction.main(ctx);
    expect(readFileSync(join(ctx.workspace, "sub/dir/README.md"), "utf8")).toBe("two\n");
    expect(git(join(ctx.workspace, "sub/dir"), "rev-parse", "HEAD")).toBe(repo.shas[2]);
    expect(existsSync(join(ctx.workspace, "README.md"))).toBe(false);

    const escape = makeCtx(repo, { path: "../elsewhere" });
    await expect(checkoutAction.main(escape.ctx)).rejects.toThrow(ActionError);
    await expect(checkoutAction.main(escape.ctx)).rejects.toThrow(/not under the workspace/);
    expect(existsSync(join(tmp, "elsewhere"))).toBe(false);
    expect(() => resolveCheckoutPath(ctx.workspace, "/etc")).toThrow(/not under the workspace/);

    mkdirSync(join(tmp, "outside"));
    symlinkSync(join(tmp, "outside"), join(ctx.workspace, "link"));
    expect(() => resolveCheckoutPath(ctx.workspace, "link/repo")).toThrow(/not under the workspace/);
  });

  it("checks out only the subtree of a prefixed workflow repository, as one commit", async () => {
    const root = join(tmp, "mono");
    mkdirSync(join(root, "apps", "web", "bin"), { recursive: true });
    git(root, "-c", "init.defaultBranch=main", "init", "-q");
    writeFileSync(join(root, "top.txt"), "not part of the app\n");
    writeFileSync(join(root, "apps", "web", "package.json"), '{"name":"web"}\n');
    writeFileSync(join(root, "apps", "web", "bin", "run.sh"), "#!/bin/sh\necho hi\n");
    chmodSync(join(root, "apps", "web", "bin", "run.sh"), 0o755);
    symlinkSync("package.json", join(root, "apps", "web", "link.json"));
    git(root, "add", "-A");
    git(root, "commit", "-q", "-m", "monorepo commit");
    const sha = git(root, "rev-parse", "HEAD");
    const repo: TestRepo = { root, shas: [sha, sha, sha], feature: sha };

    const { ctx, outputs } = makeCtx(repo, { "fetch-depth": "0" }, { prefix: "apps/web", sha });
    await checkoutAction.main(ctx);
    const ws = ctx.workspace;
    expect(readFileSync(join(ws, "package.json"), "utf8")).toBe('{"name":"web"}\n');
    expect(existsSync(join(ws, "top.txt"))).toBe(false);
    expect(statSync(join(ws, "bin", "run.sh")).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(ws, "link.json"), "utf8")).toBe('{"name":"web"}\n');
    expect(git(ws, "rev-list", "--count", "HEAD")).toBe("1");
    expect(git(ws, "rev-parse", "HEAD^{tree}")).toBe(git(root, "rev-parse", `${sha}:apps/web`));
    expect(git(ws, "log", "-1", "--format=%an|%s")).toBe("Test Author|monorepo commit");
    expect(git(ws, "log", "-1", "--format=%B")).toContain(`Slipway-Source-Commit: ${sha}`);
    expect(git(ws, "rev-parse", "--abbrev-ref", "HEAD")).toBe("main");
    expect(git(ws, "status", "--porcelain")).toBe("");
    expect(git(ws, "remote", "get-url", "origin")).toBe(root);
    // Only the subtree's objects were copied: not the source commit, not files outside the prefix.
    const hasObject = (oid: string) => {
      try {
        execFileSync("git", ["cat-file", "-e", oid], { cwd: ws, stdio: "ignore" });
        return true;
      } catch {
        return false;
      }
    };
    expect(hasObject(sha)).toBe(false);
    expect(hasObject(git(root, "rev-parse", `${sha}:top.txt`))).toBe(false);
    expect(hasObject(git(root, "rev-parse", `${sha}:apps/web/package.json`))).toBe(true);
    expect(outputs).toEqual({ ref: "refs/heads/main", commit: sha });

    const bad = makeCtx(repo, {}, { prefix: "apps/nope", sha });
    await expect(checkoutAction.main(bad.ctx)).rejects.toThrow(/'apps\/nope' is not a directory/);
  });

  it("cleans an existing checkout on a second run, and keeps untracked files with clean: false", async () => {
    const repo = shared;
    const first = makeCtx(repo, {}, { sha: repo.shas[1] });
    await checkoutAction.main(first.ctx);
    const ws = first.ctx.workspace;
    writeFileSync(join(ws, "untracked.txt"), "x");
    mkdirSync(join(ws, "node_modules"));
    writeFileSync(join(ws, "node_modules", "m.js"), "x");
    writeFileSync(join(ws, "README.md"), "modified\n");
    writeFileSync(join(ws, "staged.txt"), "staged\n");
    git(ws, "add", "staged.txt");

    const second = makeCtx(repo);
    await checkoutAction.main(second.ctx);
    expect(git(ws, "rev-parse", "HEAD")).toBe(repo.shas[2]);
    expect(existsSync(join(ws, "untracked.txt"))).toBe(false);
    expect(existsSync(join(ws, "node_modules"))).toBe(false);
    expect(existsSync(join(ws, "staged.txt"))).toBe(false);
    expect(readFileSync(join(ws, "README.md"), "utf8")).toBe("two\n");
    expect(git(ws, "status", "--porcelain")).toBe("");

    writeFileSync(join(ws, "untracked.txt"), "x");
    const third = makeCtx(repo, { clean: "false" }, { sha: repo.shas[1] });
    await checkoutAction.main(third.ctx);
    expect(git(ws, "rev-parse", "HEAD")).toBe(repo.shas[1]);
    expect(existsSync(join(ws, "untracked.txt"))).toBe(true);
  });

  it("empties a target that is not a repository of the source", async () => {
    const repo = shared;
    const { ctx, logs } = makeCtx(repo);
    writeFileSync(join(ctx.workspace, "leftover.txt"), "x");
    await checkoutAction.main(ctx);
    expect(existsSync(join(ctx.workspace, "leftover.txt"))).toBe(false);
    expect(logs.some((l) => l.includes("Deleting the contents"))).toBe(true);
  });

  it("refuses remote repositories and accepts a local repository path", async () => {
    const repo = shared;
    const remote = makeCtx(repo, { repository: "octo/other" });
    await expect(checkoutAction.main(remote.ctx)).rejects.toThrow(/'octo\/other' cannot be checked out offline.*repository: \/srv\/git\/other-repo/s);

    const same = makeCtx(repo, { repository: "Octo/Project" });
    await checkoutAction.main(same.ctx);
    expect(git(same.ctx.workspace, "rev-parse", "HEAD")).toBe(repo.shas[2]);

    const other = join(tmp, "other");
    mkdirSync(other);
    git(other, "-c", "init.defaultBranch=trunk", "init", "-q");
    writeFileSync(join(other, "lib.txt"), "lib\n");
    git(other, "add", "-A");
    git(other, "commit", "-q", "-m", "lib");
    const local = makeCtx(repo, { repository: other, path: "deps/other" });
    await checkoutAction.main(local.ctx);
    const dir = join(local.ctx.workspace, "deps/other");
    expect(readFileSync(join(dir, "lib.txt"), "utf8")).toBe("lib\n");
    expect(git(dir, "rev-parse", "--abbrev-ref", "HEAD")).toBe("trunk");
    expect(git(dir, "remote", "get-url", "origin")).toBe(other);
    expect(local.outputs.commit).toBe(git(other, "rev-parse", "HEAD"));

    const notRepo = makeCtx(repo, { repository: "./not-here" });
    await expect(checkoutAction.main(notRepo.ctx)).rejects.toThrow(/does not exist/);
  });

  it("applies sparse-checkout patterns (non-cone mode)", async () => {
    const repo = shared;
    const { ctx } = makeCtx(repo, { "sparse-checkout": "/src/\n", "sparse-checkout-cone-mode": "false" });
    await checkoutAction.main(ctx);
    expect(existsSync(join(ctx.workspace, "src", "index.ts"))).toBe(true);
    expect(existsSync(join(ctx.workspace, "README.md"))).toBe(false);

    // A later checkout without sparse-checkout gets every file back.
    const full = makeCtx(repo);
    await checkoutAction.main(full.ctx);
    expect(existsSync(join(full.ctx.workspace, "README.md"))).toBe(true);
  });

  it("refuses bad inputs with clear errors", async () => {
    const repo = shared;
    await expect(checkoutAction.main(makeCtx(repo, { "fetch-depth": "-1" }).ctx)).rejects.toThrow(/fetch-depth must be a whole number/);
    await expect(checkoutAction.main(makeCtx(repo, { clean: "yes" }).ctx)).rejects.toThrow(/'clean' must be true or false/);
    await expect(checkoutAction.main(makeCtx(repo, { submodules: "recursive" }).ctx)).rejects.toThrow(/not supported offline/);
  });
});
