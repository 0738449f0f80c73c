import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileBlobStore } from "../../blobs/index.js";
import { ActionError, type SharedCache } from "./builtin-action.js";
import { testStep, type TestStep } from "./test-step.js";
import {
  cacheAction,
  cacheRestoreAction,
  cacheSaveAction,
  adoptCacheEntry,
  cacheVersion,
  deleteCacheEntry,
  findCacheEntry,
  listCacheEntries,
  saveCache,
} from "./cache.js";

let root: string;
let dataDir: string;
let home: string;
let runs = 0;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "slipway-cache-"));
  dataDir = join(root, "data");
  home = join(root, "home");
  mkdirSync(home);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

type Step = TestStep;

/** A fresh "run" of one step: its own workspace, outputs, logs and state. */
function step(inputs: Record<string, string>, options: { branch?: string; defaultBranch?: string; env?: Record<string, string>; workspace?: string } = {}): Step {
  const workspace = options.workspace ?? join(root, `ws-${++runs}`);
  return testStep(inputs, { ...options, workspace, dataDir, home, runId: runs });
}

/** Runs actions/cache's main and then its post, as a job would. */
async function cacheStep(inputs: Record<string, string>, options: Parameters<typeof step>[1] & { fill?: (ws: string) => void } = {}): Promise<Step> {
  const s = step(inputs, options);
  await cacheAction.main(s.ctx);
  options.fill?.(s.workspace);
  await cacheAction.post!(s.ctx);
  return s;
}

function write(file: string, content: string, mode?: number): void {
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, content);
  if (mode !== undefined) chmodSync(file, mode);
}

function fillDeps(content: string) {
  return (ws: string) => {
    write(join(ws, "deps", "a.txt"), `a ${content}`);
    write(join(ws, "deps", "nested", "b.txt"), `b ${content}`);
  };
}

describe("actions/cache", () => {
  it("misses, saves in post, then hits exactly on a later run", async () => {
    const first = await cacheStep({ key: "deps-v1", path: "deps" }, { fill: fillDeps("one") });
    expect(first.outputs["cache-hit"]).toBeUndefined();
    expect(first.outputs["cache-primary-key"]).toBe("deps-v1");
    expect(first.logs).toContain("Cache not found for input keys: deps-v1");
    expect(first.logs).toContain("Cache saved with key: deps-v1");

    const second = step({ key: "deps-v1", path: "deps" });
    await cacheAction.main(second.ctx);
    expect(second.outputs).toMatchObject({ "cache-hit": "true", "cache-matched-key": "deps-v1", "cache-primary-key": "deps-v1" });
    expect(readFileSync(join(second.workspace, "deps", "a.txt"), "utf8")).toBe("a one");
    expect(readFileSync(join(second.workspace, "deps", "nested", "b.txt"), "utf8")).toBe("b one");
    await cacheAction.post!(second.ctx);
    expect(second.logs).toContain("Cache hit occurred on the primary key deps-v1, not saving cache.");
    expect(await listCacheEntries(dataDir)).toHaveLength(1);
  });

  it("keeps entries per repository: another repository in the same data directory never sees them", async () => {
    const ofRepo = (repository: string, o: Parameters<typeof step>[1] = {}) => {
      const s = step({ key: "deps-v1", path: "deps" }, o);
      const [owner, name] = repository.split("/");
      s.ctx.repo = { ...s.ctx.repo, owner: owner!, name: name! };
      return s;
    };
    const first = ofRepo("acme/app");
    await cacheAction.main(first.ctx);
    fillDeps("app")(first.workspace);
    await cacheAction.post!(first.ctx);
    const other = ofRepo("evil/poison");
    await cacheAction.main(other.ctx);
    expect(other.outputs["cache-hit"]).toBeUndefined();
    const same = ofRepo("acme/app");
    await cacheAction.main(same.ctx);
    expect(same.outputs["cache-hit"]).toBe("true");
    expect((await listCacheEntries(dataDir))[0]?.repository).toBe("acme/app");
  });

  it("with a shared cache: restores what another host saved there (checked by digest), and shares what it saves", async () => {
    // The shared side, as the server keeps it: another data directory (agent/cache.ts is the real one, over HTTP).
    const serverDir = join(root, "server");
    const shared: SharedCache = {
      find: (q) => findCacheEntry(serverDir, q),
      fetch: async (entry, file) => {
        const path = new FileBlobStore(serverDir).path(entry.digest);
        writeFileSync(file, readFileSync(path!));
      },
      save: async (entry, archive) => {
        await new FileBlobStore(serverDir).putFile(archive, { expectedDigest: entry.digest });
        await adoptCacheEntry(serverDir, entry);
      },
    };
    // Host A saves: its entry is shared.
    const a = step({ key: "deps-v1", path: "deps" });
    a.ctx.sharedCache = shared;
    await cacheAction.main(a.ctx);
    fillDeps("from a")(a.workspace);
    await cacheAction.post!(a.ctx);
    expect(a.logs).toContain("Cache shared with the server");
    expect((await listCacheEntries(serverDir)).map((e) => e.key)).toEqual(["deps-v1"]);
    // Host B (another data directory) misses locally and restores from the shared cache.
    dataDir = join(root, "data-b");
    const b = step({ key: "deps-v1", path: "deps" });
    b.ctx.sharedCache = shared;
    await cacheAction.main(b.ctx);
    expect(b.outputs["cache-hit"]).toBe("true");
    expect(b.logs.some((l) => l.includes("(from the server's cache)"))).toBe(true);
    expect(readFileSync(join(b.workspace, "deps", "a.txt"), "utf8")).toBe("a from a");
    // Now B has it too: the next restore on B is local.
    expect(await listCacheEntries(dataDir)).toHaveLength(1);
    // A shared archive that does not match its digest is refused: a warning and a miss.
    dataDir = join(root, "data-c");
    const c = step({ key: "deps-v1", path: "deps" });
    c.ctx.sharedCache = { ...shared, fetch: async (_e, file) => writeFileSync(file, "tampered") };
    await cacheAction.main(c.ctx);
    expect(c.outputs["cache-hit"]).toBeUndefined();
    expect(c.warnings.join("\n")).toMatch(/Failed to restore/);
  });

  it("falls back to restore keys as prefixes, newest entry first, in the order of the keys", async () => {
    await cacheStep({ key: "deps-linux-aaa", path: "deps" }, { fill: fillDeps("old") });
    await new Promise((r) => setTimeout(r, 5));
    await cacheStep({ key: "deps-linux-bbb", path: "deps" }, { fill: fillDeps("new") });
    await new Promise((r) => setTimeout(r, 5));
    await cacheStep({ key: "deps-mac-ccc", path: "deps" }, { fill: fillDeps("mac") });

    const s = step({ key: "deps-linux-zzz", path: "deps", "restore-keys": "deps-linux-\ndeps-" });
    await cacheAction.main(s.ctx);
    expect(s.outputs).toMatchObject({ "cache-hit": "false", "cache-matched-key": "deps-linux-bbb" });
    expect(readFileSync(join(s.workspace, "deps", "a.txt"), "utf8")).toBe("a new");
    expect(s.logs).toContain("Cache restored from key: deps-linux-bbb");

    const broad = step({ key: "deps-win-zzz", path: "deps", "restore-keys": "deps-win-\ndeps-" });
    await cacheAction.main(broad.ctx);
    expect(broad.outputs["cache-matched-key"]).toBe("deps-mac-ccc");

    // A prefix hit is not an exact hit: the post step saves under the primary key.
    await cacheAction.post!(s.ctx);
    expect(s.logs).toContain("Cache saved with key: deps-linux-zzz");
  });

  it("scopes entries: a branch sees its own and the default branch's, the default branch not a branch's", async () => {
    await cacheStep({ key: "from-main", path: "deps" }, { branch: "main", fill: fillDeps("main") });
    await cacheStep({ key: "from-feature", path: "deps" }, { branch: "feature", fill: fillDeps("feature") });
    await cacheStep({ key: "shared", path: "deps" }, { branch: "main", fill: fillDeps("shared main") });
    // actions/cache would not save it on the feature branch (an exact hit on main's); actions/cache/save does.
    const featureSave = step({ key: "shared", path: "deps" }, { branch: "feature" });
    fillDeps("shared feature")(featureSave.workspace);
    await cacheSaveAction.main(featureSave.ctx);
    expect(featureSave.logs).toContain("Cache saved with key: shared");

    const onFeature = step({ key: "from-main", path: "deps" }, { branch: "feature" });
    await cacheAction.main(onFeature.ctx);
    expect(onFeature.outputs["cache-hit"]).toBe("true");
    expect(readFileSync(join(onFeature.workspace, "deps", "a.txt"), "utf8")).toBe("a main");

    const ownFirst = step({ key: "shared", path: "deps" }, { branch: "feature" });
    await cacheAction.main(ownFirst.ctx);
    expect(readFileSync(join(ownFirst.workspace, "deps", "a.txt"), "utf8")).toBe("a shared feature");

    const onMain = step({ key: "from-feature", path: "deps", "restore-keys": "from-f" }, { branch: "main" });
    await cacheAction.main(onMain.ctx);
    expect(onMain.outputs["cache-hit"]).toBeUndefined();
    expect(existsSync(join(onMain.workspace, "deps"))).toBe(false);

    const onOther = step({ key: "from-feature", path: "deps" }, { branch: "other" });
    await cacheAction.main(onOther.ctx);
    expect(onOther.outputs["cache-hit"]).toBeUndefined();

    // A pull request also sees its base branch.
    const pr = step({ key: "from-feature", path: "deps" }, { branch: "pr-1", env: { GITHUB_BASE_REF: "feature" } });
    await cacheAction.main(pr.ctx);
    expect(pr.outputs["cache-hit"]).toBe("true");
  });

  it("never overwrites an existing key", async () => {
    await cacheStep({ key: "immutable", path: "deps" }, { fill: fillDeps("first") });
    const saver = step({ key: "immutable", path: "deps" });
    fillDeps("second")(saver.workspace);
    await cacheSaveAction.main(saver.ctx);
    expect(saver.logs.some((l) => l.startsWith("Cache already exists, not saving"))).toBe(true);

    const s = step({ key: "immutable", path: "deps" });
    await cacheAction.main(s.ctx);
    expect(readFileSync(join(s.workspace, "deps", "a.txt"), "utf8")).toBe("a first");
    expect(await listCacheEntries(dataDir)).toHaveLength(1);
  });

  it("lets exactly one of two concurrent saves of a key win", async () => {
    const a = step({ key: "race", path: "deps" });
    const b = step({ key: "race", path: "deps" });
    fillDeps("a")(a.workspace);
    fillDeps("b")(b.workspace);
    const results = await Promise.all([
      saveCache({ dataDir, workspace: a.workspace, home, paths: ["deps"], key: "race", scope: "refs/heads/main" }),
      saveCache({ dataDir, workspace: b.workspace, home, paths: ["deps"], key: "race", scope: "refs/heads/main" }),
    ]);
    expect(results.filter((r) => r.saved)).toHaveLength(1);
    expect(results.filter((r) => !r.saved && r.reason === "exists")).toHaveLength(1);
    expect(await listCacheEntries(dataDir)).toHaveLength(1);
  });

  it("with lookup-only reports a hit without restoring anything", async () => {
    await cacheStep({ key: "look", path: "deps" }, { fill: fillDeps("x") });
    const s = step({ key: "look", path: "deps", "lookup-only": "true" });
    await cacheAction.main(s.ctx);
    expect(s.outputs).toMatchObject({ "cache-hit": "true", "cache-matched-key": "look" });
    expect(s.logs).toContain("Cache found and can be restored from key: look");
    expect(existsSync(join(s.workspace, "deps"))).toBe(false);
  });

  it("fails on a miss with fail-on-cache-miss", async () => {
    const s = step({ key: "absent", path: "deps", "fail-on-cache-miss": "true" });
    await expect(cacheAction.main(s.ctx)).rejects.toThrow(
      new ActionError("Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: absent"),
    );
  });

  it("treats another path list as another version (a miss)", async () => {
    await cacheStep({ key: "k", path: "deps" }, { fill: fillDeps("x") });
    const s = step({ key: "k", path: "deps\nother" });
    await cacheAction.main(s.ctx);
    expect(s.outputs["cache-hit"]).toBeUndefined();
    expect(cacheVersion(["deps"])).not.toBe(cacheVersion(["deps", "other"]));
    // actions/cache's own value for ["deps"] with zstd-without-long.
    expect(cacheVersion(["deps"])).toMatch(/^[0-9a-f]{64}$/);
  });

  it("keeps file modes, symbolic links and empty directories", async () => {
    const fill = (ws: string) => {
      write(join(ws, "tree", "bin", "tool"), "#!/bin/sh\necho hi\n", 0o755);
      write(join(ws, "tree", "secret"), "s", 0o600);
      symlinkSync("bin/tool", join(ws, "tree", "link-to-tool"));
      symlinkSync("bin", join(ws, "tree", "link-to-dir"));
      symlinkSync("missing", join(ws, "tree", "dangling"));
      mkdirSync(join(ws, "tree", "empty"));
    };
    await cacheStep({ key: "modes", path: "tree" }, { fill });
    const s = step({ key: "modes", path: "tree" });
    await cacheAction.main(s.ctx);
    const tree = join(s.workspace, "tree");
    expect(statSync(join(tree, "bin", "tool")).mode & 0o777).toBe(0o755);
    expect(statSync(join(tree, "secret")).mode & 0o777).toBe(0o600);
    expect(lstatSync(join(tree, "link-to-tool")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(tree, "link-to-tool"))).toBe("bin/tool");
    expect(readlinkSync(join(tree, "link-to-dir"))).toBe("bin");
    expect(readlinkSync(join(tree, "dangling"))).toBe("missing");
    expect(statSync(join(tree, "empty")).isDirectory()).toBe(true);
    expect(execFileSync(join(tree, "link-to-tool"), { encoding: "utf8" })).toBe("hi\n");
  });

  it("caches paths outside the workspace through ~ and globs with exclusions", async () => {
    const fill = (ws: string) => {
      write(join(home, ".npm", "pkg.tgz"), "tarball");
      write(join(ws, "out", "a.txt"), "a");
      write(join(ws, "out", "b.txt"), "b");
      write(join(ws, "out", "skip.txt"), "skip");
      write(join(ws, "out", "c.log"), "log");
    };
    await cacheStep({ key: "globs", path: "~/.npm\nout/*.txt\n!out/skip.txt" }, { fill });
    rmSync(join(home, ".npm"), { recursive: true });
    const s = step({ key: "globs", path: "~/.npm\nout/*.txt\n!out/skip.txt" });
    await cacheAction.main(s.ctx);
    expect(s.outputs["cache-hit"]).toBe("true");
    expect(readFileSync(join(home, ".npm", "pkg.tgz"), "utf8")).toBe("tarball");
    expect(readFileSync(join(s.workspace, "out", "a.txt"), "utf8")).toBe("a");
    expect(existsSync(join(s.workspace, "out", "b.txt"))).toBe(true);
    expect(existsSync(join(s.workspace, "out", "skip.txt"))).toBe(false);
    expect(existsSync(join(s.workspace, "out", "c.log"))).toBe(false);

    // Another job with another HOME (and a workspace at another depth) gets ~/.npm in its own HOME.
    const otherHome = join(root, "other home");
    mkdirSync(otherHome);
    const elsewhere = step(
      { key: "globs", path: "~/.npm\nout/*.txt\n!out/skip.txt" },
      { env: { HOME: otherHome }, workspace: join(root, "deeper", "and", "deeper") },
    );
    await cacheAction.main(elsewhere.ctx);
    expect(elsewhere.outputs["cache-hit"]).toBe("true");
    expect(readFileSync(join(otherHome, ".npm", "pkg.tgz"), "utf8")).toBe("tarball");
    expect(readFileSync(join(elsewhere.workspace, "out", "a.txt"), "utf8")).toBe("a");
  });

  it("warns instead of saving when no path exists", async () => {
    const s = await cacheStep({ key: "nothing", path: "not-there" });
    expect(s.warnings).toEqual([
      "Failed to save: Path Validation Error: Path(s) specified in the action for caching do(es) not exist, hence no cache is being saved.",
    ]);
    expect(await listCacheEntries(dataDir)).toEqual([]);
  });

  it("validates keys and required inputs as actions/cache does", async () => {
    await expect(cacheAction.main(step({ key: "a,b", path: "deps" }).ctx)).rejects.toThrow("Key Validation Error: a,b cannot contain commas.");
    const long = "k".repeat(513);
    await expect(cacheAction.main(step({ key: long, path: "deps" }).ctx)).rejects.toThrow(
      `Key Validation Error: ${long} cannot be larger than 512 characters.`,
    );
    await expect(cacheAction.main(step({ key: "k", path: "deps", "restore-keys": "x,y" }).ctx)).rejects.toThrow(/cannot contain commas/);
    await expect(cacheAction.main(step({ key: "", path: "deps" }).ctx)).rejects.toThrow("Input required and not supplied: key");
    await expect(cacheAction.main(step({ key: "k", path: "" }).ctx)).rejects.toThrow("Input required and not supplied: path");
    await expect(cacheAction.main(step({ key: "k", path: "deps", "lookup-only": "yes" }).ctx)).rejects.toThrow(/lookup-only/);
  });

  it("restore and save run as separate actions", async () => {
    const saver = step({ key: "split", path: "deps" });
    fillDeps("split")(saver.workspace);
    await cacheSaveAction.main(saver.ctx);
    expect(saver.logs).toContain("Cache saved with key: split");

    const restorer = step({ key: "split-2", path: "deps", "restore-keys": "split" });
    await cacheRestoreAction.main(restorer.ctx);
    expect(restorer.outputs).toEqual({ "cache-primary-key": "split-2", "cache-matched-key": "split", "cache-hit": "false" });
    expect(readFileSync(join(restorer.workspace, "deps", "a.txt"), "utf8")).toBe("a split");
    expect(cacheRestoreAction.post).toBeUndefined();
  });

  it("turns a damaged archive into a miss with a warning", async () => {
    await cacheStep({ key: "torn", path: "deps" }, { fill: fillDeps("x") });
    const [entry] = await listCacheEntries(dataDir);
    const blob = new FileBlobStore(dataDir).path(entry!.digest);
    chmodSync(blob, 0o644);
    writeFileSync(blob, readFileSync(blob).subarray(0, 20));
    const s = step({ key: "torn", path: "deps" });
    await cacheAction.main(s.ctx);
    expect(s.outputs["cache-hit"]).toBeUndefined();
    expect(s.warnings[0]).toMatch(/^Failed to restore: tar failed/);
  });

  it("lists, finds and deletes entries for the CLI", async () => {
    await cacheStep({ key: "one", path: "deps" }, { fill: fillDeps("1") });
    await cacheStep({ key: "two", path: "deps" }, { branch: "feature", fill: fillDeps("2") });
    const all = await listCacheEntries(dataDir);
    expect(all.map((e) => e.key).sort()).toEqual(["one", "two"]);
    expect((await listCacheEntries(dataDir, { scope: "refs/heads/feature" })).map((e) => e.key)).toEqual(["two"]);
    const one = all.find((e) => e.key === "one")!;
    expect(one).toMatchObject({ scope: "refs/heads/main", version: cacheVersion(["deps"]) });
    expect(one.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(one.size).toBeGreaterThan(0);
    const found = await findCacheEntry(dataDir, { keys: ["one"], version: cacheVersion(["deps"]), scopes: ["refs/heads/main"] });
    expect(found?.exact).toBe(true);
    expect(await deleteCacheEntry(dataDir, one)).toBe(true);
    expect(await findCacheEntry(dataDir, { keys: ["one"], version: cacheVersion(["deps"]), scopes: ["refs/heads/main"] })).toBeUndefined();
  });
});
