// Remote actions: `uses: owner/repo[/path]@ref`, fetched with real git from
// an action source (GitHub by default, any git URL prefix, or a local folder
// of repositories for offline use) and cached by commit SHA:
//
//   <cacheDir>/<owner>/<repo>/<sha>/             the files of the commit (no .git)
//   <cacheDir>/<owner>/<repo>/<sha>/.slipway-complete   written last, before the rename
//
// The ref is resolved to a SHA with `git ls-remote` on every use (branches and
// tags move); a full 40-hex SHA is taken as it is. A cached SHA is never
// fetched again. A fetch goes to a temporary directory beside the final one
// and is renamed into place, so a reader sees a complete action or none, and
// two processes fetching the same SHA at once both end with the same files.

import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { git, GitError, STALL_LIMITS } from "../git/index.js";

export type ActionSource =
  /** Clone `${prefix}/${owner}/${repo}` (then with `.git` appended when that fails). */
  | { kind: "url"; prefix: string }
  /** A local folder of repositories: `<path>/<owner>/<repo>` or `<path>/<owner>/<repo>.git`, bare or not. */
  | { kind: "dir"; path: string };

export const DEFAULT_ACTION_SOURCE = "https://github.com";

const COMPLETE_MARKER = ".slipway-complete";
const FULL_SHA = /^[0-9a-f]{40}$/i;
const SOURCE_FIX =
  "set --action-source (or SLIPWAY_ACTION_SOURCE) to a local folder holding the repositories as <folder>/<owner>/<repo>, or to a git URL prefix that has them";

/**
 * `dir:/path` or an absolute path → a local folder of repositories; anything
 * else is a URL prefix (`https://github.com`, `file:///srv/mirror`,
 * `ssh://git@host/…`). An empty value means GitHub.
 */
export function parseActionSource(value: string): ActionSource {
  const trimmed = value.trim();
  if (trimmed === "") return { kind: "url", prefix: DEFAULT_ACTION_SOURCE };
  if (trimmed.startsWith("dir:")) return { kind: "dir", path: resolve(trimmed.slice("dir:".length)) };
  if (isAbsolute(trimmed)) return { kind: "dir", path: resolve(trimmed) };
  return { kind: "url", prefix: trimmed.replace(/\/+$/, "") };
}

export interface RemoteUses {
  owner: string;
  repo: string;
  /** "" or a sub-directory of the repository holding action.yml. */
  path: string;
  ref: string;
}

const NAME = /^[A-Za-z0-9_.-]+$/;

/** `owner/repo[/path]@ref`, or undefined when `uses` is not a remote action reference. */
export function parseRemoteUses(uses: string): RemoteUses | undefined {
  const at = uses.indexOf("@");
  if (at <= 0) return undefined;
  const name = uses.slice(0, at);
  const ref = uses.slice(at + 1);
  if (!validRef(ref)) return undefined;
  const [owner, repo, ...rest] = name.split("/");
  if (owner === undefined || repo === undefined) return undefined;
  for (const part of [owner, repo]) {
    if (!NAME.test(part) || part === "." || part === "..") return undefined;
  }
  const segments = rest.filter((segment) => segment !== "" && segment !== ".");
  if (segments.some((segment) => segment === ".." || segment.includes("\\"))) return undefined;
  return { owner, repo, path: segments.join("/"), ref };
}

/** A branch, tag or SHA that is safe to hand to git (never an option, never a refspec). */
function validRef(ref: string): boolean {
  if (ref === "" || ref.startsWith("-") || ref.startsWith("/") || ref.endsWith("/") || ref.endsWith(".")) return false;
  if (ref.includes("..") || ref.includes("@{") || ref.includes("//")) return false;
  return !/[\s\x00-\x1f\x7f~^:?*[\\]/.test(ref);
}

export interface FetchedAction {
  /** The directory holding action.yml (the repository's files, plus the path of `uses`). */
  dir: string;
  /** The commit the ref resolved to. */
  sha: string;
  /** True when the commit was already in the cache and nothing was fetched. */
  fromCache: boolean;
}

/** Fetches `uses` (or finds it in the cache) and returns where its files are. Throws Error with a message naming the action, the source and the fix. */
export async function fetchRemoteAction(opts: { uses: string; source: ActionSource; cacheDir: string }): Promise<FetchedAction> {
  const { uses, source } = opts;
  const parsed = parseRemoteUses(uses);
  if (!parsed) {
    throw new Error(`\`${uses}\` is not a valid action reference; use owner/repo@ref or owner/repo/path@ref`);
  }
  const { owner, repo, path, ref } = parsed;
  const repoCache = join(resolve(opts.cacheDir), owner, repo);
  if (FULL_SHA.test(ref)) {
    const cached = join(repoCache, ref.toLowerCase());
    // A commit never changes: no need to ask the source at all.
    if (isComplete(cached)) return { dir: actionDir(cached, path, uses, ref.toLowerCase()), sha: ref.toLowerCase(), fromCache: true };
  }
  const candidates = repositoryCandidates(source, owner, repo);
  const where = describeSource(source);
  if (candidates.length === 0 && source.kind === "dir") {
    const expected = join(source.path, owner, repo);
    throw new Error(
      `cannot fetch action \`${uses}\`: repository ${owner}/${repo} is not in the action source folder ${source.path} (neither ${expected} nor ${expected}.git exists); clone it there (git clone --bare https://github.com/${owner}/${repo} ${expected}) or ${SOURCE_FIX}`,
    );
  }

  let sha: string;
  let fetchRef: string;
  let url: string | undefined;
  if (FULL_SHA.test(ref)) {
    sha = ref.toLowerCase();
    fetchRef = sha;
  } else {
    const resolved = await resolveRef(uses, candidates, ref, where);
    sha = resolved.sha;
    fetchRef = resolved.refName;
    url = resolved.url;
  }

  const finalDir = join(repoCache, sha);
  if (isComplete(finalDir)) return { dir: actionDir(finalDir, path, uses, sha), sha, fromCache: true };

  mkdirSync(repoCache, { recursive: true });
  const temp = mkdtempSync(join(repoCache, `.tmp-${sha.slice(0, 12)}-`));
  try {
    await fetchCommit(temp, url ? [url] : candidates, fetchRef, sha, uses, where);
    rmSync(join(temp, ".git"), { recursive: true, force: true });
    writeFileSync(join(temp, COMPLETE_MARKER), `${JSON.stringify({ uses, sha, fetchedAt: new Date().toISOString() })}\n`);
    moveIntoPlace(temp, finalDir);
    return { dir: actionDir(finalDir, path, uses, sha), sha, fromCache: false };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** Renames the fetched directory to its final name; another process may have put the same commit there first. */
function moveIntoPlace(temp: string, finalDir: string): void {
  try {
    renameSync(temp, finalDir);
    return;
  } catch (error) {
    if (isComplete(finalDir)) return; // someone else was faster: same commit, same files
    if (!existsSync(finalDir)) throw error;
  }
  // A directory without the marker (not made by Slipway): move it aside, then retry.
  const stale = `${temp}.stale`;
  renameSync(finalDir, stale);
  rmSync(stale, { recursive: true, force: true });
  renameSync(temp, finalDir);
}

function isComplete(dir: string): boolean {
  return existsSync(join(dir, COMPLETE_MARKER));
}

function actionDir(root: string, path: string, uses: string, sha: string): string {
  const dir = path === "" ? root : join(root, path);
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new Error(`cannot use action \`${uses}\`: the repository has no directory '${path}' at commit ${sha}; check the path in \`uses:\``);
  }
  return dir;
}

/** Where to ask git for owner/repo: URLs to try in order (a dir source gives only folders that exist). */
function repositoryCandidates(source: ActionSource, owner: string, repo: string): string[] {
  if (source.kind === "url") {
    const base = `${source.prefix.replace(/\/+$/, "")}/${owner}/${repo}`;
    return [base, `${base}.git`];
  }
  const found: string[] = [];
  for (const name of [repo, `${repo}.git`]) {
    const dir = join(source.path, owner, name);
    try {
      if (statSync(dir).isDirectory()) found.push(dir);
    } catch {
      // not there
    }
  }
  return found;
}

async function resolveRef(uses: string, candidates: string[], ref: string, where: string): Promise<{ sha: string; refName: string; url: string }> {
  const wanted = [`refs/tags/${ref}^{}`, `refs/tags/${ref}`, `refs/heads/${ref}`];
  let firstError: Error | undefined;
  for (const url of candidates) {
    let listing: string;
    try {
      listing = await git(tmpdir(), [...STALL_LIMITS, "ls-remote", "--", url, ...wanted]);
    } catch (error) {
      firstError ??= error as Error;
      continue;
    }
    const refs = new Map<string, string>();
    for (const line of listing.split("\n")) {
      const [oid, name] = line.split("\t");
      if (oid && name) refs.set(name, oid.toLowerCase());
    }
    // Like git rev-parse and GitHub: a tag wins over a branch of the same name.
    const peeled = refs.get(`refs/tags/${ref}^{}`);
    const tag = refs.get(`refs/tags/${ref}`);
    const branch = refs.get(`refs/heads/${ref}`);
    if (tag !== undefined) return { sha: peeled ?? tag, refName: `refs/tags/${ref}`, url };
    if (branch !== undefined) return { sha: branch, refName: `refs/heads/${ref}`, url };
    throw new Error(
      `cannot fetch action \`${uses}\`: '${ref}' is not a branch or tag of ${redact(url)}; use an existing branch, tag or full 40-character commit SHA`,
    );
  }
  throw unreachable(uses, where, firstError);
}

async function fetchCommit(dir: string, urls: string[], fetchRef: string, sha: string, uses: string, where: string): Promise<void> {
  await git(dir, ["init", "--quiet"]);
  // By ref name first (always allowed by servers); by SHA when that is what
  // `uses` names, or when the ref has moved since ls-remote.
  const attempts = fetchRef === sha ? [sha] : [fetchRef, sha];
  let lastError: Error | undefined;
  for (const url of urls) {
    for (const what of attempts) {
      try {
        await git(dir, [...STALL_LIMITS, "fetch", "--quiet", "--depth", "1", "--no-tags", "--", url, what]);
        const commit = (await git(dir, ["rev-parse", "--verify", "FETCH_HEAD^{commit}"])).trim().toLowerCase();
        if (commit !== sha) continue;
        await git(dir, ["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit]);
        return;
      } catch (error) {
        lastError = error as Error;
      }
    }
  }
  if (lastError === undefined || (lastError instanceof GitError && /not our ref|no such remote ref|couldn't find remote ref|unadvertised object/i.test(lastError.stderr))) {
    throw new Error(`cannot fetch action \`${uses}\`: commit ${sha} is not in ${where}; check the SHA in \`uses:\` or ${SOURCE_FIX}`);
  }
  throw unreachable(uses, where, lastError);
}

function unreachable(uses: string, where: string, error: Error | undefined): Error {
  const detail = error instanceof GitError ? (error.stderr.split("\n").find((line) => line.trim() !== "") ?? error.message) : error?.message;
  return new Error(
    `cannot fetch action \`${uses}\` from ${where}${detail ? `: ${redact(detail)}` : ""}; the repository does not exist there or the source is unreachable (offline?); ${SOURCE_FIX}`,
  );
}

/** A tag or branch of an action's repository and the commit it names (annotated tags peeled). */
export interface RemoteRef {
  kind: "tag" | "branch";
  name: string;
  sha: string;
}

/**
 * The tags and branches of owner/repo at the action source, from one
 * `git ls-remote` (the first candidate URL that answers). Throws Error naming
 * the repository, the source and the fix.
 */
export async function listRemoteRefs(source: ActionSource, owner: string, repo: string): Promise<RemoteRef[]> {
  const candidates = repositoryCandidates(source, owner, repo);
  const where = describeSource(source);
  const label = `${owner}/${repo}`;
  if (candidates.length === 0) {
    throw new Error(`repository ${label} is not in the action source folder ${where}; ${SOURCE_FIX}`);
  }
  let firstError: Error | undefined;
  for (const url of candidates) {
    let listing: string;
    try {
      listing = await git(tmpdir(), [...STALL_LIMITS, "ls-remote", "--tags", "--heads", "--", url]);
    } catch (error) {
      firstError ??= error as Error;
      continue;
    }
    const tags = new Map<string, string>();
    const peeled = new Map<string, string>();
    const refs: RemoteRef[] = [];
    for (const line of listing.split("\n")) {
      const [oid, name] = line.split("\t");
      if (!oid || !name) continue;
      if (name.startsWith("refs/heads/")) refs.push({ kind: "branch", name: name.slice("refs/heads/".length), sha: oid.toLowerCase() });
      else if (name.startsWith("refs/tags/") && name.endsWith("^{}")) peeled.set(name.slice("refs/tags/".length, -3), oid.toLowerCase());
      else if (name.startsWith("refs/tags/")) tags.set(name.slice("refs/tags/".length), oid.toLowerCase());
    }
    for (const [name, oid] of tags) refs.push({ kind: "tag", name, sha: peeled.get(name) ?? oid });
    return refs;
  }
  throw unreachable(label, where, firstError);
}

function describeSource(source: ActionSource): string {
  return source.kind === "dir" ? `the folder ${source.path}` : redact(source.prefix);
}

/** Hides credentials in URLs (https://user:token@host → https://***@host). */
function redact(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, "$1***@");
}
