// bin/slipway.js: the bundle started with a V8 code cache, which must never
// change what a command does, whatever state the cache directory is in.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeRepo, removeDir } from "./helpers/cli.js";

const BIN = resolve(import.meta.dirname, "../bin/slipway.js");
const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeDir));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "slipway-bin-"));
  cleanup.push(dir);
  return dir;
}

function slipway(args: string[], env: Record<string, string>, cwd = process.cwd(), bin = BIN) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SLIPWAY_")));
  const res = spawnSync(process.execPath, [bin, ...args], { cwd, env: { ...clean, NO_COLOR: "1", ...env }, encoding: "utf8" });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

const caches = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".v8cache")).sort();

describe("bin/slipway.js compile cache", () => {
  it("stores a command's cache on its first run and loads it afterwards", () => {
    const dir = tempDir();
    const first = slipway(["--version"], { SLIPWAY_COMPILE_CACHE: dir });
    expect(first).toMatchObject({ code: 0, stdout: "0.1.0\n", stderr: "" });
    const [file, ...more] = caches(dir);
    expect(file).toMatch(/^other-[0-9a-f]{24}\.v8cache$/);
    expect(more).toEqual([]);
    const written = statSync(join(dir, file as string)).mtimeMs;
    expect(slipway(["--version"], { SLIPWAY_COMPILE_CACHE: dir })).toMatchObject({ code: 0, stdout: "0.1.0\n", stderr: "" });
    expect(statSync(join(dir, file as string)).mtimeMs).toBe(written); // accepted, not written again
    expect(slipway(["lint", "--help"], { SLIPWAY_COMPILE_CACHE: dir }).code).toBe(0);
    expect(caches(dir)).toEqual([expect.stringMatching(/^lint-/), file]);
  });

  it("loads the cache of a command that compiled WebAssembly (V8's flags are the same at load and at save)", () => {
    const dir = tempDir();
    const sql = join(tempDir(), "001_add.sql");
    writeFileSync(sql, "ALTER TABLE t ADD COLUMN c text;\n");
    const lint = () => slipway(["migrations", "lint", sql], { SLIPWAY_COMPILE_CACHE: dir });
    expect(lint()).toMatchObject({ code: 0, stderr: "" });
    const [file] = caches(dir);
    expect(file).toMatch(/^migrations-/);
    const written = statSync(join(dir, file as string));
    expect(lint()).toMatchObject({ code: 0, stderr: "" });
    // Rejected, it would have been written again (a new file renamed over it).
    expect(statSync(join(dir, file as string))).toMatchObject({ ino: written.ino, mtimeMs: written.mtimeMs });
  });

  const CLI = resolve(import.meta.dirname, "../dist/cli.js");
  function viaCli(args: string[], cwd = process.cwd()) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SLIPWAY_")));
    const res = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...clean, NO_COLOR: "1" }, encoding: "utf8" });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr };
  }
  /** The cache files' keys (bundle digest and Node version), by command. */
  const keys = (dir: string) => Object.fromEntries(caches(dir).map((f) => [f.replace(/-.*$/, ""), f.replace(/^[a-z]+-/, "")]));

  it("starts dist/migrations.js for `migrations …`, which answers as dist/cli.js does", () => {
    const dir = tempDir();
    const sql = join(tempDir(), "002_unsafe.sql");
    writeFileSync(sql, "ALTER TABLE t ALTER COLUMN c SET NOT NULL;\nALTER TABLE t RENAME COLUMN a TO b;\nSELECT FROM;\n");
    for (const args of [["migrations", "lint", sql, "--json"], ["migrations", "plan", sql], ["migrations", "--help"], ["migrations", "lint", "--pg-version", "x", sql]]) {
      expect(slipway(args, { SLIPWAY_COMPILE_CACHE: dir }), args.join(" ")).toEqual(viaCli(args));
    }
    expect(slipway(["migrations", "lint", sql], { SLIPWAY_COMPILE_CACHE: dir }).code).toBe(2); // the parse error
    // Its own bundle: a cache keyed by dist/migrations.js's digest, not dist/cli.js's.
    slipway(["--version"], { SLIPWAY_COMPILE_CACHE: dir });
    const { migrations, other } = keys(dir);
    expect(migrations && other && migrations !== other).toBe(true);
  });

  it("starts dist/run.js for `run`, which answers as dist/cli.js does", () => {
    const dir = tempDir();
    const repo = makeRepo({ ".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hello from a step\n" });
    cleanup.push(repo);
    for (const args of [["run", "--help"], ["run", "--parallel", "many"], ["run", "push", "-W", "missing.yml"]]) {
      expect(slipway(args, { SLIPWAY_COMPILE_CACHE: dir }, repo), args.join(" ")).toEqual(viaCli(args, repo));
    }
    const run = slipway(["run", "--json"], { SLIPWAY_COMPILE_CACHE: dir }, repo);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ event: "push", runs: [{ conclusion: "success" }] });
    expect(viaCli(["logs", "1", "a"], repo).stdout).toContain("hello from a step");
    slipway(["--version"], { SLIPWAY_COMPILE_CACHE: dir });
    const { run: own, other } = keys(dir);
    expect(own && other && own !== other).toBe(true);
  });

  it("starts dist/affected.js for `affected`, which answers as dist/cli.js does", () => {
    const dir = tempDir();
    const repo = makeRepo({
      "package.json": JSON.stringify({ name: "root", private: true, workspaces: ["packages/*"] }),
      "packages/a/package.json": JSON.stringify({ name: "a", version: "1.0.0" }),
      "packages/b/package.json": JSON.stringify({ name: "b", version: "1.0.0", dependencies: { a: "*" } }),
      "packages/a/index.js": "export {};\n",
    });
    cleanup.push(repo);
    writeFileSync(join(repo, "packages/a/index.js"), "export const changed = true;\n");
    for (const args of [["affected", "--uncommitted", "--json"], ["affected", "--uncommitted", "--explain"], ["affected", "--help"], ["affected", "--base", "no-such-ref"]]) {
      expect(slipway(args, { SLIPWAY_COMPILE_CACHE: dir }, repo), args.join(" ")).toEqual(viaCli(args, repo));
    }
    expect(JSON.parse(slipway(["affected", "--uncommitted", "--json"], { SLIPWAY_COMPILE_CACHE: dir }, repo).stdout)).toMatchObject({
      packages: [expect.objectContaining({ name: "a" }), expect.objectContaining({ name: "b" })],
    });
    slipway(["--version"], { SLIPWAY_COMPILE_CACHE: dir });
    const { affected, other } = keys(dir);
    expect(affected && other && affected !== other).toBe(true);
  });

  it("loads heavy built-in modules (http, child_process, zlib…) only when a command uses them", () => {
    const dir = tempDir();
    const hook = join(dir, "loaded.cjs");
    // At exit, the built-in modules this process loaded.
    writeFileSync(hook, `process.on("exit", () => process.stderr.write(JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")))));\n`);
    const loaded = (args: string[]) => {
      const res = spawnSync(process.execPath, ["--require", hook, BIN, ...args], { env: { ...process.env, SLIPWAY_COMPILE_CACHE: dir }, encoding: "utf8" });
      expect(res.status, res.stderr).toBe(0);
      return JSON.parse(res.stderr.slice(res.stderr.lastIndexOf("["))) as string[];
    };
    const version = loaded(["--version"]);
    for (const heavy of ["http", "https", "zlib", "worker_threads", "tls"]) expect(version).not.toContain(`NativeModule ${heavy}`);
    expect(loaded(["migrations", "--help"])).not.toContain("NativeModule child_process");
  });

  it("replaces a cache V8 rejects", () => {
    const dir = tempDir();
    slipway(["--version"], { SLIPWAY_COMPILE_CACHE: dir });
    const file = join(dir, caches(dir)[0] as string);
    writeFileSync(file, "not a code cache");
    expect(slipway(["--version"], { SLIPWAY_COMPILE_CACHE: dir })).toMatchObject({ code: 0, stdout: "0.1.0\n", stderr: "" });
    expect(readFileSync(file, "utf8")).not.toBe("not a code cache");
  });

  it("runs without a cache when the directory cannot be made, or when it is turned off", () => {
    const blocker = join(tempDir(), "file");
    writeFileSync(blocker, "");
    expect(slipway(["--version"], { SLIPWAY_COMPILE_CACHE: join(blocker, "cache") })).toMatchObject({ code: 0, stdout: "0.1.0\n", stderr: "" });
    const dir = tempDir();
    expect(slipway(["--version"], { SLIPWAY_COMPILE_CACHE: dir, SLIPWAY_DISABLE_COMPILE_CACHE: "1" })).toMatchObject({ code: 0, stdout: "0.1.0\n" });
    expect(caches(dir)).toEqual([]);
  });

  it("does not store the cache of a command stopped by bad input (exit 2)", () => {
    const dir = tempDir();
    expect(slipway(["run", "--parallel", "many"], { SLIPWAY_COMPILE_CACHE: dir }, dir).code).toBe(2);
    expect(caches(dir)).toEqual([]);
  });

  it("defaults to $XDG_CACHE_HOME/slipway, else ~/.cache/slipway", () => {
    const xdg = tempDir();
    expect(slipway(["--version"], { XDG_CACHE_HOME: xdg }).code).toBe(0);
    expect(caches(join(xdg, "slipway"))).toHaveLength(1);
    const home = tempDir();
    expect(slipway(["--version"], { HOME: home, XDG_CACHE_HOME: "" }).code).toBe(0);
    expect(caches(join(home, ".cache", "slipway"))).toHaveLength(1);
  });

  it("keeps the newest 16 caches when it writes one", () => {
    const dir = tempDir();
    for (let i = 0; i < 20; i++) {
      const old = join(dir, `run-old${String(i).padStart(2, "0")}.v8cache`);
      writeFileSync(old, "x");
      utimesSync(old, 1_000_000 + i, 1_000_000 + i);
    }
    slipway(["--version"], { SLIPWAY_COMPILE_CACHE: dir });
    const left = caches(dir);
    expect(left).toHaveLength(16);
    expect(left).toContainEqual(expect.stringMatching(/^other-/));
    expect(left).not.toContain("run-old04.v8cache");
    expect(left).toContain("run-old05.v8cache");
  });

  it("runs a workflow the same with and without the cache", () => {
    const repo = makeRepo({ ".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo from-the-step\n" });
    cleanup.push(repo);
    const dir = tempDir();
    const envs: Array<Record<string, string>> = [{ SLIPWAY_DISABLE_COMPILE_CACHE: "1" }, { SLIPWAY_COMPILE_CACHE: dir }, { SLIPWAY_COMPILE_CACHE: dir }];
    for (const env of envs) {
      const res = slipway(["run", "--data-dir", join(dir, "data")], env, repo);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain("from-the-step");
    }
    expect(caches(dir)).toEqual([expect.stringMatching(/^run-/)]);
  });

  it("keys the cache by the digest the build wrote beside the bundle, and hashes the bundle itself without it", () => {
    // A copy of the installation, whose files this test may change.
    const root = tempDir();
    const main = resolve(import.meta.dirname, "..");
    cpSync(join(main, "bin"), join(root, "bin"), { recursive: true });
    cpSync(join(main, "dist"), join(root, "dist"), { recursive: true });
    symlinkSync(join(main, "node_modules"), join(root, "node_modules"));
    const bin = join(root, "bin", "slipway.js");
    const dir = tempDir();
    const version = () => expect(slipway(["--version"], { SLIPWAY_COMPILE_CACHE: dir }, root, bin)).toMatchObject({ code: 0, stdout: "0.1.0\n", stderr: "" });
    expect(readFileSync(join(root, "dist", "cli.js.sha1"), "utf8")).toMatch(/^[0-9a-f]{40}\n$/);
    version();
    const [built] = caches(dir);
    writeFileSync(join(root, "dist", "cli.js.sha1"), "0".repeat(40) + "\n"); // another build
    version();
    expect(caches(dir)).toHaveLength(2);
    rmSync(join(root, "dist", "cli.js.sha1")); // none: the bundle is hashed
    version();
    expect(caches(dir)).toHaveLength(3);
    expect(caches(dir)).toContain(built);
  });
});
