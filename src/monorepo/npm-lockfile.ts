// package-lock.json (v2, v3) analysis: which workspaces' resolved
// dependencies changed between two versions of the lockfile. An entry of
// `packages` that differs (added, removed, changed) affects each workspace
// whose dependency closure, in the base or the head lockfile, reaches it.
import type { Workspace } from "./workspaces.js";

type Entries = Record<string, Record<string, unknown>>;

import type { LockfileEffect } from "./lock-graph.js";

function entriesOf(text: string | undefined): Entries | undefined | "unreadable" {
  if (text === undefined) return undefined;
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== "object" || doc === null) return "unreadable";
    const packages = (doc as Record<string, unknown>).packages;
    if (typeof packages !== "object" || packages === null) return "unreadable";
    return packages as Entries;
  } catch {
    return "unreadable";
  }
}

/** The name a `node_modules/...` location installs (`node_modules/a/node_modules/@s/b` → `@s/b`). */
export function nameAt(location: string): string {
  const i = location.lastIndexOf("node_modules/");
  return i < 0 ? location : location.slice(i + "node_modules/".length);
}

/** Node's resolution of `name` from `location`, in the lockfile's entries. */
function resolveFrom(entries: Entries, location: string, name: string): string | undefined {
  const parts = location === "" ? [] : location.split("/");
  for (let i = parts.length; i >= 0; i--) {
    if (i > 0 && parts[i - 1] === "node_modules") continue;
    const prefix = parts.slice(0, i).join("/");
    const candidate = `${prefix === "" ? "" : `${prefix}/`}node_modules/${name}`;
    if (entries[candidate]) return candidate;
  }
  return undefined;
}

const DEP_FIELDS = ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"];

/** The locations a workspace's dependencies reach, not entering other workspaces (the package graph covers those). */
function closure(entries: Entries, start: string, workspacePaths: ReadonlySet<string>): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const at = todo.pop() as string;
    const entry = entries[at];
    if (!entry) continue;
    for (const field of DEP_FIELDS) {
      const deps = entry[field];
      if (typeof deps !== "object" || deps === null) continue;
      for (const name of Object.keys(deps)) {
        const loc = resolveFrom(entries, at, name);
        if (loc === undefined || seen.has(loc)) continue;
        const target = entries[loc];
        // A workspace: its own changes reach us through the package graph.
        if (target?.link === true && typeof target.resolved === "string" && workspacePaths.has(target.resolved)) continue;
        seen.add(loc);
        if (target?.link === true && typeof target.resolved === "string") {
          if (!seen.has(target.resolved)) {
            seen.add(target.resolved);
            todo.push(target.resolved);
          }
          continue;
        }
        todo.push(loc);
      }
    }
  }
  return seen;
}

function changedLocations(base: Entries, head: Entries): Set<string> {
  const changed = new Set<string>();
  for (const key of new Set([...Object.keys(base), ...Object.keys(head)])) {
    if (JSON.stringify(base[key]) !== JSON.stringify(head[key])) changed.add(key);
  }
  return changed;
}

/**
 * The workspaces (root included, path "") whose resolved dependencies differ
 * between two package-lock.json texts. `undefined` text = no lockfile then.
 */
export function npmLockfileEffect(baseText: string | undefined, headText: string | undefined, workspace: Workspace): LockfileEffect {
  const base = entriesOf(baseText) ?? {};
  const head = entriesOf(headText) ?? {};
  if (base === "unreadable" || head === "unreadable") {
    return { ok: false, reason: "package-lock.json has no `packages` map (lockfileVersion 1, or not JSON)" };
  }
  const changed = changedLocations(base, head);
  const workspacePaths = new Set(workspace.packages.map((p) => p.path));
  const affected = new Map<string, string[]>();
  for (const pkg of [workspace.root, ...workspace.packages]) {
    const names = new Set<string>();
    for (const entries of [base, head]) {
      for (const loc of closure(entries, pkg.path, workspacePaths)) {
        if (changed.has(loc) && loc.includes("node_modules/")) names.add(nameAt(loc));
      }
    }
    if (names.size > 0) affected.set(pkg.path, [...names].sort());
  }
  return { ok: true, affected };
}
