import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HashFilesError, hashFiles } from "./hash-files.js";

// Records the directories hashFiles lists, to check where the walk starts.
const { readdirCalls } = vi.hoisted(() => ({ readdirCalls: [] as string[] }));
vi.mock("node:fs", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs")>();
  const readdirSync = ((dir: fs.PathLike, ...rest: never[]) => {
    readdirCalls.push(String(dir));
    return (actual.readdirSync as (...args: unknown[]) => unknown)(dir, ...rest);
  }) as typeof actual.readdirSync;
  return { ...actual, default: { ...actual, readdirSync }, readdirSync };
});

const sha256 = (data: Buffer | string): Buffer => createHash("sha256").update(data).digest();

let temp: string;
let ws: string;
let outside: string;

beforeEach(() => {
  temp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "slipway-hash-files-")));
  ws = path.join(temp, "workspace");
  outside = path.join(temp, "outside");
  fs.mkdirSync(ws);
  fs.mkdirSync(outside);
  readdirCalls.length = 0;
});

afterEach(() => {
  fs.rmSync(temp, { recursive: true, force: true });
});

function write(root: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
}

/** The runner's digest, computed by hand: sha256 over the binary sha256 of each file, in order. */
function expected(...files: string[]): string {
  const outer = createHash("sha256");
  for (const file of files) outer.update(sha256(fs.readFileSync(path.join(ws, file))));
  return outer.digest("hex");
}

describe("hashFiles", () => {
  it("hashes a single file as sha256 of its sha256", () => {
    write(ws, { "package-lock.json": '{"lockfileVersion":3}\n' });
    const digest = hashFiles(ws, ["package-lock.json"]);
    expect(digest).toBe(createHash("sha256").update(sha256('{"lockfileVersion":3}\n')).digest("hex"));
    expect(digest).toBe(expected("package-lock.json"));
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it("returns an empty string when nothing matches", () => {
    write(ws, { "a.txt": "a" });
    expect(hashFiles(ws, ["**/*.lock"])).toBe("");
    expect(hashFiles(ws, ["missing/dir/**"])).toBe("");
    expect(hashFiles(ws, ["# only a comment", "   "])).toBe("");
  });

  it("globs with ** across directories, depth first in byte order like @actions/glob", () => {
    write(ws, {
      "package.json": "root",
      "packages/foo/package.json": "foo",
      "packages/foo-bar/package.json": "foo-bar",
      "packages/foo/node_modules/x/package.json": "x",
      "packages/Zed/package.json": "Zed",
      "README.md": "readme",
    });
    const digest = hashFiles(ws, ["**/package.json"]);
    // Depth first: everything under packages/foo comes before packages/foo-bar,
    // although "packages/foo-bar/..." sorts before "packages/foo/..." as a string.
    expect(digest).toBe(
      expected(
        "package.json",
        "packages/Zed/package.json",
        "packages/foo/node_modules/x/package.json",
        "packages/foo/package.json",
        "packages/foo-bar/package.json",
      ),
    );
    expect(digest).not.toBe(
      expected(
        "package.json",
        "packages/Zed/package.json",
        "packages/foo-bar/package.json",
        "packages/foo/node_modules/x/package.json",
        "packages/foo/package.json",
      ),
    );
  });

  it("changes when a matched file's content changes, not when an unmatched file does", () => {
    write(ws, { "go.sum": "v1", "main.go": "package main" });
    const before = hashFiles(ws, ["**/go.sum"]);
    write(ws, { "main.go": "package main // edited" });
    expect(hashFiles(ws, ["**/go.sum"])).toBe(before);
    write(ws, { "go.sum": "v2" });
    expect(hashFiles(ws, ["**/go.sum"])).not.toBe(before);
  });

  it("excludes with ! lines, and a later pattern can add files back", () => {
    write(ws, { "a.txt": "a", "secret/b.txt": "b", "secret/keep.txt": "keep", "c.txt": "c" });
    expect(hashFiles(ws, ["**/*.txt", "!secret/**"])).toBe(expected("a.txt", "c.txt"));
    expect(hashFiles(ws, ["**/*.txt", "!secret", "secret/keep.txt"])).toBe(expected("a.txt", "c.txt", "secret/keep.txt"));
    // A negation only removes what earlier patterns matched.
    expect(hashFiles(ws, ["!secret/**", "**/*.txt"])).toBe(expected("a.txt", "c.txt", "secret/b.txt", "secret/keep.txt"));
    expect(hashFiles(ws, ["**/*.txt", "!!secret/b.txt"])).toBe(expected("a.txt", "c.txt", "secret/b.txt", "secret/keep.txt"));
  });

  it("does not depend on the order of patterns that share a search root", () => {
    write(ws, { "src/a.ts": "a", "src/b.json": "b", "c.ts": "c", "lib/d.json": "d" });
    const one = hashFiles(ws, ["**/*.ts", "**/*.json"]);
    expect(hashFiles(ws, ["**/*.json", "**/*.ts"])).toBe(one);
    expect(one).toBe(expected("c.ts", "lib/d.json", "src/a.ts", "src/b.json"));
    // Duplicated or overlapping patterns hash each file once.
    expect(hashFiles(ws, ["**/*.ts", "**/*.json", "src/**", "c.ts"])).toBe(one);
  });

  it("hashes search roots in pattern order, as GitHub does", () => {
    write(ws, { "a/1.txt": "1", "b/2.txt": "2" });
    expect(hashFiles(ws, ["a/**", "b/**"])).toBe(expected("a/1.txt", "b/2.txt"));
    expect(hashFiles(ws, ["b/**", "a/**"])).toBe(expected("b/2.txt", "a/1.txt"));
    // A root under another root is walked once, with its ancestor.
    expect(hashFiles(ws, ["b/**", "**/*.txt"])).toBe(expected("a/1.txt", "b/2.txt"));
  });

  it("accepts patterns separated by newlines in one argument, with comments", () => {
    write(ws, { "a.lock": "a", "b/c.lock": "c", "d.txt": "d" });
    expect(hashFiles(ws, ["# locks\n**/*.lock\n\n  !b/**  "])).toBe(expected("a.lock"));
  });

  it("hashes every file under a matched directory", () => {
    write(ws, { "src/a.ts": "a", "src/deep/b.ts": "b", "other.ts": "o" });
    const all = expected("src/a.ts", "src/deep/b.ts");
    expect(hashFiles(ws, ["src"])).toBe(all);
    expect(hashFiles(ws, ["src/"])).toBe(all);
    expect(hashFiles(ws, ["./src"])).toBe(all);
    expect(hashFiles(ws, ["src/**"])).toBe(all);
  });

  it("matches only directories with a trailing slash, then everything below them", () => {
    write(ws, { "top.txt": "t", "a/1.txt": "1", "b/c/2.txt": "2" });
    // `*/` is `*` for directories plus an implicit `*\/**` that needs at least one more name.
    expect(hashFiles(ws, ["*/"])).toBe(expected("a/1.txt", "b/c/2.txt"));
    // A `**` written in the pattern also matches zero names: `*\/**` matches top.txt.
    expect(hashFiles(ws, ["*/**"])).toBe(expected("a/1.txt", "b/c/2.txt", "top.txt"));
  });

  it("matches dotfiles, including .git (GitHub does not skip it)", () => {
    write(ws, { ".github/workflows/ci.yml": "ci", ".git/config": "cfg", "a.yml": "a" });
    expect(hashFiles(ws, ["**/*.yml"])).toBe(expected(".github/workflows/ci.yml", "a.yml"));
    expect(hashFiles(ws, ["**"])).toBe(expected(".git/config", ".github/workflows/ci.yml", "a.yml"));
    expect(hashFiles(ws, ["**", "!.git/**"])).toBe(expected(".github/workflows/ci.yml", "a.yml"));
  });

  it("supports ?, [...] and \\ escapes; braces and extglobs are literal", () => {
    write(ws, {
      "file1.txt": "1",
      "file2.txt": "2",
      "file3.txt": "3",
      "fileA.txt": "A",
      "{a,b}.txt": "braces",
      "a.txt": "a",
      "+(x).txt": "ext",
      "x.txt": "x",
      "star*.txt": "star",
      "starry.txt": "starry",
    });
    expect(hashFiles(ws, ["file?.txt"])).toBe(expected("file1.txt", "file2.txt", "file3.txt", "fileA.txt"));
    expect(hashFiles(ws, ["file[12].txt"])).toBe(expected("file1.txt", "file2.txt"));
    expect(hashFiles(ws, ["file[!12].txt"])).toBe(expected("file3.txt", "fileA.txt"));
    expect(hashFiles(ws, ["file[0-9].txt"])).toBe(expected("file1.txt", "file2.txt", "file3.txt"));
    expect(hashFiles(ws, ["{a,b}.txt"])).toBe(expected("{a,b}.txt"));
    expect(hashFiles(ws, ["+(x).txt"])).toBe(expected("+(x).txt"));
    expect(hashFiles(ws, ["star\\*.txt"])).toBe(expected("star*.txt"));
    expect(hashFiles(ws, ["star*.txt"])).toBe(expected("star*.txt", "starry.txt"));
  });

  it("is case-sensitive", () => {
    write(ws, { "Makefile": "m" });
    expect(hashFiles(ws, ["makefile"])).toBe("");
    expect(hashFiles(ws, ["Makefile"])).toBe(expected("Makefile"));
  });

  it("accepts absolute patterns inside the workspace and ignores matches outside it", () => {
    write(ws, { "a.txt": "a" });
    write(outside, { "b.txt": "b" });
    expect(hashFiles(ws, [path.join(ws, "*.txt")])).toBe(expected("a.txt"));
    expect(hashFiles(ws, [path.join(outside, "*.txt")])).toBe("");
    // A root above the workspace only contributes the workspace's files.
    expect(hashFiles(ws, [path.join(temp, "**/*.txt")])).toBe(expected("a.txt"));
  });

  it("resolves a workspace given through a symbolic link", () => {
    write(ws, { "a.txt": "a" });
    const link = path.join(temp, "link-to-workspace");
    fs.symlinkSync(ws, link);
    expect(hashFiles(link, ["*.txt"])).toBe(expected("a.txt"));
    expect(hashFiles(link, [path.join(link, "*.txt")])).toBe(expected("a.txt"));
  });

  it("does not list directories outside the static prefix of the patterns", () => {
    write(ws, { "src/app/a.ts": "a", "node_modules/big/index.js": "big", "docs/x.md": "x" });
    expect(hashFiles(ws, ["src/app/**/*.ts"])).toBe(expected("src/app/a.ts"));
    expect(readdirCalls).toEqual([path.join(ws, "src/app")]);
  });

  it("skips trees that a negated ** pattern removes, with the same result", () => {
    write(ws, {
      "a.js": "a",
      "node_modules/dep/index.js": "dep",
      "lib/node_modules/keep/x.js": "x",
      "lib/b.js": "b",
    });
    expect(hashFiles(ws, ["**/*.js", "!**/node_modules/**"])).toBe(expected("a.js", "lib/b.js"));
    expect(readdirCalls.some((dir) => dir.includes("node_modules"))).toBe(false);
    readdirCalls.length = 0;
    expect(hashFiles(ws, ["**/*.js", "!node_modules"])).toBe(expected("a.js", "lib/b.js", "lib/node_modules/keep/x.js"));
    expect(readdirCalls).not.toContain(path.join(ws, "node_modules"));
    // A later positive pattern reaching inside keeps the walk going there.
    expect(hashFiles(ws, ["**/*.js", "!**/node_modules/**", "lib/node_modules/keep/*.js"])).toBe(
      expected("a.js", "lib/b.js", "lib/node_modules/keep/x.js"),
    );
  });

  it("rejects . and .. segments and unknown options", () => {
    expect(() => hashFiles(ws, ["../outside/**"])).toThrow(HashFilesError);
    expect(() => hashFiles(ws, ["a/../b"])).toThrow("relative pathing '.' and '..' is not allowed");
    expect(() => hashFiles(ws, ["a/./b"])).toThrow("relative pathing");
    expect(() => hashFiles(ws, ["!"])).toThrow("the pattern is empty");
    expect(() => hashFiles(ws, ["--nope", "**"])).toThrow(
      "hashFiles('--nope, **') failed: invalid glob option --nope, available option: '--follow-symbolic-links'",
    );
  });

  it("fails when the workspace does not exist", () => {
    expect(() => hashFiles(path.join(temp, "missing"), ["**"])).toThrow(HashFilesError);
  });

  it("skips directories, FIFOs and broken links that a pattern names", () => {
    write(ws, { "dir/a.txt": "a" });
    fs.symlinkSync(path.join(ws, "nowhere"), path.join(ws, "broken.txt"));
    expect(hashFiles(ws, ["dir/", "*.txt"])).toBe(expected("dir/a.txt"));
    execFileSync("mkfifo", [path.join(ws, "pipe.txt")]);
    expect(hashFiles(ws, ["*.txt"])).toBe("");
  });

  describe("symbolic links", () => {
    beforeEach(() => {
      write(ws, { "real/a.txt": "a", "b.txt": "b" });
      write(outside, { "secret.txt": "secret", "dir/c.txt": "c" });
    });

    it("hashes links to files inside the workspace by their content", () => {
      fs.symlinkSync(path.join(ws, "b.txt"), path.join(ws, "link.txt"));
      expect(hashFiles(ws, ["*.txt"])).toBe(expected("b.txt", "b.txt"));
    });

    it("never reads a file outside the workspace through a link", () => {
      fs.symlinkSync(path.join(outside, "secret.txt"), path.join(ws, "leak.txt"));
      expect(hashFiles(ws, ["*.txt"])).toBe(expected("b.txt"));
      expect(hashFiles(ws, ["--follow-symbolic-links", "*.txt"])).toBe(expected("b.txt"));
    });

    it("does not descend into linked directories unless asked", () => {
      fs.symlinkSync(path.join(ws, "real"), path.join(ws, "alias"));
      expect(hashFiles(ws, ["**/*.txt"])).toBe(expected("b.txt", "real/a.txt"));
      expect(hashFiles(ws, ["--follow-symbolic-links", "**/*.txt"])).toBe(
        expected("alias/a.txt", "b.txt", "real/a.txt"),
      );
      expect(hashFiles(ws, ["--FOLLOW-SYMBOLIC-LINKS", "**/*.txt"])).toBe(
        expected("alias/a.txt", "b.txt", "real/a.txt"),
      );
    });

    it("does not follow a directory link out of the workspace, even when asked", () => {
      fs.symlinkSync(path.join(outside, "dir"), path.join(ws, "external"));
      expect(hashFiles(ws, ["--follow-symbolic-links", "**/*.txt"])).toBe(expected("b.txt", "real/a.txt"));
    });

    it("stops at link cycles", () => {
      fs.symlinkSync(ws, path.join(ws, "real", "loop"));
      expect(hashFiles(ws, ["--follow-symbolic-links", "**/*.txt"])).toBe(expected("b.txt", "real/a.txt"));
    });
  });
});

