// The shared test suite every BlobStore implementation runs: call
// runBlobStoreCases from the implementation's *.test.ts with a factory.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlobError, type BlobStore } from "./blob-store.js";

export interface BlobStoreFixture {
  store: BlobStore;
  cleanup(): Promise<void>;
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

async function readAll(open: () => Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of open()) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Resolves to the BlobError code, whether `open` throws or its stream fails. */
async function openFailure(open: () => Readable): Promise<string> {
  try {
    await readAll(open);
  } catch (error) {
    expect(error).toBeInstanceOf(BlobError);
    return (error as BlobError).code;
  }
  throw new Error("expected open to fail");
}

export function runBlobStoreCases(name: string, factory: () => Promise<BlobStoreFixture>): void {
  describe(`BlobStore: ${name}`, () => {
    let fixture: BlobStoreFixture;
    let store: BlobStore;
    let scratch: string;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
      scratch = mkdtempSync(join(tmpdir(), "slipway-blob-case-"));
    });
    afterEach(async () => {
      await fixture.cleanup();
      rmSync(scratch, { recursive: true, force: true });
    });

    it("stores a stream under its sha256 digest and reads it back", async () => {
      const bytes = randomBytes(300_000);
      const info = await store.put(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]));
      expect(info).toEqual({ digest: sha256(bytes), size: bytes.length });
      expect(await store.has(info.digest)).toBe(true);
      expect(await store.stat(info.digest)).toEqual(info);
      expect((await readAll(() => store.open(info.digest))).equals(bytes)).toBe(true);
    });

    it("stores buffers, async iterables and files; equal content gets one digest", async () => {
      const bytes = Buffer.from("hello, blobs\n");
      const file = join(scratch, "hello.txt");
      writeFileSync(file, bytes);
      async function* chunks(): AsyncIterable<Uint8Array> {
        yield bytes.subarray(0, 5);
        yield bytes.subarray(5);
      }
      const results = [
        await store.put(bytes),
        await store.put(chunks()),
        await store.put(file),
        await store.putFile(file),
      ];
      for (const result of results) expect(result).toEqual({ digest: sha256(bytes), size: bytes.length });
    });

    it("stores large files (streamed) and the empty blob", async () => {
      const big = randomBytes(3 * 1024 * 1024 + 17);
      const file = join(scratch, "big.bin");
      writeFileSync(file, big);
      const info = await store.putFile(file);
      expect(info).toEqual({ digest: sha256(big), size: big.length });
      expect((await readAll(() => store.open(info.digest))).equals(big)).toBe(true);

      const empty = await store.put(Readable.from([]));
      expect(empty).toEqual({ digest: sha256(Buffer.alloc(0)), size: 0 });
      expect((await readAll(() => store.open(empty.digest))).length).toBe(0);
    });

    it("takes a file given with move: it is stored and consumed", async () => {
      const bytes = randomBytes(2 * 1024 * 1024 + 3);
      const file = join(scratch, "archive.bin");
      writeFileSync(file, bytes);
      const info = await store.putFile(file, { move: true, durable: false });
      expect(info).toEqual({ digest: sha256(bytes), size: bytes.length });
      expect(existsSync(file)).toBe(false);
      expect((await readAll(() => store.open(info.digest))).equals(bytes)).toBe(true);
      // Moving content that is already stored just consumes the file.
      writeFileSync(file, bytes);
      expect(await store.putFile(file, { move: true })).toEqual(info);
      expect(existsSync(file)).toBe(false);
      writeFileSync(file, bytes);
      await expect(store.putFile(file, { move: true, expectedDigest: sha256(Buffer.from("x")) })).rejects.toMatchObject({
        code: "digest_mismatch",
      });
      // A digest the caller computed while writing the file.
      const other = Buffer.from("hashed while written");
      writeFileSync(file, other);
      expect(await store.putFile(file, { move: true, knownDigest: sha256(other) })).toEqual({
        digest: sha256(other),
        size: other.length,
      });
      expect((await readAll(() => store.open(sha256(other)))).equals(other)).toBe(true);
      writeFileSync(file, other);
      await expect(store.putFile(file, { move: true, knownDigest: "sha256:nope" })).rejects.toMatchObject({ code: "invalid_digest" });
    });

    it("reports absent blobs", async () => {
      const absent = sha256(Buffer.from("never stored"));
      expect(await store.has(absent)).toBe(false);
      expect(await store.stat(absent)).toBeUndefined();
      expect(await openFailure(() => store.open(absent))).toBe("not_found");
      expect(await store.delete(absent)).toBe(false);
    });

    it("rejects malformed digests with a clear error", async () => {
      const bad = [
        "abc",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha256:1234",
        `sha256:${"A".repeat(64)}`,
        `sha256:${"0".repeat(64)}/../x`,
      ];
      for (const digest of bad) {
        await expect(store.has(digest)).rejects.toMatchObject({ code: "invalid_digest" });
        await expect(store.stat(digest)).rejects.toMatchObject({ code: "invalid_digest" });
        await expect(store.delete(digest)).rejects.toMatchObject({ code: "invalid_digest" });
        expect(await openFailure(() => store.open(digest))).toBe("invalid_digest");
      }
      await expect(store.has("md5:x")).rejects.toThrow(/algorithm "md5" is not supported/);
      await expect(store.has("sha256:1234")).rejects.toThrow(/expected 64 hex digits/);
      await expect(store.put(Buffer.from("x"), { expectedDigest: "nope" })).rejects.toMatchObject({
        code: "invalid_digest",
      });
    });

    it("verifies an expected digest and stores nothing on mismatch", async () => {
      const bytes = Buffer.from("content");
      const other = sha256(Buffer.from("other content"));
      await expect(store.put(Readable.from([bytes]), { expectedDigest: other })).rejects.toMatchObject({
        code: "digest_mismatch",
      });
      await expect(store.put(bytes, { expectedDigest: other })).rejects.toMatchObject({ code: "digest_mismatch" });
      expect(await store.has(sha256(bytes))).toBe(false);
      expect(await store.put(bytes, { expectedDigest: sha256(bytes) })).toEqual({
        digest: sha256(bytes),
        size: bytes.length,
      });
    });

    it("stores nothing when the source fails midway", async () => {
      const first = Buffer.from("partial data");
      async function* failing(): AsyncIterable<Uint8Array> {
        yield first;
        throw new Error("source broke");
      }
      await expect(store.put(failing())).rejects.toThrow("source broke");
      expect(await store.has(sha256(first))).toBe(false);
    });

    it("deletes blobs", async () => {
      const info = await store.put(Buffer.from("to delete"));
      expect(await store.delete(info.digest)).toBe(true);
      expect(await store.has(info.digest)).toBe(false);
      expect(await store.delete(info.digest)).toBe(false);
      // Stored again after deletion.
      expect(await store.put(Buffer.from("to delete"))).toEqual(info);
      expect(await store.has(info.digest)).toBe(true);
    });

    it("flushes blobs written without durability", async () => {
      const infos = [];
      for (let i = 0; i < 20; i++) infos.push(await store.put(Buffer.from(`blob ${i}`), { durable: false }));
      await store.flush(infos.map((i) => i.digest));
      await store.flush(infos.slice(0, 2).map((i) => i.digest));
      await store.flush([]);
      for (const info of infos) expect(await store.has(info.digest)).toBe(true);
    });

    it("accepts concurrent writers of the same content", async () => {
      const bytes = randomBytes(2 * 1024 * 1024);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => store.put(Readable.from([bytes.subarray(0, i * 1000), bytes.subarray(i * 1000)]))),
      );
      for (const result of results) expect(result.digest).toBe(sha256(bytes));
      expect((await readAll(() => store.open(sha256(bytes)))).equals(bytes)).toBe(true);
    });
  });
}
