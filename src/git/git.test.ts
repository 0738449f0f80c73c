import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { git, GitError, tryGit } from "./index.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "slipway-git-"));
  dirs.push(d);
  return d;
}

describe("git", () => {
  it("returns standard output, with arguments passed as they are (no shell)", async () => {
    const dir = tempDir();
    await git(dir, ["init", "-q", "-b", "main"]);
    expect(await git(dir, ["config", "--get", "core.bare"])).toBe("false\n");
    // A value with shell syntax is stored literally.
    await git(dir, ["config", "slipway.test", "$(echo hi); `x` | y"]);
    expect((await git(dir, ["config", "--get", "slipway.test"])).trim()).toBe("$(echo hi); `x` | y");
  });

  it("fails with not-a-repository outside a repository", async () => {
    const dir = tempDir();
    const error = await git(dir, ["rev-parse", "HEAD"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).code).toBe("not-a-repository");
    expect((error as GitError).message).toContain("run 'git init'");
  });

  it("fails with git-failed and git's message otherwise; tryGit turns that into undefined", async () => {
    const dir = tempDir();
    await git(dir, ["init", "-q"]);
    const error = await git(dir, ["rev-parse", "--verify", "no-such-ref"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).code).toBe("git-failed");
    expect((error as GitError).message).toMatch(/git rev-parse --verify no-such-ref failed in '.*': fatal: Needed a single revision/);
    expect((error as GitError).args).toEqual(["rev-parse", "--verify", "no-such-ref"]);
    expect(await tryGit(dir, ["rev-parse", "--verify", "--quiet", "no-such-ref"])).toBeUndefined();
  });

  it("tryGit still throws when the directory is not a repository", async () => {
    await expect(tryGit(tempDir(), ["rev-parse", "HEAD"])).rejects.toBeInstanceOf(GitError);
  });
});
