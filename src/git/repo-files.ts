// Reads what readRepo needs — the toplevel, HEAD, the branches, origin's
// HEAD and the repository's config — straight from the .git directory, so
// that start-up runs no git process for it (each costs a Node process
// 10–20 ms of blocked main thread here).
//
// Only the plain layouts are read: a `.git` directory, or a `.git` file
// (`gitdir: …`) of a linked worktree or a submodule; loose and packed refs.
// Anything else returns undefined and the caller asks git: GIT_DIR and the
// other variables that change where git looks, a bare repository or a
// directory inside .git, a file system boundary on the way up, a repository
// owned by another user (git's safe.directory check), core.worktree,
// includes or extensions in the config (reftable, per-worktree config), a
// HEAD that is a symbolic link or names no commit yet.
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

export interface RepoFiles {
  /** The toplevel, without symbolic links (as `git rev-parse --show-toplevel`). */
  root: string;
  /** The directory inside root, "" or "a/b" (as `--show-prefix`, without the trailing slash). */
  prefix: string;
  /** HEAD's commit. */
  sha: string;
  /** The ref HEAD points at (refs/heads/main); undefined when HEAD is detached. */
  headRef?: string;
  /** Branch names (refs/heads/ left out). */
  heads: Set<string>;
  /** What refs/remotes/origin/HEAD points at, as "origin/main". */
  originHead?: string;
  /** The repository's own config (.git/config): lower-case section.key → last value; subsections keep their case. */
  config: Map<string, string>;
}

/** Variables that change where git finds the repository, its refs or its config. */
const GIT_LOCATION_ENV = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_COMMON_DIR",
  "GIT_CEILING_DIRECTORIES",
  "GIT_DISCOVERY_ACROSS_FILESYSTEM",
  "GIT_NAMESPACE",
  "GIT_CONFIG",
  "GIT_CONFIG_COUNT",
  "GIT_CONFIG_PARAMETERS",
];

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const KEY = /[A-Za-z][A-Za-z0-9-]*/y;

/** Reads the repository containing `dir` (absolute), or returns undefined when git should be asked. */
export function readRepoFiles(dir: string): RepoFiles | undefined {
  if (GIT_LOCATION_ENV.some((name) => process.env[name] !== undefined)) return undefined;
  try {
    return read(dir);
  } catch {
    return undefined;
  }
}

function read(dir: string): RepoFiles | undefined {
  const start = realpathSync(dir);
  const device = statSync(start).dev;
  let root = start;
  let gitDir: string | undefined;
  for (;;) {
    const dotGit = join(root, ".git");
    const st = statOrUndefined(dotGit);
    if (st?.isDirectory()) gitDir = dotGit;
    else if (st?.isFile()) {
      const m = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, "utf8"));
      if (!m?.[1]) return undefined;
      gitDir = resolve(root, m[1].trim());
    }
    if (gitDir) break;
    // A bare repository, or a directory inside .git.
    if (statOrUndefined(join(root, "HEAD")) && statOrUndefined(join(root, "objects"))) return undefined;
    const parent = dirname(root);
    if (parent === root || statSync(parent).dev !== device) return undefined;
    root = parent;
  }
  const uid = process.getuid?.();
  if (uid === undefined || statSync(root).uid !== uid || statSync(gitDir).uid !== uid) return undefined;
  const commonFile = readOrUndefined(join(gitDir, "commondir"));
  const commonDir = commonFile === undefined ? gitDir : resolve(gitDir, commonFile.trim());

  const config = parseConfig(readFileSync(join(commonDir, "config"), "utf8"));
  if (!config) return undefined;
  for (const key of config.keys()) {
    if (key === "core.worktree" || key.startsWith("include.") || key.startsWith("includeif.")) return undefined;
    if (key.startsWith("extensions.") && key !== "extensions.objectformat") return undefined;
  }
  if (/^(true|yes|on|1)$/i.test(config.get("core.bare") ?? "")) return undefined;

  const packed = new Map<string, string>();
  for (const line of (readOrUndefined(join(commonDir, "packed-refs")) ?? "").split("\n")) {
    const m = /^([0-9a-f]{40,64}) (refs\/\S+)$/.exec(line.trim());
    if (m?.[1] && m[2]) packed.set(m[2], m[1]);
  }
  // HEAD, refs/bisect/… and the like belong to the worktree; branches and tags to the repository.
  const perWorktree = (ref: string) => !ref.startsWith("refs/") || /^refs\/(bisect|worktree|rewritten)\//.test(ref);
  const resolveRef = (ref: string, depth = 0): { sha: string; ref?: string } | undefined => {
    const text = readOrUndefined(join(perWorktree(ref) ? gitDir : commonDir, ...ref.split("/")))?.trim() ?? packed.get(ref);
    if (text === undefined || depth > 5) return undefined;
    if (text.startsWith("ref: ")) {
      const target = text.slice("ref: ".length).trim();
      const r = resolveRef(target, depth + 1);
      return r && { sha: r.sha, ref: r.ref ?? target };
    }
    return SHA.test(text) ? { sha: text } : undefined;
  };
  // A symbolic link for HEAD (core.preferSymlinkRefs) names its branch by its target: left to git.
  if (lstatSync(join(gitDir, "HEAD")).isSymbolicLink()) return undefined;
  // Undefined for a branch with no commit yet: git then says so precisely.
  const head = resolveRef("HEAD");
  if (!head) return undefined;

  const heads = new Set<string>();
  for (const ref of packed.keys()) if (ref.startsWith("refs/heads/")) heads.add(ref.slice("refs/heads/".length));
  const headsDir = join(commonDir, "refs", "heads");
  if (statOrUndefined(headsDir)) {
    for (const e of readdirSync(headsDir, { recursive: true, withFileTypes: true })) {
      if (!e.isFile() || e.name.endsWith(".lock")) continue;
      // parentPath is Node ≥ 20.12; path is the older name of the same thing.
      const parent = (e as { parentPath?: string }).parentPath ?? e.path;
      heads.add(relative(headsDir, join(parent, e.name)).split(sep).join("/"));
    }
  }
  const origin = readOrUndefined(join(commonDir, "refs", "remotes", "origin", "HEAD"))?.trim();
  const originHead = origin?.startsWith("ref: refs/remotes/") ? origin.slice("ref: refs/remotes/".length).trim() : undefined;
  const prefix = relative(root, start).split(sep).join("/");
  return {
    root,
    prefix,
    sha: head.sha,
    ...(head.ref ? { headRef: head.ref } : {}),
    heads,
    ...(originHead ? { originHead } : {}),
    config,
  };
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Parses git's config file format: `[section]`, `[section "subsection"]`,
 * `[section.subsection]`, `key = value` (quotes, escapes, `\` at the end of a
 * line to continue it, `#` and `;` comments), `key` alone for true. Returns
 * section.key (and section.subsection.key) → the last value; undefined for
 * text it does not understand.
 */
export function parseConfig(text: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let section: string | undefined;
  let i = 0;
  const n = text.length;
  const skipSpaces = () => {
    while (i < n && (text[i] === " " || text[i] === "\t" || text[i] === "\r")) i++;
  };
  const skipLine = () => {
    while (i < n && text[i] !== "\n") i++;
    i++;
  };
  while (i < n) {
    skipSpaces();
    const c = text[i];
    if (c === undefined) break;
    if (c === "\n") {
      i++;
      continue;
    }
    if (c === "#" || c === ";") {
      skipLine();
      continue;
    }
    if (c === "[") {
      const close = text.indexOf("]", i);
      if (close < 0) return undefined;
      const header = /^\[\s*([A-Za-z0-9.-]+)\s*(?:"((?:[^"\\\n]|\\.)*)")?\s*\]$/.exec(text.slice(i, close + 1));
      if (!header?.[1]) return undefined;
      const name = header[1].toLowerCase();
      section = header[2] === undefined ? name : `${name}.${header[2].replace(/\\(.)/g, "$1")}`;
      i = close + 1;
      continue;
    }
    KEY.lastIndex = i;
    const key = KEY.exec(text)?.[0];
    if (!key || section === undefined) return undefined;
    i += key.length;
    skipSpaces();
    let value = "true";
    if (text[i] === "=") {
      i++;
      value = "";
      let quoted = false;
      let pending = ""; // unquoted whitespace, kept (as spaces, as git does) only if more of the value follows
      while (i < n) {
        const ch = text[i] as string;
        if (ch === "\n" && !quoted) break;
        if (!quoted && (ch === "#" || ch === ";")) {
          while (i < n && text[i] !== "\n") i++;
          break;
        }
        i++;
        if (ch === "\\") {
          const next = text[i++];
          if (next === "\n") continue;
          if (next === "\r" && text[i] === "\n") {
            i++;
            continue;
          }
          const escaped = next === "n" ? "\n" : next === "t" ? "\t" : next === "b" ? "\b" : next === "\\" || next === '"' ? next : undefined;
          if (escaped === undefined) return undefined;
          value += (value ? pending : "") + escaped;
          pending = "";
        } else if (ch === '"') {
          quoted = !quoted;
          value += value ? pending : "";
          pending = "";
        } else if (!quoted && (ch === " " || ch === "\t" || ch === "\r")) {
          pending += " ";
        } else {
          value += (value ? pending : "") + ch;
          pending = "";
        }
      }
      if (quoted) return undefined;
    }
    out.set(`${section}.${key.toLowerCase()}`, value);
  }
  return out;
}
