// Lockfiles → the packages they resolve, for the SBOM: npm's
// package-lock.json (lockfileVersion 2 and 3), pnpm-lock.yaml (lockfile
// versions 6 to 9) and yarn.lock (yarn 1's own syntax, and berry's YAML).
//
// Each package gets its purl, its hashes from the lockfile's integrity field
// (Subresource Integrity `sha512-<base64>` → CycloneDX `SHA-512` with hex
// content), and the packages it depends on where the lockfile says so.
//
// Yarn berry's `checksum` is not an npm integrity: it is the SHA-512 of the
// zip archive in Yarn's own cache (prefixed by the cache key, `10c0/…`), not
// of the registry's tarball. It is kept as the property
// `slipway:yarn-berry-checksum`, not as a hash of the component, so nobody
// compares it with the registry's integrity by mistake.
import { LineCounter, parseDocument } from "yaml";

/** A hash as CycloneDX names it. */
export interface ComponentHash {
  alg: "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512";
  /** Lower-case hex. */
  content: string;
}

/** One resolved package of a lockfile. */
export interface LockPackage {
  name: string;
  version: string;
  /** `pkg:npm/...`; also the component's bom-ref. */
  purl: string;
  hashes: ComponentHash[];
  /** purls of the packages it depends on. */
  dependsOn: string[];
  /** Extra facts (`cdx:npm:package:development`, `slipway:yarn-berry-checksum`). */
  properties: { name: string; value: string }[];
  /** SPDX licence expression, where the lockfile records it (npm's `license`; pnpm and yarn lockfiles do not). */
  license?: string;
}

export type LockfileFormat = "npm" | "pnpm" | "yarn-classic" | "yarn-berry";

/** What one lockfile resolves. */
export interface Lockfile {
  /** The file as named in messages (relative to the folder read). */
  file: string;
  format: LockfileFormat;
  packages: LockPackage[];
  /** purls the project depends on directly. */
  roots: string[];
}

/** A lockfile that cannot be read; the message names the file (and line), and the fix. */
export class LockfileError extends Error {
  override readonly name = "LockfileError";
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    message: string,
    readonly fix: string,
  ) {
    super(`${line > 0 ? `${file}:${line}:${column}` : file}: ${message}; ${fix}`);
  }
}

/** The lockfile names this module reads. */
export const LOCKFILE_NAMES = ["package-lock.json", "pnpm-lock.yaml", "yarn.lock"] as const;

/** Parses a lockfile by its name (`package-lock.json`, `pnpm-lock.yaml` or `yarn.lock`). */
export function parseLockfile(file: string, text: string): Lockfile {
  const base = file.split(/[\\/]/).pop() ?? file;
  if (base === "package-lock.json" || base === "npm-shrinkwrap.json") return parseNpmLockfile(file, text);
  if (base === "pnpm-lock.yaml") return parsePnpmLockfile(file, text);
  if (base === "yarn.lock") return parseYarnLockfile(file, text);
  throw new LockfileError(file, 0, 0, "is not a lockfile Slipway reads", "give package-lock.json, pnpm-lock.yaml or yarn.lock");
}

// ---- shared -------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const SRI_ALGS: Record<string, ComponentHash["alg"]> = { sha1: "SHA-1", sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" };
const HEX_LENGTH: Record<ComponentHash["alg"], number> = { "SHA-1": 40, "SHA-256": 64, "SHA-384": 96, "SHA-512": 128 };

/** `sha512-<base64> sha1-<base64>` (Subresource Integrity) → CycloneDX hashes; unknown algorithms are skipped. */
export function integrityToHashes(integrity: string): ComponentHash[] {
  const out: ComponentHash[] = [];
  for (const part of integrity.trim().split(/\s+/)) {
    const dash = part.indexOf("-");
    const alg = SRI_ALGS[part.slice(0, dash).toLowerCase()];
    if (dash <= 0 || !alg) continue;
    const hex = Buffer.from(part.slice(dash + 1).split("?")[0] ?? "", "base64").toString("hex");
    if (hex.length === HEX_LENGTH[alg] && !out.some((h) => h.alg === alg)) out.push({ alg, content: hex });
  }
  return out;
}

/** `pkg:npm/%40scope/name@1.2.3` */
export function npmPurl(name: string, version: string): string {
  const slash = name.startsWith("@") ? name.indexOf("/") : -1;
  const namespace = slash > 0 ? name.slice(0, slash) : undefined;
  const bare = slash > 0 ? name.slice(slash + 1) : name;
  return `pkg:npm/${namespace !== undefined ? `${purlEncode(namespace)}/` : ""}${purlEncode(bare)}@${purlEncode(version).replace(/%2B/g, "+")}`;
}

/**
 * A purl component, percent-encoded as packageurl-js encodes it (`:` kept;
 * in a version `+` is kept too). Written here rather than taken from
 * packageurl-js: that library builds its tables when loaded, ~10 ms of every
 * command's start-up in the CLI bundle.
 */
function purlEncode(text: string): string {
  return encodeURIComponent(text).replace(/%3A/g, ":");
}

/** `@scope/name@range` → `@scope/name`. */
function nameOf(descriptor: string): string {
  const at = descriptor.indexOf("@", descriptor.startsWith("@") ? 1 : 0);
  return at < 0 ? descriptor : descriptor.slice(0, at);
}

/** Collects packages by purl, merging duplicates (the same name and version at several places). */
class Collector {
  readonly byPurl = new Map<string, LockPackage>();
  add(name: string, version: string, hashes: ComponentHash[], properties: { name: string; value: string }[] = []): LockPackage {
    const purl = npmPurl(name, version);
    const existing = this.byPurl.get(purl);
    if (existing) {
      for (const h of hashes) if (!existing.hashes.some((e) => e.alg === h.alg)) existing.hashes.push(h);
      // A package is a development one only if every place it is installed says so.
      if (!properties.some((p) => p.name === DEV)) existing.properties = existing.properties.filter((p) => p.name !== DEV);
      return existing;
    }
    const pkg: LockPackage = { name, version, purl, hashes: [...hashes], dependsOn: [], properties: [...properties] };
    this.byPurl.set(purl, pkg);
    return pkg;
  }
  depend(pkg: LockPackage, on: string | undefined): void {
    if (on !== undefined && on !== pkg.purl && !pkg.dependsOn.includes(on)) pkg.dependsOn.push(on);
  }
  list(): LockPackage[] {
    return [...this.byPurl.values()].sort((a, b) => (a.purl < b.purl ? -1 : a.purl > b.purl ? 1 : 0));
  }
}

const DEV = "cdx:npm:package:development";

function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

// ---- npm ----------------------------------------------------------------------------------

function parseNpmLockfile(file: string, text: string): Lockfile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    const at = pos ? lineColumnAt(text, Number(pos[1])) : { line: 0, column: 0 };
    throw new LockfileError(file, at.line, at.column, `is not valid JSON (${message})`, "regenerate it with `npm install --package-lock-only`");
  }
  if (!isObj(doc)) throw new LockfileError(file, 1, 1, "is not a JSON object", "regenerate it with `npm install --package-lock-only`");
  const version = doc.lockfileVersion;
  if (version !== 2 && version !== 3) {
    throw new LockfileError(
      file,
      lineOf(text, '"lockfileVersion"'),
      1,
      `has lockfileVersion ${JSON.stringify(version)}; Slipway reads versions 2 and 3 (npm 7 and later)`,
      "upgrade it with `npm install --package-lock-only --lockfile-version 3`",
    );
  }
  const packages = doc.packages;
  if (!isObj(packages)) throw new LockfileError(file, lineOf(text, '"lockfileVersion"'), 1, "has no `packages` object", "regenerate it with `npm install --package-lock-only`");
  const c = new Collector();
  const atPath = new Map<string, LockPackage>();
  for (const [path, entry] of Object.entries(packages)) {
    if (path === "" || !isObj(entry) || entry.link === true || !path.includes("node_modules/")) continue;
    const name = typeof entry.name === "string" ? entry.name : path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
    if (typeof entry.version !== "string") {
      throw new LockfileError(file, lineOf(text, JSON.stringify(path)), 1, `package "${path}" has no version`, "regenerate it with `npm install --package-lock-only`");
    }
    const hashes = typeof entry.integrity === "string" ? integrityToHashes(entry.integrity) : [];
    const pkg = c.add(name, entry.version, hashes, entry.dev === true ? [{ name: DEV, value: "true" }] : []);
    if (typeof entry.license === "string" && pkg.license === undefined) pkg.license = entry.license;
    atPath.set(path, pkg);
  }
  // Node's lookup: a dependency of `a/node_modules/b` is found in `a/node_modules/b/node_modules/x`, then up the tree.
  const find = (from: string, dep: string): LockPackage | undefined => {
    let dir = from;
    for (;;) {
      const hit = atPath.get(`${dir === "" ? "" : `${dir}/`}node_modules/${dep}`);
      if (hit) return hit;
      if (dir === "") return undefined;
      const cut = dir.lastIndexOf("/node_modules/");
      dir = cut < 0 ? "" : dir.slice(0, cut);
    }
  };
  const depsOf = (entry: Obj, fields: string[]): string[] => fields.flatMap((k) => (isObj(entry[k]) ? Object.keys(entry[k]) : []));
  const RUNTIME = ["dependencies", "optionalDependencies", "peerDependencies"];
  for (const [path, pkg] of atPath) {
    for (const dep of depsOf(packages[path] as Obj, RUNTIME)) c.depend(pkg, find(path, dep)?.purl);
  }
  const roots = new Set<string>();
  for (const [path, entry] of Object.entries(packages)) {
    // The root and each workspace: their direct dependencies.
    if (!isObj(entry) || (path !== "" && path.includes("node_modules/"))) continue;
    for (const dep of depsOf(entry, [...RUNTIME, "devDependencies"])) {
      const hit = find(path, dep) ?? find("", dep);
      if (hit) roots.add(hit.purl);
    }
  }
  return { file, format: "npm", packages: c.list(), roots: [...roots].sort() };
}

function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  return at < 0 ? 0 : lineColumnAt(text, at).line;
}

// ---- YAML (pnpm, yarn berry) --------------------------------------------------------------

function parseYaml(file: string, text: string, fix: string): Obj {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    throw new LockfileError(file, pos?.line ?? 0, pos?.col ?? 0, `is not valid YAML (${first.message.split("\n")[0] ?? ""})`, fix);
  }
  const value: unknown = doc.toJS();
  if (!isObj(value)) throw new LockfileError(file, 1, 1, "is not a YAML mapping", fix);
  return value;
}

// ---- pnpm ---------------------------------------------------------------------------------

const PNPM_FIX = "regenerate it with `pnpm install --lockfile-only`";

/** `/@scope/name@1.2.3(peer@1)` (v6) or `@scope/name@1.2.3(peer@1)` (v9) → name and version. */
function pnpmKey(key: string): { name: string; version: string } | undefined {
  const bare = key.replace(/^\//, "").replace(/\(.*$/, "");
  const name = nameOf(bare);
  if (name === bare) return undefined;
  return { name, version: bare.slice(name.length + 1) };
}

/** A dependency's value: `1.2.3`, `1.2.3(peer@1)`, or an alias `real-name@1.2.3`; `link:` → undefined. */
function pnpmRef(dep: string, value: unknown): { name: string; version: string } | undefined {
  const v = isObj(value) ? value.version : value;
  if (typeof v !== "string" || v.startsWith("link:") || v.startsWith("file:")) return undefined;
  const plain = v.replace(/\(.*$/, "");
  const alias = /^(@?[^@]+)@(.+)$/.exec(plain);
  if (alias && !/^\d/.test(plain)) return { name: alias[1] ?? dep, version: alias[2] ?? "" };
  return { name: dep, version: plain };
}

function parsePnpmLockfile(file: string, text: string): Lockfile {
  const doc = parseYaml(file, text, PNPM_FIX);
  const raw = doc.lockfileVersion;
  const major = Number.parseInt(String(raw ?? ""), 10);
  if (!(major >= 6 && major <= 9)) {
    throw new LockfileError(file, lineOf(text, "lockfileVersion"), 1, `has lockfileVersion ${JSON.stringify(raw)}; Slipway reads versions 6 to 9 (pnpm 8 and 9)`, "upgrade pnpm and run `pnpm install --lockfile-only`");
  }
  const packages = isObj(doc.packages) ? doc.packages : {};
  const snapshots = isObj(doc.snapshots) ? doc.snapshots : undefined;
  const c = new Collector();
  for (const [key, entry] of Object.entries(packages)) {
    const id = pnpmKey(key);
    if (!id) throw new LockfileError(file, lineOf(text, key), 1, `package key "${key}" is not name@version`, PNPM_FIX);
    const resolution = isObj(entry) && isObj(entry.resolution) ? entry.resolution : {};
    const hashes = typeof resolution.integrity === "string" ? integrityToHashes(resolution.integrity) : [];
    c.add(id.name, id.version, hashes, isObj(entry) && entry.dev === true ? [{ name: DEV, value: "true" }] : []);
  }
  // v9 keeps dependencies in `snapshots`; v6 in `packages`.
  for (const [key, entry] of Object.entries(snapshots ?? packages)) {
    const id = pnpmKey(key);
    const pkg = id ? c.byPurl.get(npmPurl(id.name, id.version)) : undefined;
    if (!pkg || !isObj(entry)) continue;
    for (const field of ["dependencies", "optionalDependencies"]) {
      const deps = entry[field];
      if (!isObj(deps)) continue;
      for (const [dep, value] of Object.entries(deps)) {
        const ref = pnpmRef(dep, value);
        if (ref) c.depend(pkg, c.byPurl.get(npmPurl(ref.name, ref.version))?.purl);
      }
    }
  }
  const roots = new Set<string>();
  const importers = isObj(doc.importers) ? Object.values(doc.importers) : [doc];
  for (const importer of importers) {
    if (!isObj(importer)) continue;
    for (const field of ["dependencies", "devDependencies", "optionalDependencies"]) {
      const deps = importer[field];
      if (!isObj(deps)) continue;
      for (const [dep, value] of Object.entries(deps)) {
        const ref = pnpmRef(dep, value);
        const hit = ref ? c.byPurl.get(npmPurl(ref.name, ref.version)) : undefined;
        if (hit) roots.add(hit.purl);
      }
    }
  }
  return { file, format: "pnpm", packages: c.list(), roots: [...roots].sort() };
}

// ---- yarn ---------------------------------------------------------------------------------

const YARN_FIX = "regenerate it with `yarn install`";

function parseYarnLockfile(file: string, text: string): Lockfile {
  return /^__metadata:/m.test(text) ? parseYarnBerry(file, text) : parseYarnClassic(file, text);
}

interface ClassicEntry {
  descriptors: string[];
  line: number;
  fields: Record<string, string>;
  dependencies: Record<string, string>;
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** Yarn 1's format: `"a@^1", a@^1.1:` blocks with indented `key value` fields and dependency maps. */
function readYarnClassic(file: string, text: string): ClassicEntry[] {
  const entries: ClassicEntry[] = [];
  let entry: ClassicEntry | undefined;
  let sub: Record<string, string> | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    if (raw.trim() === "" || raw.trimStart().startsWith("#")) return;
    const line = i + 1;
    const indent = raw.length - raw.trimStart().length;
    const content = raw.trim();
    if (indent === 0) {
      if (!content.endsWith(":")) throw new LockfileError(file, line, 1, `expected a package header ending in ':' (e.g. "lodash@^4.17.0":), got ${JSON.stringify(content.slice(0, 60))}`, YARN_FIX);
      entry = { descriptors: content.slice(0, -1).split(/,\s*/).map(unquote), line, fields: {}, dependencies: {} };
      entries.push(entry);
      sub = undefined;
      return;
    }
    if (!entry) throw new LockfileError(file, line, indent + 1, "an indented line before any package header", YARN_FIX);
    const m = /^("[^"]*"|[^\s"]+)(?:\s+(.*))?$/.exec(content);
    if (!m) throw new LockfileError(file, line, indent + 1, `cannot read ${JSON.stringify(content.slice(0, 60))}`, YARN_FIX);
    const key = unquote(m[1] ?? "");
    const value = m[2];
    if (indent <= 2) {
      if (value === undefined) {
        if (!key.endsWith(":")) throw new LockfileError(file, line, indent + 1, `field "${key}" has no value`, YARN_FIX);
        sub = key === "dependencies:" || key === "optionalDependencies:" ? entry.dependencies : {};
      } else {
        sub = undefined;
        entry.fields[key] = unquote(value);
      }
    } else if (sub && value !== undefined) {
      sub[key] = unquote(value);
    }
  });
  return entries;
}

function parseYarnClassic(file: string, text: string): Lockfile {
  const entries = readYarnClassic(file, text);
  const c = new Collector();
  const byDescriptor = new Map<string, LockPackage>();
  const resolved: [ClassicEntry, LockPackage][] = [];
  for (const entry of entries) {
    const first = entry.descriptors[0] ?? "";
    const version = entry.fields.version;
    if (version === undefined) throw new LockfileError(file, entry.line, 1, `package "${first}" has no version`, YARN_FIX);
    // An alias `alias@npm:real@^1` installs `real`.
    const spec = first.slice(nameOf(first).length + 1);
    const name = spec.startsWith("npm:") && spec.includes("@", 5) ? nameOf(spec.slice(4)) : nameOf(first);
    let hashes = entry.fields.integrity ? integrityToHashes(entry.fields.integrity) : [];
    // Old yarn 1 lockfiles have no integrity, only the tarball's SHA-1 after '#' in `resolved`.
    const sha1 = /#([0-9a-f]{40})$/.exec(entry.fields.resolved ?? "")?.[1];
    if (sha1 && !hashes.some((h) => h.alg === "SHA-1")) hashes = [...hashes, { alg: "SHA-1", content: sha1 }];
    const pkg = c.add(name, version, hashes);
    for (const d of entry.descriptors) byDescriptor.set(d, pkg);
    resolved.push([entry, pkg]);
  }
  for (const [entry, pkg] of resolved) {
    for (const [dep, range] of Object.entries(entry.dependencies)) c.depend(pkg, byDescriptor.get(`${dep}@${range}`)?.purl);
  }
  return { file, format: "yarn-classic", packages: c.list(), roots: rootsFromYarn(c) };
}

/** Yarn's lockfile does not say what the project depends on directly: the packages nothing else depends on. */
function rootsFromYarn(c: Collector): string[] {
  const depended = new Set(c.list().flatMap((p) => p.dependsOn));
  return c.list().filter((p) => !depended.has(p.purl)).map((p) => p.purl);
}

function parseYarnBerry(file: string, text: string): Lockfile {
  const doc = parseYaml(file, text, YARN_FIX);
  const c = new Collector();
  const byDescriptor = new Map<string, LockPackage>();
  const resolved: [Obj, LockPackage][] = [];
  for (const [key, entry] of Object.entries(doc)) {
    if (key === "__metadata" || !isObj(entry)) continue;
    const resolution = typeof entry.resolution === "string" ? entry.resolution : key.split(",")[0]?.trim() ?? key;
    // Workspaces and links are the project itself, not packages.
    if (entry.linkType === "soft" || /@(workspace|link|portal):/.test(resolution)) continue;
    const name = nameOf(resolution);
    const version = typeof entry.version === "string" ? entry.version : undefined;
    if (version === undefined) throw new LockfileError(file, lineOf(text, key), 1, `package "${key}" has no version`, YARN_FIX);
    const props = typeof entry.checksum === "string" ? [{ name: "slipway:yarn-berry-checksum", value: entry.checksum }] : [];
    const pkg = c.add(name, version, [], props);
    for (const d of key.split(",")) byDescriptor.set(d.trim(), pkg);
    resolved.push([entry, pkg]);
  }
  for (const [entry, pkg] of resolved) {
    for (const field of ["dependencies", "optionalDependencies"]) {
      const deps = entry[field];
      if (!isObj(deps)) continue;
      for (const [dep, range] of Object.entries(deps)) {
        const r = String(range);
        c.depend(pkg, (byDescriptor.get(`${dep}@${r}`) ?? byDescriptor.get(`${dep}@npm:${r}`))?.purl);
      }
    }
  }
  return { file, format: "yarn-berry", packages: c.list(), roots: rootsFromYarn(c) };
}
