import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

// remote.ts runs git through src/git, which reads PATH when it is loaded: put
// a logging wrapper in front of the real git first, so the tests can see
// which git commands a fetch ran.
let remote: typeof import("./remote.js");

const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
let root = "";
let sourceDir = "";
let gitLog = "";
let sha1 = "";
let sha2 = "";
let featureSha = "";

function git(cwd: string, ...args: string[]): string {
  return execFileSync(realGit, args, {
    cwd,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_AUTHOR_NAME: "Test",
      GIT_AUTHOR_EMAIL: "test@example.com",
      GIT_COMMITTER_NAME: "Test",
      GIT_COMMITTER_EMAIL: "test@example.com",
      GIT_CONFIG_NOSYSTEM: "1",
      HOME: root,
    },
  }).trim();
}

function gitCalls(): string[] {
  return existsSync(gitLog) ? readFileSync(gitLog, "utf8").split("\n").filter((line) => line !== "") : [];
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "slipway-remote-"));
  const bin = join(root, "bin");
  mkdirSync(bin);
  gitLog = join(root, "git.log");
  writeFileSync(join(bin, "git"), `#!/bin/sh\necho "$*" >> '${gitLog}'\nexec '${realGit}' "$@"\n`, { mode: 0o755 });
  process.env.PATH = `${bin}:${process.env.PATH ?? ""}`;
  remote = await import("./remote.js");

  // A work repository: v1 (annotated) and v1-light (lightweight) on the first
  // commit, main on the second, feature/x on a third, and a branch named
  // like the tag (v1) on the second commit to check that the tag wins.
  const work = join(root, "work");
  mkdirSync(join(work, "sub"), { recursive: true });
  git(root, "init", "--quiet", "--initial-branch=main", work);
  writeFileSync(join(work, "action.yml"), "name: hello\nruns:\n  using: node20\n  main: index.js\n");
  writeFileSync(join(work, "index.js"), "console.log('v1')\n");
  writeFileSync(join(work, "sub", "action.yml"), "name: sub\nruns:\n  using: composite\n  steps: []\n");
  git(work, "add", "-A");
  git(work, "commit", "--quiet", "-m", "first");
  sha1 = git(work, "rev-parse", "HEAD");
  git(work, "tag", "-a", "v1", "-m", "version 1");
  git(work, "tag", "v1-light");
  writeFileSync(join(work, "index.js"), "console.log('v2')\n");
  git(work, "commit", "--quiet", "-am", "second");
  sha2 = git(work, "rev-parse", "HEAD");
  git(work, "branch", "v1");
  git(work, "checkout", "--quiet", "-b", "feature/x");
  writeFileSync(join(work, "index.js"), "console.log('feature')\n");
  git(work, "commit", "--quiet", "-am", "feature");
  featureSha = git(work, "rev-parse", "HEAD");
  git(work, "checkout", "--quiet", "main");

  // The action source folder: a bare repository, a bare one named *.git, and a plain clone.
  sourceDir = join(root, "source");
  mkdirSync(join(sourceDir, "acme"), { recursive: true });
  git(root, "clone", "--quiet", "--bare", work, join(sourceDir, "acme", "hello"));
  git(root, "clone", "--quiet", "--bare", work, join(sourceDir, "acme", "other.git"));
  git(root, "clone", "--quiet", work, join(sourceDir, "acme", "plain"));
  git(join(sourceDir, "acme", "plain"), "branch", "--quiet", "v1", "origin/v1");
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

let cacheDir = "";
beforeEach(() => {
  cacheDir = mkdtempSync(join(root, "cache-"));
  rmSync(gitLog, { force: true });
});

const dirSource = () => ({ kind: "dir" as const, path: sourceDir });

function tempLeftovers(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    for (const name of readdirSync(d)) {
      if (name.startsWith(".tmp-")) found.push(join(d, name));
      else if (depth < 2) walk(join(d, name), depth + 1);
    }
  };
  if (existsSync(dir)) walk(dir, 0);
  return found;
}

describe("parseRemoteUses", () => {
  it("splits owner, repo, path and ref", () => {
    expect(remote.parseRemoteUses("actions/checkout@v4")).toEqual({ owner: "actions", repo: "checkout", path: "", ref: "v4" });
    expect(remote.parseRemoteUses("github/codeql-action/init@v3")).toEqual({ owner: "github", repo: "codeql-action", path: "init", ref: "v3" });
    expect(remote.parseRemoteUses("o/r/a/b/@releases/v1.2")).toEqual({ owner: "o", repo: "r", path: "a/b", ref: "releases/v1.2" });
    expect(remote.parseRemoteUses(`o/r@${"a".repeat(40)}`)?.ref).toBe("a".repeat(40));
  });

  it("rejects what is not a remote action or would be unsafe to hand to git", () => {
    for (const uses of [
      "./local",
      "docker://alpine:3",
      "actions/checkout",
      "checkout@v4",
      "o/r@",
      "o/r@-oops",
      "o/r@a..b",
      "o/r@a:b",
      "o/r@has space",
      "o/r/../x@v1",
      "../r@v1",
      "o/r@v1^{}",
    ]) {
      expect(remote.parseRemoteUses(uses), uses).toBeUndefined();
    }
  });
});

describe("parseActionSource", () => {
  it("reads folders and URL prefixes", () => {
    expect(remote.parseActionSource("")).toEqual({ kind: "url", prefix: "https://github.com" });
    expect(remote.parseActionSource("https://github.com/")).toEqual({ kind: "url", prefix: "https://github.com" });
    expect(remote.parseActionSource("file:///srv/mirror")).toEqual({ kind: "url", prefix: "file:///srv/mirror" });
    expect(remote.parseActionSource(`dir:${sourceDir}`)).toEqual({ kind: "dir", path: sourceDir });
    expect(remote.parseActionSource(sourceDir)).toEqual({ kind: "dir", path: sourceDir });
    expect(remote.parseActionSource("dir:relative/actions")).toEqual({ kind: "dir", path: join(process.cwd(), "relative/actions") });
  });
});

describe("fetchRemoteAction from a folder of repositories", () => {
  it("resolves an annotated tag to its commit and checks it out without .git", async () => {
    const fetched = await remote.fetchRemoteAction({ uses: "acme/hello@v1", source: dirSource(), cacheDir });
    expect(fetched).toEqual({ dir: join(cacheDir, "acme", "hello", sha1), sha: sha1, fromCache: false });
    expect(readFileSync(join(fetched.dir, "index.js"), "utf8")).toBe("console.log('v1')\n");
    expect(existsSync(join(fetched.dir, ".git"))).toBe(false);
    expect(tempLeftovers(cacheDir)).toEqual([]);
    // Only the commit was fetched: shallow, by ref name.
    expect(gitCalls().some((call) => /\bfetch --quiet --depth 1 --no-tags\b/.test(call))).toBe(true);
  });

  it("resolves a lightweight tag, a branch and a branch with a slash", async () => {
    expect((await remote.fetchRemoteAction({ uses: "acme/hello@v1-light", source: dirSource(), cacheDir })).sha).toBe(sha1);
    const main = await remote.fetchRemoteAction({ uses: "acme/hello@main", source: dirSource(), cacheDir });
    expect(main.sha).toBe(sha2);
    expect(readFileSync(join(main.dir, "index.js"), "utf8")).toBe("console.log('v2')\n");
    const feature = await remote.fetchRemoteAction({ uses: "acme/hello@feature/x", source: dirSource(), cacheDir });
    expect(feature.sha).toBe(featureSha);
    expect(readFileSync(join(feature.dir, "index.js"), "utf8")).toBe("console.log('feature')\n");
  });

  it("prefers a tag over a branch of the same name", async () => {
    expect((await remote.fetchRemoteAction({ uses: "acme/hello@v1", source: dirSource(), cacheDir })).sha).toBe(sha1);
  });

  it("accepts a full commit SHA (any case) without resolving it", async () => {
    const fetched = await remote.fetchRemoteAction({ uses: `acme/hello@${sha2.toUpperCase()}`, source: dirSource(), cacheDir });
    expect(fetched.sha).toBe(sha2);
    expect(readFileSync(join(fetched.dir, "index.js"), "utf8")).toBe("console.log('v2')\n");
    expect(gitCalls().some((call) => /\bls-remote\b/.test(call))).toBe(false);
  });

  it("returns the directory of a path inside the repository", async () => {
    const fetched = await remote.fetchRemoteAction({ uses: "acme/hello/sub@v1", source: dirSource(), cacheDir });
    expect(fetched.dir).toBe(join(cacheDir, "acme", "hello", sha1, "sub"));
    expect(readFileSync(join(fetched.dir, "action.yml"), "utf8")).toContain("name: sub");
  });

  it("finds <repo>.git and non-bare repositories", async () => {
    expect((await remote.fetchRemoteAction({ uses: "acme/other@main", source: dirSource(), cacheDir })).sha).toBe(sha2);
    expect((await remote.fetchRemoteAction({ uses: "acme/plain@v1", source: dirSource(), cacheDir })).sha).toBe(sha1);
  });

  it("uses the cache for a commit it already has", async () => {
    const first = await remote.fetchRemoteAction({ uses: "acme/hello@v1", source: dirSource(), cacheDir });
    writeFileSync(join(first.dir, "sentinel"), "kept");
    rmSync(gitLog, { force: true });

    const second = await remote.fetchRemoteAction({ uses: "acme/hello@v1", source: dirSource(), cacheDir });
    expect(second).toEqual({ ...first, fromCache: true });
    expect(readFileSync(join(second.dir, "sentinel"), "utf8")).toBe("kept");
    // The ref is resolved again (it may have moved); nothing is fetched.
    const calls = gitCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/\bls-remote\b/);

    // By SHA the source is not even asked: it may be gone.
    rmSync(gitLog, { force: true });
    const bySha = await remote.fetchRemoteAction({
      uses: `acme/hello@${sha1}`,
      source: { kind: "dir", path: join(root, "no-such-source") },
      cacheDir,
    });
    expect(bySha).toEqual({ ...first, fromCache: true });
    expect(gitCalls()).toEqual([]);
  });

  it("refetches a cached directory that was never completed", async () => {
    mkdirSync(join(cacheDir, "acme", "hello", sha1), { recursive: true });
    writeFileSync(join(cacheDir, "acme", "hello", sha1, "partial"), "");
    const fetched = await remote.fetchRemoteAction({ uses: "acme/hello@v1", source: dirSource(), cacheDir });
    expect(fetched.fromCache).toBe(false);
    expect(existsSync(join(fetched.dir, "partial"))).toBe(false);
    expect(existsSync(join(fetched.dir, "action.yml"))).toBe(true);
  });

  it("lets concurrent fetches of the same commit share one result", async () => {
    const results = await Promise.all(
      [1, 2, 3].map(() => remote.fetchRemoteAction({ uses: "acme/hello@main", source: dirSource(), cacheDir })),
    );
    for (const result of results) {
      expect(result.dir).toBe(join(cacheDir, "acme", "hello", sha2));
      expect(readFileSync(join(result.dir, "index.js"), "utf8")).toBe("console.log('v2')\n");
    }
    expect(tempLeftovers(cacheDir)).toEqual([]);
  });

  it("names the action, the source and the fix for an unknown ref", async () => {
    const error = await remote.fetchRemoteAction({ uses: "acme/hello@v9", source: dirSource(), cacheDir }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain("acme/hello@v9");
    expect((error as Error).message).toContain("'v9' is not a branch or tag");
    expect((error as Error).message).toContain(join(sourceDir, "acme", "hello"));
    expect((error as Error).message).toContain("full 40-character commit SHA");
  });

  it("reports a commit SHA the repository does not have", async () => {
    const missing = "0123456789abcdef0123456789abcdef01234567";
    const error = await remote.fetchRemoteAction({ uses: `acme/hello@${missing}`, source: dirSource(), cacheDir }).catch((e: Error) => e);
    expect((error as Error).message).toContain(`commit ${missing} is not in the folder ${sourceDir}`);
    expect(tempLeftovers(cacheDir)).toEqual([]);
  });

  it("reports a repository missing from the folder with the fix", async () => {
    const error = await remote.fetchRemoteAction({ uses: "acme/nope@v1", source: dirSource(), cacheDir }).catch((e: Error) => e);
    const message = (error as Error).message;
    expect(message).toContain("acme/nope@v1");
    expect(message).toContain(join(sourceDir, "acme", "nope"));
    expect(message).toContain("--action-source");
    expect(gitCalls()).toEqual([]);
  });

  it("reports a path the repository does not have", async () => {
    const error = await remote.fetchRemoteAction({ uses: "acme/hello/missing@v1", source: dirSource(), cacheDir }).catch((e: Error) => e);
    expect((error as Error).message).toContain("no directory 'missing'");
  });

  it("rejects a reference that is not owner/repo@ref", async () => {
    await expect(remote.fetchRemoteAction({ uses: "acme@v1", source: dirSource(), cacheDir })).rejects.toThrow(/not a valid action reference/);
  });
});

describe("fetchRemoteAction from a URL prefix", () => {
  const urlSource = () => ({ kind: "url" as const, prefix: `file://${sourceDir}` });

  it("clones <prefix>/<owner>/<repo> and, failing that, <repo>.git", async () => {
    const hello = await remote.fetchRemoteAction({ uses: "acme/hello@v1", source: urlSource(), cacheDir });
    expect(hello.sha).toBe(sha1);
    expect(readFileSync(join(hello.dir, "index.js"), "utf8")).toBe("console.log('v1')\n");
    const other = await remote.fetchRemoteAction({ uses: "acme/other/sub@main", source: urlSource(), cacheDir });
    expect(other.sha).toBe(sha2);
    expect(other.dir).toBe(join(cacheDir, "acme", "other", sha2, "sub"));
  });

  it("fetches by SHA and then uses the cache", async () => {
    const first = await remote.fetchRemoteAction({ uses: `acme/hello@${featureSha}`, source: urlSource(), cacheDir });
    expect(first.fromCache).toBe(false);
    rmSync(gitLog, { force: true });
    const second = await remote.fetchRemoteAction({ uses: "acme/hello@feature/x", source: urlSource(), cacheDir });
    expect(second).toEqual({ ...first, fromCache: true });
    expect(gitCalls().filter((call) => !/\bls-remote\b/.test(call))).toEqual([]);
  });

  it("names the action, the URL and the fix for an unknown repository", async () => {
    const error = await remote.fetchRemoteAction({ uses: "acme/missing@v1", source: urlSource(), cacheDir }).catch((e: Error) => e);
    const message = (error as Error).message;
    expect(message).toContain("acme/missing@v1");
    expect(message).toContain(`file://${sourceDir}`);
    expect(message).toContain("--action-source");
    expect(tempLeftovers(cacheDir)).toEqual([]);
  });

  it("names the ref for an unknown ref", async () => {
    const error = await remote.fetchRemoteAction({ uses: "acme/hello@nope", source: urlSource(), cacheDir }).catch((e: Error) => e);
    expect((error as Error).message).toContain(`'nope' is not a branch or tag of file://${sourceDir}/acme/hello`);
  });

  it("hides credentials of the source URL in messages", async () => {
    const error = await remote
      .fetchRemoteAction({ uses: "acme/missing@v1", source: { kind: "url", prefix: "file://user:hunter2@localhost/nowhere" }, cacheDir })
      .catch((e: Error) => e);
    expect((error as Error).message).not.toContain("hunter2");
    expect((error as Error).message).toContain("acme/missing@v1");
  });
});
