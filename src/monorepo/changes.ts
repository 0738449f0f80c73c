// Changed files from git: `git diff --name-status -M base...head` (since the
// merge base), and with `uncommitted` the staged, unstaged and untracked files.
import { git, GitError, tryGit } from "../git/index.js";
import type { FileChange } from "./affected.js";

/** Parses `git diff --name-status -z` output. */
export function parseNameStatus(out: string): FileChange[] {
  const fields = out.split("\0");
  const changes: FileChange[] = [];
  let i = 0;
  while (i < fields.length) {
    const code = fields[i++] ?? "";
    if (code === "") continue;
    const status = code.charAt(0);
    if (status === "R" || status === "C") {
      const oldPath = fields[i++] ?? "";
      const path = fields[i++] ?? "";
      changes.push({ status, path, oldPath });
    } else {
      changes.push({ status, path: fields[i++] ?? "" });
    }
  }
  return changes;
}

async function verify(dir: string, ref: string): Promise<string> {
  const sha = await tryGit(dir, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (sha === undefined || sha.trim() === "") {
    throw new GitError("bad-ref", `'${ref}' is not a commit in this repository; pass an existing branch, tag or commit`, ["rev-parse", ref]);
  }
  return sha.trim();
}

export interface ChangeSet {
  base: string;
  head: string;
  /** The merge base of base and head: the commit the changes are counted from. */
  mergeBase: string;
  changes: FileChange[];
}

/** The commits that base and head name (checked in parallel). */
export async function resolveRefs(dir: string, base: string, head: string): Promise<{ base: string; head: string }> {
  const [b, h] = await Promise.all([verify(dir, base), verify(dir, head)]);
  return { base: b, head: h };
}

/** The files changed in `dir` (paths relative to it; changes outside it are left out), base and head being commits. */
export async function changedFiles(dir: string, base: string, head: string, uncommitted: boolean): Promise<ChangeSet> {
  const committed = async () => {
    const mb = await tryGit(dir, ["merge-base", base, head]);
    if (mb === undefined || mb.trim() === "") {
      throw new GitError("bad-ref", `'${base}' and '${head}' have no common ancestor; pass --base a commit that the head descends from`);
    }
    const changes = parseNameStatus(await git(dir, ["diff", "--name-status", "-z", "-M", "--relative", `${base}...${head}`]));
    return { mergeBase: mb.trim(), changes };
  };
  const working = async (): Promise<FileChange[]> => {
    if (!uncommitted) return [];
    const [diff, others] = await Promise.all([
      git(dir, ["diff", "--name-status", "-z", "-M", "--relative", "HEAD"]),
      git(dir, ["ls-files", "-z", "--others", "--exclude-standard"]),
    ]);
    const untracked = others.split("\0").filter((p) => p !== "");
    return [...parseNameStatus(diff), ...untracked.map((path) => ({ status: "?", path }))];
  };
  const [{ mergeBase, changes }, extra] = await Promise.all([committed(), working()]);
  return { base, head, mergeBase, changes: [...changes, ...extra] };
}

/** The default base: origin/HEAD when it exists, else the default branch. */
export async function defaultBase(dir: string, defaultBranch: string): Promise<string> {
  const origin = await tryGit(dir, ["rev-parse", "--verify", "--quiet", "refs/remotes/origin/HEAD"]);
  return origin !== undefined && origin.trim() !== "" ? "origin/HEAD" : defaultBranch;
}
