// pnpm-lock.yaml analysis (lockfile v6 of pnpm 8, v9 of pnpm 9 and 10):
// `importers` give each workspace's resolved versions; `packages` (v6) or
// `packages` + `snapshots` (v9) give every package's content and its own
// dependencies.
import { parse as parseYaml } from "yaml";
import { lockfileEffect, type LockEntry, type LockfileEffect, type LockGraph } from "./lock-graph.js";
import type { Workspace } from "./workspaces.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const DEP_FIELDS = ["dependencies", "devDependencies", "optionalDependencies"];

/** `name@1.0.0(peer@2)` → `name@1.0.0`; `/name@1.0.0` → `name@1.0.0`. */
function stripPeers(key: string): string {
  const i = key.indexOf("(");
  return i < 0 ? key : key.slice(0, i);
}

function nameOfKey(key: string): string {
  const k = key.startsWith("/") ? key.slice(1) : key;
  const at = k.indexOf("@", k.startsWith("@") ? 1 : 0);
  return at < 0 ? k : k.slice(0, at);
}

function toGraph(text: string | undefined): LockGraph | string {
  const graph: LockGraph = { roots: new Map(), entries: new Map() };
  if (text === undefined) return graph;
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return "pnpm-lock.yaml is not valid YAML";
  }
  if (!isObj(doc)) return "pnpm-lock.yaml is not a mapping";
  const version = Number.parseFloat(String(doc.lockfileVersion));
  if (!(version >= 6)) return `pnpm-lock.yaml lockfileVersion ${String(doc.lockfileVersion)} is older than 6.0`;
  const v9 = version >= 9;
  const packages = isObj(doc.packages) ? doc.packages : {};
  const snapshots = v9 && isObj(doc.snapshots) ? doc.snapshots : packages;
  const prefix = v9 ? "" : "/";
  const keyFor = (name: string, version: string): string | undefined => {
    // A workspace: its changes reach its dependents through the package graph.
    if (version.startsWith("link:")) return undefined;
    const direct = `${prefix}${name}@${version}`;
    if (direct in snapshots) return direct;
    // An alias (`npm:other@1`): the version names the package.
    if (`${prefix}${version}` in snapshots) return `${prefix}${version}`;
    if (version in snapshots) return version;
    return direct;
  };
  const depsOf = (entry: unknown, nested: boolean): string[] => {
    const out: string[] = [];
    if (!isObj(entry)) return out;
    for (const field of DEP_FIELDS) {
      const deps = entry[field];
      if (!isObj(deps)) continue;
      for (const [name, v] of Object.entries(deps)) {
        const version = nested ? v : isObj(v) ? v.version : v;
        if (typeof version !== "string") continue;
        const key = keyFor(name, version);
        if (key !== undefined) out.push(key);
      }
    }
    return out;
  };
  for (const [key, snap] of Object.entries(snapshots)) {
    const pkg = packages[stripPeers(key)];
    const entry: LockEntry = { name: nameOfKey(key), content: JSON.stringify([pkg ?? null, snap ?? null]), deps: depsOf(snap, true) };
    graph.entries.set(key, entry);
  }
  const importers = isObj(doc.importers) ? doc.importers : { ".": doc };
  for (const [path, importer] of Object.entries(importers)) graph.roots.set(path === "." ? "" : path, depsOf(importer, false));
  return graph;
}

export function pnpmLockfileEffect(baseText: string | undefined, headText: string | undefined, workspace: Workspace): LockfileEffect {
  return lockfileEffect(toGraph, baseText, headText, workspace);
}
