// The package graph: which workspace package each dependency entry resolves
// to (`workspace:`, `npm:` aliases, `file:`/`link:` paths, plain ranges that
// npm, yarn and pnpm link), who depends on whom, and the cycles.
import { posix } from "node:path";
import { satisfies } from "./semver-range.js";
import { DEPENDENCY_KINDS, type DependencyKind, type Workspace, type WorkspacePackage } from "./workspaces.js";

export interface Edge {
  /** The dependent's path. */
  from: string;
  /** The dependency's path. */
  to: string;
  kind: DependencyKind;
  /** The key in the manifest (an alias for `npm:` specs). */
  alias: string;
  spec: string;
}

export interface PackageGraph {
  /** Root and workspace packages by path ("" is the root). */
  packages: Map<string, WorkspacePackage>;
  /** Dependencies of each package (edges from it). */
  dependencies: Map<string, Edge[]>;
  /** Dependents of each package (edges to it). */
  dependents: Map<string, Edge[]>;
  /** Each cycle (a strongly connected component) as the sorted names of its packages. */
  cycles: string[][];
}

function splitNameRange(text: string): { name: string; range: string | undefined } {
  const at = text.indexOf("@", text.startsWith("@") ? 1 : 0);
  return at < 0 ? { name: text, range: undefined } : { name: text.slice(0, at), range: text.slice(at + 1) };
}

/**
 * The workspace package a dependency entry resolves to, or undefined when it
 * resolves to the registry, a git URL, a tarball or a folder outside the workspace.
 */
export function resolveDependency(
  alias: string,
  spec: string,
  from: WorkspacePackage,
  byName: ReadonlyMap<string, WorkspacePackage>,
  byPath: ReadonlyMap<string, WorkspacePackage>,
): WorkspacePackage | undefined {
  const s = spec.trim();
  const byFolder = (rel: string) => {
    const path = posix.normalize(posix.join(from.path === "" ? "." : from.path, rel)).replace(/\/+$/, "");
    return byPath.get(path === "." ? "" : path);
  };
  if (s.startsWith("workspace:")) {
    const rest = s.slice("workspace:".length);
    if (rest.startsWith(".") || rest.startsWith("/")) return byFolder(rest);
    // pnpm's `workspace:other@*` aliases another workspace package.
    const aliased = /^(@[^@/]+\/[^@]+|[^@]+)@/.exec(rest);
    return byName.get(aliased ? (aliased[1] ?? alias) : alias);
  }
  if (s.startsWith("npm:")) {
    const { name, range } = splitNameRange(s.slice(4));
    const target = byName.get(name);
    if (!target) return undefined;
    if (range === undefined || range.startsWith("workspace:")) return target;
    return linksTo(target, range) ? target : undefined;
  }
  for (const scheme of ["file:", "link:", "portal:"]) {
    if (s.startsWith(scheme)) return byFolder(s.slice(scheme.length));
  }
  const target = byName.get(alias);
  if (!target) return undefined;
  // URLs, git and tarball specs go elsewhere; a range names the workspace version.
  if (/^[a-z+]+:/i.test(s) || s.includes("/")) return undefined;
  return linksTo(target, s) ? target : undefined;
}

/** npm and yarn link a workspace package when its version satisfies the range; unknown counts as linked. */
function linksTo(target: WorkspacePackage, range: string): boolean {
  if (target.version === undefined) return true;
  return satisfies(target.version, range) !== false;
}

export function buildGraph(workspace: Workspace): PackageGraph {
  const all = [workspace.root, ...workspace.packages];
  const packages = new Map(all.map((p) => [p.path, p]));
  const byName = new Map<string, WorkspacePackage>();
  for (const p of workspace.packages) if (!byName.has(p.name)) byName.set(p.name, p);
  const dependencies = new Map<string, Edge[]>(all.map((p) => [p.path, []]));
  const dependents = new Map<string, Edge[]>(all.map((p) => [p.path, []]));
  for (const from of all) {
    for (const kind of DEPENDENCY_KINDS) {
      const deps = from.manifest[kind];
      if (typeof deps !== "object" || deps === null) continue;
      for (const [alias, spec] of Object.entries(deps as Record<string, unknown>)) {
        if (typeof spec !== "string") continue;
        const to = resolveDependency(alias, spec, from, byName, packages);
        if (!to || to.path === from.path) continue;
        const edge: Edge = { from: from.path, to: to.path, kind, alias, spec };
        dependencies.get(from.path)?.push(edge);
        dependents.get(to.path)?.push(edge);
      }
    }
  }
  const graph: PackageGraph = { packages, dependencies, dependents, cycles: [] };
  graph.cycles = findCycles(graph);
  return graph;
}

/** Strongly connected components with more than one package (Tarjan, iterative). */
export function findCycles(graph: Pick<PackageGraph, "packages" | "dependencies">): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  for (const start of [...graph.packages.keys()].sort()) {
    if (index.has(start)) continue;
    const work: { node: string; i: number }[] = [{ node: start, i: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1] as { node: string; i: number };
      const edges = graph.dependencies.get(top.node) ?? [];
      if (top.i < edges.length) {
        const to = (edges[top.i++] as Edge).to;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, i: 0 });
        } else if (onStack.has(to)) {
          low.set(top.node, Math.min(low.get(top.node) ?? 0, index.get(to) ?? 0));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(top.node) ?? 0));
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        for (;;) {
          const n = stack.pop() as string;
          onStack.delete(n);
          component.push(n);
          if (n === top.node) break;
        }
        if (component.length > 1) {
          cycles.push(component.reverse().map((p) => graph.packages.get(p)?.name ?? p).sort());
        }
      }
    }
  }
  return cycles.sort((a, b) => (a[0] ?? "").localeCompare(b[0] ?? ""));
}
