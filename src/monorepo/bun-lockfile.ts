// bun.lock analysis (bun's text lockfile, `lockfileVersion` 0 and 1: JSON
// with trailing commas, comments allowed). `workspaces` holds each
// workspace's manifest ranges by path ("" the root); `packages` maps a key to
// a tuple whose first item is what it resolved to (`lodash@4.17.21`,
// `@acme/a@workspace:packages/a`, `x@link:../x`), followed for an npm package
// by its registry, its info (dependencies, …) and its integrity, for other
// kinds by the info directly:
//
//   "packages": {
//     "lodash": ["lodash@4.17.21", "", { "dependencies": { … } }, "sha512-…"],
//     "left/lodash": ["lodash@3.10.1", "", {}, "sha512-…"],   // what `left` resolves lodash to
//   }
//
// A key is the path of a dependency below its parents (`parent/name`): a
// package's dependency is looked up at `<its key>/<name>`, then at each
// shorter prefix, then hoisted (`<name>`), as node's module resolution walks
// up node_modules. Workspaces look up `<workspace name>/<name>`, then `<name>`.
// The binary `bun.lockb` is not read (it marks every package).
import { lockfileEffect, type LockfileEffect, type LockGraph } from "./lock-graph.js";
import { DEPENDENCY_KINDS, type Workspace } from "./workspaces.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Copies `text`, calling `outside` for each character that is not inside a
 * string literal; it returns what to write and how far it consumed.
 */
function rewriteOutsideStrings(text: string, outside: (i: number) => { write: string; next: number }): string {
  let out = "";
  for (let i = 0; i < text.length; ) {
    if (text[i] === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const { write, next } = outside(i);
    out += write;
    i = next;
  }
  return out;
}

/** JSONC as bun writes it (trailing commas, line and block comments) → a value; throws SyntaxError. */
export function parseJsonc(text: string): unknown {
  const noComments = rewriteOutsideStrings(text, (i) => {
    if (text.startsWith("//", i)) {
      const end = text.indexOf("\n", i);
      return { write: "\n", next: end < 0 ? text.length : end + 1 };
    }
    if (text.startsWith("/*", i)) {
      const end = text.indexOf("*/", i + 2);
      return { write: " ", next: end < 0 ? text.length : end + 2 };
    }
    return { write: text[i] as string, next: i + 1 };
  });
  const noTrailingCommas = rewriteOutsideStrings(noComments, (i) => {
    if (noComments[i] !== ",") return { write: noComments[i] as string, next: i + 1 };
    let j = i + 1;
    while (j < noComments.length && /\s/.test(noComments[j] as string)) j++;
    return { write: noComments[j] === "}" || noComments[j] === "]" ? "" : ",", next: i + 1 };
  });
  return JSON.parse(noTrailingCommas) as unknown;
}

const LOCK_DEP_FIELDS = ["dependencies", "optionalDependencies"];

/** The key a dependency `name` of the entry at `from` resolves to (`from` "" for the top), or undefined. */
function lookup(packages: Obj, from: string, name: string): string | undefined {
  let scope = from;
  for (;;) {
    const key = scope === "" ? name : `${scope}/${name}`;
    if (key in packages) return key;
    if (scope === "") return undefined;
    // `a/b/c` → `a/b`; a scoped name counts as one segment (`@s/a/b` → `@s/a`).
    const parts = scope.split("/");
    const cut = parts.length >= 2 && (parts[parts.length - 2] as string).startsWith("@") ? 2 : 1;
    scope = parts.slice(0, -cut).join("/");
  }
}

function toGraph(text: string | undefined, workspace: Workspace): LockGraph | string {
  const graph: LockGraph = { roots: new Map(), entries: new Map() };
  if (text === undefined) return graph;
  let doc: unknown;
  try {
    doc = parseJsonc(text);
  } catch (err) {
    return `bun.lock is not valid JSON (${(err as Error).message})`;
  }
  if (!isObj(doc)) return "bun.lock is not an object";
  if (doc.lockfileVersion !== 0 && doc.lockfileVersion !== 1) return `bun.lock has lockfileVersion ${String(doc.lockfileVersion)}, which this Slipway does not read`;
  const packages = isObj(doc.packages) ? doc.packages : {};
  const workspaces = isObj(doc.workspaces) ? doc.workspaces : {};
  for (const [key, value] of Object.entries(packages)) {
    if (!Array.isArray(value) || typeof value[0] !== "string") return `bun.lock: packages["${key}"] is not [resolution, …]`;
    const resolution = value[0];
    if (resolution.includes("@workspace:")) continue; // a workspace: its own manifest is a root
    const info = value.slice(1).find(isObj) ?? {};
    const deps: string[] = [];
    for (const field of LOCK_DEP_FIELDS) {
      const d = info[field];
      if (!isObj(d)) continue;
      for (const name of Object.keys(d)) {
        const to = lookup(packages, key, name);
        if (to !== undefined && to !== key) deps.push(to);
      }
    }
    const at = resolution.lastIndexOf("@");
    graph.entries.set(key, { name: at > 0 ? resolution.slice(0, at) : resolution, content: JSON.stringify(value), deps });
  }
  const nameOfPath = new Map([workspace.root, ...workspace.packages].map((p) => [p.path, p.name]));
  for (const [path, manifest] of Object.entries(workspaces)) {
    if (!isObj(manifest)) continue;
    const wsName = typeof manifest.name === "string" ? manifest.name : (nameOfPath.get(path) ?? "");
    const roots: string[] = [];
    for (const kind of DEPENDENCY_KINDS) {
      if (kind === "peerDependencies") continue;
      const d = manifest[kind];
      if (!isObj(d)) continue;
      for (const name of Object.keys(d)) {
        const to = (wsName && `${wsName}/${name}` in packages ? `${wsName}/${name}` : undefined) ?? lookup(packages, "", name);
        if (to !== undefined && graph.entries.has(to)) roots.push(to);
      }
    }
    graph.roots.set(path, roots);
  }
  return graph;
}

export function bunLockfileEffect(baseText: string | undefined, headText: string | undefined, workspace: Workspace): LockfileEffect {
  return lockfileEffect(toGraph, baseText, headText, workspace);
}
