import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileBlobStore } from "./index.js";
import { runBlobStoreCases } from "./blob-store.case.js";

runBlobStoreCases("FileBlobStore", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "slipway-blobs-"));
  return {
    store: new FileBlobStore(dataDir),
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
});

runBlobStoreCases("FileBlobStore (not durable)", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "slipway-blobs-"));
  return {
    store: new FileBlobStore(dataDir, { durable: false }),
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
});

describe("FileBlobStore on disk", () => {
  let dataDir: string;
  let store: FileBlobStore;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "slipway-blobs-"));
    store = new FileBlobStore(dataDir);
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it("lays blobs out as blobs/sha256/<2 hex>/<62 hex>, read-only, with no temp file left", async () => {
    const bytes = Buffer.from("layout");
    const hex = createHash("sha256").update(bytes).digest("hex");
    const info = await store.put(bytes);
    const file = join(dataDir, "blobs", "sha256", hex.slice(0, 2), hex.slice(2));
    expect(store.path(info.digest)).toBe(file);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o444);
    expect(readdirSync(join(dataDir, "blobs", "tmp"))).toEqual([]);
  });

  it("never rewrites an existing blob", async () => {
    const bytes = Buffer.from("immutable");
    const info = await store.put(bytes);
    const before = statSync(store.path(info.digest));
    await store.put(bytes);
    writeFileSync(join(dataDir, "again"), bytes);
    await store.putFile(join(dataDir, "again"));
    const after = statSync(store.path(info.digest));
    expect(after.ino).toBe(before.ino);
    expect(readFileSync(store.path(info.digest))).toEqual(bytes);
    // Only its time moves: storing it again marks it used for the garbage collector (retention/).
    expect(after.mtimeMs).toBeGreaterThanOrEqual(before.mtimeMs);
  });

  it("replaces a torn blob (wrong size) instead of trusting it", async () => {
    const bytes = randomBytes(5000);
    const info = await store.put(bytes, { durable: false });
    const file = store.path(info.digest);
    chmodSync(file, 0o644);
    truncateSync(file, 0); // what a power loss can leave of a non-durable write
    await store.put(Readable.from([bytes]));
    expect(readFileSync(file).equals(bytes)).toBe(true);
    truncateSync(file, 10);
    await store.put(bytes);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o444);
  });

  it("leaves neither a blob nor a temp file when a stream fails", async () => {
    async function* failing(): AsyncIterable<Uint8Array> {
      yield Buffer.alloc(100_000, 1);
      throw new Error("disk on fire");
    }
    await expect(store.put(failing())).rejects.toThrow("disk on fire");
    expect(readdirSync(join(dataDir, "blobs", "tmp"))).toEqual([]);
    expect(existsSync(join(dataDir, "blobs", "sha256"))).toBe(false);
  });

  it("reports a missing source file", async () => {
    await expect(store.putFile(join(dataDir, "nope.txt"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("sweeps stale temp files left by crashed writers", async () => {
    const tmp = join(dataDir, "blobs", "tmp");
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, "stale"), "x");
    writeFileSync(join(tmp, "fresh"), "y");
    const old = new Date(Date.now() - 2 * 24 * 3600_000);
    utimesSync(join(tmp, "stale"), old, old);
    expect(await store.sweepTemp()).toBe(1);
    expect(readdirSync(tmp)).toEqual(["fresh"]);
  });

  it("recreates its directories if they were removed while it was in use", async () => {
    await store.put(Buffer.from("first"));
    rmSync(join(dataDir, "blobs"), { recursive: true, force: true });
    const info = await store.put(Buffer.from("first"));
    expect(await store.has(info.digest)).toBe(true);
  });
});
