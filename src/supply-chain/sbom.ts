// SBOM: a CycloneDX 1.6 JSON document of what a project's lockfiles resolve
// (see lockfiles.ts), validated with the CycloneDX library's strict JSON
// validator before anyone stores or prints it.
//
// The document is built as plain JSON (simpler than the library's models for
// what we need) and checked against the 1.6 schema with
// `Validation.JsonStrictValidator`. The library is loaded with `import()`:
// the CLI bundle keeps it external because it reads its schema files from its
// own folder.
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, relative, sep } from "node:path";
import { LOCKFILE_NAMES, LockfileError, parseLockfile, type ComponentHash, type Lockfile } from "./lockfiles.js";

export const SBOM_MEDIA_TYPE = "application/vnd.cyclonedx+json";
export const SBOM_SPEC_VERSION = "1.6";

/** An SBOM that cannot be made or does not validate; the message says where and what to do. */
export class SbomError extends Error {
  override readonly name = "SbomError";
}

/** What the SBOM describes: a release (its service and digest) or a folder. */
export interface SbomSubject {
  name: string;
  version?: string;
  /** `sha256:<hex>` of the release, recorded as the subject's SHA-256 hash. */
  digest?: string;
}

export interface SbomResult {
  /** The CycloneDX document. */
  bom: Record<string, unknown>;
  /** The document as stored (two-space JSON with a final newline). */
  text: string;
  /** The lockfiles read, relative to the folder. */
  lockfiles: string[];
  components: number;
}

const SKIP_DIRS = new Set(["node_modules", ".git", ".slipway", ".yarn", ".pnpm-store"]);
const MAX_DEPTH = 6;

/**
 * The lockfiles of the project in `dir`: those at its root. When there are
 * none and `nested` is set (a folder of projects, like `examples/`), those in
 * its sub-folders (not in node_modules, .git or a data directory). Relative
 * paths with `/`.
 */
export function findLockfiles(dir: string, nested = false): string[] {
  const found: string[] = [];
  const walk = (sub: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(join(dir, sub), { withFileTypes: true });
    } catch (err) {
      if (depth === 0) throw new SbomError(`cannot read the folder ${dir}: ${(err as Error).message}; give an existing folder`);
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const rel = sub === "" ? e.name : `${sub}/${e.name}`;
      if (e.isFile() && (LOCKFILE_NAMES as readonly string[]).includes(e.name)) found.push(rel);
      else if (nested && e.isDirectory() && !SKIP_DIRS.has(e.name) && depth < MAX_DEPTH) walk(rel, depth + 1);
    }
  };
  walk("", 0);
  const atRoot = found.filter((f) => !f.includes("/"));
  return atRoot.length > 0 || !nested ? atRoot : found;
}

/** Reads and parses the given lockfiles of `dir`; a bad one throws SbomError naming it (and its line). */
export function readLockfiles(dir: string, files: readonly string[]): Lockfile[] {
  return files.map((rel) => {
    let text: string;
    try {
      text = readFileSync(join(dir, rel), "utf8");
    } catch (err) {
      throw new SbomError(`cannot read ${rel}: ${(err as Error).message}; check the file's permissions`);
    }
    try {
      return parseLockfile(rel.split(sep).join("/"), text);
    } catch (err) {
      if (err instanceof LockfileError) throw new SbomError(err.message);
      throw err;
    }
  });
}

/** The CycloneDX 1.6 document of these lockfiles (pure, apart from the serial number and time when not given). */
export function buildSbom(
  subject: SbomSubject,
  lockfiles: readonly Lockfile[],
  options: { serialNumber?: string; timestamp?: string; toolVersion?: string } = {},
): Record<string, unknown> {
  const components = new Map<string, { pkg: Lockfile["packages"][number]; lockfiles: string[] }>();
  const rootRefs = new Set<string>();
  for (const lock of lockfiles) {
    for (const pkg of lock.packages) {
      const seen = components.get(pkg.purl);
      if (seen) {
        for (const h of pkg.hashes) if (!seen.pkg.hashes.some((e) => e.alg === h.alg)) seen.pkg.hashes.push(h);
        for (const d of pkg.dependsOn) if (!seen.pkg.dependsOn.includes(d)) seen.pkg.dependsOn.push(d);
        seen.lockfiles.push(lock.file);
      } else {
        components.set(pkg.purl, { pkg: { ...pkg, hashes: [...pkg.hashes], dependsOn: [...pkg.dependsOn] }, lockfiles: [lock.file] });
      }
    }
    for (const r of lock.roots) rootRefs.add(r);
  }
  const subjectRef = "slipway:subject";
  const hashes: ComponentHash[] = subject.digest?.startsWith("sha256:") ? [{ alg: "SHA-256", content: subject.digest.slice("sha256:".length) }] : [];
  const list = [...components.values()].sort((a, b) => (a.pkg.purl < b.pkg.purl ? -1 : 1));
  return {
    bomFormat: "CycloneDX",
    specVersion: SBOM_SPEC_VERSION,
    serialNumber: options.serialNumber ?? `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: options.timestamp ?? new Date().toISOString(),
      tools: { components: [{ type: "application", name: "slipway", ...(options.toolVersion ? { version: options.toolVersion } : {}) }] },
      component: {
        type: "application",
        "bom-ref": subjectRef,
        name: subject.name,
        ...(subject.version ? { version: subject.version } : {}),
        ...(hashes.length ? { hashes } : {}),
      },
      properties: lockfiles.map((l) => ({ name: "slipway:lockfile", value: `${l.file} (${l.format})` })),
    },
    components: list.map(({ pkg, lockfiles: files }) => ({
      type: "library",
      "bom-ref": pkg.purl,
      name: pkg.name,
      version: pkg.version,
      purl: pkg.purl,
      ...(pkg.hashes.length ? { hashes: pkg.hashes } : {}),
      properties: [...pkg.properties, ...files.map((f) => ({ name: "slipway:lockfile", value: f }))],
    })),
    dependencies: [
      { ref: subjectRef, dependsOn: [...rootRefs].filter((r) => components.has(r)).sort() },
      ...list.map(({ pkg }) => ({ ref: pkg.purl, dependsOn: pkg.dependsOn.filter((d) => components.has(d)).sort() })),
    ],
  };
}

interface CycloneDxModule {
  Validation: { JsonStrictValidator: new (version: unknown) => { validate(data: string): Promise<unknown> } };
  Spec: { Version: { v1dot6: unknown } };
}

/** One validator per process: it compiles the schema on first use. */
let validator: Promise<{ validate(data: string): Promise<unknown> }> | undefined;

/**
 * The CycloneDX library, loaded with `require` when first needed (it is
 * CommonJS; the CLI bundle keeps it external, as it reads its JSON schemas
 * from its own folder). A dynamic `import()` from the bundle, which
 * bin/slipway.js runs through node:vm, would need an experimental loader
 * option that prints a warning.
 */
function importCycloneDx(): Promise<unknown> {
  return Promise.resolve(createRequire(import.meta.url)("@cyclonedx/cyclonedx-library") as unknown);
}

/** Validates a CycloneDX 1.6 JSON text with the library's strict validator; throws SbomError listing the first problems. */
export async function validateSbom(text: string, what = "the SBOM"): Promise<void> {
  let errors: unknown;
  try {
    validator ??= importCycloneDx().then((loaded) => {
      const m = loaded as CycloneDxModule & { default?: CycloneDxModule };
      const cdx = m.Validation ? m : (m.default as CycloneDxModule);
      return new cdx.Validation.JsonStrictValidator(cdx.Spec.Version.v1dot6);
    });
    errors = await (await validator).validate(text);
  } catch (err) {
    throw new SbomError(`${what} could not be validated: ${(err as Error).message}; check that @cyclonedx/cyclonedx-library and ajv are installed`);
  }
  if (errors === null) return;
  const list = Array.isArray(errors) ? (errors as { instancePath?: string; message?: string }[]) : [];
  const first = list.slice(0, 3).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`.trim());
  throw new SbomError(`${what} is not valid CycloneDX ${SBOM_SPEC_VERSION}: ${first.join("; ") || JSON.stringify(errors).slice(0, 300)}; this is a bug in Slipway, please report it with the lockfile`);
}

/** Reads the lockfiles of `dir` (see findLockfiles), builds the SBOM and validates it. */
export async function generateSbom(dir: string, options: { subject?: SbomSubject; nested?: boolean } = {}): Promise<SbomResult> {
  const lockfiles = readLockfiles(dir, findLockfiles(dir, options.nested ?? false));
  const subject = options.subject;
  const bom = buildSbom(subject ?? { name: projectName(dir) }, lockfiles);
  const text = `${JSON.stringify(bom, null, 2)}\n`;
  await validateSbom(text);
  return { bom, text, lockfiles: lockfiles.map((l) => l.file), components: (bom.components as unknown[]).length };
}

/** package.json's name, else the folder's name. */
function projectName(dir: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown };
    if (typeof pkg.name === "string" && pkg.name !== "") return pkg.name;
  } catch {
    // no package.json, or not JSON: the folder's name will do
  }
  return basename(relative("/", dir)) || "project";
}
