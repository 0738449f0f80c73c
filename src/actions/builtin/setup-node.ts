// Offline actions/setup-node: nothing is downloaded. The wanted version
// (`node-version`, or `node-version-file`: .nvmrc, .node-version,
// .tool-versions, package.json `volta.node` / `engines.node`) is matched
// against the Node that runs Slipway (process.execPath); when it does not
// satisfy the request, `node` executables on the step's PATH and in
// $RUNNER_TOOL_CACHE/node/<version>/<arch> are tried, highest version first.
// The chosen directory is put first on PATH for the following steps
// (ctx.addPath) and the output `node-version` is set (e.g. v20.20.2).
//
// Versions are node-semver ranges (`20`, `20.x`, `^20.1`, `>=18 <21`,
// `18 || 20`, `18.0.0 - 20`) or setup-node's aliases. Offline, "the newest"
// cannot be known, so `latest`/`current`/`node` accept any installed version
// and `lts/*` any LTS line (even major ≥ 4); `lts/<codename>` maps to its
// major; `lts/-1` and nightly/canary builds are refused. Every such
// interpretation is logged.
//
// `cache: npm|yarn|pnpm` is not done here: a notice explains how to cache
// with actions/cache. `registry-url` writes an .npmrc as setup-node does and
// exports NPM_CONFIG_USERCONFIG and NODE_AUTH_TOKEN (ctx.exportVariable).
import { execFile } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { arch, EOL, tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { ActionError, type BuiltinAction, type BuiltinContext } from "./builtin-action.js";

// ---------------------------------------------------------------------------
// Versions and ranges (the subset of node-semver that node-version uses)

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: Array<string | number>;
}

const VERSION = /^\s*[=v]*\s*(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?\s*$/;

function parsePrerelease(text: string | undefined): Array<string | number> {
  if (!text) return [];
  return text.split(".").map((id) => (/^\d+$/.test(id) ? Number(id) : id));
}

/** Parses a full version such as `v20.20.2` or `21.0.0-rc.1`; undefined when it is not one. */
export function parseVersion(text: string): SemVer | undefined {
  const m = VERSION.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: parsePrerelease(m[4]) };
}

export function compareVersions(a: SemVer, b: SemVer): number {
  for (const k of ["major", "minor", "patch"] as const) {
    if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  }
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return a.prerelease.length === b.prerelease.length ? 0 : a.prerelease.length === 0 ? 1 : -1;
  }
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return x < y ? -1 : 1;
    if (typeof x === "number") return -1;
    if (typeof y === "number") return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

type Operator = "<" | "<=" | ">" | ">=" | "=";

interface Comparator {
  op: Operator;
  version: SemVer;
}

/** A version with possibly missing parts: `20`, `20.x`, `20.1`, `*`. */
interface Partial {
  major?: number;
  minor?: number;
  patch?: number;
  prerelease: Array<string | number>;
}

const PARTIAL = /^[=v]*(\d+|[xX*])(?:\.(\d+|[xX*])(?:\.(\d+|[xX*])(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?)?)?$/;

function parsePartial(text: string): Partial | undefined {
  if (text === "") return { prerelease: [] };
  const m = PARTIAL.exec(text);
  if (!m) return undefined;
  const num = (s: string | undefined) => (s === undefined || /^[xX*]$/.test(s) ? undefined : Number(s));
  const major = num(m[1]);
  const minor = major === undefined ? undefined : num(m[2]);
  const patch = minor === undefined ? undefined : num(m[3]);
  return {
    ...(major !== undefined ? { major } : {}),
    ...(minor !== undefined ? { minor } : {}),
    ...(patch !== undefined ? { patch } : {}),
    prerelease: patch === undefined ? [] : parsePrerelease(m[4]),
  };
}

const v = (major: number, minor = 0, patch = 0, prerelease: Array<string | number> = []): SemVer => ({ major, minor, patch, prerelease });
const NOTHING: Comparator[] = [{ op: "<", version: v(0, 0, 0, [0]) }];

function desugar(op: string, p: Partial): Comparator[] {
  const { major, minor, patch, prerelease } = p;
  switch (op) {
    case "":
    case "=":
      if (major === undefined) return [];
      if (minor === undefined) return [{ op: ">=", version: v(major) }, { op: "<", version: v(major + 1) }];
      if (patch === undefined) return [{ op: ">=", version: v(major, minor) }, { op: "<", version: v(major, minor + 1) }];
      return [{ op: "=", version: v(major, minor, patch, prerelease) }];
    case "~":
    case "~>":
      if (major === undefined) return [];
      if (minor === undefined) return [{ op: ">=", version: v(major) }, { op: "<", version: v(major + 1) }];
      return [{ op: ">=", version: v(major, minor, patch ?? 0, prerelease) }, { op: "<", version: v(major, minor + 1) }];
    case "^": {
      if (major === undefined) return [];
      const low: Comparator = { op: ">=", version: v(major, minor ?? 0, patch ?? 0, prerelease) };
      if (minor === undefined || major > 0) return [low, { op: "<", version: v(major + 1) }];
      if (patch === undefined || minor > 0) return [low, { op: "<", version: v(0, minor + 1) }];
      return [low, { op: "<", version: v(0, 0, patch + 1) }];
    }
    case ">":
      if (major === undefined) return NOTHING;
      if (minor === undefined) return [{ op: ">=", version: v(major + 1) }];
      if (patch === undefined) return [{ op: ">=", version: v(major, minor + 1) }];
      return [{ op: ">", version: v(major, minor, patch, prerelease) }];
    case ">=":
      if (major === undefined) return [];
      return [{ op: ">=", version: v(major, minor ?? 0, patch ?? 0, prerelease) }];
    case "<":
      if (major === undefined) return NOTHING;
      return [{ op: "<", version: v(major, minor ?? 0, patch ?? 0, prerelease) }];
    case "<=":
      if (major === undefined) return [];
      if (minor === undefined) return [{ op: "<", version: v(major + 1) }];
      if (patch === undefined) return [{ op: "<", version: v(major, minor + 1) }];
      return [{ op: "<=", version: v(major, minor, patch, prerelease) }];
    default:
      return NOTHING;
  }
}

function parseComparatorSet(text: string, range: string): Comparator[] {
  const invalid = () => new RangeError(`'${range}' is not a valid version range`);
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  if (hyphen) {
    const from = parsePartial(hyphen[1] ?? "");
    const to = parsePartial(hyphen[2] ?? "");
    if (!from || !to) throw invalid();
    return [...(from.major === undefined ? [] : desugar(">=", from)), ...(to.major === undefined ? [] : desugar("<=", to))];
  }
  const tokens = text
    .replace(/(<=|>=|<|>|=|~>|~|\^)\s+/g, "$1")
    .split(/\s+/)
    .filter((t) => t !== "");
  const result: Comparator[] = [];
  for (const token of tokens) {
    const m = /^(<=|>=|<|>|=|~>|~|\^)?(.*)$/.exec(token);
    const partial = parsePartial(m?.[2] ?? "");
    if (!m || !partial || (m[2] === "" && m[1] !== undefined)) throw invalid();
    result.push(...desugar(m[1] ?? "", partial));
  }
  return result;
}

function test(c: Comparator, version: SemVer): boolean {
  const cmp = compareVersions(version, c.version);
  switch (c.op) {
    case "<":
      return cmp < 0;
    case "<=":
      return cmp <= 0;
    case ">":
      return cmp > 0;
    case ">=":
      return cmp >= 0;
    case "=":
      return cmp === 0;
  }
}

/**
 * node-semver's `satisfies(version, range)` for full versions: `||`
 * alternatives, hyphen ranges, x-ranges, `~`, `^` and comparators. A
 * prerelease version only satisfies a set that names a prerelease of the
 * same major.minor.patch. Throws RangeError for an invalid range.
 */
export function satisfiesRange(version: string | SemVer, range: string): boolean {
  const ver = typeof version === "string" ? parseVersion(version) : version;
  if (!ver) throw new RangeError(`'${String(version)}' is not a valid version`);
  const sets = range
    .trim()
    .split(/\s*\|\|\s*/)
    .map((set) => parseComparatorSet(set.trim(), range));
  return sets.some((set) => {
    if (!set.every((c) => test(c, ver))) return false;
    if (ver.prerelease.length === 0) return true;
    return set.some(
      (c) =>
        c.version.prerelease.length > 0 && c.version.major === ver.major && c.version.minor === ver.minor && c.version.patch === ver.patch,
    );
  });
}

// ---------------------------------------------------------------------------
// node-version requests

/** LTS code names (nodejs.org/dist/index.json) → major. */
const LTS_CODENAMES: Record<string, number> = {
  argon: 4,
  boron: 6,
  carbon: 8,
  dubnium: 10,
  erbium: 12,
  fermium: 14,
  gallium: 16,
  hydrogen: 18,
  iron: 20,
  jod: 22,
  krypton: 24,
};

export interface NodeVersionRequest {
  /** As written by the user. */
  spec: string;
  matches(version: SemVer): boolean;
  /** How an alias was interpreted offline, to be logged. */
  note?: string;
}

/** Interprets a node-version value; throws ActionError for values that cannot be honoured offline. */
export function parseNodeVersionRequest(spec: string): NodeVersionRequest {
  const text = spec.trim();
  const lower = text.toLowerCase();
  if (lower === "latest" || lower === "current" || lower === "node") {
    return { spec, matches: () => true, note: `'${text}' means the newest release, which cannot be looked up offline: any installed version is used` };
  }
  if (lower === "lts/*") {
    return {
      spec,
      matches: (ver) => ver.major >= 4 && ver.major % 2 === 0 && ver.prerelease.length === 0,
      note: "'lts/*' means the newest LTS release, which cannot be looked up offline: any installed LTS line (an even major version) is used",
    };
  }
  if (lower.startsWith("lts/")) {
    const name = lower.slice(4);
    if (/^-\d+$/.test(name)) {
      throw new ActionError(`node-version '${text}' counts back from the newest LTS release, which cannot be looked up offline; give a major version instead (e.g. '20')`);
    }
    const major = LTS_CODENAMES[name];
    if (major === undefined) {
      throw new ActionError(`node-version '${text}': unknown LTS code name '${name}'; known: ${Object.keys(LTS_CODENAMES).join(", ")}`);
    }
    return { spec, matches: (ver) => ver.major === major && ver.prerelease.length === 0, note: `'${text}' is Node ${major}` };
  }
  if (/(nightly|canary)/i.test(lower)) {
    throw new ActionError(`node-version '${text}': nightly and canary builds are not available offline; give a released version`);
  }
  try {
    satisfiesRange(v(0), text);
  } catch {
    throw new ActionError(`node-version '${text}' is not a valid version or range (e.g. '20', '20.x', '>=18', 'lts/*')`);
  }
  return { spec, matches: (ver) => satisfiesRange(ver, text) };
}

interface PackageManifest {
  volta?: { node?: unknown; extends?: unknown };
  engines?: { node?: unknown };
}

/**
 * Reads the version from a node-version-file as setup-node does: package.json
 * (`volta.node`, else the file named by `volta.extends`, else `engines.node`), else the
 * first `[node|nodejs ]v?VERSION` line (.nvmrc, .node-version,
 * .tool-versions), else the trimmed content. Undefined when none is given.
 */
export function readNodeVersionFile(file: string, seen: Set<string> = new Set()): string | undefined {
  const content = readFileSync(file, "utf8");
  let manifest: unknown;
  try {
    manifest = JSON.parse(content);
  } catch {
    manifest = undefined;
  }
  if (typeof manifest === "object" && manifest !== null) {
    const pkg = manifest as PackageManifest;
    if (typeof pkg.volta?.node === "string") return pkg.volta.node;
    if (typeof pkg.volta?.extends === "string") {
      const extended = resolve(dirname(file), pkg.volta.extends);
      if (seen.has(extended)) throw new ActionError(`node-version-file: '${file}' extends '${pkg.volta.extends}' in a cycle`);
      if (!existsSync(extended)) throw new ActionError(`node-version-file: '${file}' extends '${pkg.volta.extends}', which does not exist`);
      seen.add(file);
      return readNodeVersionFile(extended, seen);
    }
    if (typeof pkg.engines?.node === "string") return pkg.engines.node;
    return undefined;
  }
  const found = /^(?:node(?:js)?\s+)?v?(?<version>[^\s]+)$/m.exec(content);
  const version = found?.groups?.version ?? content.trim();
  return version === "" ? undefined : version;
}

// ---------------------------------------------------------------------------
// Installed Node versions

export interface NodeInstall {
  version: SemVer;
  /** e.g. v20.20.2 */
  label: string;
  binary: string;
  dir: string;
  origin: "host" | "PATH" | "tool cache";
}

function install(version: SemVer, binary: string, origin: NodeInstall["origin"]): NodeInstall {
  const pre = version.prerelease.length > 0 ? `-${version.prerelease.join(".")}` : "";
  return { version, label: `v${version.major}.${version.minor}.${version.patch}${pre}`, binary, dir: dirname(binary), origin };
}

export function hostNode(): NodeInstall {
  const version = parseVersion(process.versions.node);
  if (!version) throw new Error(`cannot parse the host Node version '${process.versions.node}'`);
  return install(version, process.execPath, "host");
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function nodeVersionOf(binary: string, signal: AbortSignal): Promise<SemVer | undefined> {
  return new Promise((done) => {
    execFile(binary, ["--version"], { timeout: 10_000, signal, encoding: "utf8" }, (err, stdout) => done(err ? undefined : parseVersion(stdout.trim())));
  });
}

function safeRealpath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** Node executables other than the host's: on the step's PATH and in the tool cache. */
export async function findOtherNodes(env: Record<string, string>, signal: AbortSignal): Promise<NodeInstall[]> {
  const seen = new Set<string>([safeRealpath(process.execPath)]);
  const onPath: string[] = [];
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const binary = join(dir, "node");
    if (!existsSync(binary) || !executable(binary)) continue;
    const real = safeRealpath(binary);
    if (seen.has(real)) continue;
    seen.add(real);
    onPath.push(binary);
  }
  const found: NodeInstall[] = [];
  const versions = await Promise.all(onPath.map((b) => nodeVersionOf(b, signal)));
  onPath.forEach((binary, i) => {
    const version = versions[i];
    if (version) found.push(install(version, binary, "PATH"));
  });
  const cache = env.RUNNER_TOOL_CACHE ? join(env.RUNNER_TOOL_CACHE, "node") : undefined;
  if (cache && existsSync(cache)) {
    for (const entry of readdirSync(cache)) {
      const version = parseVersion(entry);
      const binary = join(cache, entry, arch(), "bin", "node");
      if (!version || !existsSync(binary) || seen.has(safeRealpath(binary))) continue;
      seen.add(safeRealpath(binary));
      found.push(install(version, binary, "tool cache"));
    }
  }
  return found;
}

// ---------------------------------------------------------------------------
// The action

const KNOWN_INPUTS = new Set([
  "always-auth",
  "node-version",
  "node-version-file",
  "architecture",
  "check-latest",
  "registry-url",
  "scope",
  "token",
  "cache",
  "package-manager-cache",
  "cache-dependency-path",
  "mirror",
  "mirror-token",
]);

function readRequest(ctx: BuiltinContext): { request?: NodeVersionRequest; label: string } {
  const version = (ctx.inputs["node-version"] ?? "").trim();
  const file = (ctx.inputs["node-version-file"] ?? "").trim();
  if (version !== "") {
    if (file !== "") ctx.log("##[warning]Both node-version and node-version-file inputs are specified, only node-version will be used");
    return { request: parseNodeVersionRequest(version), label: `node-version '${version}'` };
  }
  if (file === "") return { label: "" };
  const path = resolve(ctx.workspace, file);
  if (!existsSync(path)) throw new ActionError(`The specified node version file at: ${path} does not exist`);
  const fromFile = readNodeVersionFile(path);
  if (fromFile === undefined) {
    throw new ActionError(`node-version-file '${file}' gives no Node version (expected a version line, or volta.node / engines.node in package.json)`);
  }
  ctx.log(`Resolved ${file} as ${fromFile}`);
  return { request: parseNodeVersionRequest(fromFile), label: `node-version '${fromFile}' (from ${file})` };
}

function configureRegistry(ctx: BuiltinContext, registryInput: string): void {
  if (!ctx.exportVariable) throw new Error("actions/setup-node: registry-url needs BuiltinContext.exportVariable, which this runner does not provide");
  let registryUrl = registryInput;
  if (!registryUrl.endsWith("/")) registryUrl += "/";
  let scope = (ctx.inputs.scope ?? "").trim();
  if (!scope && registryUrl.includes("npm.pkg.github.com")) {
    scope = ctx.env.GITHUB_REPOSITORY_OWNER || (ctx.env.GITHUB_REPOSITORY ?? "").split("/")[0] || "";
  }
  if (scope && !scope.startsWith("@")) scope = `@${scope}`;
  const scopePrefix = scope ? `${scope.toLowerCase()}:` : "";
  const dir = ctx.env.RUNNER_TEMP || mkdtempSync(join(tmpdir(), "slipway-setup-node-"));
  const npmrc = resolve(dir, ".npmrc");
  let contents = "";
  if (existsSync(npmrc)) {
    for (const line of readFileSync(npmrc, "utf8").split(EOL)) {
      if (!line.toLowerCase().startsWith(`${scopePrefix}registry`)) contents += line + EOL;
    }
  }
  // As setup-node: the token is read by npm from the environment, never written to the file.
  const auth = `${registryUrl.replace(/(^\w+:|^)/, "")}:_authToken=\${NODE_AUTH_TOKEN}`;
  contents += `${auth}${EOL}${scopePrefix}registry=${registryUrl}`;
  if ((ctx.inputs["always-auth"] ?? "").trim() === "true") contents += `${EOL}always-auth=true`;
  writeFileSync(npmrc, contents);
  ctx.exportVariable("NPM_CONFIG_USERCONFIG", npmrc);
  ctx.exportVariable("NODE_AUTH_TOKEN", ctx.env.NODE_AUTH_TOKEN || "XXXXX-XXXXX-XXXXX-XXXXX");
  ctx.log(`Wrote ${npmrc} for ${scopePrefix}registry=${registryUrl}`);
}

async function main(ctx: BuiltinContext): Promise<void> {
  const unknown = Object.keys(ctx.inputs).filter((k) => !KNOWN_INPUTS.has(k));
  if (unknown.length > 0) {
    ctx.log(`##[warning]Unexpected input(s) ${unknown.map((k) => `'${k}'`).join(", ")}, valid inputs are ${[...KNOWN_INPUTS].map((k) => `'${k}'`).join(", ")}`);
  }
  const wantedArch = (ctx.inputs.architecture ?? "").trim();
  if (wantedArch !== "" && wantedArch.toLowerCase() !== arch()) {
    throw new ActionError(`architecture '${wantedArch}' is not available offline: this host is ${arch()}; remove the input or run on a ${wantedArch} host`);
  }
  if ((ctx.inputs["check-latest"] ?? "").trim() === "true") ctx.log("check-latest has no effect offline: the installed versions are used");

  const { request, label } = readRequest(ctx);
  const host = hostNode();
  let chosen: NodeInstall | undefined;
  if (!request) {
    ctx.log(`No node-version given: using the host's Node ${host.label} at ${host.binary}`);
    chosen = host;
  } else {
    if (request.note) ctx.log(request.note);
    if (request.matches(host.version)) {
      chosen = host;
    } else {
      const all = await findOtherNodes(ctx.env, ctx.signal);
      chosen = all.filter((n) => request.matches(n.version)).sort((a, b) => compareVersions(b.version, a.version))[0];
      if (!chosen) {
        const also = all.length > 0 ? ` (also found: ${all.map((n) => `${n.label} at ${n.binary}`).join(", ")})` : "";
        throw new ActionError(
          `${label} is not available offline: the host has Node ${host.label} at ${host.binary}${also}; ` +
            "install the wanted version and put it on PATH, or change node-version",
        );
      }
    }
    ctx.log(`Using Node ${chosen.label} at ${chosen.binary} (${chosen.origin}), which satisfies ${label}`);
  }

  if (!ctx.addPath) throw new Error("actions/setup-node needs BuiltinContext.addPath, which this runner does not provide");
  ctx.addPath(chosen.dir);
  ctx.setOutput("node-version", chosen.label);

  const registryUrl = (ctx.inputs["registry-url"] ?? "").trim();
  if (registryUrl !== "") configureRegistry(ctx, registryUrl);

  const cache = (ctx.inputs.cache ?? "").trim();
  if (cache !== "") {
    if (!["npm", "yarn", "pnpm"].includes(cache)) throw new ActionError(`Caching for '${cache}' is not supported (use npm, yarn or pnpm)`);
    const dirs: Record<string, string> = { npm: "~/.npm", yarn: "~/.cache/yarn", pnpm: "~/.local/share/pnpm/store" };
    const locks: Record<string, string> = { npm: "**/package-lock.json", yarn: "**/yarn.lock", pnpm: "**/pnpm-lock.yaml" };
    ctx.log(
      `##[notice]cache: ${cache} is not done by Slipway's built-in setup-node; dependencies are cached with actions/cache, e.g. ` +
        `- uses: actions/cache@v4 with: { path: ${dirs[cache]}, key: ${cache}-\${{ hashFiles('${locks[cache]}') }} }`,
    );
    ctx.setOutput("cache-hit", "false");
  }
}

export const setupNodeAction: BuiltinAction = {
  name: "actions/setup-node",
  main,
};
