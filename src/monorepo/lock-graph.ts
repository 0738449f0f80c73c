// What every lockfile analysis shares: the lockfile read as a graph of
// resolved entries, the entries each workspace starts from, and the
// comparison of two such graphs.
import type { Workspace } from "./workspaces.js";

export type LockfileEffect =
  /** Workspace path → the changed dependencies (package names) in its closure. */
  | { ok: true; affected: Map<string, string[]> }
  | { ok: false; reason: string };

export interface LockEntry {
  /** The package name, for messages. */
  name: string;
  /** The entry's resolved content, compared between base and head. */
  content: string;
  /** Keys of the entries it depends on. */
  deps: string[];
}

export interface LockGraph {
  /** Workspace path ("" for the root) → keys of the entries its manifest resolves to. */
  roots: Map<string, string[]>;
  entries: Map<string, LockEntry>;
}

function closure(graph: LockGraph, start: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...start];
  while (todo.length > 0) {
    const key = todo.pop() as string;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const d of graph.entries.get(key)?.deps ?? []) if (!seen.has(d)) todo.push(d);
  }
  return seen;
}

/** Workspace path → names of the changed entries in its closure (base or head). */
export function compareLockGraphs(base: LockGraph, head: LockGraph, workspacePaths: readonly string[]): Map<string, string[]> {
  const changed = new Set<string>();
  for (const key of new Set([...base.entries.keys(), ...head.entries.keys()])) {
    if (base.entries.get(key)?.content !== head.entries.get(key)?.content) changed.add(key);
  }
  const out = new Map<string, string[]>();
  for (const path of workspacePaths) {
    const names = new Set<string>();
    for (const g of [base, head]) {
      for (const key of closure(g, g.roots.get(path) ?? [])) {
        if (changed.has(key)) names.add((head.entries.get(key) ?? base.entries.get(key))?.name ?? key);
      }
    }
    if (names.size > 0) out.set(path, [...names].sort());
  }
  return out;
}

/**
 * A lockfile change's effect, given the reader of one version into a graph
 * (a string: why it cannot be read; `undefined` text: no lockfile then).
 */
export function lockfileEffect(
  toGraph: (text: string | undefined, workspace: Workspace) => LockGraph | string,
  baseText: string | undefined,
  headText: string | undefined,
  workspace: Workspace,
): LockfileEffect {
  const base = toGraph(baseText, workspace);
  const head = toGraph(headText, workspace);
  if (typeof base === "string") return { ok: false, reason: base };
  if (typeof head === "string") return { ok: false, reason: head };
  const paths = [workspace.root, ...workspace.packages].map((p) => p.path);
  return { ok: true, affected: compareLockGraphs(base, head, paths) };
}
