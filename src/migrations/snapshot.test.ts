// The embedded database's snapshot: made once from initdb, slim (no template
// databases, the WAL segment cut after its last written page), and a
// database started from it works as one started from nothing.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { openEmbeddedDatabase, trimWal } from "./snapshot.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Name and size of each file in a tar archive. */
function members(tar: Buffer): Map<string, number> {
  const out = new Map<string, number>();
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const name = h.subarray(0, 100).toString("latin1").replace(/\0.*$/s, "");
    const size = Number.parseInt(h.subarray(124, 136).toString("latin1").replace(/\0.*$/s, "").trim() || "0", 8);
    out.set(name, size);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe("the embedded database's snapshot", () => {
  it("is made slim on the first start, and a start from it runs DDL and queries", { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "slipway-snapshot-"));
    dirs.push(dataDir);
    const first = await openEmbeddedDatabase(dataDir);
    expect(first.fromSnapshot).toBe(false);
    await first.client.close();
    expect(readdirSync(join(dataDir, "migrations"))).toEqual([expect.stringMatching(/^pglite-.+-slim\.tar\.gz$/)]);
    const tar = gunzipSync(readFileSync(first.snapshot));
    const files = members(tar);
    const wal = [...files].filter(([name]) => /pg_wal\/[0-9A-F]{24}$/.test(name));
    expect(wal).toHaveLength(1);
    expect(wal[0]?.[1]).toBeLessThan(16 * 1024 * 1024);
    expect((wal[0]?.[1] ?? 1) % 8192).toBe(0);

    const again = await openEmbeddedDatabase(dataDir);
    try {
      expect(again.fromSnapshot).toBe(true);
      expect(await again.client.query<{ datname: string }>("SELECT datname FROM pg_database ORDER BY 1")).toEqual([{ datname: "postgres" }]);
      await again.client.exec("CREATE TABLE users (id bigint PRIMARY KEY, email text); INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 20000) g; ALTER TABLE users DROP COLUMN email; CHECKPOINT");
      expect(await again.client.query<{ n: number }>("SELECT count(*)::int AS n FROM users")).toEqual([{ n: 20000 }]);
    } finally {
      await again.client.close();
    }
  });
});

describe("trimWal", () => {
  it("cuts a WAL segment after its last non-zero page, fixing the header's size and checksum; other files are kept as they are", () => {
    const header = (name: string, size: number) => {
      const h = Buffer.alloc(512);
      h.write(name, 0, "latin1");
      h.write("0000644\0", 100, "latin1");
      h.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "latin1");
      h.write("0", 156, "latin1");
      h.write("ustar\u000000", 257, "latin1");
      h.fill(0x20, 148, 156);
      h.write(`${h.reduce((a, b) => a + b, 0).toString(8).padStart(6, "0")}\0 `, 148, "latin1");
      return h;
    };
    const segment = Buffer.alloc(64 * 1024);
    segment.write("checkpoint record", 9000, "latin1"); // on the second 8 kB page
    const other = Buffer.from("PG_VERSION 17\n".repeat(10));
    const tar = Buffer.concat([header("/pg_wal/000000010000000000000001", segment.length), segment, header("/PG_VERSION", other.length), other, Buffer.alloc(512 - (other.length % 512)), Buffer.alloc(1024)]);
    const out = trimWal(tar);
    expect([...members(out)]).toEqual([
      ["/pg_wal/000000010000000000000001", 16384],
      ["/PG_VERSION", other.length],
    ]);
    // A valid checksum: the sum of the header with the field as spaces.
    const h = Buffer.from(out.subarray(0, 512));
    const stored = Number.parseInt(h.subarray(148, 154).toString("latin1"), 8);
    h.fill(0x20, 148, 156);
    expect(stored).toBe(h.reduce((a, b) => a + b, 0));
    expect(out.subarray(512 + 9000, 512 + 9017).toString("latin1")).toBe("checkpoint record");
    expect(out.includes(other)).toBe(true);
  });
});
