import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildEvent, GitError, parseRemoteUrl, readRepo, ZERO_SHA } from "./index.js";

// Real repositories in temporary directories, with fixed identities and dates.
const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Mona Lisa",
  GIT_AUTHOR_EMAIL: "mona@example.com",
  GIT_AUTHOR_DATE: "2024-01-02T03:04:05+00:00",
  GIT_COMMITTER_NAME: "Hubot",
  GIT_COMMITTER_EMAIL: "hubot@example.com",
  GIT_COMMITTER_DATE: "2024-01-02T03:04:05+00:00",
  GIT_CONFIG_NOSYSTEM: "1",
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  // realpath: git reports the toplevel without symbolic links.
  const d = realpathSync(mkdtempSync(join(tmpdir(), "slipway-git-")));
  dirs.push(d);
  return d;
}

function sh(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: ENV, encoding: "utf8" }).trim();
}

function write(dir: string, path: string, content: string): void {
  mkdirSync(join(dir, path, ".."), { recursive: true });
  writeFileSync(join(dir, path), content);
}

function commit(dir: string, message: string): string {
  sh(dir, "add", "-A");
  sh(dir, "-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", message);
  return sh(dir, "rev-parse", "HEAD");
}

/** A repository on branch `main` with one commit holding the given files. */
function newRepo(files: Record<string, string> = { "README.md": "hello\n" }, branch = "main"): string {
  const dir = tempDir();
  sh(dir, "init", "-q", "-b", branch);
  for (const [path, content] of Object.entries(files)) write(dir, path, content);
  commit(dir, "first");
  return dir;
}

async function expectGitError(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(GitError);
  expect((error as GitError).code).toBe(code);
  expect((error as GitError).message).toMatch(message);
}

describe("readRepo", () => {
  it("reads root, sha, branch, default branch and a local owner/name", async () => {
    const dir = newRepo();
    const repo = await readRepo(dir);
    expect(repo).toEqual({
      root: dir,
      prefix: "",
      dir,
      sha: sh(dir, "rev-parse", "HEAD"),
      branch: "main",
      defaultBranch: "main",
      owner: "local",
      name: basename(dir),
    });
  });

  it("says when the directory is not a git repository, and suggests git init", async () => {
    const dir = tempDir();
    await expectGitError(readRepo(dir), "not-a-repository", /is not inside a git repository; run 'git init'/);
  });

  it("says when the directory does not exist", async () => {
    await expectGitError(readRepo(join(tempDir(), "missing")), "no-such-directory", /is not a directory/);
  });

  it("says when the repository has no commits", async () => {
    const dir = tempDir();
    sh(dir, "init", "-q", "-b", "main");
    await expectGitError(readRepo(dir), "no-commits", /has no commits yet/);
  });

  it("finds the workflow repository's prefix inside the git toplevel", async () => {
    const dir = newRepo({ "examples/hello/.github/workflows/ci.yml": "on: push\n", "README.md": "x\n" });
    const repo = await readRepo(join(dir, "examples/hello"));
    expect(repo.root).toBe(dir);
    expect(repo.prefix).toBe("examples/hello");
    expect(repo.dir).toBe(join(dir, "examples/hello"));
    expect(repo.name).toBe("hello");
  });

  it("takes owner and name from the origin remote", async () => {
    const dir = newRepo();
    sh(dir, "remote", "add", "origin", "git@github.com:octo-org/octo-repo.git");
    const repo = await readRepo(dir);
    expect([repo.owner, repo.name]).toEqual(["octo-org", "octo-repo"]);
  });

  it("reports a detached HEAD as no branch", async () => {
    const dir = newRepo();
    sh(dir, "checkout", "-q", "--detach");
    const repo = await readRepo(dir);
    expect(repo.branch).toBeUndefined();
    expect(repo.defaultBranch).toBe("main");
  });
});

describe("readRepo: default branch", () => {
  it("prefers origin's HEAD", async () => {
    const dir = newRepo();
    sh(dir, "update-ref", "refs/remotes/origin/trunk", "HEAD");
    sh(dir, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk");
    expect((await readRepo(dir)).defaultBranch).toBe("trunk");
  });

  it("then init.defaultBranch when that branch exists", async () => {
    const dir = newRepo();
    sh(dir, "branch", "develop");
    sh(dir, "config", "init.defaultBranch", "develop");
    expect((await readRepo(dir)).defaultBranch).toBe("develop");
    sh(dir, "config", "init.defaultBranch", "nonexistent");
    expect((await readRepo(dir)).defaultBranch).toBe("main");
  });

  it("then master, then the current branch", async () => {
    const master = newRepo(undefined, "master");
    sh(master, "checkout", "-q", "-b", "feature");
    expect((await readRepo(master)).defaultBranch).toBe("master");
    const other = newRepo(undefined, "work");
    expect((await readRepo(other)).defaultBranch).toBe("work");
  });
});

describe("parseRemoteUrl", () => {
  it.each([
    ["https://github.com/octo-org/octo-repo.git", "octo-org", "octo-repo"],
    ["https://github.com/octo-org/octo-repo", "octo-org", "octo-repo"],
    ["https://user:token@github.example.com/octo-org/octo-repo/", "octo-org", "octo-repo"],
    ["ssh://git@github.com:22/octo-org/octo-repo.git", "octo-org", "octo-repo"],
    ["git@github.com:octo-org/octo-repo.git", "octo-org", "octo-repo"],
    ["git@gitlab.com:group/sub/project.git", "sub", "project"],
    ["/srv/git/team/service.git", "team", "service"],
    ["file:///srv/git/team/service.git", "team", "service"],
    ["../service", "local", "service"],
    ["service.git", "local", "service"],
  ])("%s → %s/%s", (url, owner, name) => {
    expect(parseRemoteUrl(url)).toEqual({ owner, name });
  });

  it("returns undefined when there is no name", () => {
    expect(parseRemoteUrl("https://github.com/")).toBeUndefined();
  });
});

describe("buildEvent: push", () => {
  it("treats a root commit as a new branch: before is all zeros and every file changed", async () => {
    const dir = newRepo({ "README.md": "hi\n", "src/a.ts": "a\n" });
    const repo = await readRepo(dir);
    const event = await buildEvent(repo, { eventName: "push" });
    expect(event).toMatchObject({
      name: "push",
      ref: "refs/heads/main",
      refName: "main",
      refType: "branch",
      branch: "main",
      sha: repo.sha,
      changedFiles: ["README.md", "src/a.ts"],
    });
    expect(event.payload).toMatchObject({ ref: "refs/heads/main", before: ZERO_SHA, after: repo.sha, created: true, deleted: false, forced: false });
  });

  it("diffs against the parent, listing added, modified, deleted and both names of a renamed file", async () => {
    const dir = newRepo({ "README.md": "hi\n", "old-name.txt": "rename me\n", "gone.txt": "bye\n", "docs/keep.md": "k\n" });
    const parent = sh(dir, "rev-parse", "HEAD");
    write(dir, "README.md", "changed\n");
    write(dir, "src/new.ts", "export {};\n");
    sh(dir, "mv", "old-name.txt", "new-name.txt");
    sh(dir, "rm", "-q", "gone.txt");
    const sha = commit(dir, "Change things\n\nWith a body.");
    const repo = await readRepo(dir);
    const event = await buildEvent(repo, { eventName: "push" });
    expect(event.sha).toBe(sha);
    expect([...(event.changedFiles ?? [])].sort()).toEqual(["README.md", "gone.txt", "new-name.txt", "old-name.txt", "src/new.ts"]);
    expect(event.payload.before).toBe(parent);
    expect(event.payload.after).toBe(sha);
    expect(event.payload.created).toBe(false);
    expect(event.payload.base_ref).toBeNull();
    const head = event.payload.head_commit as Record<string, unknown>;
    expect(head).toMatchObject({
      id: sha,
      tree_id: sh(dir, "rev-parse", "HEAD^{tree}"),
      message: "Change things\n\nWith a body.",
      timestamp: "2024-01-02T03:04:05+00:00",
      author: { name: "Mona Lisa", email: "mona@example.com" },
      committer: { name: "Hubot", email: "hubot@example.com" },
      modified: ["README.md"],
    });
    expect([...(head.added as string[])].sort()).toEqual(["new-name.txt", "src/new.ts"]);
    expect([...(head.removed as string[])].sort()).toEqual(["gone.txt", "old-name.txt"]);
    expect(event.payload.commits).toEqual([head]);
    expect(event.payload.repository).toEqual({
      name: basename(dir),
      full_name: `local/${basename(dir)}`,
      default_branch: "main",
      owner: { login: "local" },
    });
    expect(event.payload.sender).toEqual({ login: "local" });
    expect(event.payload.pusher).toEqual({ name: "Mona Lisa", email: "mona@example.com" });
  });

  it("reports file names with spaces, quotes and non-ASCII characters unquoted", async () => {
    const dir = newRepo();
    write(dir, "docs/with space \"q\" é.md", "x\n");
    commit(dir, "odd name");
    const event = await buildEvent(await readRepo(dir), { eventName: "push" });
    expect(event.changedFiles).toEqual(['docs/with space "q" é.md']);
  });

  it("pushes a tag named by refs/tags/…, peeling an annotated tag to its commit", async () => {
    const dir = newRepo();
    const tagged = sh(dir, "rev-parse", "HEAD");
    sh(dir, "-c", "tag.gpgsign=false", "tag", "-a", "v1.0.0", "-m", "release");
    write(dir, "later.txt", "x\n");
    commit(dir, "later");
    const repo = await readRepo(dir);
    const event = await buildEvent(repo, { eventName: "push", ref: "refs/tags/v1.0.0" });
    expect(event).toMatchObject({ ref: "refs/tags/v1.0.0", refName: "v1.0.0", refType: "tag", tag: "v1.0.0", sha: tagged });
    expect(event.branch).toBeUndefined();
    expect(event.payload).toMatchObject({ ref: "refs/tags/v1.0.0", before: ZERO_SHA, after: tagged, created: true, commits: [] });
    expect((event.payload.head_commit as { id: string }).id).toBe(tagged);
  });

  it("looks a bare ref up as a branch first, then a tag, then a commit", async () => {
    const dir = newRepo();
    const first = sh(dir, "rev-parse", "HEAD");
    sh(dir, "tag", "v1");
    sh(dir, "branch", "feature/x");
    write(dir, "b.txt", "b\n");
    commit(dir, "second");
    const repo = await readRepo(dir);
    expect(await buildEvent(repo, { eventName: "push", ref: "feature/x" })).toMatchObject({ ref: "refs/heads/feature/x", branch: "feature/x", sha: first });
    expect(await buildEvent(repo, { eventName: "push", ref: "v1" })).toMatchObject({ ref: "refs/tags/v1", refType: "tag", sha: first });
    expect(await buildEvent(repo, { eventName: "push", ref: "refs/heads/main" })).toMatchObject({ ref: "refs/heads/main", sha: repo.sha });
    const short = first.slice(0, 8);
    expect(await buildEvent(repo, { eventName: "push", ref: short })).toMatchObject({ ref: first, refName: first, sha: first, refType: "branch" });
  });

  it("rejects a ref that does not exist", async () => {
    const repo = await readRepo(newRepo());
    await expectGitError(buildEvent(repo, { eventName: "push", ref: "nope" }), "bad-ref", /ref 'nope' does not name a branch, tag or commit/);
    await expectGitError(buildEvent(repo, { eventName: "push", ref: "refs/tags/nope" }), "bad-ref", /refs\/tags\/nope/);
    await expectGitError(buildEvent(repo, { eventName: "push", ref: "--output=x" }), "bad-ref", /does not name/);
  });

  it("uses the commit sha as the ref when HEAD is detached", async () => {
    const dir = newRepo();
    write(dir, "a.txt", "a\n");
    const sha = commit(dir, "second");
    sh(dir, "checkout", "-q", "--detach");
    const event = await buildEvent(await readRepo(dir), { eventName: "push" });
    expect(event).toMatchObject({ ref: sha, refName: sha, refType: "branch", sha, changedFiles: ["a.txt"] });
    expect(event.branch).toBeUndefined();
  });

  it("reports changed files relative to a workflow repository in a subdirectory and leaves out the rest", async () => {
    const dir = newRepo({ "examples/hello/.github/workflows/ci.yml": "on: push\n", "README.md": "x\n" });
    write(dir, "examples/hello/src/app.js", "1\n");
    write(dir, "examples/other/x.js", "1\n");
    write(dir, "README.md", "y\n");
    commit(dir, "change");
    const repo = await readRepo(join(dir, "examples/hello"));
    const event = await buildEvent(repo, { eventName: "push" });
    expect(event.changedFiles).toEqual(["src/app.js"]);
    expect((event.payload.head_commit as { added: string[] }).added).toEqual(["src/app.js"]);
    // A root commit: only the files inside the workflow repository.
    const root = await buildEvent(repo, { eventName: "push", ref: "HEAD~1" });
    expect(root.changedFiles).toEqual([".github/workflows/ci.yml"]);
  });
});

describe("buildEvent: push with before (what a server receiving the push knows)", () => {
  type CommitPayload = { id: string; message: string; added: string[]; modified: string[]; removed: string[]; distinct: boolean };

  it("lists the pushed commits oldest first and the files changed between before and the pushed commit", async () => {
    const dir = newRepo({ "README.md": "hi\n", "old-name.txt": "rename me\n", "gone.txt": "bye\n", "flip.txt": "1\n" });
    const before = sh(dir, "rev-parse", "HEAD");
    write(dir, "README.md", "changed\n");
    write(dir, "src/a.ts", "a\n");
    write(dir, "flip.txt", "2\n");
    const c1 = commit(dir, "one");
    sh(dir, "mv", "old-name.txt", "new-name.txt");
    sh(dir, "rm", "-q", "gone.txt");
    write(dir, "flip.txt", "1\n"); // back as it was: not a change of the push
    const c2 = commit(dir, "two\n\nwith a body");
    const c3 = commit(dir, "three (empty)");
    const repo = await readRepo(dir);
    // A short sha is resolved: the payload has the full one.
    const event = await buildEvent(repo, { eventName: "push", before: before.slice(0, 10) });
    expect(event).toMatchObject({ ref: "refs/heads/main", sha: c3 });
    expect([...(event.changedFiles ?? [])].sort()).toEqual(["README.md", "gone.txt", "new-name.txt", "old-name.txt", "src/a.ts"]);
    expect(event.payload).toMatchObject({ before, after: c3, created: false, deleted: false, forced: false, base_ref: null });
    const commits = event.payload.commits as CommitPayload[];
    expect(commits.map((c) => c.id)).toEqual([c1, c2, c3]);
    expect(commits[0]).toMatchObject({ message: "one", added: ["src/a.ts"], removed: [], distinct: true });
    expect([...commits[0]!.modified].sort()).toEqual(["README.md", "flip.txt"]);
    expect(commits[1]).toMatchObject({ message: "two\n\nwith a body", added: ["new-name.txt"], modified: ["flip.txt"] });
    expect([...commits[1]!.removed].sort()).toEqual(["gone.txt", "old-name.txt"]);
    expect(commits[2]).toMatchObject({ added: [], modified: [], removed: [] });
    // Every commit has the shape of head_commit, which is the last one.
    expect(commits[2]).toEqual(event.payload.head_commit);
    expect(Object.keys(commits[0]!).sort()).toEqual(Object.keys(event.payload.head_commit as object).sort());
    expect(commits[0]).toMatchObject({ tree_id: sh(dir, "rev-parse", `${c1}^{tree}`), author: { name: "Mona Lisa" }, committer: { name: "Hubot" } });
  });

  it("keeps the newest 20 commits, oldest first", async () => {
    const dir = newRepo();
    const before = sh(dir, "rev-parse", "HEAD");
    const made: string[] = [];
    for (let i = 1; i <= 23; i++) {
      write(dir, `f${i}.txt`, `${i}\n`);
      made.push(commit(dir, `commit ${i}`));
    }
    const event = await buildEvent(await readRepo(dir), { eventName: "push", before });
    const commits = event.payload.commits as CommitPayload[];
    expect(commits.map((c) => c.id)).toEqual(made.slice(-20));
    expect(commits[0]).toMatchObject({ message: "commit 4", added: ["f4.txt"] });
    // The changed files are not limited: all 23.
    expect(event.changedFiles).toHaveLength(23);
  });

  it("lists merged commits too, a merge with its changes against its first parent", async () => {
    const dir = newRepo({ "a.txt": "a\n" });
    const before = sh(dir, "rev-parse", "HEAD");
    sh(dir, "checkout", "-q", "-b", "side");
    write(dir, "side.txt", "s\n");
    const side = commit(dir, "side work");
    sh(dir, "checkout", "-q", "main");
    write(dir, "a.txt", "a2\n");
    const mainWork = commit(dir, "main work");
    sh(dir, "-c", "commit.gpgsign=false", "merge", "-q", "--no-ff", "--no-edit", "side");
    const merge = sh(dir, "rev-parse", "HEAD");
    // A merge that takes nothing from its second parent (-s ours) changes nothing against its first.
    sh(dir, "checkout", "-q", "-b", "ignored", before);
    write(dir, "ignored.txt", "i\n");
    const ignored = commit(dir, "ignored work");
    sh(dir, "checkout", "-q", "main");
    sh(dir, "-c", "commit.gpgsign=false", "merge", "-q", "-s", "ours", "--no-edit", "ignored");
    const oursMerge = sh(dir, "rev-parse", "HEAD");

    const event = await buildEvent(await readRepo(dir), { eventName: "push", before });
    const commits = event.payload.commits as CommitPayload[];
    const byId = new Map(commits.map((c) => [c.id, c]));
    expect(new Set(byId.keys())).toEqual(new Set([side, mainWork, merge, ignored, oursMerge]));
    expect(commits.at(-1)?.id).toBe(oursMerge);
    expect(byId.get(merge)).toMatchObject({ added: ["side.txt"], modified: [], removed: [] });
    expect(byId.get(oursMerge)).toMatchObject({ added: [], modified: [], removed: [] });
    expect(byId.get(ignored)).toMatchObject({ added: ["ignored.txt"] });
    expect([...(event.changedFiles ?? [])].sort()).toEqual(["a.txt", "side.txt"]);
    expect(event.payload.forced).toBe(false);
  });

  it("marks a forced push (before is not an ancestor) and diffs the two trees", async () => {
    const dir = newRepo({ "keep.txt": "k\n", "a.txt": "a\n" });
    const base = sh(dir, "rev-parse", "HEAD");
    write(dir, "old.txt", "o\n");
    write(dir, "a.txt", "old a\n");
    const oldTip = commit(dir, "to be rewritten");
    sh(dir, "reset", "-q", "--hard", base);
    write(dir, "new.txt", "n\n");
    const newTip = commit(dir, "rewritten");
    const event = await buildEvent(await readRepo(dir), { eventName: "push", before: oldTip });
    expect(event.payload).toMatchObject({ before: oldTip, after: newTip, forced: true, created: false });
    // old.txt is gone and a.txt is back as it was: both changed between the trees.
    expect([...(event.changedFiles ?? [])].sort()).toEqual(["a.txt", "new.txt", "old.txt"]);
    expect((event.payload.commits as CommitPayload[]).map((c) => c.id)).toEqual([newTip]);
  });

  it("takes all zeros as a new branch: created, and the pushed commit's own changes", async () => {
    const dir = newRepo({ "a.txt": "a\n" });
    sh(dir, "checkout", "-q", "-b", "feature");
    write(dir, "f.txt", "f\n");
    const tip = commit(dir, "feature work");
    const event = await buildEvent(await readRepo(dir), { eventName: "push", before: ZERO_SHA });
    expect(event).toMatchObject({ ref: "refs/heads/feature", sha: tip, changedFiles: ["f.txt"] });
    expect(event.payload).toMatchObject({ before: ZERO_SHA, after: tip, created: true, forced: false });
    expect((event.payload.commits as CommitPayload[]).map((c) => c.id)).toEqual([tip]);
    // The same as without before, but for `before` and `created`.
    const plain = await buildEvent(await readRepo(dir), { eventName: "push" });
    expect({ ...event.payload, before: null, created: null }).toEqual({ ...plain.payload, before: null, created: null });
    expect(event.changedFiles).toEqual(plain.changedFiles);
  });

  it("keeps a tag push's commits empty, and reports files relative to a workflow subdirectory", async () => {
    const dir = newRepo({ "svc/.github/workflows/ci.yml": "on: push\n", "top.txt": "t\n" });
    const before = sh(dir, "rev-parse", "HEAD");
    write(dir, "svc/lib/x.ts", "x\n");
    write(dir, "top.txt", "t2\n");
    commit(dir, "work");
    write(dir, "svc/lib/y.ts", "y\n");
    const tip = commit(dir, "more work");
    sh(dir, "tag", "v2");
    const repo = await readRepo(join(dir, "svc"));
    const branch = await buildEvent(repo, { eventName: "push", before });
    expect([...(branch.changedFiles ?? [])].sort()).toEqual(["lib/x.ts", "lib/y.ts"]);
    expect((branch.payload.commits as CommitPayload[]).map((c) => c.added)).toEqual([["lib/x.ts"], ["lib/y.ts"]]);
    const tag = await buildEvent(repo, { eventName: "push", ref: "refs/tags/v2", before });
    expect(tag.payload).toMatchObject({ ref: "refs/tags/v2", before, after: tip, created: false, forced: false, commits: [] });
  });

  it("rejects a before that is not a commit of the repository, naming it and saying what to pass", async () => {
    const dir = newRepo();
    const repo = await readRepo(dir);
    const missing = "deadbeef".repeat(5);
    await expectGitError(
      buildEvent(repo, { eventName: "push", before: missing }),
      "bad-ref",
      new RegExp(`before '${missing}' is not a commit in '.*'; pass the sha the ref pointed to before the push .*all zeros`),
    );
    const tree = sh(dir, "rev-parse", "HEAD^{tree}");
    await expectGitError(buildEvent(repo, { eventName: "push", before: tree }), "bad-ref", new RegExp(`before '${tree}' is not a commit`));
    await expectGitError(buildEvent(repo, { eventName: "push", before: "--output=/tmp/x" }), "bad-ref", /before '--output=\/tmp\/x' is not a commit/);
    await expectGitError(buildEvent(repo, { eventName: "push", before: "000" }), "bad-ref", /before '000'/);
  });

  it("applies to push only", async () => {
    const repo = await readRepo(newRepo());
    await expectGitError(buildEvent(repo, { eventName: "workflow_dispatch", before: ZERO_SHA }), "bad-input", /push events only, not to 'workflow_dispatch'/);
  });
});

describe("buildEvent: pull_request", () => {
  /** main ← feature (changes a.txt, adds f.txt); main then moves on (changes m.txt). */
  function forkedRepo(): { dir: string; mainTip: string; featureTip: string } {
    const dir = newRepo({ "a.txt": "a\n", "m.txt": "m\n" });
    sh(dir, "checkout", "-q", "-b", "feature/login");
    write(dir, "a.txt", "a2\n");
    write(dir, "f.txt", "f\n");
    const featureTip = commit(dir, "Add login\n\nFixes the thing.");
    sh(dir, "checkout", "-q", "main");
    write(dir, "m.txt", "m2\n");
    const mainTip = commit(dir, "main moves on");
    sh(dir, "checkout", "-q", "feature/login");
    return { dir, mainTip, featureTip };
  }

  it("compares head with its merge base with the default branch (three dots)", async () => {
    const { dir, mainTip, featureTip } = forkedRepo();
    const repo = await readRepo(dir);
    const event = await buildEvent(repo, { eventName: "pull_request" });
    expect(event).toMatchObject({
      name: "pull_request",
      ref: "refs/pull/1/merge",
      refName: "1/merge",
      refType: "branch",
      sha: featureTip,
      baseRef: "main",
      headRef: "feature/login",
      changedFiles: ["a.txt", "f.txt"],
    });
    expect(event.branch).toBeUndefined();
    expect(event.payload).toMatchObject({
      action: "opened",
      number: 1,
      pull_request: {
        number: 1,
        title: "Add login",
        body: "Fixes the thing.",
        head: { ref: "feature/login", sha: featureTip },
        base: { ref: "main", sha: mainTip },
        changed_files: 2,
      },
      repository: { default_branch: "main" },
    });
  });

  it("takes the base, the head and the action from the options", async () => {
    const { dir, featureTip } = forkedRepo();
    sh(dir, "checkout", "-q", "main");
    sh(dir, "branch", "release", featureTip);
    const repo = await readRepo(dir);
    const event = await buildEvent(repo, { eventName: "pull_request", base: "release", ref: "main", action: "synchronize" });
    expect(event).toMatchObject({ baseRef: "release", headRef: "main", sha: repo.sha });
    // Since main forked from release's history at the first commit, main's own change is m.txt.
    expect(event.changedFiles).toEqual(["m.txt"]);
    expect(event.payload.action).toBe("synchronize");
  });

  it("rejects a base branch that does not exist", async () => {
    const { dir } = forkedRepo();
    await expectGitError(buildEvent(await readRepo(dir), { eventName: "pull_request", base: "develop" }), "bad-ref", /base branch 'develop'/);
  });

  it("says when head and base share no history", async () => {
    const dir = newRepo();
    sh(dir, "checkout", "-q", "--orphan", "unrelated");
    write(dir, "u.txt", "u\n");
    commit(dir, "unrelated root");
    await expectGitError(buildEvent(await readRepo(dir), { eventName: "pull_request", base: "main" }), "bad-ref", /no merge base/);
  });

  it("reports pull request files relative to a workflow repository in a subdirectory", async () => {
    const dir = newRepo({ "svc/.github/workflows/ci.yml": "on: pull_request\n", "top.txt": "t\n" });
    sh(dir, "checkout", "-q", "-b", "feature");
    write(dir, "svc/lib/x.ts", "x\n");
    write(dir, "top.txt", "t2\n");
    commit(dir, "feature work");
    const event = await buildEvent(await readRepo(join(dir, "svc")), { eventName: "pull_request" });
    expect(event.changedFiles).toEqual(["lib/x.ts"]);
  });
});

describe("buildEvent: other events", () => {
  it("workflow_dispatch carries the inputs and the current ref, with no diff", async () => {
    const dir = newRepo();
    sh(dir, "checkout", "-q", "-b", "feature");
    const event = await buildEvent(await readRepo(dir), { eventName: "workflow_dispatch", inputs: { level: "debug" } });
    expect(event).toMatchObject({ name: "workflow_dispatch", ref: "refs/heads/feature", branch: "feature" });
    expect(event.changedFiles).toBeUndefined();
    expect(event.payload).toMatchObject({ inputs: { level: "debug" }, ref: "refs/heads/feature" });
  });

  it("schedule runs on the default branch's latest commit", async () => {
    const dir = newRepo();
    const mainSha = sh(dir, "rev-parse", "HEAD");
    sh(dir, "checkout", "-q", "-b", "feature");
    write(dir, "f.txt", "f\n");
    commit(dir, "feature");
    const event = await buildEvent(await readRepo(dir), { eventName: "schedule", schedule: "0 3 * * *" });
    expect(event).toMatchObject({ ref: "refs/heads/main", branch: "main", sha: mainSha });
    expect(event.payload.schedule).toBe("0 3 * * *");
  });

  it("any other event gets the ref, the commit and the action", async () => {
    const dir = newRepo();
    const event = await buildEvent(await readRepo(dir), { eventName: "issues", action: "opened" });
    expect(event).toMatchObject({ name: "issues", ref: "refs/heads/main", payload: { action: "opened", sender: { login: "local" } } });
  });
});

describe("buildEvent: payload file", () => {
  it("merges the file over the generated payload, object by object", async () => {
    const dir = newRepo();
    const file = join(tempDir(), "event.json");
    writeFileSync(file, JSON.stringify({ head_commit: { message: "from file" }, commits: [], extra: { x: 1 } }));
    const event = await buildEvent(await readRepo(dir), { eventName: "push", payloadFile: file });
    expect(event.payload).toMatchObject({ ref: "refs/heads/main", head_commit: { message: "from file", author: { name: "Mona Lisa" } }, commits: [], extra: { x: 1 } });
  });

  it("reads a pull request's base, head and number back from the file", async () => {
    const dir = newRepo();
    sh(dir, "checkout", "-q", "-b", "feature");
    const file = join(tempDir(), "pr.json");
    writeFileSync(file, JSON.stringify({ action: "closed", number: 42, pull_request: { base: { ref: "release" }, head: { ref: "topic" } } }));
    const event = await buildEvent(await readRepo(dir), { eventName: "pull_request", payloadFile: file });
    expect(event).toMatchObject({ ref: "refs/pull/42/merge", refName: "42/merge", baseRef: "release", headRef: "topic" });
    expect(event.payload).toMatchObject({ action: "closed", pull_request: { base: { ref: "release", sha: event.sha }, head: { ref: "topic" } } });
  });

  it("rejects a file that is not a JSON object", async () => {
    const repo = await readRepo(newRepo());
    const dir = tempDir();
    writeFileSync(join(dir, "bad.json"), "{ not json");
    writeFileSync(join(dir, "list.json"), "[1, 2]");
    await expectGitError(buildEvent(repo, { eventName: "push", payloadFile: join(dir, "bad.json") }), "bad-input", /cannot read the event payload file/);
    await expectGitError(buildEvent(repo, { eventName: "push", payloadFile: join(dir, "list.json") }), "bad-input", /must hold a JSON object/);
    await expectGitError(buildEvent(repo, { eventName: "push", payloadFile: join(dir, "missing.json") }), "bad-input", /ENOENT/);
  });
});
