// Offline actions/checkout: makes a real Git working copy of the local
// repository in the workspace, the way actions/checkout does from GitHub.
//
// For the workflow repository (ctx.repo.root), the commit is the event's
// (ctx.repo.sha) unless `ref` names another branch, tag or commit. The target
// is `git init`ed, `origin` is set to the source repository's path, the
// commit is fetched from that path with `--depth=<fetch-depth>` and checked
// out with `--force`, as actions/checkout does: on a branch `B` (with
// `origin/B` at the commit) when the ref is a branch, detached otherwise.
// `fetch-depth: 0` fetches all branches and tags too.
//
// When the workflow repository is the subdirectory `ctx.repo.prefix` of a
// bigger Git repository, only that subtree is checked out: the objects of
// the tree `<sha>:<prefix>` (nothing else) are copied with
// `git pack-objects | git index-pack`, and the target gets one commit whose
// tree is exactly that subtree, with the source commit's author, committer
// and message (plus `Slipway-Source-Commit` / `Slipway-Subtree` trailers), so
// `git status`, `git diff`, `git log -1` and tools that need a repository
// work. That commit's id differs from the event's sha; the `commit` output
// and GITHUB_SHA still give the event's sha. There is no history, so
// `fetch-depth` and `fetch-tags` do not apply.
//
// `repository` may name the workflow repository (`owner/name`, the
// default) or the path of another local Git repository; a remote
// repository cannot be checked out offline.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { ActionError, type BuiltinAction, type BuiltinContext } from "./builtin-action.js";

const KNOWN_INPUTS = new Set([
  "repository",
  "ref",
  "token",
  "ssh-key",
  "ssh-known-hosts",
  "ssh-strict",
  "ssh-user",
  "persist-credentials",
  "path",
  "clean",
  "filter",
  "sparse-checkout",
  "sparse-checkout-cone-mode",
  "fetch-depth",
  "fetch-tags",
  "show-progress",
  "lfs",
  "submodules",
  "set-safe-directory",
  "github-server-url",
]);

interface CheckoutSettings {
  repository: string;
  ref: string;
  path: string;
  clean: boolean;
  fetchDepth: number;
  fetchTags: boolean;
  sparseCheckout: string[];
  sparseCheckoutConeMode: boolean;
  filter: string;
}

/** What to check out: `ref` is a full ref (refs/heads/B, refs/tags/T, ...) or "" for a detached commit. */
interface Wanted {
  ref: string;
  sha: string;
  /** The `ref` output: as actions/checkout, the ref input as written, or github.ref by default ("" for a commit). */
  refOutput: string;
}

interface Source {
  /** Absolute path of the source repository (working tree or bare). */
  dir: string;
  /** The workflow repository (ctx.repo.root) rather than another local repository. */
  isWorkflowRepo: boolean;
}

/** Variables that would make git act on another repository than the one named by -C. */
const LOCAL_REPO_ENV = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_OBJECT_DIRECTORY",
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_COMMON_DIR",
  "GIT_NAMESPACE",
  "GIT_PREFIX",
  "GIT_CONFIG",
  "GIT_CONFIG_PARAMETERS",
  "GIT_CONFIG_COUNT",
  "GIT_GRAFT_FILE",
  "GIT_IMPLICIT_WORK_TREE",
  "GIT_NO_REPLACE_OBJECTS",
  "GIT_REPLACE_REF_BASE",
  "GIT_SHALLOW_FILE",
  "GIT_QUARANTINE_PATH",
];

function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of LOCAL_REPO_ENV) delete env[k];
  return {
    ...env,
    LC_ALL: "C",
    LANG: "C",
    GIT_TERMINAL_PROMPT: "0",
    // As actions/checkout with `lfs: false`: LFS pointers stay pointers.
    GIT_LFS_SKIP_SMUDGE: "1",
    ...extra,
  };
}

interface GitOptions {
  input?: string;
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** Pipe stdout into this git process (its stdout is then returned). */
  pipeTo?: { cwd: string; args: string[] };
}

/** Runs git (no shell) and returns stdout; rejects with the command and its stderr. */
function runGit(cwd: string, args: string[], options: GitOptions = {}): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const env = gitEnv(options.env);
    const spawnOpts = { cwd, env, ...(options.signal ? { signal: options.signal } : {}) };
    const first = spawn("git", args, { ...spawnOpts, stdio: ["pipe", "pipe", "pipe"] });
    const second = options.pipeTo
      ? spawn("git", options.pipeTo.args, { ...spawnOpts, cwd: options.pipeTo.cwd, stdio: ["pipe", "pipe", "pipe"] })
      : undefined;
    const out: Buffer[] = [];
    const errs: string[] = [];
    let pending = second ? 2 : 1;
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      first.kill();
      second?.kill();
      reject(err);
    };
    const describe = (a: string[]) => `git ${a.join(" ")}`;
    const onClose = (a: string[], dir: string) => (code: number | null, signal: NodeJS.Signals | null) => {
      if (code !== 0) {
        const stderr = errs.join("").trim();
        fail(new Error(`${describe(a)} failed in '${dir}' (${code !== null ? `exit code ${code}` : `signal ${signal}`})${stderr ? `: ${stderr}` : ""}`));
        return;
      }
      if (--pending === 0 && !failed) resolvePromise(Buffer.concat(out));
    };
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") fail(new ActionError("git is not installed or not on PATH; actions/checkout needs git"));
      else fail(err);
    };
    first.on("error", onError);
    first.stderr.on("data", (d: Buffer) => errs.push(d.toString()));
    first.on("close", onClose(args, cwd));
    if (second && options.pipeTo) {
      second.on("error", onError);
      second.stderr.on("data", (d: Buffer) => errs.push(d.toString()));
      second.stdout.on("data", (d: Buffer) => out.push(d));
      second.on("close", onClose(options.pipeTo.args, options.pipeTo.cwd));
      first.stdout.pipe(second.stdin);
      second.stdin.on("error", () => {});
    } else {
      first.stdout.on("data", (d: Buffer) => out.push(d));
    }
    first.stdin.on("error", () => {});
    first.stdin.end(options.input ?? "");
  });
}

async function tryRunGit(cwd: string, args: string[], options: GitOptions = {}): Promise<Buffer | undefined> {
  try {
    return await runGit(cwd, args, options);
  } catch (err) {
    if (options.signal?.aborted) throw err;
    return undefined;
  }
}

function booleanInput(ctx: BuiltinContext, name: string, fallback: boolean): boolean {
  const raw = (ctx.inputs[name] ?? "").trim();
  if (raw === "") return fallback;
  if (["true", "True", "TRUE"].includes(raw)) return true;
  if (["false", "False", "FALSE"].includes(raw)) return false;
  throw new ActionError(`actions/checkout: input '${name}' must be true or false, got '${raw}'`);
}

function readSettings(ctx: BuiltinContext): CheckoutSettings {
  const input = (name: string) => (ctx.inputs[name] ?? "").trim();
  const depthText = input("fetch-depth") || "1";
  if (!/^\d+$/.test(depthText)) {
    throw new ActionError(`actions/checkout: fetch-depth must be a whole number (0 for all history), got '${depthText}'`);
  }
  const submodules = input("submodules").toLowerCase();
  if (submodules !== "" && submodules !== "false") {
    throw new ActionError(
      `actions/checkout: submodules '${input("submodules")}' is not supported offline; ` +
        "remove the input and update submodules from local copies in a run step (git submodule update --init with a local url)",
    );
  }
  if (booleanInput(ctx, "lfs", false)) {
    throw new ActionError("actions/checkout: lfs: true is not supported offline; remove it or fetch LFS objects in a run step (git lfs pull)");
  }
  return {
    repository: input("repository"),
    ref: input("ref"),
    path: input("path"),
    clean: booleanInput(ctx, "clean", true),
    fetchDepth: Number(depthText),
    fetchTags: booleanInput(ctx, "fetch-tags", false),
    sparseCheckout: (ctx.inputs["sparse-checkout"] ?? "")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== ""),
    sparseCheckoutConeMode: booleanInput(ctx, "sparse-checkout-cone-mode", true),
    filter: input("filter"),
  };
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** Resolves `path` inside the workspace, refusing anything (including through symlinks) outside it. */
export function resolveCheckoutPath(workspace: string, path: string): string {
  const root = resolve(workspace);
  const target = resolve(root, path);
  const outside = () =>
    new ActionError(
      `actions/checkout: path '${path}' resolves to '${target}', which is not under the workspace '${root}'; ` +
        "use a path relative to the workspace that stays inside it",
    );
  if (!isInside(root, target)) throw outside();
  // Follow symbolic links: the nearest existing ancestor must stay inside the workspace.
  let existing = target;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const realRoot = existsSync(root) ? realpathSync(root) : root;
  if (existsSync(existing) && !isInside(realRoot, realpathSync(existing))) throw outside();
  return target;
}

function resolveSource(ctx: BuiltinContext, repository: string): Source {
  const current = ctx.env.GITHUB_REPOSITORY ?? "";
  if (repository === "" || (current !== "" && repository.toLowerCase() === current.toLowerCase())) {
    return { dir: ctx.repo.root, isWorkflowRepo: true };
  }
  const looksLikePath = isAbsolute(repository) || repository.startsWith("./") || repository.startsWith("../") || repository.startsWith("~/");
  const dir = repository.startsWith("~/") ? join(homedir(), repository.slice(2)) : resolve(ctx.workspace, repository);
  if (looksLikePath || (!/^[\w.-]+\/[\w.-]+$/.test(repository) && existsSync(dir))) {
    if (!existsSync(dir)) throw new ActionError(`actions/checkout: repository '${repository}' is a path, but '${dir}' does not exist`);
    if (!existsSync(join(dir, ".git")) && !existsSync(join(dir, "HEAD"))) {
      throw new ActionError(`actions/checkout: repository '${repository}' is a path, but '${dir}' is not a Git repository`);
    }
    if (resolve(dir) === resolve(ctx.repo.root)) return { dir: ctx.repo.root, isWorkflowRepo: true };
    return { dir, isWorkflowRepo: false };
  }
  throw new ActionError(
    `actions/checkout: repository '${repository}' cannot be checked out offline: Slipway only checks out the local repository` +
      `${current ? ` (${current})` : ""}. To check out another repository, clone it on this machine and give its path, ` +
      "e.g. `repository: /srv/git/other-repo` (an absolute path, or one relative to the workspace starting with ./).",
  );
}

/** Runs `git cat-file --batch-check` on `specs`; undefined for the ones that do not resolve. */
async function resolveObjects(dir: string, specs: string[], signal: AbortSignal): Promise<Array<{ oid: string; type: string } | undefined>> {
  const out = (await runGit(dir, ["cat-file", "--batch-check=%(objectname) %(objecttype)"], { input: specs.map((s) => `${s}\n`).join(""), signal }))
    .toString("utf8")
    .split("\n");
  return specs.map((_, i) => {
    const m = /^([0-9a-f]{40,64}) (\w+)$/.exec(out[i] ?? "");
    return m ? { oid: m[1] ?? "", type: m[2] ?? "" } : undefined;
  });
}

async function resolveWanted(ctx: BuiltinContext, source: Source, refInput: string): Promise<Wanted> {
  if (source.isWorkflowRepo && refInput === "") {
    return { ref: ctx.repo.ref, sha: ctx.repo.sha, refOutput: ctx.repo.ref };
  }
  let ref = refInput;
  if (ref === "") {
    // Another local repository without `ref`: its current HEAD (its default branch, as on GitHub).
    const head = (await tryRunGit(source.dir, ["symbolic-ref", "-q", "HEAD"], { signal: ctx.signal }))?.toString("utf8").trim();
    ref = head || "HEAD";
  }
  if (/^[0-9a-fA-F]{40}$/.test(ref) || /^[0-9a-fA-F]{64}$/.test(ref)) {
    const [obj] = await resolveObjects(source.dir, [`${ref}^{commit}`], ctx.signal);
    if (!obj) throw new ActionError(`actions/checkout: commit '${ref}' was not found in the repository at '${source.dir}'`);
    return { ref: "", sha: obj.oid, refOutput: "" };
  }
  if (ref.startsWith("refs/")) {
    const [obj] = await resolveObjects(source.dir, [`${ref}^{commit}`], ctx.signal);
    if (!obj) throw new ActionError(`actions/checkout: ref '${ref}' was not found in the repository at '${source.dir}'`);
    return { ref, sha: obj.oid, refOutput: refInput === "" ? ref : refInput };
  }
  const [branch, tag, other] = await resolveObjects(source.dir, [`refs/heads/${ref}^{commit}`, `refs/tags/${ref}^{commit}`, `${ref}^{commit}`], ctx.signal);
  if (branch) return { ref: `refs/heads/${ref}`, sha: branch.oid, refOutput: refInput };
  if (tag) return { ref: `refs/tags/${ref}`, sha: tag.oid, refOutput: refInput };
  if (other) return { ref: "", sha: other.oid, refOutput: refInput };
  throw new ActionError(`actions/checkout: a branch, tag or commit named '${ref}' could not be found in the repository at '${source.dir}'`);
}

function removeContents(dir: string): void {
  for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
}

/**
 * Makes `target` a Git repository whose `origin` is `sourceDir`, reusing an
 * existing one (cleaned when `clean`) when its origin already is that
 * repository, and emptying the directory otherwise. Returns whether the
 * remote still has to be configured.
 */
async function prepareTarget(ctx: BuiltinContext, target: string, sourceDir: string, clean: boolean): Promise<{ needsRemote: boolean }> {
  const gitDir = join(target, ".git");
  if (existsSync(gitDir)) {
    for (const lock of ["index.lock", "shallow.lock"]) rmSync(join(gitDir, lock), { force: true });
    const url = (await tryRunGit(target, ["config", "--get", "remote.origin.url"], { signal: ctx.signal }))?.toString("utf8").trim();
    let reusable = url !== undefined && resolve(target, url) === resolve(sourceDir);
    if (reusable && clean) {
      const cleaned = await tryRunGit(target, ["clean", "-ffdxq"], { signal: ctx.signal });
      if (cleaned === undefined) reusable = false;
      // Fails harmlessly when HEAD is unborn; checkout --force then sets the files anyway.
      else await tryRunGit(target, ["reset", "--hard", "-q", "HEAD"], { signal: ctx.signal });
    }
    if (reusable) {
      if (existsSync(join(gitDir, "info", "sparse-checkout"))) await tryRunGit(target, ["sparse-checkout", "disable"], { signal: ctx.signal });
      return { needsRemote: false };
    }
    ctx.log(`Deleting the contents of '${target}'`);
    removeContents(target);
  } else if (existsSync(target)) {
    if (readdirSync(target).length > 0) {
      ctx.log(`Deleting the contents of '${target}'`);
      removeContents(target);
    }
  } else {
    mkdirSync(target, { recursive: true });
  }
  await runGit(target, ["-c", "init.defaultBranch=main", "init", "-q"], { signal: ctx.signal });
  return { needsRemote: true };
}

async function setSparseCheckout(ctx: BuiltinContext, target: string, settings: CheckoutSettings): Promise<void> {
  if (settings.sparseCheckout.length === 0) return;
  if (settings.sparseCheckoutConeMode) {
    await runGit(target, ["sparse-checkout", "set", "--cone", "--", ...settings.sparseCheckout], { signal: ctx.signal });
  } else {
    await runGit(target, ["config", "core.sparseCheckout", "true"], { signal: ctx.signal });
    mkdirSync(join(target, ".git", "info"), { recursive: true });
    writeFileSync(join(target, ".git", "info", "sparse-checkout"), `${settings.sparseCheckout.join("\n")}\n`);
  }
}

/** Refspecs as actions/checkout builds them, for a commit known in advance. */
function refspecsFor(wanted: Wanted, fetchDepth: number): string[] {
  const { ref, sha } = wanted;
  let target: string | undefined;
  let exclude: string | undefined;
  if (ref.startsWith("refs/heads/")) {
    target = `refs/remotes/origin/${ref.slice("refs/heads/".length)}`;
    exclude = ref;
  } else if (ref.startsWith("refs/pull/")) {
    target = `refs/remotes/pull/${ref.slice("refs/pull/".length)}`;
  } else if (ref.startsWith("refs/tags/")) {
    // With all tags fetched, the tag keeps its own (possibly annotated) object.
    target = fetchDepth === 0 ? undefined : ref;
  }
  const specific = target ? `+${sha}:${target}` : sha;
  if (fetchDepth > 0) return [specific];
  return ["+refs/heads/*:refs/remotes/origin/*", ...(exclude ? [`^${exclude}`] : []), "+refs/tags/*:refs/tags/*", specific];
}

async function checkoutCommit(ctx: BuiltinContext, target: string, wanted: Wanted, commit: string): Promise<void> {
  const base = ["-c", "advice.detachedHead=false", "checkout", "-q", "--force"];
  if (wanted.ref.startsWith("refs/heads/")) {
    const branch = wanted.ref.slice("refs/heads/".length);
    await runGit(target, [...base, "-B", branch, commit], { signal: ctx.signal });
  } else {
    await runGit(target, [...base, "--detach", commit], { signal: ctx.signal });
  }
}

async function checkoutRepository(ctx: BuiltinContext, target: string, source: Source, wanted: Wanted, settings: CheckoutSettings): Promise<void> {
  const { needsRemote } = await prepareTarget(ctx, target, source.dir, settings.clean);
  // Needs git >= 2.29 (negative refspecs, --no-auto-maintenance, --no-write-fetch-head). The last three options
  // only skip work a fresh working copy does not need (a maintenance process, FETCH_HEAD, the forced-update scan).
  const fetchArgs = [
    "-c",
    "protocol.version=2",
    "fetch",
    "-q",
    "--prune",
    "--no-recurse-submodules",
    "--no-auto-maintenance",
    "--no-write-fetch-head",
    "--no-show-forced-updates",
  ];
  if (settings.fetchDepth > 0) {
    fetchArgs.push(`--depth=${settings.fetchDepth}`);
    if (!settings.fetchTags) fetchArgs.push("--no-tags");
  } else if (existsSync(join(target, ".git", "shallow"))) {
    fetchArgs.push("--unshallow");
  }
  // The source path is given directly so the fetch need not wait for `remote add`.
  fetchArgs.push(source.dir, ...refspecsFor(wanted, settings.fetchDepth));
  await Promise.all([
    needsRemote ? runGit(target, ["remote", "add", "origin", source.dir], { signal: ctx.signal }) : Promise.resolve(Buffer.alloc(0)),
    runGit(target, fetchArgs, { signal: ctx.signal }),
  ]);
  await setSparseCheckout(ctx, target, settings);
  const startPoint = wanted.ref.startsWith("refs/heads/") ? `refs/remotes/origin/${wanted.ref.slice("refs/heads/".length)}` : wanted.sha;
  await checkoutCommit(ctx, target, wanted, startPoint);
}

interface CommitInfo {
  author: { name: string; email: string; date: string };
  committer: { name: string; email: string; date: string };
  message: string;
}

function parseCommitObject(text: string): CommitInfo {
  const headerEnd = text.indexOf("\n\n");
  const headers = (headerEnd >= 0 ? text.slice(0, headerEnd) : text).split("\n");
  const message = headerEnd >= 0 ? text.slice(headerEnd + 2) : "";
  const person = (key: string) => {
    const line = headers.find((h) => h.startsWith(`${key} `)) ?? "";
    const m = /^\w+ (.*) <([^>]*)> (\d+ [+-]\d{4})$/.exec(line);
    return m ? { name: m[1] ?? "", email: m[2] ?? "", date: m[3] ?? "" } : { name: "Slipway", email: "slipway@localhost", date: "" };
  };
  return { author: person("author"), committer: person("committer"), message };
}

/** Checks out the subtree `<sha>:<prefix>` as a one-commit repository (see the file comment). */
async function checkoutSubtree(ctx: BuiltinContext, target: string, source: Source, prefix: string, wanted: Wanted, settings: CheckoutSettings): Promise<void> {
  const [tree] = await resolveObjects(source.dir, [`${wanted.sha}:${prefix}`], ctx.signal);
  if (!tree || tree.type !== "tree") {
    throw new ActionError(`actions/checkout: '${prefix}' is not a directory in commit ${wanted.sha} of the repository at '${source.dir}'`);
  }
  if (settings.fetchDepth !== 1) ctx.log(`fetch-depth ${settings.fetchDepth} does not apply: '${prefix}' is checked out as a single commit without history`);
  if (settings.fetchTags) ctx.log(`fetch-tags does not apply: '${prefix}' is checked out as a single commit without tags`);
  const [{ needsRemote }, commitText] = await Promise.all([
    prepareTarget(ctx, target, source.dir, settings.clean),
    runGit(source.dir, ["cat-file", "commit", wanted.sha], { signal: ctx.signal }),
  ]);
  const info = parseCommitObject(commitText.toString("utf8"));
  await Promise.all([
    needsRemote ? runGit(target, ["remote", "add", "origin", source.dir], { signal: ctx.signal }) : Promise.resolve(Buffer.alloc(0)),
    // Copies only the objects of the subtree.
    runGit(source.dir, ["pack-objects", "--revs", "--stdout", "-q"], {
      input: `${tree.oid}\n`,
      signal: ctx.signal,
      pipeTo: { cwd: target, args: ["index-pack", "--stdin"] },
    }),
  ]);
  const message = `${info.message.replace(/\n+$/, "")}\n\nSlipway-Source-Commit: ${wanted.sha}\nSlipway-Subtree: ${prefix}\n`;
  const commit = (
    await runGit(target, ["commit-tree", tree.oid, "-F", "-"], {
      input: message,
      signal: ctx.signal,
      env: {
        GIT_AUTHOR_NAME: info.author.name,
        GIT_AUTHOR_EMAIL: info.author.email,
        ...(info.author.date ? { GIT_AUTHOR_DATE: info.author.date } : {}),
        GIT_COMMITTER_NAME: info.committer.name,
        GIT_COMMITTER_EMAIL: info.committer.email,
        ...(info.committer.date ? { GIT_COMMITTER_DATE: info.committer.date } : {}),
      },
    })
  )
    .toString("utf8")
    .trim();
  await setSparseCheckout(ctx, target, settings);
  await checkoutCommit(ctx, target, wanted, commit);
}

async function main(ctx: BuiltinContext): Promise<void> {
  const unknown = Object.keys(ctx.inputs).filter((k) => !KNOWN_INPUTS.has(k));
  if (unknown.length > 0) {
    ctx.log(`##[warning]Unexpected input(s) ${unknown.map((k) => `'${k}'`).join(", ")}, valid inputs are ${[...KNOWN_INPUTS].map((k) => `'${k}'`).join(", ")}`);
  }
  const settings = readSettings(ctx);
  const target = resolveCheckoutPath(ctx.workspace, settings.path);
  const source = resolveSource(ctx, settings.repository);
  const sourceRoot = resolve(source.dir);
  if (isInside(target, sourceRoot) || (existsSync(target) && existsSync(sourceRoot) && isInside(realpathSync(target), realpathSync(sourceRoot)))) {
    throw new ActionError(
      `actions/checkout: refusing to check out into '${target}': it contains the source repository '${sourceRoot}'. ` +
        "Run with a workspace outside the repository, or set `path:` to a subdirectory.",
    );
  }
  if (settings.filter !== "") ctx.log(`filter '${settings.filter}' is ignored: a local fetch copies only the objects of the requested history anyway`);
  const wanted = await resolveWanted(ctx, source, settings.ref);
  const prefix = source.isWorkflowRepo ? ctx.repo.prefix.replace(/^\/+|\/+$/g, "") : "";
  ctx.log(
    `Checking out ${wanted.ref || "commit"} ${wanted.sha}${prefix ? ` (subdirectory '${prefix}')` : ""} from '${source.dir}' into '${target}'`,
  );
  if (prefix !== "") await checkoutSubtree(ctx, target, source, prefix, wanted, settings);
  else await checkoutRepository(ctx, target, source, wanted, settings);
  ctx.setOutput("ref", wanted.refOutput);
  ctx.setOutput("commit", wanted.sha);
}

export const checkoutAction: BuiltinAction = {
  name: "actions/checkout",
  main,
};
