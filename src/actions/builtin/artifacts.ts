// actions/upload-artifact and actions/download-artifact (v4 semantics),
// offline. Each file of an artifact is a blob (content-addressed, so equal
// files are stored once across artifacts and runs); the artifact itself is a
// manifest under `<dataDir>/artifacts/<runId>/<name>.json`, written once and
// atomically. Unlike GitHub's zip, file modes are kept and restored.
//
// Outputs of upload:
// - artifact-id: a number unique in the data directory, allocated by
//   exclusive creation of `<dataDir>/artifacts/ids/<n>` (never reused).
// - artifact-url: a file:// URL of the manifest.
// - artifact-digest: sha256 hex (without prefix, as GitHub's output) of the
//   manifest's canonical file list — JSON of [{path, digest, size, mode}]
//   sorted by path — so equal content gives an equal digest whenever and
//   wherever it is uploaded. The manifest's `digest` field holds it as
//   `sha256:<hex>`.
//
// Path patterns are in paths.ts (shared with cache.ts).
import { createHash } from "node:crypto";
import { constants as fsConstants, createWriteStream, promises as fsp } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import picomatch from "picomatch";
import { FileBlobStore, isNotFound, mapLimit, writeJsonAtomic, type BlobStore, type Digest } from "../../blobs/index.js";
import { ActionError, booleanInput, warn, type BuiltinAction, type BuiltinContext } from "./builtin-action.js";
import { expandHome, findPaths, homeOf, inputLines, leastCommonAncestor } from "./paths.js";

// ---------------------------------------------------------------------------
// Artifacts

export interface ArtifactFile {
  /** Path inside the artifact, `/`-separated. */
  path: string;
  digest: Digest;
  size: number;
  /** Permission bits, e.g. 0o755. */
  mode: number;
}

export interface ArtifactManifest {
  name: string;
  id: number;
  runId: number;
  /** `sha256:<hex>` of the canonical file list (see the top of this file). */
  digest: Digest;
  /** Total bytes of the files. */
  size: number;
  files: ArtifactFile[];
  createdAt: string;
  expiresAt: string;
}

export const DEFAULT_RETENTION_DAYS = 90;
/** Files below this size are read whole; larger ones are streamed. */
const SMALL_FILE = 1 << 20;
const INVALID_NAME_CHARACTERS: [string, string][] = [
  ['"', ' Double quote "'],
  [":", " Colon :"],
  ["<", " Less than <"],
  [">", " Greater than >"],
  ["|", " Vertical bar |"],
  ["*", " Asterisk *"],
  ["?", " Question mark ?"],
  ["\r", " Carriage return \\r"],
  ["\n", " Line feed \\n"],
  ["\\", " Backslash \\"],
  ["/", " Forward slash /"],
];

/** Throws an ActionError naming the character when an artifact name is not allowed (as upload-artifact does). */
export function validateArtifactName(name: string): void {
  if (name.trim() === "") throw new ActionError("Provided artifact name input during validation is empty");
  if (name === "." || name === "..") throw new ActionError(`The artifact name is not valid: ${name}`);
  for (const [char, description] of INVALID_NAME_CHARACTERS) {
    if (name.includes(char)) {
      throw new ActionError(
        `The artifact name is not valid: ${name}. Contains the following character: ${description}\n` +
          `Invalid characters include: ${INVALID_NAME_CHARACTERS.map(([, d]) => d).join(",")}\n` +
          "These characters are not allowed in the artifact name due to limitations with certain file systems such as NTFS.",
      );
    }
  }
}

function validateFilePath(path: string): void {
  for (const [char, description] of INVALID_NAME_CHARACTERS.slice(0, 9)) {
    if (path.includes(char)) {
      throw new ActionError(
        `The path for one of the files in artifact is not valid: ${path}. Contains the following character: ${description}`,
      );
    }
  }
}

export function artifactsDir(dataDir: string, runId: number): string {
  return join(dataDir, "artifacts", String(runId));
}

/** The runs that have artifacts (or had: an emptied folder stays). */
export async function artifactRunIds(dataDir: string): Promise<number[]> {
  const names = await fsp.readdir(join(dataDir, "artifacts")).catch(() => [] as string[]);
  return names.filter((n) => /^\d+$/.test(n)).map(Number);
}

export function manifestPath(dataDir: string, runId: number, name: string): string {
  validateArtifactName(name);
  return join(artifactsDir(dataDir, runId), `${name}.json`);
}

/** The artifact of a run by name (undefined when absent or expired, unless `includeExpired`). */
export async function readArtifact(
  dataDir: string,
  runId: number,
  name: string,
  options: { now?: Date; includeExpired?: boolean } = {},
): Promise<ArtifactManifest | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(manifestPath(dataDir, runId, name), "utf8");
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const manifest = parseManifest(text, manifestPath(dataDir, runId, name));
  if (!options.includeExpired && Date.parse(manifest.expiresAt) <= (options.now ?? new Date()).getTime()) return undefined;
  return manifest;
}

/** A manifest's text, checked for what readers rely on; an Error naming the file and the fix when it is damaged. */
function parseManifest(text: string, file: string): ArtifactManifest {
  const damaged = (why: string) => new Error(`${file}: not an artifact manifest (${why}); restore it from a backup, or delete it to drop the artifact`);
  let manifest: Partial<ArtifactManifest> | null;
  try {
    manifest = JSON.parse(text) as Partial<ArtifactManifest> | null;
  } catch (err) {
    throw damaged((err as Error).message);
  }
  const files = manifest?.files;
  if (!manifest || typeof manifest.expiresAt !== "string" || !Array.isArray(files) || files.some((f) => typeof f?.digest !== "string")) {
    throw damaged("expiresAt and files[].digest are missing");
  }
  return manifest as ArtifactManifest;
}

/** The artifacts of a run, by name (expired ones left out unless `includeExpired`). */
export async function listArtifacts(
  dataDir: string,
  runId: number,
  options: { now?: Date; includeExpired?: boolean } = {},
): Promise<ArtifactManifest[]> {
  let names: string[];
  try {
    names = await fsp.readdir(artifactsDir(dataDir, runId));
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const result: ArtifactManifest[] = [];
  for (const file of names.filter((n) => n.endsWith(".json")).sort()) {
    const manifest = await readArtifact(dataDir, runId, file.slice(0, -".json".length), options);
    if (manifest) result.push(manifest);
  }
  return result;
}

/** Removes an artifact's manifest (its blobs stay until garbage collection: other artifacts may share them). */
export async function deleteArtifact(dataDir: string, runId: number, name: string): Promise<boolean> {
  try {
    await fsp.unlink(manifestPath(dataDir, runId, name));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

export interface FilesToUpload {
  /** Absolute paths of the files. */
  files: string[];
  /** The artifact's root: files are stored relative to it. */
  rootDirectory: string;
}

/** The files a `path` input selects and the artifact root, as upload-artifact computes them. */
export async function findFilesToUpload(
  pathInput: string,
  options: { cwd: string; home: string; includeHiddenFiles?: boolean },
): Promise<FilesToUpload> {
  const { matches, searchPaths } = await findPaths(inputLines(pathInput), {
    cwd: options.cwd,
    home: options.home,
    implicitDescendants: true,
    excludeHiddenFiles: !options.includeHiddenFiles,
  });
  const files = matches.filter((m) => !m.isDirectory).map((m) => m.path);
  let rootDirectory: string;
  if (searchPaths.length > 1) rootDirectory = leastCommonAncestor(searchPaths);
  else if (files.length === 1 && files[0] !== undefined && searchPaths[0] === files[0]) rootDirectory = dirname(files[0]);
  else rootDirectory = searchPaths[0] ?? options.cwd;
  return { files, rootDirectory };
}

export interface UploadArtifactOptions {
  dataDir: string;
  runId: number;
  name: string;
  files: string[];
  rootDirectory: string;
  retentionDays?: number;
  overwrite?: boolean;
  store?: BlobStore;
  now?: Date;
}

/** Stores files as an artifact of a run; fails if the name is taken in the run, unless `overwrite`. */
export async function uploadArtifact(options: UploadArtifactOptions): Promise<ArtifactManifest> {
  const { dataDir, runId, name } = options;
  validateArtifactName(name);
  const target = manifestPath(dataDir, runId, name);
  if (!options.overwrite && (await exists(target))) throw duplicateArtifact(name, runId);
  const files = await storeArtifactFiles(options.store ?? new FileBlobStore(dataDir), options.files, options.rootDirectory);
  const now = options.now ?? new Date();
  const retention = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  const manifest: ArtifactManifest = {
    name,
    id: await allocateArtifactId(dataDir, runId, name),
    runId,
    digest: `sha256:${artifactDigestHex(files)}`,
    size: files.reduce((total, f) => total + f.size, 0),
    files,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + retention * 24 * 3600_000).toISOString(),
  };
  const written = await writeJsonAtomic(target, manifest, { exclusive: !options.overwrite, durable: true });
  if (!written) throw duplicateArtifact(name, runId);
  return manifest;
}

/**
 * Stores files as blobs and returns their entries, sorted by path, relative to
 * `rootDirectory`. The blobs are flushed to disk before this returns, so a
 * manifest written afterwards never names a blob that a crash could lose.
 */
export async function storeArtifactFiles(store: BlobStore, paths: string[], rootDirectory: string): Promise<ArtifactFile[]> {
  const entries = paths.map((file) => {
    const path = relative(rootDirectory, file).split(sep).join("/");
    if (path === "" || path.startsWith("../") || isAbsolute(path)) {
      throw new ActionError(`The file ${file} is not under the artifact's root directory ${rootDirectory}`);
    }
    validateFilePath(path);
    return { file, path };
  });
  // Blobs are written without an fsync each, then flushed together.
  const files = await mapLimit(entries, 8, async ({ file, path }): Promise<ArtifactFile> => {
    const handle = await fsp.open(file, "r");
    let mode: number;
    let blob: { digest: Digest; size: number };
    try {
      const stats = await handle.stat();
      mode = stats.mode & 0o777;
      blob =
        stats.size < SMALL_FILE
          ? await store.put(await handle.readFile(), { durable: false })
          : await store.put(handle.createReadStream({ autoClose: false }), { durable: false });
    } finally {
      await handle.close();
    }
    return { path, digest: blob.digest, size: blob.size, mode };
  });
  await store.flush(files.map((f) => f.digest));
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return files;
}

function duplicateArtifact(name: string, runId: number): ActionError {
  return new ActionError(
    `Failed to create artifact "${name}": an artifact with this name already exists in run ${runId}. ` +
      "Artifact names are unique within a run; use another name, or set `overwrite: true` to replace it.",
  );
}

/**
 * The canonical file list's bytes: JSON of [{path, digest, size, mode}] sorted
 * by path. Its sha256 is the artifact's digest, and a release's (whose
 * signature covers these bytes): one formula for both.
 */
export function artifactManifestBytes(files: readonly { path: string; digest: string; size: number; mode: number }[]): Buffer {
  const canonical = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => ({ path: f.path, digest: f.digest, size: f.size, mode: f.mode }));
  return Buffer.from(JSON.stringify(canonical), "utf8");
}

/** sha256 hex of the canonical file list. */
export function artifactDigestHex(files: ArtifactFile[]): string {
  return createHash("sha256").update(artifactManifestBytes(files)).digest("hex");
}

async function allocateArtifactId(dataDir: string, runId: number, name: string): Promise<number> {
  const dir = join(dataDir, "artifacts", "ids");
  await fsp.mkdir(dir, { recursive: true });
  for (;;) {
    const taken = (await fsp.readdir(dir)).map(Number).filter(Number.isSafeInteger);
    const next = taken.reduce((max, n) => Math.max(max, n), 0) + 1;
    try {
      await fsp.writeFile(join(dir, String(next)), JSON.stringify({ runId, name }), { flag: "wx" });
      return next;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

/** Writes the artifact's files under `destination` (created as needed); existing files are replaced. */
export async function downloadArtifact(
  dataDir: string,
  manifest: ArtifactManifest,
  destination: string,
  store: BlobStore = new FileBlobStore(dataDir),
): Promise<void> {
  const root = resolve(destination);
  await fsp.mkdir(root, { recursive: true });
  const made = new Set<string>([root]);
  await mapLimit(manifest.files, 8, async (file) => {
    const target = resolve(root, file.path);
    if (!target.startsWith(root + sep)) {
      throw new ActionError(`Artifact "${manifest.name}" holds a path outside its root: ${file.path}`);
    }
    const dir = dirname(target);
    if (!made.has(dir)) {
      await fsp.mkdir(dir, { recursive: true });
      made.add(dir);
    }
    const local = store.path(file.digest);
    const copy = () =>
      local !== undefined
        ? fsp.copyFile(local, target, fsConstants.COPYFILE_FICLONE | fsConstants.COPYFILE_EXCL)
        : pipeline(store.open(file.digest), createWriteStream(target, { flags: "wx" }));
    try {
      await copy();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      // Replace what is there (it may be read-only, or a link we must not write through).
      await fsp.rm(target, { force: true });
      await copy();
    }
    await fsp.chmod(target, file.mode);
  });
}

// ---------------------------------------------------------------------------
// The actions

function integerInput(ctx: BuiltinContext, name: string): number | undefined {
  const value = (ctx.inputs[name] ?? "").trim();
  if (value === "") return undefined;
  if (!/^-?\d+$/.test(value)) throw new ActionError(`Invalid ${name}: "${value}" is not a whole number`);
  return Number(value);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function upload(ctx: BuiltinContext): Promise<void> {
  const name = ctx.inputs.name?.trim() || "artifact";
  const pathInput = ctx.inputs.path ?? "";
  if (inputLines(pathInput).length === 0) throw new ActionError("Input required and not supplied: path");
  const ifNoFilesFound = (ctx.inputs["if-no-files-found"] ?? "").trim() || "warn";
  if (!["warn", "error", "ignore"].includes(ifNoFilesFound)) {
    throw new ActionError(
      `Unrecognized if-no-files-found input. Provided: ${ifNoFilesFound}. Available options: warn, error, ignore`,
    );
  }
  let retentionDays = integerInput(ctx, "retention-days");
  const maxRetention = Number(ctx.env.GITHUB_RETENTION_DAYS) || DEFAULT_RETENTION_DAYS;
  if (retentionDays !== undefined && retentionDays < 0) throw new ActionError("Invalid retention-days: it cannot be negative");
  if (retentionDays === 0 || retentionDays === undefined) retentionDays = maxRetention;
  if (retentionDays > maxRetention) {
    warn(ctx, `Retention days cannot be greater than the maximum allowed retention set within the repository. Using ${maxRetention} instead.`);
    retentionDays = maxRetention;
  }
  const compressionLevel = integerInput(ctx, "compression-level");
  if (compressionLevel !== undefined && (compressionLevel < 0 || compressionLevel > 9)) {
    throw new ActionError(`Invalid compression-level: ${compressionLevel}. Valid values are 0-9`);
  }
  // compression-level has no effect: blobs are stored as they are, so equal files dedupe.
  const overwrite = booleanInput(ctx, "overwrite", false);
  const includeHiddenFiles = booleanInput(ctx, "include-hidden-files", false);
  validateArtifactName(name);

  const { files, rootDirectory } = await findFilesToUpload(pathInput, {
    cwd: ctx.workspace,
    home: homeOf(ctx.env),
    includeHiddenFiles,
  });
  if (files.length === 0) {
    const message = `No files were found with the provided path: ${inputLines(pathInput).join(", ")}. No artifacts will be uploaded.`;
    if (ifNoFilesFound === "error") throw new ActionError(message);
    if (ifNoFilesFound === "warn") warn(ctx, message);
    else ctx.log(message);
    return;
  }
  const s = files.length === 1 ? "" : "s";
  ctx.log(`With the provided path, there will be ${files.length} file${s} uploaded`);
  ctx.log(`Root directory of the artifact: ${rootDirectory}`);
  const manifest = await uploadArtifact({
    dataDir: ctx.dataDir,
    runId: ctx.run.id,
    name,
    files,
    rootDirectory,
    retentionDays,
    overwrite,
  });
  const url = pathToFileURL(manifestPath(ctx.dataDir, ctx.run.id, name)).href;
  ctx.log(`Artifact ${name} has been successfully uploaded! Final size is ${manifest.size} bytes (${formatBytes(manifest.size)}). Artifact ID is ${manifest.id}`);
  ctx.log(`Artifact ${name} expires at ${manifest.expiresAt}`);
  ctx.log(`Artifact download URL: ${url}`);
  ctx.setOutput("artifact-id", String(manifest.id));
  ctx.setOutput("artifact-url", url);
  ctx.setOutput("artifact-digest", manifest.digest.slice("sha256:".length));
}

async function download(ctx: BuiltinContext): Promise<void> {
  const name = ctx.inputs.name?.trim() ?? "";
  const pattern = ctx.inputs.pattern?.trim() ?? "";
  const idsInput = ctx.inputs["artifact-ids"]?.trim() ?? "";
  const mergeMultiple = booleanInput(ctx, "merge-multiple", false);
  const runIdInput = ctx.inputs["run-id"]?.trim() ?? "";
  if (runIdInput !== "" && !/^\d+$/.test(runIdInput)) throw new ActionError(`Invalid run-id: "${runIdInput}" is not a run number`);
  const runId = runIdInput === "" ? ctx.run.id : Number(runIdInput);
  if (name !== "" && idsInput !== "") {
    throw new ActionError("Inputs `name` and `artifact-ids` cannot be used together. Please specify only one.");
  }
  const pathInput = ctx.inputs.path?.trim() ?? "";
  const downloadPath = resolve(ctx.workspace, expandHome(pathInput === "" ? ctx.workspace : pathInput, homeOf(ctx.env)));

  if (name !== "") {
    const manifest = await readArtifact(ctx.dataDir, runId, name);
    if (!manifest) {
      const available = (await listArtifacts(ctx.dataDir, runId)).map((a) => a.name);
      throw new ActionError(
        `Unable to download artifact(s): Artifact not found for name: ${name} in run ${runId}. ` +
          (available.length > 0 ? `Available artifacts: ${available.join(", ")}` : "The run has no artifacts."),
      );
    }
    ctx.log(`Downloading artifact ${name} (${manifest.files.length} files, ${formatBytes(manifest.size)}) to ${downloadPath}`);
    await downloadArtifact(ctx.dataDir, manifest, downloadPath);
    ctx.log("Artifact download completed successfully.");
    ctx.log("Total of 1 artifact(s) downloaded");
    ctx.setOutput("download-path", downloadPath);
    return;
  }

  let artifacts = await listArtifacts(ctx.dataDir, runId);
  if (idsInput !== "") {
    const ids = idsInput.split(",").map((s) => s.trim()).filter((s) => s !== "");
    for (const id of ids) if (!/^\d+$/.test(id)) throw new ActionError(`Invalid artifact ID: "${id}". Must be a number.`);
    const missing = ids.filter((id) => !artifacts.some((a) => String(a.id) === id));
    if (missing.length > 0) {
      throw new ActionError(
        `Unable to download artifact(s): no artifact with ID ${missing.join(", ")} in run ${runId}. ` +
          (artifacts.length > 0 ? `Available artifacts: ${artifacts.map((a) => `${a.name} (ID ${a.id})`).join(", ")}` : "The run has no artifacts."),
      );
    }
    artifacts = artifacts.filter((a) => ids.includes(String(a.id)));
  }
  if (pattern !== "") {
    ctx.log(`Filtering artifacts by pattern '${pattern}'`);
    const isMatch = picomatch(pattern);
    artifacts = artifacts.filter((a) => isMatch(a.name));
  }
  if (artifacts.length === 0) ctx.log(`No artifacts found in run ${runId}${pattern !== "" ? ` matching '${pattern}'` : ""}`);
  else ctx.log(`Preparing to download the following artifacts: ${artifacts.map((a) => `${a.name} (ID: ${a.id}, Size: ${a.size})`).join(", ")}`);
  for (const manifest of artifacts) {
    await downloadArtifact(ctx.dataDir, manifest, mergeMultiple ? downloadPath : join(downloadPath, manifest.name));
  }
  ctx.log(`Total of ${artifacts.length} artifact(s) downloaded`);
  ctx.log("Download artifact has finished successfully");
  ctx.setOutput("download-path", downloadPath);
}

export const uploadArtifactAction: BuiltinAction = { name: "actions/upload-artifact", main: upload };
export const downloadArtifactAction: BuiltinAction = { name: "actions/download-artifact", main: download };

// ---------------------------------------------------------------------------
// Helpers


async function exists(path: string): Promise<boolean> {
  try {
    await fsp.access(path);
    return true;
  } catch {
    return false;
  }
}
