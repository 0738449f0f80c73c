// Workspace discovery: npm and yarn (`workspaces` in the root package.json,
// an array or `{ packages: [...] }`) and pnpm (`pnpm-workspace.yaml`,
// `packages:` with `!` exclusions). Patterns match folders that hold a
// package.json, as the package managers do.
import picomatch from "picomatch";
import { parse as parseYaml } from "yaml";
import type { Tree } from "./tree.js";

export type DependencyKind = "dependencies" | "devDependencies" | "peerDependencies" | "optionalDependencies";
export const DEPENDENCY_KINDS: readonly DependencyKind[] = ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"];

export interface WorkspacePackage {
  name: string;
  version: string | undefined;
  /** Folder relative to the workspace root; "" for the root package. */
  path: string;
  manifest: Record<string, unknown>;
}

export interface Workspace {
  manager: "npm" | "yarn" | "pnpm" | "none";
  root: WorkspacePackage;
  /** The workspace packages (not the root), sorted by path. */
  packages: WorkspacePackage[];
  /** Problems found (unreadable manifests, duplicate names), for people. */
  warnings: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

export function parseManifest(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The workspace patterns of the root manifest or pnpm-workspace.yaml. */
export function workspacePatterns(rootManifest: Record<string, unknown> | undefined, pnpmWorkspace: string | undefined): { manager: Workspace["manager"]; patterns: string[] } {
  if (pnpmWorkspace !== undefined) {
    let doc: unknown;
    try {
      doc = parseYaml(pnpmWorkspace);
    } catch {
      doc = undefined;
    }
    return { manager: "pnpm", patterns: isRecord(doc) ? strings(doc.packages) : [] };
  }
  const ws = rootManifest?.workspaces;
  const patterns = Array.isArray(ws) ? strings(ws) : isRecord(ws) ? strings(ws.packages) : undefined;
  if (patterns === undefined) return { manager: "none", patterns: [] };
  return { manager: "yarn" === packageManagerName(rootManifest) ? "yarn" : "npm", patterns };
}

function packageManagerName(manifest: Record<string, unknown> | undefined): string | undefined {
  const pm = manifest?.packageManager;
  return typeof pm === "string" ? pm.split("@")[0] : undefined;
}

function normalizePattern(p: string): string {
  return p.replace(/^\.\//, "").replace(/\/+$/, "");
}

/** The folders (with a package.json) that the patterns select; `!pattern` excludes. */
export function matchWorkspaceFolders(patterns: readonly string[], manifestFolders: readonly string[]): string[] {
  const include = patterns.filter((p) => !p.startsWith("!")).map(normalizePattern);
  const exclude = patterns.filter((p) => p.startsWith("!")).map((p) => normalizePattern(p.slice(1)));
  if (include.length === 0) return [];
  const inc = picomatch(include, { dot: false });
  const exc = exclude.length > 0 ? picomatch(exclude) : () => false;
  return manifestFolders.filter((d) => d !== "" && !d.split("/").includes("node_modules") && inc(d) && !exc(d)).sort();
}

function dirOf(file: string): string {
  const i = file.lastIndexOf("/");
  return i < 0 ? "" : file.slice(0, i);
}

/** Reads the workspace of a tree: its root package and workspace packages. */
export async function discoverWorkspace(tree: Tree): Promise<Workspace> {
  const [rootText, pnpmText] = await tree.read(["package.json", "pnpm-workspace.yaml"]);
  const warnings: string[] = [];
  const rootManifest = parseManifest(rootText);
  if (rootText !== undefined && rootManifest === undefined) warnings.push("package.json: not a JSON object");
  const { manager, patterns } = workspacePatterns(rootManifest, pnpmText);
  const manifestFolders = tree.files.filter((f) => f === "package.json" || f.endsWith("/package.json")).map(dirOf);
  const folders = matchWorkspaceFolders(patterns, manifestFolders);
  const texts = await tree.read(folders.map((d) => `${d}/package.json`));
  const root: WorkspacePackage = {
    name: typeof rootManifest?.name === "string" ? rootManifest.name : "(root)",
    version: typeof rootManifest?.version === "string" ? rootManifest.version : undefined,
    path: "",
    manifest: rootManifest ?? {},
  };
  const packages: WorkspacePackage[] = [];
  const seen = new Map<string, string>();
  folders.forEach((path, i) => {
    const manifest = parseManifest(texts[i]);
    if (!manifest) {
      warnings.push(`${path}/package.json: not a JSON object; skipped`);
      return;
    }
    const name = typeof manifest.name === "string" && manifest.name !== "" ? manifest.name : path;
    const other = seen.get(name);
    if (other !== undefined) warnings.push(`${path}/package.json: the name '${name}' is also used by ${other}`);
    seen.set(name, path);
    packages.push({ name, version: typeof manifest.version === "string" ? manifest.version : undefined, path, manifest });
  });
  return { manager, root, packages, warnings };
}
