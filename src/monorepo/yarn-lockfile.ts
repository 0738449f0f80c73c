// yarn.lock analysis: the classic format (yarn 1, its own syntax) and the
// berry format (yarn 2+, YAML with `__metadata`). Entries are keyed by what
// they resolve to (name@version, or berry's `resolution`), so adding a range
// that resolves to the same version changes nothing.
import { parse as parseYaml } from "yaml";
import { lockfileEffect, type LockfileEffect, type LockGraph } from "./lock-graph.js";
import { DEPENDENCY_KINDS, type Workspace } from "./workspaces.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function unquote(s: string): string {
  const t = s.trim();
  return t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

function nameOf(descriptor: string): string {
  const at = descriptor.indexOf("@", descriptor.startsWith("@") ? 1 : 0);
  return at < 0 ? descriptor : descriptor.slice(0, at);
}

/** Yarn 1's format: `"a@^1", a@^1.1:` blocks with indented fields and dependency maps. */
export function parseYarnClassic(text: string): Map<string[], Obj> {
  const blocks = new Map<string[], Obj>();
  let entry: Obj | undefined;
  let sub: Obj | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === "" || raw.trimStart().startsWith("#")) continue;
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (indent === 0) {
      entry = {};
      sub = undefined;
      blocks.set(line.replace(/:$/, "").split(/,\s*/).map(unquote), entry);
    } else if (entry && indent <= 2) {
      if (line.endsWith(":")) {
        sub = {};
        entry[unquote(line.slice(0, -1))] = sub;
      } else {
        sub = undefined;
        const m = /^("[^"]*"|\S+)\s+(.*)$/.exec(line);
        if (m) entry[unquote(m[1] ?? "")] = unquote(m[2] ?? "");
      }
    } else if (sub) {
      const m = /^("[^"]*"|\S+)\s+(.*)$/.exec(line);
      if (m) sub[unquote(m[1] ?? "")] = unquote(m[2] ?? "");
    }
  }
  return blocks;
}

function parseBerry(doc: Obj): Map<string[], Obj> {
  const blocks = new Map<string[], Obj>();
  for (const [key, value] of Object.entries(doc)) {
    if (key === "__metadata" || !isObj(value)) continue;
    blocks.set(key.split(/,\s*/).map((d) => d.trim()), value);
  }
  return blocks;
}

const LOCK_DEP_FIELDS = ["dependencies", "optionalDependencies"];

function toGraph(text: string | undefined, workspace: Workspace): LockGraph | string {
  const graph: LockGraph = { roots: new Map(), entries: new Map() };
  if (text === undefined) return graph;
  let blocks: Map<string[], Obj>;
  let berry = false;
  if (/^__metadata:/m.test(text)) {
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch {
      return "yarn.lock is not valid YAML";
    }
    if (!isObj(doc)) return "yarn.lock is not a mapping";
    blocks = parseBerry(doc);
    berry = true;
  } else {
    blocks = parseYarnClassic(text);
  }
  // descriptor → the key of what it resolves to; workspace descriptors → their path.
  const keyOf = new Map<string, string>();
  const workspaceOf = new Map<string, string>();
  const resolved: [string, Obj][] = [];
  for (const [descriptors, entry] of blocks) {
    const first = descriptors[0] ?? "";
    const resolution = typeof entry.resolution === "string" ? entry.resolution : `${nameOf(first)}@${String(entry.version)}`;
    const ws = /@workspace:(.*)$/.exec(resolution);
    if (berry && ws) {
      for (const d of descriptors) workspaceOf.set(d, ws[1] === "." ? "" : (ws[1] ?? ""));
      resolved.push([`workspace:${ws[1] ?? ""}`, entry]);
      continue;
    }
    for (const d of descriptors) keyOf.set(d, resolution);
    resolved.push([resolution, entry]);
  }
  const depsOf = (entry: Obj, fields: readonly string[]): string[] => {
    const out: string[] = [];
    for (const field of fields) {
      const deps = entry[field];
      if (!isObj(deps)) continue;
      for (const [name, range] of Object.entries(deps)) {
        if (typeof range !== "string") continue;
        const key = keyOf.get(`${name}@${range}`) ?? (berry ? keyOf.get(`${name}@npm:${range}`) : undefined);
        if (key !== undefined) out.push(key);
      }
    }
    return out;
  };
  for (const [key, entry] of resolved) {
    if (key.startsWith("workspace:")) {
      graph.roots.set(key === "workspace:." ? "" : key.slice("workspace:".length), depsOf(entry, LOCK_DEP_FIELDS.concat("devDependencies")));
      continue;
    }
    const { version, resolved: url, integrity, checksum, resolution, dependencies, optionalDependencies } = entry;
    graph.entries.set(key, {
      name: nameOf(key),
      content: JSON.stringify([version, url, integrity, checksum, resolution, dependencies, optionalDependencies]),
      deps: depsOf(entry, LOCK_DEP_FIELDS),
    });
  }
  if (!berry) {
    // Yarn 1 has no workspace entries: each manifest's ranges are the roots.
    for (const pkg of [workspace.root, ...workspace.packages]) {
      const roots: string[] = [];
      for (const kind of DEPENDENCY_KINDS) {
        if (kind === "peerDependencies") continue;
        const deps = pkg.manifest[kind];
        if (!isObj(deps)) continue;
        for (const [name, range] of Object.entries(deps)) {
          const key = typeof range === "string" ? keyOf.get(`${name}@${range}`) : undefined;
          if (key !== undefined) roots.push(key);
        }
      }
      graph.roots.set(pkg.path, roots);
    }
  }
  return graph;
}

export function yarnLockfileEffect(baseText: string | undefined, headText: string | undefined, workspace: Workspace): LockfileEffect {
  return lockfileEffect(toGraph, baseText, headText, workspace);
}
