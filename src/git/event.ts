// Builds the event a workflow runs for (`github.event` and the ref, sha and
// changed files that trigger filters look at) from a local Git checkout,
// shaped like GitHub's webhook payloads.
//
// The "workflow repository" is the directory that holds `.github/workflows`.
// It may be a subdirectory of a git repository (a monorepo example, say):
// then `prefix` is its path inside the git toplevel, changed files are
// reported relative to it, and files outside it are left out.
import { readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { git, GitError, tryGit } from "./git.js";
import { readRepoFiles } from "./repo-files.js";

/** The all-zero sha GitHub uses for "no commit" (a new branch or tag, a first push). */
export const ZERO_SHA = "0000000000000000000000000000000000000000";

/** All zeros, as long as a SHA-1 or a SHA-256 object name. */
function isZeroSha(sha: string): boolean {
  return /^(0{40}|0{64})$/.test(sha);
}

/** At most this many commits in a push payload's `commits`, the newest ones (as GitHub's event timeline). */
const MAX_PUSH_COMMITS = 20;

export interface EventInfo {
  /** "push" | "pull_request" | "workflow_dispatch" | "schedule" | "workflow_call" | any other event name. */
  name: string;
  /** refs/heads/main, refs/tags/v1, refs/pull/<n>/merge for pull_request; the commit sha when HEAD is detached. */
  ref: string;
  /**
   * The commit the workflow runs on. For pull_request this is the head commit:
   * GitHub runs on a merge commit of head into base, which a local run does not create.
   */
  sha: string;
  /** main, v1, <n>/merge; the sha when HEAD is detached. */
  refName: string;
  refType: "branch" | "tag";
  /** The branch name, for events on a branch (not for pull_request, not when detached). */
  branch?: string;
  tag?: string;
  /** pull_request: the base branch name. */
  baseRef?: string;
  /** pull_request: the head branch name (the sha when HEAD is detached). */
  headRef?: string;
  /** Paths relative to the workflow repository; undefined when unknown (the event has no diff). */
  changedFiles?: string[];
  /** `github.event`. */
  payload: Record<string, unknown>;
}

export interface RepoInfo {
  /** The git toplevel (absolute). */
  root: string;
  /** Path of the workflow repository inside root, "" or e.g. "examples/hello" (forward slashes, no trailing slash). */
  prefix: string;
  /** The workflow repository directory (absolute): root joined with prefix. */
  dir: string;
  /** HEAD's commit. */
  sha: string;
  /** The checked-out branch; undefined when HEAD is detached. */
  branch?: string;
  defaultBranch: string;
  /** From the origin remote URL; "local" when there is none. */
  owner: string;
  /** From the origin remote URL; the basename of dir when there is none. */
  name: string;
}

export interface BuildEventOptions {
  eventName: string;
  /**
   * The ref the event is about: a branch or tag name, refs/heads/…, refs/tags/…
   * or a commit. Default: HEAD (the checked-out branch, or the commit when
   * detached). For pull_request it is the head. A bare name is looked up as a
   * branch first, then as a tag (write refs/tags/x to mean the tag).
   */
  ref?: string;
  /** pull_request: the base branch; default the repository's default branch. */
  base?: string;
  /** workflow_dispatch / workflow_call: `github.event.inputs`. */
  inputs?: Record<string, string>;
  /** A JSON file merged (deeply) over the generated payload, like act's -e/--eventpath. */
  payloadFile?: string;
  /** The activity type (`github.event.action`) for pull_request and other typed events; pull_request defaults to "opened". */
  action?: string;
  /** schedule: the cron expression that fired (`github.event.schedule`). */
  schedule?: string;
  /**
   * push only: the commit the ref pointed to before the push (a server
   * receiving the push knows it); all zeros when the push created the ref.
   * Then `commits` and the changed files are those of before..sha, and a
   * `before` that is not an ancestor of the pushed commit makes a forced
   * push. Without it, the push is taken to be that of the last commit alone.
   */
  before?: string;
}

/**
 * Reads what buildEvent needs about the checkout containing `dir`. Throws
 * GitError. Plain repositories are read from their .git directory
 * (repo-files.ts); git is asked only for init.defaultBranch when it could
 * change the default branch, and for everything when the layout is unusual.
 */
export async function readRepo(dir: string): Promise<RepoInfo> {
  const abs = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new GitError("no-such-directory", `'${abs}' is not a directory`);

  const files = readRepoFiles(abs);
  if (!files) return readRepoWithGit(abs);
  const branch = files.headRef?.startsWith("refs/heads/") ? files.headRef.slice("refs/heads/".length) : undefined;
  // init.defaultBranch matters only when a branch other than the one chosen without it exists.
  let configured = files.config.get("init.defaultbranch");
  const fallback = chooseDefaultBranch(files.originHead, undefined, files.heads, branch);
  if (configured === undefined && !files.originHead && [...files.heads].some((h) => h !== fallback)) {
    configured = (await tryGit(abs, ["config", "--get", "init.defaultBranch"]))?.trim();
  }
  return repoInfo(files.root, files.prefix, files.sha, branch, chooseDefaultBranch(files.originHead, configured, files.heads, branch), files.config.get("remote.origin.url"));
}

/** readRepo by asking git: three processes. */
async function readRepoWithGit(abs: string): Promise<RepoInfo> {
  // --show-prefix is "examples/hello/" (or empty at the toplevel); unlike a
  // path.relative() of root and dir it is not confused by symbolic links.
  const located = await tryGit(abs, ["rev-parse", "--show-toplevel", "--show-prefix", "HEAD^{commit}", "--symbolic-full-name", "HEAD"]);
  const [rootLine = "", prefixLine = "", shaLine = "", headLine = ""] = (located ?? "").split("\n");
  if (!located || !/^[0-9a-f]{40,64}$/.test(shaLine.trim())) {
    // Not a repository, or no commits: ask again one by one for the precise error.
    const root = (await git(abs, ["rev-parse", "--show-toplevel"])).trim();
    throw new GitError("no-commits", `the git repository at '${root}' has no commits yet; commit your files first (git add -A && git commit -m init)`);
  }
  const root = rootLine.trim();
  const prefix = prefixLine.trim().replace(/\/+$/, "");
  const sha = shaLine.trim();
  const branch = headLine.trim().startsWith("refs/heads/") ? headLine.trim().slice("refs/heads/".length) : undefined;
  const [configOut, refsOut] = await Promise.all([
    tryGit(abs, ["config", "--get-regexp", "^(init\\.defaultbranch|remote\\.origin\\.url)$"]),
    tryGit(abs, ["for-each-ref", "--format=%(refname) %(symref)", "refs/heads/", "refs/remotes/origin/HEAD"]),
  ]);
  const config = new Map<string, string>();
  for (const line of (configOut ?? "").split("\n")) {
    const i = line.indexOf(" ");
    if (i > 0) config.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  const heads = new Set<string>();
  let originHead: string | undefined;
  for (const line of (refsOut ?? "").split("\n")) {
    const [ref = "", target = ""] = line.trim().split(" ");
    if (ref === "refs/remotes/origin/HEAD" && target) originHead = target.replace(/^refs\/remotes\//, "");
    else if (ref.startsWith("refs/heads/")) heads.add(ref.slice("refs/heads/".length));
  }
  const defaultBranch = chooseDefaultBranch(originHead, config.get("init.defaultbranch"), heads, branch);
  return repoInfo(root, prefix, sha, branch, defaultBranch, config.get("remote.origin.url"));
}

function repoInfo(root: string, prefix: string, sha: string, branch: string | undefined, defaultBranch: string, url: string | undefined): RepoInfo {
  const fromUrl = url ? parseRemoteUrl(url) : undefined;
  const repoDir = prefix ? join(root, prefix) : root;
  return {
    root,
    prefix,
    dir: repoDir,
    sha,
    ...(branch ? { branch } : {}),
    defaultBranch,
    owner: fromUrl?.owner ?? "local",
    name: fromUrl?.name ?? basename(repoDir),
  };
}

/**
 * The default branch: origin's HEAD when the repository was cloned; else
 * init.defaultBranch when that branch exists here (a configured name that
 * does not exist in this repository is skipped); else main, else master,
 * when they exist; else the current branch; else "main".
 */
function chooseDefaultBranch(originHead: string | undefined, configured: string | undefined, heads: Set<string>, current: string | undefined): string {
  if (originHead) return originHead.replace(/^origin\//, "");
  if (configured && heads.has(configured)) return configured;
  for (const candidate of ["main", "master"]) {
    if (heads.has(candidate)) return candidate;
  }
  return current ?? "main";
}

/**
 * Owner and name from a remote URL: https://host/owner/name(.git),
 * ssh://git@host/owner/name, git@host:owner/name.git, or a local path
 * (/srv/git/owner/name.git). Owner is "local" when the URL has one segment.
 */
export function parseRemoteUrl(url: string): { owner: string; name: string } | undefined {
  const u = url.trim();
  let path: string;
  const withScheme = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(u);
  if (withScheme) {
    const scheme = (withScheme[1] ?? "").toLowerCase();
    const rest = withScheme[2] ?? "";
    // Drop the host (and user@) except for file:// URLs, which are paths.
    path = scheme === "file" ? rest : rest.slice(rest.indexOf("/") + 1 || rest.length);
  } else {
    // scp-like syntax: [user@]host:path (a path with no ':' before the first '/').
    const scp = /^(?:[^@/]+@)?[^/:]+:(.*)$/.exec(u);
    path = scp ? (scp[1] ?? "") : u;
  }
  const segments = path
    .replace(/\/+$/, "")
    .replace(/\.git$/, "")
    .split("/")
    .filter((s) => s !== "" && s !== "." && s !== "..");
  const name = segments.at(-1);
  if (!name) return undefined;
  return { owner: segments.at(-2) ?? "local", name };
}

interface ResolvedRef {
  ref: string;
  refName: string;
  refType: "branch" | "tag";
  sha: string;
  branch?: string;
  tag?: string;
}

async function revParse(cwd: string, rev: string): Promise<string | undefined> {
  // A revision starting with '-' would be read as an option.
  if (rev.startsWith("-")) return undefined;
  return (await tryGit(cwd, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]))?.trim() || undefined;
}

/** HEAD's ref: the checked-out branch; when HEAD is detached there is no ref, so the ref and its name are the commit sha. */
function headRef(repo: RepoInfo, sha: string): ResolvedRef {
  if (!repo.branch) return { ref: sha, refName: sha, refType: "branch", sha };
  return { ref: `refs/heads/${repo.branch}`, refName: repo.branch, refType: "branch", sha, branch: repo.branch };
}

/** Resolves BuildEventOptions.ref (see there); undefined means HEAD. */
async function resolveRef(repo: RepoInfo, ref: string | undefined): Promise<ResolvedRef> {
  const cwd = repo.root;
  if (ref === undefined) return headRef(repo, repo.sha);
  if (ref === "HEAD") return headRef(repo, (await revParse(cwd, "HEAD")) ?? repo.sha);
  const notFound = () =>
    new GitError("bad-ref", `ref '${ref}' does not name a branch, tag or commit in '${repo.root}'; list them with 'git branch' and 'git tag'`);
  const branchOf = async (name: string): Promise<ResolvedRef | undefined> => {
    const sha = await revParse(cwd, `refs/heads/${name}`);
    return sha ? { ref: `refs/heads/${name}`, refName: name, refType: "branch", sha, branch: name } : undefined;
  };
  const tagOf = async (name: string): Promise<ResolvedRef | undefined> => {
    // ^{commit} peels an annotated tag to the commit it points at.
    const sha = await revParse(cwd, `refs/tags/${name}`);
    return sha ? { ref: `refs/tags/${name}`, refName: name, refType: "tag", sha, tag: name } : undefined;
  };
  if (ref.startsWith("refs/heads/") || ref.startsWith("refs/tags/")) {
    const found = ref.startsWith("refs/heads/") ? await branchOf(ref.slice("refs/heads/".length)) : await tagOf(ref.slice("refs/tags/".length));
    if (!found) throw notFound();
    return found;
  }
  if (ref.startsWith("refs/")) {
    // Another kind of ref (refs/remotes/origin/x, refs/pull/1/head): keep it, name it without the first two parts.
    const sha = await revParse(cwd, ref);
    if (!sha) throw notFound();
    return { ref, refName: ref.split("/").slice(2).join("/"), refType: "branch", sha };
  }
  const found = (await branchOf(ref)) ?? (await tagOf(ref));
  if (found) return found;
  const sha = await revParse(cwd, ref);
  if (!sha) throw notFound();
  return { ref: sha, refName: sha, refType: "branch", sha };
}

interface CommitInfo {
  id: string;
  tree_id: string;
  message: string;
  timestamp: string;
  author: { name: string; email: string };
  committer: { name: string; email: string };
}

/**
 * The commit, its first parent (undefined for a root commit) and the files
 * it changed — against that parent, or all its files for a root commit — in
 * one git process.
 */
async function readCommitWithChanges(repo: RepoInfo, sha: string): Promise<{ commit: CommitInfo; parent: string | undefined; changes: Changes }> {
  // Run at the toplevel: paths are then relative to it whatever diff.relative
  // says. -m --first-parent: a merge commit is compared with its first parent.
  const out = await git(repo.root, [
    "log",
    "-1",
    "--no-show-signature",
    "--no-color",
    "--format=%P%x00%H%x00%T%x00%aI%x00%an%x00%ae%x00%cn%x00%ce%x00%B",
    "-z",
    "--name-status",
    "--no-renames",
    "--root",
    "-m",
    "--first-parent",
    sha,
    "--",
  ]);
  // Nine NUL-terminated fields (the message last), then "\n" and the name-status pairs.
  const fields = out.split("\0");
  const parent = (fields[0] ?? "").trim().split(" ")[0] || undefined;
  const commit = parseCommit(fields.slice(1, 9).join("\0"), sha);
  const status = fields.slice(9);
  if (status[0] !== undefined) status[0] = status[0].replace(/^\n/, "");
  return { commit, parent, changes: parseNameStatus(repo, status) };
}

async function readCommit(cwd: string, sha: string): Promise<CommitInfo> {
  // Fields separated by NUL; the message (%B) last since it may hold anything else.
  const out = await git(cwd, ["show", "-s", "--no-show-signature", "--format=%H%x00%T%x00%aI%x00%an%x00%ae%x00%cn%x00%ce%x00%B", sha]);
  return parseCommit(out, sha);
}

function parseCommit(out: string, sha: string): CommitInfo {
  const [id = sha, tree = "", timestamp = "", an = "", ae = "", cn = "", ce = "", ...message] = out.split("\0");
  return {
    id,
    tree_id: tree,
    message: message.join("\0").replace(/\n+$/, ""),
    timestamp,
    author: { name: an, email: ae },
    committer: { name: cn, email: ce },
  };
}

interface Changes {
  added: string[];
  modified: string[];
  removed: string[];
  /** All changed paths in git's order (a rename appears as its old and its new path). */
  all: string[];
}

/**
 * Runs a name-status diff (`revs` select what to compare) and keeps the
 * files inside the workflow repository, relative to it. Renames are off so
 * that a renamed file counts as its old path removed and its new path added,
 * and path filters see both names.
 */
async function diffChanges(repo: RepoInfo, revs: string[]): Promise<Changes> {
  // Run at the toplevel: paths are then relative to it whatever diff.relative says.
  const out = await git(repo.root, ["diff", "--name-status", "--no-renames", "-z", ...revs]);
  return parseNameStatus(repo, out.split("\0"));
}

/** `--name-status -z` output, split at NULs: status, path, status, path… */
function parseNameStatus(repo: RepoInfo, tokens: string[]): Changes {
  const changes: Changes = { added: [], modified: [], removed: [], all: [] };
  const inside = repo.prefix ? `${repo.prefix}/` : "";
  const pairs = tokens.filter((t) => t !== "");
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const status = pairs[i] as string;
    const full = pairs[i + 1] as string;
    if (!full.startsWith(inside)) continue;
    const path = full.slice(inside.length);
    if (status.startsWith("A")) changes.added.push(path);
    else if (status.startsWith("D")) changes.removed.push(path);
    else changes.modified.push(path);
    changes.all.push(path);
  }
  return changes;
}

function repositoryPayload(repo: RepoInfo): Record<string, unknown> {
  return {
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    default_branch: repo.defaultBranch,
    owner: { login: repo.owner },
  };
}

function headCommitPayload(commit: CommitInfo, changes: Changes): Record<string, unknown> {
  return { ...commit, distinct: true, added: changes.added, modified: changes.modified, removed: changes.removed };
}

/** What a push from `before` (a commit, not zeros) to `sha` brought: GitHub's compare of the two. */
interface PushedRange {
  /** `before` resolved to its full sha. */
  before: string;
  /** `before` is not an ancestor of `sha`: history was rewritten. */
  forced: boolean;
  /** Between the two trees (two dots), whether forced or not. */
  changes: Changes;
  /** The commits of before..sha, oldest first, the newest MAX_PUSH_COMMITS of them; shaped like head_commit (empty for a tag). */
  commits: Array<Record<string, unknown>>;
}

async function pushedRange(repo: RepoInfo, before: string, sha: string, withCommits: boolean): Promise<PushedRange> {
  const beforeSha = await revParse(repo.root, before);
  if (!beforeSha) {
    throw new GitError(
      "bad-ref",
      `before '${before}' is not a commit in '${repo.root}'; pass the sha the ref pointed to before the push ` +
        `(fetch it into this repository first), or all zeros (${ZERO_SHA}) when the push created the ref`,
    );
  }
  const [ancestor, changes, commits] = await Promise.all([
    // Exit 0: an ancestor; 1 (a failure for tryGit): not one.
    tryGit(repo.root, ["merge-base", "--is-ancestor", beforeSha, sha]),
    diffChanges(repo, [`${beforeSha}..${sha}`]),
    withCommits ? readCommitsBetween(repo, beforeSha, sha) : Promise.resolve([]),
  ]);
  return { before: beforeSha, forced: ancestor === undefined, changes, commits };
}

/**
 * The commits in `to` but not in `from`, oldest first (at most the newest
 * MAX_PUSH_COMMITS), each with the files it changed against its first parent
 * (all its files for a root commit): one git process, and one more per merge.
 */
async function readCommitsBetween(repo: RepoInfo, from: string, to: string): Promise<Array<Record<string, unknown>>> {
  // -n before --reverse: the newest N, then listed oldest first. A merge gets
  // no name-status from git log (-m would show its diff against each parent,
  // and leave out an empty one; --diff-merges=first-parent needs git 2.31):
  // it is diffed against its first parent below. Each record starts with
  // \x01; its fields and name-status pairs are NUL-terminated.
  const out = await git(repo.root, [
    "log",
    `-n${MAX_PUSH_COMMITS}`,
    "--reverse",
    "--no-show-signature",
    "--no-color",
    "--format=%x01%P%x00%H%x00%T%x00%aI%x00%an%x00%ae%x00%cn%x00%ce%x00%B",
    "-z",
    "--name-status",
    "--no-renames",
    "--root",
    `${from}..${to}`,
    "--",
  ]);
  const tokens = out.split("\0");
  const commits: Array<Promise<Record<string, unknown>>> = [];
  let i = 0;
  while (i < tokens.length) {
    const first = tokens[i] as string;
    if (!first.startsWith("\x01")) {
      i++;
      continue;
    }
    const parents = first.slice(1).trim().split(" ").filter((p) => p !== "");
    // Then eight fields: id, tree, date, author name and email, committer name and email, message.
    const fields = tokens.slice(i + 1, i + 9);
    i += 9;
    const status: string[] = [];
    while (i + 1 < tokens.length && /^\n?[ACDMRTUXB]\d*$/.test(tokens[i] as string)) {
      status.push((tokens[i] as string).replace(/^\n/, ""), tokens[i + 1] as string);
      i += 2;
    }
    const commit = parseCommit(fields.join("\0"), fields[0] ?? "");
    const [firstParent] = parents;
    const changes = parents.length > 1 && firstParent ? diffChanges(repo, [firstParent, commit.id]) : Promise.resolve(parseNameStatus(repo, status));
    commits.push(changes.then((c) => headCommitPayload(commit, c)));
  }
  return Promise.all(commits);
}

/**
 * Builds the event for `opts.eventName` from the checkout described by
 * `repo`. Throws GitError. Its first git process starts before it returns,
 * so the caller can do other work (parse the workflows) while git runs.
 */
export async function buildEvent(repo: RepoInfo, opts: BuildEventOptions): Promise<EventInfo> {
  const common = { repository: repositoryPayload(repo), sender: { login: repo.owner } };
  if (opts.before !== undefined && opts.eventName !== "push") {
    throw new GitError("bad-input", `'before' (the commit a ref pointed to before a push) applies to push events only, not to '${opts.eventName}'`);
  }
  let event: EventInfo;
  switch (opts.eventName) {
    case "push":
      event = await pushEvent(repo, opts, common);
      break;
    case "pull_request":
    case "pull_request_target":
      event = await pullRequestEvent(repo, opts, common);
      break;
    case "schedule": {
      // Scheduled workflows run on the latest commit of the default branch
      // (HEAD if that branch does not exist here).
      const fallback = (await revParse(repo.root, `refs/heads/${repo.defaultBranch}`)) ? `refs/heads/${repo.defaultBranch}` : undefined;
      const r = await resolveRef(repo, opts.ref ?? fallback);
      event = { name: opts.eventName, ...r, payload: { ...(opts.schedule !== undefined ? { schedule: opts.schedule } : {}), ...common } };
      break;
    }
    case "workflow_dispatch": {
      const r = await resolveRef(repo, opts.ref);
      event = { name: opts.eventName, ...r, payload: { inputs: opts.inputs ?? {}, ref: r.ref, ...common } };
      break;
    }
    default: {
      // workflow_call and any other event: the ref and commit, no diff.
      const r = await resolveRef(repo, opts.ref);
      const payload: Record<string, unknown> = { ...common };
      if (opts.action !== undefined) payload.action = opts.action;
      if (opts.inputs !== undefined) payload.inputs = opts.inputs;
      event = { name: opts.eventName, ...r, payload };
    }
  }
  if (opts.payloadFile !== undefined) applyPayloadFile(event, opts.payloadFile);
  return event;
}

async function pushEvent(repo: RepoInfo, opts: BuildEventOptions, common: Record<string, unknown>): Promise<EventInfo> {
  // No await before git starts for HEAD (see buildEvent).
  const r = opts.ref === undefined ? headRef(repo, repo.sha) : await resolveRef(repo, opts.ref);
  const read = readCommitWithChanges(repo, r.sha);
  const isTag = r.refType === "tag";
  let pushed: PushedRange | undefined;
  if (opts.before !== undefined && !isZeroSha(opts.before)) {
    read.catch(() => undefined); // awaited below, unless `before` is bad
    // Tags keep `commits` empty, as on GitHub.
    pushed = await pushedRange(repo, opts.before, r.sha, !isTag);
  }
  const { commit, parent, changes: own } = await read;
  const headCommit = headCommitPayload(commit, own);
  // Without `before`, a branch push is taken to be the push of its last
  // commit, so `before` is that commit's parent (all zeros for a root commit:
  // the branch is new). A tag push creates the tag, so `before` is all zeros
  // and `commits` empty, as on GitHub; path filters do not apply to tags.
  // A `before` of all zeros says the push created the ref: the changes are
  // still those of the pushed commit.
  const before = pushed?.before ?? opts.before ?? (isTag ? ZERO_SHA : (parent ?? ZERO_SHA));
  const changes = pushed?.changes ?? own;
  return {
    name: "push",
    ...r,
    changedFiles: changes.all,
    payload: {
      ref: r.ref,
      before,
      after: r.sha,
      base_ref: null,
      created: isZeroSha(before),
      deleted: false,
      forced: pushed?.forced ?? false,
      commits: isTag ? [] : (pushed?.commits ?? [headCommit]),
      head_commit: headCommit,
      pusher: { name: commit.author.name, email: commit.author.email },
      ...common,
    },
  };
}

async function pullRequestEvent(repo: RepoInfo, opts: BuildEventOptions, common: Record<string, unknown>): Promise<EventInfo> {
  const base = (opts.base ?? repo.defaultBranch).replace(/^refs\/heads\//, "");
  const baseSha = (await revParse(repo.root, `refs/heads/${base}`)) ?? (await revParse(repo.root, base));
  if (!baseSha) {
    throw new GitError("bad-ref", `base branch '${base}' of the pull request does not exist in '${repo.root}'; pass an existing branch as the base`);
  }
  const head = await resolveRef(repo, opts.ref);
  const headRef = head.branch ?? head.refName;
  // Three dots: the changes on head since it forked from base (the merge
  // base), which is what GitHub's pull request diff shows.
  let changes: Changes;
  try {
    changes = await diffChanges(repo, [`${baseSha}...${head.sha}`]);
  } catch (err) {
    if (err instanceof GitError && /no merge base/i.test(err.stderr)) {
      throw new GitError("bad-ref", `'${headRef}' and the base branch '${base}' share no history (no merge base); pick another base`, err.args, err.stderr);
    }
    throw err;
  }
  const commit = await readCommit(repo.root, head.sha);
  const [title = "", ...rest] = commit.message.split("\n");
  const body = rest.join("\n").trim();
  // A local pull request has no number; it is always #1 (refs/pull/1/merge).
  const number = 1;
  const side = (ref: string, sha: string) => ({ ref, sha, label: `${repo.owner}:${ref}`, repo: common.repository });
  return {
    name: opts.eventName,
    ref: `refs/pull/${number}/merge`,
    refName: `${number}/merge`,
    refType: "branch",
    sha: head.sha,
    baseRef: base,
    headRef,
    changedFiles: changes.all,
    payload: {
      action: opts.action ?? "opened",
      number,
      pull_request: {
        number,
        state: "open",
        title,
        body: body === "" ? null : body,
        user: { login: repo.owner },
        head: side(headRef, head.sha),
        base: side(base, baseSha),
        draft: false,
        merged: false,
        changed_files: changes.all.length,
      },
      ...common,
    },
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Merges `over` into `base`: objects merge key by key, anything else (arrays too) replaces. */
function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const existing = out[k];
    out[k] = isPlainObject(existing) && isPlainObject(v) ? deepMerge(existing, v) : v;
  }
  return out;
}

/**
 * Merges a JSON payload file over the generated payload. Only `github.event`
 * changes, except that for pull requests the base and head branch names and
 * the number are read back, so that trigger filters see what the file says.
 */
function applyPayloadFile(event: EventInfo, file: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new GitError("bad-input", `cannot read the event payload file '${file}': ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new GitError("bad-input", `the event payload file '${file}' must hold a JSON object`);
  event.payload = deepMerge(event.payload, parsed);
  if (event.name === "pull_request" || event.name === "pull_request_target") {
    const pr = event.payload.pull_request;
    if (isPlainObject(pr)) {
      const baseRef = isPlainObject(pr.base) ? pr.base.ref : undefined;
      const headRef = isPlainObject(pr.head) ? pr.head.ref : undefined;
      if (typeof baseRef === "string") event.baseRef = baseRef;
      if (typeof headRef === "string") event.headRef = headRef;
    }
    const number = event.payload.number ?? (isPlainObject(pr) ? pr.number : undefined);
    if (typeof number === "number") {
      event.ref = `refs/pull/${number}/merge`;
      event.refName = `${number}/merge`;
    }
  }
}
