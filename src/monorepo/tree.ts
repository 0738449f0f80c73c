// A snapshot of the repository's files: a commit (read with git) or the
// working tree (tracked and untracked files, read from disk). Paths are
// relative to the workspace root, with `/`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { git, gitBytes } from "../git/index.js";

export interface Tree {
  /** Every file path. */
  readonly files: readonly string[];
  /** The text of files, `undefined` for those absent. */
  read(paths: readonly string[]): Promise<(string | undefined)[]>;
}

/** An in-memory tree (tests, and the pure core). */
export function memoryTree(files: Record<string, string>): Tree {
  return {
    files: Object.keys(files),
    read: (paths) => Promise.resolve(paths.map((p) => files[p])),
  };
}

function splitZ(out: string): string[] {
  return out.split("\0").filter((s) => s !== "");
}

/**
 * The files of `rev` under `dir` (the workspace root inside the repository);
 * `prefix` is dir's path in the repository (`git rev-parse --show-prefix`),
 * asked of git when not given.
 */
export async function commitTree(dir: string, rev: string, prefix?: string): Promise<Tree> {
  const [listing, prefixOut] = await Promise.all([
    git(dir, ["ls-tree", "-r", "-z", "--full-tree", rev]),
    prefix ?? git(dir, ["rev-parse", "--show-prefix"]),
  ]);
  // ls-tree --full-tree lists repository paths; keep those under dir, relative to it.
  const under = prefixOut.trim();
  const blobs = new Map<string, string>();
  for (const line of splitZ(listing)) {
    // <mode> SP <type> SP <object> TAB <path>
    const tab = line.indexOf("\t");
    const [, type, object] = line.slice(0, tab).split(" ");
    const path = line.slice(tab + 1);
    if (type !== "blob" || object === undefined || !path.startsWith(under)) continue;
    blobs.set(path.slice(under.length), object);
  }
  return {
    files: [...blobs.keys()],
    async read(paths) {
      // Objects by id: git resolves `rev:path` by walking the tree for each, ~5 times slower.
      const wanted = [...new Set(paths.filter((p) => blobs.has(p)))];
      const texts = new Map<string, string>();
      if (wanted.length > 0) {
        const out = await gitBytes(dir, ["cat-file", "--batch"], { input: wanted.map((p) => `${blobs.get(p) ?? ""}\n`).join("") });
        let at = 0;
        for (const p of wanted) {
          const nl = out.indexOf(10, at);
          const header = out.subarray(at, nl).toString("utf8");
          const size = Number(header.split(" ")[2]);
          if (header.endsWith(" missing") || !Number.isFinite(size)) {
            at = nl + 1;
            continue;
          }
          texts.set(p, out.subarray(nl + 1, nl + 1 + size).toString("utf8"));
          at = nl + 1 + size + 1;
        }
      }
      return paths.map((p) => texts.get(p));
    },
  };
}

/** The working tree: tracked and untracked (not ignored) files under dir. */
export async function workingTree(dir: string): Promise<Tree> {
  const files = splitZ(await git(dir, ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."]));
  const unique = [...new Set(files)];
  return {
    files: unique,
    read: (paths) =>
      Promise.resolve(
        paths.map((p) => {
          try {
            return readFileSync(join(dir, p), "utf8");
          } catch {
            return undefined;
          }
        }),
      ),
  };
}
