import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { uploadArtifact } from "../actions/index.js";
import { FileBlobStore } from "../blobs/index.js";
import { openStore, type Store } from "../store/index.js";
import { createRelease, ReleaseError } from "./index.js";

describe("createRelease", () => {
  let dir = "";
  let dataDir = "";
  let store: Store;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "slipway-release-"));
    dataDir = join(dir, "data");
    mkdirSync(dataDir);
    store = openStore(dataDir);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function app(name: string, server = "console.log('v1')\n"): string {
    const root = join(dir, name);
    mkdirSync(join(root, "lib"), { recursive: true });
    writeFileSync(join(root, "server.js"), server);
    writeFileSync(join(root, "lib", "util.js"), "exports.x = 1;\n");
    writeFileSync(join(root, ".env.defaults"), "PORT=8080\n");
    chmodSync(join(root, "server.js"), 0o755);
    return root;
  }

  function successfulRun(conclusion: "success" | "failure" = "success"): number {
    const run = store.createRun({ workflowPath: ".github/workflows/ci.yml", workflowName: "CI", event: "push", ref: "refs/heads/main", sha: "a".repeat(40) });
    store.startRun(run.id);
    store.finishRun(run.id, { conclusion });
    return run.id;
  }

  it("releases a folder's files (hidden ones too) as blobs, once per content", async () => {
    const root = app("web");
    const first = await createRelease({ store, dataDir, service: "web", source: { kind: "path", path: root }, createdBy: "alice", checkout: { sha: "b".repeat(40), ref: "refs/heads/main" } });
    expect(first.created).toBe(true);
    expect(first.release).toMatchObject({ service: "web", number: 1, artifact: "web", sourceCommit: "b".repeat(40), runId: null, createdBy: "alice" });
    expect(first.release.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.release.files.map((f) => [f.path, f.mode])).toEqual([
      [".env.defaults", 0o644],
      ["lib/util.js", 0o644],
      ["server.js", 0o755],
    ]);
    const blobs = new FileBlobStore(dataDir);
    const server = first.release.files.find((f) => f.path === "server.js");
    expect(readFileSync(blobs.path(server!.digest), "utf8")).toBe("console.log('v1')\n");

    // The same content again, even from another folder and another person: the same release.
    const again = await createRelease({ store, dataDir, service: "web", source: { kind: "path", path: app("copy") }, createdBy: "bob" });
    expect(again).toEqual({ release: first.release, created: false });

    const changed = await createRelease({ store, dataDir, service: "web", source: { kind: "path", path: app("v2", "console.log('v2')\n") }, createdBy: "alice" });
    expect(changed.created).toBe(true);
    expect(changed.release.number).toBe(2);
    expect(changed.release.digest).not.toBe(first.release.digest);
  });

  it("gives a folder uploaded by a workflow and the same folder handed in the same digest", async () => {
    const root = app("web");
    const runId = successfulRun();
    const files = ["server.js", "lib/util.js", ".env.defaults"].map((f) => join(root, f));
    const manifest = await uploadArtifact({ dataDir, runId, name: "web-build", files, rootDirectory: root });
    const fromRun = await createRelease({ store, dataDir, service: "web", source: { kind: "run", runId }, createdBy: "slipway" });
    expect(fromRun.release).toMatchObject({ digest: manifest.digest, artifact: "web-build", runId, sourceCommit: "a".repeat(40), sourceRef: "refs/heads/main", workflowPath: ".github/workflows/ci.yml" });
    const fromPath = await createRelease({ store, dataDir, service: "web", source: { kind: "path", path: root }, createdBy: "alice" });
    expect(fromPath).toEqual({ release: fromRun.release, created: false });
  });

  it("picks the named artifact of a run, and says which exist when the name is missing or wrong", async () => {
    const root = app("web");
    const runId = successfulRun();
    await uploadArtifact({ dataDir, runId, name: "web", files: [join(root, "server.js")], rootDirectory: root });
    await uploadArtifact({ dataDir, runId, name: "docs", files: [join(root, "lib", "util.js")], rootDirectory: root });
    await expect(createRelease({ store, dataDir, service: "web", source: { kind: "run", runId }, createdBy: "a" })).rejects.toThrow(
      /several artifacts: name one with --artifact NAME; it has 'docs', 'web'/,
    );
    await expect(createRelease({ store, dataDir, service: "web", source: { kind: "run", runId, artifact: "api" }, createdBy: "a" })).rejects.toThrow(
      /run \d+ has no artifact 'api' \(or it expired\); it has 'docs', 'web'/,
    );
    const picked = await createRelease({ store, dataDir, service: "web", source: { kind: "run", runId }, createdBy: "a", defaultArtifact: "web" });
    expect(picked.release.files.map((f) => f.path)).toEqual(["server.js"]);
  });

  it("refuses a run that did not succeed, a missing run, a run without artifacts and bad names", async () => {
    const failed = successfulRun("failure");
    await expect(createRelease({ store, dataDir, service: "web", source: { kind: "run", runId: failed }, createdBy: "a" })).rejects.toThrow(
      /ended in failure: a release is made from a successful run only/,
    );
    await expect(createRelease({ store, dataDir, service: "web", source: { kind: "run", runId: 99 }, createdBy: "a" })).rejects.toThrow(/run 99 does not exist/);
    const empty = successfulRun();
    await expect(createRelease({ store, dataDir, service: "web", source: { kind: "run", runId: empty }, createdBy: "a" })).rejects.toThrow(
      /no artifacts.*add an actions\/upload-artifact step/,
    );
    await expect(createRelease({ store, dataDir, service: "Web_1", source: { kind: "path", path: dir }, createdBy: "a" })).rejects.toThrow(ReleaseError);
    expect(store.listReleases()).toEqual([]);
  });

  it("refuses a missing path, an empty folder and symbolic links", async () => {
    await expect(createRelease({ store, dataDir, service: "web", source: { kind: "path", path: join(dir, "nope") }, createdBy: "a" })).rejects.toThrow(/does not exist/);
    mkdirSync(join(dir, "empty"));
    await expect(createRelease({ store, dataDir, service: "web", source: { kind: "path", path: join(dir, "empty") }, createdBy: "a" })).rejects.toThrow(/holds no files/);
    const root = app("linked");
    symlinkSync("/etc/hostname", join(root, "link"));
    await expect(createRelease({ store, dataDir, service: "web", source: { kind: "path", path: root }, createdBy: "a" })).rejects.toThrow(/is a symbolic link/);
  });
});
