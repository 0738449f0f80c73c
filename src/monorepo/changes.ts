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

/**
 * The commits that base and head name, and where `dir` is in the repository
 * (`git rev-parse --show-prefix`), from one git process; when a ref is not a
 * commit, each is checked on its own for the error that names it.
 */
export async function resolveRefs(dir: string, base: string, head: string): Promise<{ base: string; head: string; prefix: string }> {
  const out = await tryGit(dir, ["rev-parse", "--show-prefix", `${base}^{commit}`, `${head}^{commit}`]);
  const lines = out?.split("\n") ?? [];
  const [prefix, b, h] = lines;
  if (prefix !== undefined && b !== undefined && h !== undefined && /^[0-9a-f]{40,64}$/.test(b) && /^[0-9a-f]{40,64}$/.test(h)) {
    return { base: b, head: h, prefix };
  }
  const [vb, vh, p] = await Promise.all([verify(dir, base), verify(dir, head), git(dir, ["rev-parse", "--show-prefix"])]);
  return { base: vb, head: vh, prefix: p.trim() };
}

/** The files changed in `dir` (paths relative to it; changes outside it are left out), base and head being commits. */
export async function changedFiles(dir: string, base: string, head: string, uncommitted: boolean): Promise<ChangeSet> {
  const committed = async () => {
    // `base...head` diffs from the merge base too: both git processes run at once.
    // No merge base is the error to report (the diff fails then too); any other
    // failure of the diff keeps its own message.
    const [mb, diff] = await Promise.allSettled([
      tryGit(dir, ["merge-base", base, head]),
      git(dir, ["diff", "--name-status", "-z", "-M", "--relative", `${base}...${head}`]),
    ]);
    if (mb.status === "rejected") throw mb.reason;
    if (mb.value === undefined || mb.value.trim() === "") {
      throw new GitError("bad-ref", `'${base}' and '${head}' have no common ancestor; pass --base a commit that the head descends from`);
    }
    if (diff.status === "rejected") throw diff.reason;
    return { mergeBase: mb.value.trim(), changes: parseNameStatus(diff.value) };
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
