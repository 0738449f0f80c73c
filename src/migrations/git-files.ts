// SQL files of a commit, read with git, for verify.ts and release-schema.ts.
import { isAbsolute, posix, relative } from "node:path";
import { GitError, readRepo, tryGit } from "../git/index.js";
import { commitTree } from "../monorepo/index.js";
import { compareVersions, MigrationError, type MigrationFile } from "./apply.js";

/** A git repository: its toplevel, and the path inside it of the directory it was asked about ("" at the toplevel). */
export interface RepoLocation {
  root: string;
  prefix: string;
}

/** The repository of `repoDir` (a symbolic link to it, or into it, is fine). */
export async function locateRepo(repoDir: string): Promise<RepoLocation> {
  try {
    const { root, prefix } = await readRepo(repoDir);
    return { root, prefix };
  } catch (e) {
    if (!(e instanceof GitError)) throw e;
    if (e.code === "no-commits") throw new MigrationError(`${repoDir}: ${e.message}`, "read", repoDir);
    throw new MigrationError(`${repoDir} is not in a git repository: verify reads the previous release's files with git; run it in the repository`, "read", repoDir);
  }
}

/** `dir` (relative to the directory `repo` was located from, or absolute) as a path inside the repository: "." for its toplevel. */
export function repoPath(repo: RepoLocation, dir: string): string {
  if (isAbsolute(dir)) return relative(repo.root, dir) || ".";
  return posix.normalize(posix.join(repo.prefix || ".", dir)).replace(/\/+$/, "") || ".";
}

/** The commit `rev` names in the repository, or undefined when there is none. */
export async function commitOf(repo: RepoLocation, rev: string): Promise<string | undefined> {
  return (await tryGit(repo.root, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]))?.trim() || undefined;
}

/** `*.sql` files at `rev` under `dir` (a path inside the repository): directly in it, or at any depth. One ls-tree and one cat-file. */
export async function filesAt(repo: RepoLocation, rev: string, dir: string, recursive: boolean): Promise<MigrationFile[]> {
  const prefix = dir === "" || dir === "." ? "" : `${dir.replace(/\/+$/, "")}/`;
  const tree = await commitTree(repo.root, rev, prefix);
  const versions = tree.files.filter((p) => p.endsWith(".sql") && (recursive || !p.includes("/"))).sort(compareVersions);
  const texts = await tree.read(versions);
  return versions.map((version, i) => ({ version, file: `${prefix}${version}`, sql: texts[i] ?? "" }));
}
