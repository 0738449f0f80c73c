// The BlobStore interface: bytes stored by content digest (`sha256:<hex>`),
// never mutated. Artifacts, caches and logs keep their bytes here and their
// meaning elsewhere (manifests, cache entries). FileBlobStore keeps blobs on
// the local disk; an object-store implementation (S3) runs the same shared
// test suite (blob-store.case.ts).
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, promises as fsp, statSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** `sha256:` followed by 64 lower-case hex digits. */
export type Digest = string;

export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** A readable stream, any async iterable of bytes, bytes in memory, or a file path (string). */
export type BlobSource = Readable | AsyncIterable<Uint8Array> | Uint8Array | string;

export interface PutOptions {
  /** Fail with `digest_mismatch` (and store nothing) unless the content has this digest. */
  expectedDigest?: Digest;
  /**
   * Flush the blob to stable storage before it appears under its digest
   * (default: the store's setting). Callers may trade this for speed when
   * their blobs can be recreated and readers detect corruption (caches), or
   * when they call `flush` before recording the digests anywhere (artifacts).
   */
  durable?: boolean;
  /**
   * putFile only: the store may take the file itself (a rename into place)
   * instead of copying it. The caller gives the file up: it must not change
   * or use it afterwards, and removes it only if putFile fails.
   */
  move?: boolean;
  /**
   * The content's digest, computed by the caller as it wrote the content
   * (e.g. while a child process produced the file). A store may rely on it
   * instead of reading the content again; a file store does. Unlike
   * `expectedDigest`, it is trusted, not verified.
   */
  knownDigest?: Digest;
}

export interface BlobStore {
  /** Stores the bytes of a stream, iterable, buffer or file path and returns their digest. */
  put(source: BlobSource, options?: PutOptions): Promise<BlobInfo>;
  /** Stores the content of a file (a copy, unless `move` lets the store take the file itself). */
  putFile(path: string, options?: PutOptions): Promise<BlobInfo>;
  has(digest: Digest): Promise<boolean>;
  /** Size of a stored blob, or undefined when it is absent. */
  stat(digest: Digest): Promise<BlobInfo | undefined>;
  /**
   * Reads a blob. Absence is reported as a `not_found` BlobError, thrown here
   * or emitted by the stream (a remote store cannot know before it asks).
   */
  open(digest: Digest): Readable;
  /** The blob's file when the store is local (whether or not it exists); undefined for remote stores. */
  path(digest: Digest): string | undefined;
  /** Removes a blob; false when it was not there. */
  delete(digest: Digest): Promise<boolean>;
  /**
   * Makes blobs put with `durable: false` durable (one flush for many small
   * blobs is much cheaper than one each). Stores that are always durable do nothing.
   */
  flush(digests: Digest[]): Promise<void>;
}

export type BlobErrorCode = "invalid_digest" | "not_found" | "digest_mismatch";

export class BlobError extends Error {
  constructor(
    message: string,
    readonly code: BlobErrorCode,
  ) {
    super(message);
    this.name = "BlobError";
  }
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** Returns the 64 hex digits of a digest, or throws an `invalid_digest` BlobError that says what is wrong. */
export function parseDigest(value: string): string {
  if (DIGEST.test(value)) return value.slice("sha256:".length);
  let why: string;
  if (!value.includes(":")) why = "it has no algorithm prefix; expected sha256:<64 hex digits>";
  else if (!value.startsWith("sha256:")) why = `algorithm "${value.slice(0, value.indexOf(":"))}" is not supported; expected sha256`;
  else if (value.length !== 71) why = `expected 64 hex digits after "sha256:", got ${value.length - 7}`;
  else why = "the hex digits must be lower-case 0-9a-f";
  throw new BlobError(`Invalid digest "${truncate(value)}": ${why}`, "invalid_digest");
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 77)}...` : value;
}

export interface FileBlobStoreOptions {
  /** fsync each blob before renaming it under its digest (default true). */
  durable?: boolean;
}

/** Files smaller than this are read whole into memory by putFile (fewer system calls than a stream). */
const SMALL_FILE = 1 << 20;

/**
 * Blobs as read-only files under `<dataDir>/blobs/sha256/<2 hex>/<62 hex>`.
 * A blob is written to `<dataDir>/blobs/tmp/` while it is hashed, then renamed
 * into place: a crash leaves at most a stray temp file, never a partial blob
 * under a digest. Stray temp files can be removed with `sweepTemp`.
 */
export class FileBlobStore implements BlobStore {
  readonly root: string;
  private readonly tmpDir: string;
  private readonly durable: boolean;
  private readonly madeDirs = new Set<string>();

  constructor(dataDir: string, options: FileBlobStoreOptions = {}) {
    this.root = join(dataDir, "blobs");
    this.tmpDir = join(this.root, "tmp");
    this.durable = options.durable ?? true;
  }

  path(digest: Digest): string {
    const hex = parseDigest(digest);
    return join(this.root, "sha256", hex.slice(0, 2), hex.slice(2));
  }

  async put(source: BlobSource, options: PutOptions = {}): Promise<BlobInfo> {
    if (typeof source === "string") return this.putFile(source, options);
    if (source instanceof Uint8Array) return this.putBytes(source, options);
    if (options.expectedDigest !== undefined) parseDigest(options.expectedDigest);
    const tmp = await this.tempPath();
    const hash = createHash("sha256");
    let size = 0;
    const out = createWriteStream(tmp, { flags: "wx", mode: 0o444 });
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        out,
      );
      return await this.commit(tmp, `sha256:${hash.digest("hex")}`, size, options);
    } catch (error) {
      // The file is opened asynchronously: when the source fails first, the open may complete after
      // the pipeline has rejected and create the file then. Remove it only once the stream is closed.
      if (!out.closed) await new Promise<void>((resolve) => out.once("close", () => resolve()));
      await fsp.rm(tmp, { force: true });
      throw error;
    }
  }

  async putFile(path: string, options: PutOptions = {}): Promise<BlobInfo> {
    if (options.move) return this.moveFile(path, options);
    const handle = await fsp.open(path, "r");
    let size: number;
    try {
      size = (await handle.stat()).size;
      if (size < SMALL_FILE) {
        const bytes = await handle.readFile();
        return await this.putBytes(bytes, options);
      }
    } finally {
      await handle.close();
    }
    return this.put(createReadStream(path), options);
  }

  /** Hashes a file, then renames it under its digest (a copy when it is on another file system). */
  private async moveFile(path: string, options: PutOptions): Promise<BlobInfo> {
    if (options.expectedDigest !== undefined) parseDigest(options.expectedDigest);
    let digest: Digest;
    let size: number;
    if (options.knownDigest !== undefined) {
      parseDigest(options.knownDigest);
      digest = options.knownDigest;
      size = (await fsp.stat(path)).size;
    } else {
      ({ digest, size } = await hashFile(path));
    }
    this.checkExpected(digest, options);
    if (await this.reuse(digest, size)) {
      await fsp.rm(path, { force: true });
      return { digest, size };
    }
    if (options.durable ?? this.durable) await fsyncFile(path);
    await fsp.chmod(path, 0o444);
    const final = this.path(digest);
    await this.mkdir(join(final, ".."));
    try {
      await fsp.rename(path, final);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EXDEV" && code !== "ENOENT") throw error;
      // Another file system (or our directory was swept): copy it, then drop the original.
      this.madeDirs.delete(join(final, ".."));
      const { knownDigest: _known, ...rest } = options;
      const info = await this.put(createReadStream(path), { ...rest, move: false, expectedDigest: digest });
      await fsp.rm(path, { force: true });
      return info;
    }
    return { digest, size };
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const stats = await fsp.stat(this.path(digest));
      return { digest, size: stats.size };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  open(digest: Digest): Readable {
    const file = this.path(digest);
    try {
      statSync(file);
    } catch (error) {
      if (isNotFound(error)) throw notFound(digest);
      throw error;
    }
    return createReadStream(file);
  }

  async delete(digest: Digest): Promise<boolean> {
    try {
      await fsp.unlink(this.path(digest));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async flush(digests: Digest[]): Promise<void> {
    const files = [...new Set(digests)].map((d) => this.path(d));
    // Many blobs: one syncfs(2) of the store's file system (GNU `sync -f`)
    // beats an fsync each; without it, fsync each, a few at a time.
    if (files.length >= 16 && (await syncFileSystem(this.root))) return;
    for (let i = 0; i < files.length; i += 8) await Promise.all(files.slice(i, i + 8).map(fsyncFile));
  }

  /** Every stored blob's digest (for the garbage collector, retention/). */
  async digests(): Promise<Digest[]> {
    const out: Digest[] = [];
    const base = join(this.root, "sha256");
    for (const prefix of await fsp.readdir(base).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const rest of await fsp.readdir(join(base, prefix)).catch(() => [] as string[])) {
        if (/^[0-9a-f]{62}$/.test(rest)) out.push(`sha256:${prefix}${rest}`);
      }
    }
    return out;
  }

  /** Removes temp files older than `olderThanMs` left by crashed writers; returns how many. */
  async sweepTemp(olderThanMs = 24 * 3600_000): Promise<number> {
    let names: string[];
    try {
      names = await fsp.readdir(this.tmpDir);
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
    let removed = 0;
    const limit = Date.now() - olderThanMs;
    for (const name of names) {
      const file = join(this.tmpDir, name);
      const stats = await fsp.stat(file).catch(() => undefined);
      if (stats && stats.mtimeMs <= limit) {
        await fsp.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  private async putBytes(bytes: Uint8Array, options: PutOptions): Promise<BlobInfo> {
    if (options.expectedDigest !== undefined) parseDigest(options.expectedDigest);
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    this.checkExpected(digest, options);
    if (await this.reuse(digest, bytes.length)) return { digest, size: bytes.length };
    const tmp = await this.tempPath();
    try {
      await fsp.writeFile(tmp, bytes, { flag: "wx", mode: 0o444 });
      return await this.commit(tmp, digest, bytes.length, options);
    } catch (error) {
      await fsp.rm(tmp, { force: true });
      throw error;
    }
  }

  /**
   * Whether the blob is already stored with this size; if so its time is set
   * to now, so that the garbage collector (retention/), which deletes only
   * unreferenced blobs older than its grace period, keeps a blob that is
   * being stored again while it collects.
   */
  private async reuse(digest: Digest, size: number): Promise<boolean> {
    if ((await this.stat(digest))?.size !== size) return false;
    const now = new Date();
    await fsp.utimes(this.path(digest), now, now).catch(() => undefined);
    return true;
  }

  /** Moves a fully written temp file under its digest (or drops it when the blob already exists). */
  private async commit(tmp: string, digest: Digest, size: number, options: PutOptions): Promise<BlobInfo> {
    this.checkExpected(digest, options);
    const final = this.path(digest);
    // An existing blob is kept; one of another size can only be a torn write
    // (a power loss before a non-durable blob reached the disk): replace it.
    if (await this.reuse(digest, size)) {
      await fsp.rm(tmp, { force: true });
      return { digest, size };
    }
    if (options.durable ?? this.durable) await fsyncFile(tmp);
    const dir = join(final, "..");
    await this.mkdir(dir);
    // Two writers of the same content may race here: rename replaces the
    // other's file with identical bytes, atomically, so readers never see a gap.
    try {
      await fsp.rename(tmp, final);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // The directory was removed since we made it (e.g. by a sweep): make it again.
      this.madeDirs.delete(dir);
      await this.mkdir(dir);
      await fsp.rename(tmp, final);
    }
    return { digest, size };
  }

  private checkExpected(digest: Digest, options: PutOptions): void {
    if (options.expectedDigest !== undefined && options.expectedDigest !== digest) {
      throw new BlobError(`Content digest ${digest} does not match the expected ${options.expectedDigest}`, "digest_mismatch");
    }
  }

  private async tempPath(): Promise<string> {
    // Not cached: a sweep may remove the directory between two puts.
    await fsp.mkdir(this.tmpDir, { recursive: true });
    return join(this.tmpDir, `${process.pid}-${randomBytes(8).toString("hex")}`);
  }

  private async mkdir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await fsp.mkdir(dir, { recursive: true });
    this.madeDirs.add(dir);
  }
}

async function hashFile(path: string): Promise<BlobInfo> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest("hex")}`, size };
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await fsp.open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** syncfs(2) of the file system holding `path`, through GNU coreutils' `sync -f`; false when unavailable. */
function syncFileSystem(path: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const child = spawn("sync", ["-f", path], { stdio: "ignore" });
    child.once("error", () => resolvePromise(false));
    child.once("close", (code) => resolvePromise(code === 0));
  });
}

function notFound(digest: Digest): BlobError {
  return new BlobError(`Blob ${digest} not found`, "not_found");
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}
