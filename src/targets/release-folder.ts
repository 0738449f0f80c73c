// The release folder: a release's files unpacked on this host, one immutable
// folder per content digest, `<dataDir>/releases/<service>/<digest hex>/`.
//
// The files come from the blob store with their permission bits. When the
// artifact is exactly one file and that file is a tar archive (`.tgz`,
// `.tar.gz`, `.tar`), the archive is extracted instead (a Heroku slug, a
// Kamal-style bundle): CI can upload one archive of a built app. Otherwise
// the files are placed as they are.
//
// The folder is written under a temporary name beside its final one, marked
// with `.slipway-release.json` (the digest), made read-only, then renamed into
// place: a crash leaves at most a temporary folder (removed by a later call
// once its writer is gone), never a half-written release folder. An existing
// folder is reused only when its marker names the same digest.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import { dirname, join } from "node:path";
import { FileBlobStore, parseDigest } from "../blobs/index.js";
import type { ReleaseRecord } from "../store/index.js";
import { processRunning } from "./proc.js";
import { TargetError } from "./target-error.js";

/** The marker file inside every release folder. */
export const RELEASE_MARKER = ".slipway-release.json";

const ARCHIVE = /\.(tgz|tar\.gz|tar)$/;

/** `<dataDir>/releases/<service>/<digest hex>`, whether or not it exists. */
export function releaseFolder(dataDir: string, release: Pick<ReleaseRecord, "service" | "digest">): string {
  return join(dataDir, "releases", release.service, parseDigest(release.digest));
}

/** Calls in progress, by folder: concurrent calls for one release share one. */
const inProgress = new Map<string, Promise<string>>();

/** Makes (or reuses) the release's folder and returns its path. */
export function materializeRelease(dataDir: string, release: ReleaseRecord): Promise<string> {
  const folder = releaseFolder(dataDir, release);
  let promise = inProgress.get(folder);
  if (!promise) {
    promise = materialize(dataDir, release, folder).finally(() => inProgress.delete(folder));
    inProgress.set(folder, promise);
  }
  return promise;
}

async function materialize(dataDir: string, release: ReleaseRecord, folder: string): Promise<string> {
  const name = `${release.service}#${release.number}`;
  if (await hasMarker(folder, release.digest)) return folder;
  const parent = dirname(folder);
  await fsp.mkdir(parent, { recursive: true });
  await removeAbandoned(parent);
  const tmp = temporaryName(parent, release.digest);
  await fsp.mkdir(tmp);
  try {
    const blobs = new FileBlobStore(dataDir);
    const only = release.files.length === 1 ? release.files[0] : undefined;
    if (only && ARCHIVE.test(only.path)) await extract(blobs, name, only, tmp);
    else for (const file of release.files) await place(blobs, name, file, tmp);
    await fsp.writeFile(join(tmp, RELEASE_MARKER), JSON.stringify({ release: name, digest: release.digest }) + "\n", { flag: "wx" }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "EEXIST") throw new TargetError(`release ${name} holds a file named ${RELEASE_MARKER}, a name Slipway reserves for its marker; rename it in the artifact and make a new release`);
      throw err;
    });
    await makeReadOnly(tmp);
    for (;;) {
      try {
        await fsp.rename(tmp, folder);
        return folder;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
      }
      // The folder exists. Made by another process meanwhile: theirs is as good as ours.
      if (await hasMarker(folder, release.digest)) {
        await removeReadOnlyTree(tmp);
        return folder;
      }
      // Without a valid marker it was not made here (rename is atomic): someone
      // changed or broke it. Moved aside (atomically), deleted, replaced.
      const aside = temporaryName(parent, release.digest);
      await fsp.rename(folder, aside);
      await removeReadOnlyTree(aside);
    }
  } catch (err) {
    await removeReadOnlyTree(tmp);
    if (err instanceof TargetError) throw err;
    throw new TargetError(`cannot unpack release ${name} into ${folder}: ${(err as Error).message}; check free space and permissions of the data directory`);
  }
}

function temporaryName(parent: string, digest: string): string {
  return join(parent, `.tmp-${parseDigest(digest).slice(0, 12)}-${process.pid}-${randomBytes(4).toString("hex")}`);
}

async function hasMarker(folder: string, digest: string): Promise<boolean> {
  try {
    const marker = JSON.parse(await fsp.readFile(join(folder, RELEASE_MARKER), "utf8")) as { digest?: string };
    return marker.digest === digest;
  } catch {
    return false;
  }
}

/** The blob's file, checked to exist with the size the release recorded. */
async function blobFile(blobs: FileBlobStore, name: string, file: ReleaseRecord["files"][number]): Promise<string> {
  const path = blobs.path(file.digest);
  const stats = await fsp.stat(path).catch(() => undefined);
  if (!stats || stats.size !== file.size) {
    throw new TargetError(
      `release ${name}: the content of ${file.path} (${file.digest}) is ${stats ? "damaged" : "missing"} in ${blobs.root}; ` +
        "hand in the same artifact again (`slipway release create --file`, or re-run its workflow) to store it again",
    );
  }
  return path;
}

async function place(blobs: FileBlobStore, name: string, file: ReleaseRecord["files"][number], root: string): Promise<void> {
  const parts = file.path.split("/");
  if (file.path.startsWith("/") || parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new TargetError(`release ${name} has a file with an unsafe path '${file.path}'; artifact paths must stay inside the artifact`);
  }
  const source = await blobFile(blobs, name, file);
  const target = join(root, ...parts);
  await fsp.mkdir(dirname(target), { recursive: true });
  await fsp.copyFile(source, target);
  await fsp.chmod(target, file.mode & 0o777);
}

async function extract(blobs: FileBlobStore, name: string, file: ReleaseRecord["files"][number], root: string): Promise<void> {
  const archive = await blobFile(blobs, name, file);
  // GNU tar detects gzip itself, skips members with `..`, strips leading `/`.
  const args = ["-x", "-f", archive, "-C", root, "--no-same-owner", "--delay-directory-restore"];
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn("tar", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "ENOENT" ? new TargetError(`release ${name} is a tar archive (${file.path}) but \`tar\` is not installed; install GNU tar`) : err),
    );
    child.on("close", (code) => resolve({ code, stderr }));
  });
  if (code !== 0) {
    throw new TargetError(
      `release ${name}: its only file ${file.path} is not a readable tar archive (tar: ${stderr.trim().split("\n").slice(-2).join("; ") || `exit ${code}`}); ` +
        "upload a valid archive, or a name not ending in .tgz, .tar.gz or .tar to run the file as it is",
    );
  }
}

/** Removes write permission from everything under `root` (folders last, so they can still be walked). */
async function makeReadOnly(root: string): Promise<void> {
  for (const entry of await fsp.readdir(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await makeReadOnly(path);
    else {
      const { mode } = await fsp.stat(path);
      await fsp.chmod(path, mode & 0o555);
    }
  }
  const { mode } = await fsp.stat(root);
  await fsp.chmod(root, (mode & 0o555) | 0o500);
}

/** Removes a folder made read-only by makeReadOnly (or nothing when absent). */
export async function removeReadOnlyTree(root: string): Promise<void> {
  const writable = async (dir: string): Promise<void> => {
    await fsp.chmod(dir, 0o700);
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) if (entry.isDirectory()) await writable(join(dir, entry.name));
  };
  try {
    await writable(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  await fsp.rm(root, { recursive: true, force: true });
}

/** Removes temporary folders whose writer process is gone. */
async function removeAbandoned(parent: string): Promise<void> {
  for (const entry of await fsp.readdir(parent)) {
    const match = /^\.tmp-[0-9a-f]{12}-(\d+)-[0-9a-f]{8}$/.exec(entry);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && !processRunning(pid)) await removeReadOnlyTree(join(parent, entry)).catch(() => undefined);
  }
}
