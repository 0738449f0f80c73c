// Affected packages: changed files → packages (the deepest folder), root
// rules (global files, lockfiles, the root package.json's fields), then
// every dependent, transitively. `decideAffected` is pure; `findAffected`
// reads git and calls it.
import picomatch from "picomatch";
import { buildGraph, type Edge, type PackageGraph } from "./graph.js";
import type { LockfileEffect } from "./lock-graph.js";
import { npmLockfileEffect } from "./npm-lockfile.js";
import { pnpmLockfileEffect } from "./pnpm-lockfile.js";
import { bunLockfileEffect } from "./bun-lockfile.js";
import { yarnLockfileEffect } from "./yarn-lockfile.js";
import type { Workspace } from "./workspaces.js";

/** Root files whose change affects every package, unless the root package.json says otherwise. */
export const DEFAULT_GLOBAL_FILES: readonly string[] = ["tsconfig*.json", ".nvmrc", ".node-version", ".npmrc", "pnpm-workspace.yaml", ".yarnrc.yml"];

export interface FileChange {
  /** git's status letter: A, M, D, R, C, T, U, or ? for untracked. */
  status: string;
  path: string;
  /** The old path of a rename or copy. */
  oldPath?: string;
}

export type Reason =
  | { type: "file"; file: string; status: string; message: string }
  | { type: "global"; file: string; message: string }
  | { type: "lockfile"; file: string; dependencies: string[]; message: string }
  | { type: "manifest"; file: string; fields: string[]; message: string }
  | { type: "dependency"; package: string; path: string; kind: string; message: string };

export interface AffectedPackage {
  name: string;
  path: string;
  reasons: Reason[];
  /** The shortest chain to a change: this package, the packages it depends on, then the change. */
  chain: string[];
}

export interface AffectedInput {
  workspace: Workspace;
  changes: readonly FileChange[];
  /** Root files read at the base and the head: package.json and lockfiles, when changed. */
  rootFiles: { base: Record<string, string | undefined>; head: Record<string, string | undefined> };
  /** The lockfiles present at the head (root files), whose diff shows what a change of overrides or resolutions did. */
  headLockfiles?: readonly string[];
  /** The workspace at the base, to place files of packages moved or removed since. */
  baseWorkspace?: Workspace;
}

export interface AffectedResult {
  packages: AffectedPackage[];
  cycles: string[][];
  /** Packages of the base that no longer exist (their files changed, nothing to build). */
  removed: string[];
  warnings: string[];
}

export const LOCKFILES = ["package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "bun.lock"];

const ANALYSERS: Record<string, (base: string | undefined, head: string | undefined, workspace: Workspace) => LockfileEffect> = {
  "package-lock.json": npmLockfileEffect,
  "npm-shrinkwrap.json": npmLockfileEffect,
  "yarn.lock": yarnLockfileEffect,
  "pnpm-lock.yaml": pnpmLockfileEffect,
  "bun.lock": bunLockfileEffect,
};

/** Fields of the root package.json whose change affects every package. */
const ALL_FIELDS = new Set(["workspaces", "packageManager", "slipway"]);
/** Fields that change how every package's dependencies resolve; an analysed lockfile shows their effect. */
const RESOLUTION_FIELDS = new Set(["overrides", "resolutions", "pnpm"]);

export function globalFilePatterns(rootManifest: Record<string, unknown>): string[] {
  const cfg = rootManifest.slipway;
  if (typeof cfg === "object" && cfg !== null) {
    const files = (cfg as Record<string, unknown>).globalFiles;
    if (Array.isArray(files)) return files.filter((f): f is string => typeof f === "string");
  }
  return [...DEFAULT_GLOBAL_FILES];
}

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The top-level fields that differ between two root package.json texts. */
export function changedFields(baseText: string | undefined, headText: string | undefined): string[] | "whole" {
  const base = parseObject(baseText);
  const head = parseObject(headText);
  if (!base || !head) return "whole";
  const out: string[] = [];
  for (const key of new Set([...Object.keys(base), ...Object.keys(head)])) {
    if (JSON.stringify(base[key]) !== JSON.stringify(head[key])) out.push(key);
  }
  return out.sort();
}

class Marks {
  readonly reasons = new Map<string, Reason[]>();
  readonly parent = new Map<string, string | undefined>();
  add(path: string, reason: Reason, parent?: string): boolean {
    const list = this.reasons.get(path);
    if (list) {
      list.push(reason);
      return false;
    }
    this.reasons.set(path, [reason]);
    this.parent.set(path, parent);
    return true;
  }
}

/** The deepest package folder (not the root) that contains `path`. */
export function packageOf(path: string, byPath: ReadonlyMap<string, unknown>): string | undefined {
  let dir = path;
  for (;;) {
    const i = dir.lastIndexOf("/");
    if (i < 0) return undefined;
    dir = dir.slice(0, i);
    if (dir !== "" && byPath.has(dir)) return dir;
  }
}

function kindName(kind: string): string {
  return kind === "dependencies" ? "dependency" : kind.replace(/Dependencies$/, "Dependency");
}

/** The base graph's edges between packages that still exist, keyed by the head path of the dependency; only those the head lacks. */
function baseEdges(base: Workspace | undefined, head: Workspace, graph: PackageGraph): Map<string, Edge[]> {
  const out = new Map<string, Edge[]>();
  if (!base) return out;
  const headPath = new Map(head.packages.map((p) => [p.name, p.path]));
  headPath.set(head.root.name, "");
  const baseGraph = buildGraph(base);
  for (const edges of baseGraph.dependents.values()) {
    for (const e of edges) {
      const fromName = baseGraph.packages.get(e.from)?.name;
      const toName = baseGraph.packages.get(e.to)?.name;
      const from = e.from === "" ? "" : fromName !== undefined ? headPath.get(fromName) : undefined;
      const to = e.to === "" ? "" : toName !== undefined ? headPath.get(toName) : undefined;
      if (from === undefined || to === undefined || from === to) continue;
      if ((graph.dependents.get(to) ?? []).some((h) => h.from === from)) continue;
      const list = out.get(to) ?? [];
      list.push({ ...e, from, to });
      out.set(to, list);
    }
  }
  return out;
}

export function decideAffected(input: AffectedInput, graph: PackageGraph = buildGraph(input.workspace)): AffectedResult {
  const { workspace } = input;
  const marks = new Marks();
  const warnings = [...workspace.warnings];
  const removed = new Set<string>();
  const nameOf = (p: string) => graph.packages.get(p)?.name ?? p;
  const all = [workspace.root, ...workspace.packages];
  const markAll = (reason: Reason) => {
    for (const p of all) marks.add(p.path, reason);
  };
  const globalMatch = picomatch(globalFilePatterns(workspace.root.manifest), { dot: true });
  const baseByPath = new Map((input.baseWorkspace?.packages ?? []).map((p) => [p.path, p]));
  const headByName = new Map(workspace.packages.map((p) => [p.name, p]));

  // Each path once (with --uncommitted a file may be both committed and changed again).
  const touchedBy = new Map<string, string>();
  for (const c of input.changes) {
    if (!touchedBy.has(c.path)) touchedBy.set(c.path, c.status);
    if (c.oldPath !== undefined && c.oldPath !== c.path && !touchedBy.has(c.oldPath)) touchedBy.set(c.oldPath, c.status === "C" ? "C" : "R (old path)");
  }
  const touched = [...touchedBy].map(([file, status]) => ({ file, status }));
  let rootManifestDone = false;
  const lockfilesDone = new Set<string>();
  for (const { file, status } of touched) {
    const owner = packageOf(file, graph.packages);
    if (owner !== undefined) {
      marks.add(owner, { type: "file", file, status, message: `changed ${file}` });
      continue;
    }
    // Not in a package of the head: a package moved or removed since the base?
    const baseOwner = packageOf(file, baseByPath);
    if (baseOwner !== undefined) {
      const name = baseByPath.get(baseOwner)?.name ?? baseOwner;
      const moved = headByName.get(name);
      if (moved) marks.add(moved.path, { type: "file", file, status, message: `changed ${file} (the package was at ${baseOwner})` });
      else removed.add(name);
      continue;
    }
    if (file === "package.json") {
      if (rootManifestDone) continue;
      rootManifestDone = true;
      const fields = changedFields(input.rootFiles.base["package.json"], input.rootFiles.head["package.json"]);
      const lockfile = (input.headLockfiles ?? []).some((f) => f in ANALYSERS);
      if (fields === "whole") {
        markAll({ type: "manifest", file, fields: [], message: "package.json added, removed or unreadable" });
        continue;
      }
      const global = fields.filter((f) => ALL_FIELDS.has(f) || (RESOLUTION_FIELDS.has(f) && !lockfile));
      if (global.length > 0) markAll({ type: "manifest", file, fields: global, message: `package.json: ${global.join(", ")} changed` });
      else if (fields.length > 0) marks.add("", { type: "manifest", file, fields, message: `package.json: ${fields.join(", ")} changed` });
      continue;
    }
    if (LOCKFILES.includes(file)) {
      if (lockfilesDone.has(file)) continue;
      lockfilesDone.add(file);
      const analyse = ANALYSERS[file];
      if (analyse) {
        const effect = analyse(input.rootFiles.base[file], input.rootFiles.head[file], workspace);
        if (!effect.ok) {
          warnings.push(`${file}: ${effect.reason}; every package counts as affected`);
          markAll({ type: "lockfile", file, dependencies: [], message: `${file} changed (${effect.reason})` });
          continue;
        }
        for (const [path, deps] of effect.affected) {
          marks.add(path, { type: "lockfile", file, dependencies: deps, message: `${file}: resolved ${deps.join(", ")} changed` });
        }
      } else {
        markAll({ type: "lockfile", file, dependencies: [], message: `${file} changed (not analysed yet)` });
      }
      continue;
    }
    if (globalMatch(file)) {
      markAll({ type: "global", file, message: `global file ${file} changed` });
      continue;
    }
    marks.add("", { type: "file", file, status, message: `changed ${file}` });
  }

  // Edges of the base graph too: a package that depended on a changed package at the base (its range
  // no longer satisfied, say) now gets something else in its place, so it is affected as well.
  const baseDependents = baseEdges(input.baseWorkspace, workspace, graph);
  // Dependents, breadth first, so each chain is a shortest one; a cycle ends where it was already marked.
  const queue = [...marks.reasons.keys()];
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i] as string;
    const edges = [...(graph.dependents.get(at) ?? []).map((e) => ({ e, base: false })), ...(baseDependents.get(at) ?? []).map((e) => ({ e, base: true }))];
    for (const { e: edge, base } of edges) {
      const kind = kindName(edge.kind);
      const message = base ? `depended on ${nameOf(at)} at the base (${kind})` : `depends on ${nameOf(at)} (${kind})`;
      const reason: Reason = { type: "dependency", package: nameOf(at), path: at, kind, message };
      if (marks.reasons.get(edge.from)?.some((r) => r.type === "dependency" && r.path === at)) continue;
      if (marks.add(edge.from, reason, at)) queue.push(edge.from);
    }
  }

  const packages: AffectedPackage[] = [];
  for (const [path, reasons] of marks.reasons) {
    const chain: string[] = [nameOf(path)];
    let at = path;
    let parent = marks.parent.get(at);
    while (parent !== undefined) {
      const reason = marks.reasons.get(at)?.find((r) => r.type === "dependency" && r.path === parent);
      const kind = reason?.type === "dependency" ? reason.kind : "dependency";
      chain.push(`${nameOf(parent)} (${reason?.message.includes(" at the base ") === true ? `${kind}, at the base` : kind})`);
      at = parent;
      parent = marks.parent.get(at);
    }
    const first = marks.reasons.get(at)?.[0];
    if (first) chain.push(first.message);
    packages.push({ name: nameOf(path), path, reasons, chain });
  }
  packages.sort((a, b) => (a.path === "" ? -1 : b.path === "" ? 1 : a.name.localeCompare(b.name)));
  return { packages, cycles: graph.cycles, removed: [...removed].sort(), warnings };
}
