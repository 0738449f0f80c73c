import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readRepo } from "./index.js";
import { parseConfig, readRepoFiles } from "./repo-files.js";

const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Mona Lisa",
  GIT_AUTHOR_EMAIL: "mona@example.com",
  GIT_COMMITTER_NAME: "Hubot",
  GIT_COMMITTER_EMAIL: "hubot@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
};

const dirs: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), "slipway-refs-")));
  dirs.push(d);
  return d;
}

function sh(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: ENV, encoding: "utf8" }).trim();
}

function commit(dir: string, message: string): string {
  sh(dir, "add", "-A");
  sh(dir, "-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", message);
  return sh(dir, "rev-parse", "HEAD");
}

function newRepo(branch = "main"): string {
  const dir = join(tempDir(), "repo");
  mkdirSync(dir);
  sh(dir, "init", "-q", "-b", branch);
  writeFileSync(join(dir, "README.md"), "hello\n");
  commit(dir, "first");
  return dir;
}

/** readRepo asking git for everything: a variable that moves git's search makes the file reader step aside. */
async function readRepoWithGit(dir: string) {
  vi.stubEnv("GIT_CEILING_DIRECTORIES", "");
  try {
    expect(readRepoFiles(dir)).toBeUndefined();
    return await readRepo(dir);
  } finally {
    vi.unstubAllEnvs();
  }
}

/** The .git reader is used for `dir`, and readRepo says what it says when git is asked. */
async function expectSameAsGit(dir: string) {
  expect(readRepoFiles(dir), "read from .git").toBeDefined();
  const repo = await readRepo(dir);
  expect(repo).toEqual(await readRepoWithGit(dir));
  return repo;
}

describe("readRepo from the .git directory, as git says", () => {
  it("a repository with one commit", async () => {
    const dir = newRepo();
    const repo = await expectSameAsGit(dir);
    expect(repo).toMatchObject({ root: dir, prefix: "", sha: sh(dir, "rev-parse", "HEAD"), branch: "main", defaultBranch: "main" });
  });

  it("packed refs, a branch with a slash in its name, and a loose ref that overrides a packed one", async () => {
    const dir = newRepo();
    sh(dir, "branch", "feature/x");
    sh(dir, "pack-refs", "--all");
    expect(await expectSameAsGit(dir)).toMatchObject({ branch: "main", sha: sh(dir, "rev-parse", "HEAD") });
    const second = commit(dir, "second"); // refs/heads/main is loose again, newer than packed-refs
    expect((await expectSameAsGit(dir)).sha).toBe(second);
    sh(dir, "checkout", "-q", "feature/x");
    expect(await expectSameAsGit(dir)).toMatchObject({ branch: "feature/x", defaultBranch: "main" });
  });

  it("a detached HEAD", async () => {
    const dir = newRepo();
    commit(dir, "second");
    sh(dir, "checkout", "-q", "--detach", "HEAD~1");
    const repo = await expectSameAsGit(dir);
    expect(repo.branch).toBeUndefined();
    expect(repo.sha).toBe(sh(dir, "rev-parse", "HEAD"));
  });

  it("a branch checked out in a linked worktree, and a detached one", async () => {
    const dir = newRepo();
    const wt = join(dir, "..", "wt");
    sh(dir, "worktree", "add", "-q", "-b", "topic", wt);
    const second = commit(wt, "on topic");
    expect(await expectSameAsGit(wt)).toMatchObject({ root: wt, branch: "topic", sha: second, defaultBranch: "main" });
    sh(dir, "pack-refs", "--all");
    expect((await expectSameAsGit(wt)).sha).toBe(second);
    const detached = join(dir, "..", "wt2");
    sh(dir, "worktree", "add", "-q", "--detach", detached, "main");
    expect(await expectSameAsGit(detached)).toMatchObject({ root: detached, sha: sh(dir, "rev-parse", "main") });
    expect((await readRepo(detached)).branch).toBeUndefined();
  });

  it("a subdirectory reached through a symbolic link", async () => {
    const dir = newRepo();
    mkdirSync(join(dir, "examples", "hello"), { recursive: true });
    const link = join(dir, "..", "link");
    symlinkSync(join(dir, "examples"), link);
    const repo = await expectSameAsGit(join(link, "hello"));
    expect(repo).toMatchObject({ root: dir, prefix: "examples/hello", dir: join(dir, "examples", "hello"), name: "hello" });
  });

  it("the origin remote, origin's HEAD and a quoted URL", async () => {
    const dir = newRepo();
    sh(dir, "config", "remote.origin.url", "git@github.com:octo-org/octo repo.git");
    sh(dir, "update-ref", "refs/remotes/origin/trunk", "HEAD");
    sh(dir, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk");
    expect(await expectSameAsGit(dir)).toMatchObject({ owner: "octo-org", name: "octo repo", defaultBranch: "trunk" });
  });

  it("init.defaultBranch from the repository's config, and from the global one when another branch could be the default", async () => {
    const dir = newRepo();
    sh(dir, "branch", "develop");
    sh(dir, "config", "init.defaultBranch", "develop");
    expect((await expectSameAsGit(dir)).defaultBranch).toBe("develop");
    sh(dir, "config", "--unset", "init.defaultBranch");
    const global = join(tempDir(), "gitconfig");
    writeFileSync(global, "[init]\n\tdefaultBranch = develop\n");
    vi.stubEnv("GIT_CONFIG_GLOBAL", global);
    expect((await expectSameAsGit(dir)).defaultBranch).toBe("develop");
  });
});

describe("readRepoFiles leaves unusual layouts to git", () => {
  it.each([
    ["GIT_DIR is set", (dir: string) => vi.stubEnv("GIT_DIR", join(dir, ".git"))],
    ["the config includes another file", (dir: string) => sh(dir, "config", "include.path", "extra.config")],
    ["core.worktree is set", (dir: string) => sh(dir, "config", "core.worktree", dir)],
    ["the repository uses an extension", (dir: string) => sh(dir, "config", "extensions.worktreeConfig", "true")],
    ["HEAD names a branch with no commit yet", (dir: string) => sh(dir, "symbolic-ref", "HEAD", "refs/heads/unborn")],
    [
      "HEAD is a symbolic link",
      (dir: string) => {
        rmSync(join(dir, ".git", "HEAD"));
        symlinkSync("refs/heads/main", join(dir, ".git", "HEAD"));
      },
    ],
  ])("%s", (_why, change) => {
    const dir = newRepo();
    expect(readRepoFiles(dir)).toBeDefined();
    change(dir);
    expect(readRepoFiles(dir)).toBeUndefined();
  });

  it("a bare repository, and a directory inside .git", () => {
    const dir = newRepo();
    expect(readRepoFiles(join(dir, ".git", "refs"))).toBeUndefined();
    const bare = join(tempDir(), "bare.git");
    sh(dir, "clone", "-q", "--bare", dir, bare);
    expect(readRepoFiles(bare)).toBeUndefined();
  });

  it("readRepo still answers through git then", async () => {
    const dir = newRepo();
    sh(dir, "config", "include.path", "extra.config");
    writeFileSync(join(dir, ".git", "extra.config"), '[remote "origin"]\n\turl = https://github.com/octo-org/included.git\n');
    expect(await readRepo(dir)).toMatchObject({ root: dir, branch: "main", owner: "octo-org", name: "included" });
  });
});

describe("parseConfig", () => {
  it("reads sections, subsections, quoting, escapes, comments and continued lines as git does", () => {
    // `git config -f FILE --list` of this text gives the same.
    const text = [
      "# a comment",
      "[core]",
      "\trepositoryformatversion = 0",
      "\tBare = false ; trailing comment",
      "\tfilemode",
      '[remote "Origin \\"x\\""]',
      '\turl = "https://example.com/a b.git"  # comment',
      "[Remote.Lower]",
      "\tURL = one",
      "\turl = two",
      "[alias]",
      '\tlong = log \\',
      '\t  --oneline "# not a comment" \\t tab',
      "[init] defaultBranch = trunk",
      "",
    ].join("\n");
    const config = parseConfig(text);
    expect(config).toEqual(
      new Map([
        ["core.repositoryformatversion", "0"],
        ["core.bare", "false"],
        ["core.filemode", "true"],
        ['remote.Origin "x".url', "https://example.com/a b.git"],
        ["remote.lower.url", "two"],
        ["alias.long", "log    --oneline # not a comment \t tab"],
        ["init.defaultbranch", "trunk"],
      ]),
    );
  });

  it("gives up on what it does not understand", () => {
    expect(parseConfig("key = value\n")).toBeUndefined(); // no section
    expect(parseConfig("[core\nbare = true\n")).toBeUndefined();
    expect(parseConfig('[core]\n\tx = "open\n')).toBeUndefined();
    expect(parseConfig("[core]\n\tx = a\\qb\n")).toBeUndefined();
    expect(parseConfig("[core]\n\t9x = 1\n")).toBeUndefined();
  });
});
