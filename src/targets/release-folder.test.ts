// Release folders from real releases (made by release/ into a real store and
// blob store): files with their modes, tar archives extracted, reuse, a
// broken folder made again, errors that say what to do; and a tar release
// started by the supervisor.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileBlobStore } from "../blobs/index.js";
import { createRelease } from "../release/index.js";
import { openStore, type ReleaseRecord, type Store } from "../store/index.js";
import { materializeRelease, ProcessSupervisor, RELEASE_MARKER, releaseFolder, TargetError } from "./index.js";
import { fastHealth, killMarked, markedPids, SERVER_JS } from "./test-support.js";

describe("materializeRelease", () => {
  let dir: string;
  let dataDir: string;
  let store: Store;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "slipway-release-folder-"));
    dataDir = join(dir, "data");
    mkdirSync(dataDir);
    store = openStore(dataDir);
  });

  afterEach(async () => {
    store.close();
    // Release folders are read-only: make them writable to delete them.
    execFileSync("chmod", ["-R", "u+w", dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  async function release(path: string): Promise<ReleaseRecord> {
    return (await createRelease({ store, dataDir, service: "web", source: { kind: "path", path }, createdBy: "test" })).release;
  }

  function appFolder(): string {
    const root = join(dir, "app");
    mkdirSync(join(root, "bin"), { recursive: true });
    writeFileSync(join(root, "server.mjs"), SERVER_JS);
    writeFileSync(join(root, "bin", "start.sh"), "#!/bin/sh\nexec node server.mjs\n");
    chmodSync(join(root, "bin", "start.sh"), 0o755);
    writeFileSync(join(root, ".config"), "x=1\n");
    return root;
  }

  it("places the files with their modes in an immutable folder named by the digest", async () => {
    const r = await release(appFolder());
    const folder = await materializeRelease(dataDir, r);
    expect(folder).toBe(join(dataDir, "releases", "web", r.digest.slice("sha256:".length)));
    expect(folder).toBe(releaseFolder(dataDir, r));
    expect(readFileSync(join(folder, "server.mjs"), "utf8")).toBe(SERVER_JS);
    expect(readFileSync(join(folder, ".config"), "utf8")).toBe("x=1\n");
    expect(statSync(join(folder, "bin", "start.sh")).mode & 0o777).toBe(0o555);
    expect(statSync(join(folder, "server.mjs")).mode & 0o777).toBe(0o444);
    expect(statSync(folder).mode & 0o222).toBe(0);
    expect(statSync(join(folder, "bin")).mode & 0o222).toBe(0);
    expect(JSON.parse(readFileSync(join(folder, RELEASE_MARKER), "utf8"))).toEqual({ release: "web#1", digest: r.digest });
    // Nothing temporary is left beside it.
    expect(readdirSync(join(dataDir, "releases", "web"))).toEqual([r.digest.slice("sha256:".length)]);
  });

  it("reuses a complete folder and makes a broken one again", async () => {
    const r = await release(appFolder());
    const folder = await materializeRelease(dataDir, r);
    const inode = statSync(join(folder, "server.mjs")).ino;
    expect(await materializeRelease(dataDir, r)).toBe(folder);
    expect(statSync(join(folder, "server.mjs")).ino).toBe(inode);

    // A folder whose marker is missing (not made by materializeRelease) is not trusted.
    execFileSync("chmod", ["-R", "u+w", folder]);
    rmSync(join(folder, RELEASE_MARKER));
    writeFileSync(join(folder, "server.mjs"), "tampered");
    await materializeRelease(dataDir, r);
    expect(readFileSync(join(folder, "server.mjs"), "utf8")).toBe(SERVER_JS);
  });

  it("makes the folder once when asked concurrently, and removes temporary folders of dead writers", async () => {
    const r = await release(appFolder());
    const parent = join(dataDir, "releases", "web");
    mkdirSync(join(parent, ".tmp-0123456789ab-999999999-deadbeef"), { recursive: true });
    const folders = await Promise.all([materializeRelease(dataDir, r), materializeRelease(dataDir, r), materializeRelease(dataDir, r)]);
    expect(new Set(folders).size).toBe(1);
    expect(readdirSync(parent)).toEqual([r.digest.slice("sha256:".length)]);
  });

  it("extracts a release that is one tar archive, and the supervisor runs it", async () => {
    const src = appFolder();
    mkdirSync(join(dir, "ci"));
    const archive = join(dir, "ci", "web.tgz");
    execFileSync("tar", ["-czf", archive, "-C", src, "."]);
    const r = await release(archive);
    expect(r.files.map((f) => f.path)).toEqual(["web.tgz"]);
    const folder = await materializeRelease(dataDir, r);
    expect(readFileSync(join(folder, "server.mjs"), "utf8")).toBe(SERVER_JS);
    expect(statSync(join(folder, "bin", "start.sh")).mode & 0o111).not.toBe(0);
    expect(readdirSync(folder).sort()).toEqual([".config", RELEASE_MARKER, "bin", "server.mjs"]);

    const sup = new ProcessSupervisor({ dataDir });
    try {
      const s = await sup.start({ env: "dev", service: "web", release: "web#1", digest: r.digest, dir: folder, command: ["bin/start.sh"], health: fastHealth(), stopTimeout: 5_000 });
      expect(await sup.waitHealthy(s.id, 20_000)).toEqual({ healthy: true, reason: "GET /healthz returned 200" });
    } finally {
      await sup.stopAll();
      sup.close();
      killMarked(sup.supervisorToken);
    }
    expect(markedPids(sup.supervisorToken)).toEqual([]);
  });

  it("names the release and the fix when an archive is not one", async () => {
    mkdirSync(join(dir, "ci"));
    writeFileSync(join(dir, "ci", "web.tar.gz"), "not a tar archive at all");
    const r = await release(join(dir, "ci", "web.tar.gz"));
    const error = await materializeRelease(dataDir, r).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetError);
    expect((error as Error).message).toMatch(/^release web#1: its only file web.tar.gz is not a readable tar archive \(tar: .*\); upload a valid archive, or a name not ending in/);
    expect(readdirSync(join(dataDir, "releases", "web"))).toEqual([]);
  });

  it("names the release, the file and the fix when a blob is missing", async () => {
    const r = await release(appFolder());
    const file = r.files.find((f) => f.path === "server.mjs")!;
    rmSync(new FileBlobStore(dataDir).path(file.digest));
    await expect(materializeRelease(dataDir, r)).rejects.toThrow(
      /^release web#1: the content of server.mjs \(sha256:[0-9a-f]{64}\) is missing in .*blobs; hand in the same artifact again/,
    );
    expect(readdirSync(join(dataDir, "releases", "web"))).toEqual([]);
  });
});
