// The shell around decideAffected: git gives the changes and the files at
// the base and the head; the decision is pure.
import { readRepo } from "../git/index.js";
import { decideAffected, LOCKFILES, packageOf, type AffectedResult } from "./affected.js";
import { changedFiles, defaultBase, resolveRefs } from "./changes.js";
import { buildGraph } from "./graph.js";
import { commitTree, workingTree } from "./tree.js";
import { discoverWorkspace } from "./workspaces.js";

export interface FindAffectedOptions {
  /** Default: origin/HEAD, else the default branch. */
  base?: string;
  /** Default: HEAD. */
  head?: string;
  /** Add staged, unstaged and untracked files; the head's packages are read from the working tree. */
  uncommitted?: boolean;
}

export interface FindAffectedResult extends AffectedResult {
  base: string;
  head: string;
  mergeBase: string;
  /** The refs as given or defaulted. */
  baseRef: string;
  headRef: string;
  changedFiles: number;
}

export async function findAffected(dir: string, opts: FindAffectedOptions = {}): Promise<FindAffectedResult> {
  const baseRef = opts.base ?? (await defaultBase(dir, (await readRepo(dir)).defaultBranch));
  const headRef = opts.head ?? "HEAD";
  const refs = await resolveRefs(dir, baseRef, headRef);
  // The diff and the head's packages are read at the same time.
  const [set, headTree] = await Promise.all([
    changedFiles(dir, refs.base, refs.head, opts.uncommitted === true),
    opts.uncommitted === true ? workingTree(dir) : commitTree(dir, refs.head, refs.prefix),
  ]);
  const workspace = await discoverWorkspace(headTree);
  const graph = buildGraph(workspace);

  const paths = new Set(set.changes.flatMap((c) => (c.oldPath !== undefined ? [c.path, c.oldPath] : [c.path])));
  const rootNames = ["package.json", ...LOCKFILES].filter((f) => paths.has(f));
  // The base's packages are read when needed: files outside every package of the head may belong to a
  // package moved or removed since the base...
  // ...and a changed manifest may have dropped an edge of the base graph.
  const needBase = [...paths].some((p) => p.includes("/") && (packageOf(p, graph.packages) === undefined || p.endsWith("/package.json")));
  const baseTree = rootNames.length > 0 || needBase ? await commitTree(dir, set.mergeBase, refs.prefix) : undefined;
  const rootFiles = { base: {} as Record<string, string | undefined>, head: {} as Record<string, string | undefined> };
  if (baseTree && rootNames.length > 0) {
    const [b, h] = await Promise.all([baseTree.read(rootNames), headTree.read(rootNames)]);
    rootNames.forEach((f, i) => {
      rootFiles.base[f] = b[i];
      rootFiles.head[f] = h[i];
    });
  }
  const baseWorkspace = needBase && baseTree ? await discoverWorkspace(baseTree) : undefined;
  const files = new Set(headTree.files);
  const headLockfiles = LOCKFILES.filter((f) => files.has(f));
  const result = decideAffected({ workspace, changes: set.changes, rootFiles, headLockfiles, ...(baseWorkspace ? { baseWorkspace } : {}) }, graph);
  return { ...result, base: set.base, head: set.head, mergeBase: set.mergeBase, baseRef, headRef, changedFiles: paths.size };
}
