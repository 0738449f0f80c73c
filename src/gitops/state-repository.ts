// The state repository: desired state per environment and service, one
// commit per promotion or rollback. Commits are made with git plumbing on a
// bare repository and a temporary index, never a checkout; `main` moves by
// compare-and-swap, so two writers never lose each other's commit.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { Diagnostic } from "../diagnostics/index.js";
import { git, gitBytes, GitError, tryGit } from "../git/index.js";
import { formatCommitMessage, oneLine, parseCommitMessage, trailerValues, type Action } from "./commit-message.js";
import {
  parseDesiredState,
  parseStatePath,
  serializeDesiredState,
  statePath,
  StateRepositoryError,
  validateDesiredState,
  validateName,
  type DesiredState,
} from "./desired-state.js";

const MAIN = "refs/heads/main";
const ZERO = "0".repeat(40);
/** How often a writer re-reads main and retries when another writer moved it first. */
const CAS_ATTEMPTS = 8;

export interface Actor {
  name: string;
  /** Defaults to `<name>@slipway.local`. */
  email?: string;
}

export interface OpenStateRepositoryOptions {
  dataDir: string;
  /** Another repository (path or URL) to use instead of `<dataDir>/state.git`; a bare mirror of it is kept in the data directory. */
  url?: string;
  /** Create the default repository when it is missing (default true). */
  create?: boolean;
}

export interface DesiredEntry {
  env: string;
  service: string;
  /** The file in the state repository, e.g. `environments/prod/web.yaml`. */
  file: string;
  state: DesiredState;
}

export interface DesiredRead {
  /** The commit of main that was read; undefined while the repository has none. */
  commit: string | undefined;
  states: DesiredEntry[];
  /** Problems in the files (a file with an error has no entry in `states`). */
  diagnostics: Diagnostic[];
}

export interface CommitDesiredInput {
  env: string;
  service: string;
  state: DesiredState;
  action: Action;
  actor: Actor | string;
  reason: string;
  run?: number;
  approvals?: readonly string[];
}

export interface CommitResult {
  /** The new commit, or main's commit when nothing changed. */
  commit: string;
  /** False when main already held this state (no commit made). */
  created: boolean;
}

export interface HistoryEntry {
  commit: string;
  author: string;
  /** Author date, ISO 8601. */
  date: string;
  /** `manual`: a commit without a Slipway-Action trailer (made by hand), honoured like a promotion. */
  action: Action | "manual";
  env: string;
  service: string;
  /** The release the file names after the commit; null when the commit removed the file or the file is malformed. */
  release: string | null;
  digest: string | null;
  reason: string;
  run: number | null;
  approvals: string[];
}

/** Where the default state repository lives. */
export function defaultStateRepositoryPath(dataDir: string): string {
  return join(resolve(dataDir), "state.git");
}

/** A local path (absolute, relative or file://) is resolved; anything else is a URL for git. */
function normaliseUrl(url: string): string {
  if (url.trim() === "") throw new StateRepositoryError("bad-input", "the state repository URL is empty: give a path or a git URL, or leave it out for <data dir>/state.git");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/]+@[^/]+:/.test(url)) return url;
  return isAbsolute(url) ? url : resolve(url);
}

export async function openStateRepository(options: OpenStateRepositoryOptions): Promise<StateRepository> {
  const dataDir = resolve(options.dataDir);
  if (options.url === undefined) {
    const dir = defaultStateRepositoryPath(dataDir);
    if (!existsSync(join(dir, "HEAD"))) {
      if (options.create === false) return new StateRepository(dir, undefined, false);
      mkdirSync(dataDir, { recursive: true });
      await git(dataDir, ["init", "--quiet", "--bare", "--initial-branch=main", dir]);
    }
    return new StateRepository(dir, undefined, true);
  }
  const url = normaliseUrl(options.url);
  const dir = join(dataDir, "state-remotes", `${createHash("sha256").update(url).digest("hex").slice(0, 16)}.git`);
  if (!existsSync(join(dir, "HEAD"))) {
    mkdirSync(dir, { recursive: true });
    await git(dir, ["init", "--quiet", "--bare", "--initial-branch=main", "."]);
    await git(dir, ["--git-dir=.", "remote", "add", "origin", url]);
  }
  return new StateRepository(dir, url, true);
}

export class StateRepository {
  /** The bare repository read and written: the state repository itself, or the mirror of `url`. */
  readonly gitDir: string;
  readonly url: string | undefined;
  /** False when the default repository does not exist yet (opened with `create: false`). */
  readonly exists: boolean;

  constructor(gitDir: string, url: string | undefined, exists: boolean) {
    this.gitDir = gitDir;
    this.url = url;
    this.exists = exists;
  }

  /** The desired states at main (for one environment, or all). */
  async readDesired(env?: string): Promise<DesiredRead> {
    if (env !== undefined) validateName("env", env);
    if (!this.exists) return { commit: undefined, states: [], diagnostics: [] };
    await this.fetch();
    const head = await this.readMain();
    if (head === undefined) return { commit: undefined, states: [], diagnostics: [] };
    const prefix = env === undefined ? "environments/" : `environments/${env}/`;
    const listing = await this.git(["ls-tree", "-r", "-z", "--full-tree", head, "--", prefix]);
    const files: Array<{ path: string; blob: string; env: string; service: string }> = [];
    const diagnostics: Diagnostic[] = [];
    for (const entry of listing.split("\0")) {
      const tab = entry.indexOf("\t");
      if (tab < 0) continue;
      const [, type, blob] = entry.slice(0, tab).split(" ");
      const path = entry.slice(tab + 1);
      if (type !== "blob" || blob === undefined) continue;
      const names = parseStatePath(path);
      if (names) files.push({ path, blob, ...names });
      else if (/\.ya?ml$/.test(path)) {
        diagnostics.push({
          code: "state-path",
          severity: "warning",
          message: `not a desired-state file (ignored): the layout is environments/<env>/<service>.yaml with lower-case names`,
          file: path,
          line: 0,
          column: 0,
          fix: "rename it to environments/<env>/<service>.yaml (lower-case letters, digits and '-'), or remove it",
        });
      }
    }
    const contents = await this.readBlobs(files.map((f) => f.blob));
    const states: DesiredEntry[] = [];
    for (const f of files) {
      const parsed = parseDesiredState(contents.get(f.blob) ?? "", f.path, f.service);
      diagnostics.push(...parsed.diagnostics);
      if (parsed.state) states.push({ env: f.env, service: f.service, file: f.path, state: parsed.state });
    }
    return { commit: head, states, diagnostics };
  }

  /** Commits a service's desired state in an environment (a promotion or a rollback to an older release). */
  async commitDesired(input: CommitDesiredInput): Promise<CommitResult> {
    validateName("env", input.env);
    validateName("service", input.service);
    validateDesiredState(input.service, input.state);
    const actor = checkActor(input.actor);
    const reason = checkReason(input.reason);
    if (input.run !== undefined && (!Number.isInteger(input.run) || input.run < 1)) {
      throw new StateRepositoryError("bad-input", `invalid run '${input.run}' (run): give the number of the run, e.g. 12`);
    }
    if (input.action !== "promote" && input.action !== "rollback") {
      throw new StateRepositoryError("bad-input", `invalid action '${String(input.action)}' (action): use promote or rollback`);
    }
    const approvals = (input.approvals ?? []).map((a, i) => {
      const name = oneLine(a);
      if (name === "") throw new StateRepositoryError("bad-input", `approvals[${i}] is empty: give the name of the person who approved`);
      return name;
    });
    const { env, service, state } = input;
    const subject = input.action === "promote" ? `promote ${state.release} to ${env}` : `roll back ${service} in ${env} to ${state.release}`;
    const message = formatCommitMessage({
      subject,
      reason,
      trailers: [
        ["Slipway-Action", input.action],
        ...(input.run !== undefined ? [["Slipway-Run", String(input.run)] as const] : []),
        ...approvals.map((a) => ["Approved-By", a] as const),
        ["Slipway-Release", state.release],
        ["Slipway-Digest", state.digest],
      ],
    });
    const path = statePath(env, service);
    const content = serializeDesiredState(env, service, state);
    return this.commitOnMain(async (parent) => {
      const blob = (await this.git(["hash-object", "-w", "--stdin"], { input: content })).trim();
      return this.makeCommit(parent, [{ path, blob, mode: "100644" }], message, actor);
    });
  }

  /**
   * A new commit on main that restores the files `commit` changed to their
   * content before it (a file it added is removed). Refused when one of those
   * files changed again since: revert the later commit first.
   */
  async revertCommit(commit: string, actor: Actor | string, reason: string, options: { run?: number } = {}): Promise<CommitResult> {
    const who = checkActor(actor);
    const why = checkReason(reason);
    if (!/^[0-9a-f]{4,40}$/i.test(commit)) throw new StateRepositoryError("bad-input", `'${commit}' is not a commit id: give the commit's hex id, as \`slipway history\` shows it`);
    if (!this.exists) throw new StateRepositoryError("unknown-commit", `commit ${commit} is not in the state repository, which has no commits yet`);
    await this.fetch();
    const sha = (await this.tryGit(["rev-parse", "--verify", "--quiet", `${commit}^{commit}`]))?.trim();
    const head = await this.readMain();
    if (!sha || head === undefined || (await this.tryGit(["merge-base", "--is-ancestor", sha, head])) === undefined) {
      throw new StateRepositoryError("unknown-commit", `commit ${commit} is not on main of the state repository; \`slipway history\` lists the commits`);
    }
    const parent = (await this.tryGit(["rev-parse", "--verify", "--quiet", `${sha}^`]))?.trim();
    const raw = await this.git(["diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", ...(parent ? [parent, sha] : ["--root", sha])]);
    const changes = parseRawDiff(raw);
    if (changes.length === 0) throw new StateRepositoryError("bad-input", `commit ${sha.slice(0, 12)} changes no file: there is nothing to revert`);

    // The subject says what the state goes back to when the commit changed one desired-state file.
    const single = changes.length === 1 ? changes[0] : undefined;
    const names = single ? parseStatePath(single.path) : undefined;
    let restored: DesiredState | undefined;
    if (single && names && single.oldBlob !== ZERO) {
      restored = parseDesiredState((await this.readBlobs([single.oldBlob])).get(single.oldBlob) ?? "", single.path, names.service).state;
    }
    const subject =
      names && single
        ? single.oldBlob === ZERO
          ? `roll back ${names.service} in ${names.env}: remove its desired state`
          : `roll back ${names.service} in ${names.env} to ${restored?.release ?? "the previous state"}`
        : `revert ${sha.slice(0, 12)}`;
    const message = formatCommitMessage({
      subject,
      reason: why,
      trailers: [
        ["Slipway-Action", "rollback"],
        ...(options.run !== undefined ? [["Slipway-Run", String(options.run)] as const] : []),
        ["Slipway-Reverts", sha],
        ...(restored ? ([["Slipway-Release", restored.release], ["Slipway-Digest", restored.digest]] as const) : []),
      ],
    });
    return this.commitOnMain(async (main) => {
      if (main === undefined) throw new StateRepositoryError("unknown-commit", `main of the state repository is gone; nothing to revert`);
      const current = await this.blobsAt(
        main,
        changes.map((c) => c.path),
      );
      for (const c of changes) {
        const now = current.get(c.path) ?? ZERO;
        if (now !== c.newBlob) {
          throw new StateRepositoryError(
            "conflict",
            `${c.path} changed again after ${sha.slice(0, 12)}; revert the later commit first (\`slipway history\` lists them), or promote the release you want`,
          );
        }
      }
      return this.makeCommit(
        main,
        changes.map((c) => ({ path: c.path, blob: c.oldBlob === ZERO ? undefined : c.oldBlob, mode: c.oldMode })),
        message,
        who,
      );
    });
  }

  /** The audit trail, newest first: one entry per desired-state file each commit on main changed. */
  async history(env?: string): Promise<HistoryEntry[]> {
    if (env !== undefined) validateName("env", env);
    if (!this.exists) return [];
    await this.fetch();
    const head = await this.readMain();
    if (head === undefined) return [];
    const out = await this.git([
      "log",
      "--first-parent",
      "--diff-merges=first-parent",
      "--no-renames",
      "--no-abbrev",
      "-z",
      "--format=%x1e%H%x1f%an%x1f%aI%x1f%B%x1f",
      "--raw",
      head,
      "--",
      env === undefined ? "environments/" : `environments/${env}/`,
    ]);
    const commits: Array<{ commit: string; author: string; date: string; message: string; files: Array<{ path: string; blob: string; env: string; service: string }> }> = [];
    for (const chunk of out.split("\x1e")) {
      const fields = chunk.split("\x1f");
      if (fields.length < 5) continue;
      const [commit = "", author = "", date = "", message = ""] = fields;
      const files = parseRawDiff(fields.slice(4).join("\x1f"))
        .map((c) => ({ path: c.path, blob: c.newBlob, names: parseStatePath(c.path) }))
        .flatMap((c) => (c.names && (env === undefined || c.names.env === env) ? [{ path: c.path, blob: c.blob, ...c.names }] : []));
      commits.push({ commit, author, date, message, files });
    }
    const blobs = await this.readBlobs(commits.flatMap((c) => c.files.map((f) => f.blob)).filter((b) => b !== ZERO));
    const entries: HistoryEntry[] = [];
    for (const c of commits) {
      const parsed = parseCommitMessage(c.message);
      const declared = trailerValues(parsed, "Slipway-Action")[0];
      const action = declared === "promote" || declared === "rollback" ? declared : "manual";
      const runText = trailerValues(parsed, "Slipway-Run")[0];
      const run = runText !== undefined && /^[1-9][0-9]*$/.test(runText) ? Number(runText) : null;
      const reason = parsed.body === "" || action === "manual" ? [parsed.subject, parsed.body].filter((s) => s !== "").join("\n\n") : parsed.body;
      for (const f of c.files) {
        const state = f.blob === ZERO ? undefined : parseDesiredState(blobs.get(f.blob) ?? "", f.path, f.service).state;
        entries.push({
          commit: c.commit,
          author: c.author,
          date: c.date,
          action,
          env: f.env,
          service: f.service,
          release: state?.release ?? null,
          digest: state?.digest ?? null,
          reason,
          run,
          approvals: trailerValues(parsed, "Approved-By"),
        });
      }
    }
    return entries;
  }

  // --- plumbing ---------------------------------------------------------

  private git(args: string[], options?: { env?: Record<string, string>; input?: string }): Promise<string> {
    const all = [`--git-dir=${this.gitDir}`, ...args];
    return options ? git(this.gitDir, all, { ...options, env: { GIT_DIR: this.gitDir, ...options.env } }) : git(this.gitDir, all);
  }

  private tryGit(args: string[]): Promise<string | undefined> {
    return tryGit(this.gitDir, [`--git-dir=${this.gitDir}`, ...args]);
  }

  private async readMain(): Promise<string | undefined> {
    return (await this.tryGit(["rev-parse", "--verify", "--quiet", `${MAIN}^{commit}`]))?.trim() || undefined;
  }

  /** With a remote: make the mirror's main the remote's (a local commit that was never pushed is dropped). */
  private async fetch(): Promise<void> {
    if (this.url === undefined) return;
    await this.git(["fetch", "--quiet", "--prune", "--no-tags", "origin", "+refs/heads/*:refs/heads/*"]);
  }

  private async readBlobs(blobs: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(blobs)];
    const out = new Map<string, string>();
    if (unique.length === 0) return out;
    const bytes = await gitBytes(this.gitDir, [`--git-dir=${this.gitDir}`, "cat-file", "--batch"], { env: { GIT_DIR: this.gitDir }, input: unique.join("\n") + "\n" });
    let pos = 0;
    while (pos < bytes.length) {
      const eol = bytes.indexOf(0x0a, pos);
      if (eol < 0) break;
      const [sha = "", type, size] = bytes.subarray(pos, eol).toString("utf8").split(" ");
      pos = eol + 1;
      if (type === undefined || size === undefined) continue; // "<sha> missing"
      const n = Number(size);
      out.set(sha, bytes.subarray(pos, pos + n).toString("utf8"));
      pos += n + 1;
    }
    return out;
  }

  /** The blob at each path in `commit` (absent paths are missing from the map). */
  private async blobsAt(commit: string, paths: readonly string[]): Promise<Map<string, string>> {
    const listing = await this.git(["ls-tree", "-r", "-z", "--full-tree", commit, "--", ...paths]);
    const out = new Map<string, string>();
    for (const entry of listing.split("\0")) {
      const tab = entry.indexOf("\t");
      if (tab < 0) continue;
      const blob = entry.slice(0, tab).split(" ")[2];
      if (blob) out.set(entry.slice(tab + 1), blob);
    }
    return out;
  }

  /** A commit of `parent`'s tree with the given files set (blob) or removed (no blob); undefined when the tree does not change. */
  private async makeCommit(
    parent: string | undefined,
    changes: ReadonlyArray<{ path: string; blob: string | undefined; mode: string }>,
    message: string,
    actor: Required<Actor>,
  ): Promise<string | undefined> {
    const tmp = mkdtempSync(join(tmpdir(), "slipway-state-index-"));
    const env = { GIT_INDEX_FILE: join(tmp, "index") };
    try {
      if (parent !== undefined) await this.git(["read-tree", parent], { env });
      // Mode 0 removes the path (a bare repository has no work tree for --force-remove).
      const lines = changes.map((c) => (c.blob === undefined ? `0 ${ZERO}\t${c.path}` : `${c.mode} ${c.blob}\t${c.path}`));
      await this.git(["update-index", "--index-info"], { env, input: lines.join("\n") + "\n" });
      const tree = (await this.git(["write-tree"], { env })).trim();
      if (parent !== undefined && tree === (await this.git(["rev-parse", `${parent}^{tree}`])).trim()) return undefined;
      const person = { GIT_AUTHOR_NAME: actor.name, GIT_AUTHOR_EMAIL: actor.email, GIT_COMMITTER_NAME: actor.name, GIT_COMMITTER_EMAIL: actor.email };
      const args = ["commit-tree", tree, ...(parent !== undefined ? ["-p", parent] : []), "-F", "-"];
      return (await this.git(args, { env: person, input: message })).trim();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Moves main to the commit `make` builds on it, by compare-and-swap:
   * when another writer moved main first, re-reads it and builds again. With
   * a remote, pushes; a rejected push fetches and builds once more.
   */
  private async commitOnMain(make: (parent: string | undefined) => Promise<string | undefined>): Promise<CommitResult> {
    if (this.url === undefined) return updateMain(this.gitDir, make);
    await this.fetch();
    for (let attempt = 1; ; attempt++) {
      const result = await updateMain(this.gitDir, make);
      if (!result.created) return result;
      try {
        await this.git(["push", "--quiet", "origin", `${MAIN}:${MAIN}`]);
        return result;
      } catch (err) {
        const rejected = err instanceof GitError && /rejected|non-fast-forward|fetch first/i.test(`${err.stderr}\n${err.message}`);
        await this.fetch().catch(() => undefined);
        if (!rejected) throw err;
        if (attempt >= 2) {
          throw new StateRepositoryError("contention", `the state repository ${this.url} rejected the push twice (others are writing to it); try again`);
        }
      }
    }
  }
}

/**
 * Compare-and-swap of main in `gitDir`: reads main, lets `make` build a
 * commit on it, and moves main only if it still points where it was read.
 * Exported for the race test.
 */
export async function updateMain(gitDir: string, make: (parent: string | undefined) => Promise<string | undefined>, attempts = CAS_ATTEMPTS): Promise<CommitResult> {
  const dirArg = `--git-dir=${gitDir}`;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const parent = (await tryGit(gitDir, [dirArg, "rev-parse", "--verify", "--quiet", `${MAIN}^{commit}`]))?.trim() || undefined;
    const commit = await make(parent);
    if (commit === undefined) return { commit: parent ?? "", created: false };
    try {
      await git(gitDir, [dirArg, "update-ref", "-m", "slipway: commit desired state", MAIN, commit, parent ?? ZERO]);
      return { commit, created: true };
    } catch (err) {
      // Lost the race when main is no longer where it was read; any other failure is real.
      const now = (await tryGit(gitDir, [dirArg, "rev-parse", "--verify", "--quiet", `${MAIN}^{commit}`]))?.trim() || undefined;
      if (now === parent) throw err;
    }
  }
  throw new StateRepositoryError("contention", `main of the state repository ${gitDir} kept moving during ${attempts} attempts (many writers at once); try again`);
}

interface RawChange {
  path: string;
  oldMode: string;
  oldBlob: string;
  newBlob: string;
}

/** `git diff-tree -z` / `log --raw -z` output → changes (no renames: `--no-renames`). */
function parseRawDiff(raw: string): RawChange[] {
  const tokens = raw.split("\0").map((t) => t.replace(/^\n+/, ""));
  const out: RawChange[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? "";
    if (!t.startsWith(":")) continue;
    const [oldMode = "", , oldBlob = "", newBlob = ""] = t.slice(1).split(" ");
    const path = tokens[i + 1] ?? "";
    i++;
    out.push({ path, oldMode: oldMode === "000000" ? "100644" : oldMode, oldBlob, newBlob });
  }
  return out;
}

function checkActor(actor: Actor | string): Required<Actor> {
  const a = typeof actor === "string" ? { name: actor } : actor;
  const name = oneLine(a.name);
  if (name === "" || /[<>]/.test(name)) {
    throw new StateRepositoryError("bad-input", `invalid actor name '${a.name}' (actor): give the person's name or login, without '<' or '>'`);
  }
  const email = a.email ?? `${name.toLowerCase().replace(/[^a-z0-9._-]+/g, "-")}@slipway.local`;
  if (!/^[^\s<>@]+@[^\s<>@]+$/.test(email)) throw new StateRepositoryError("bad-input", `invalid actor email '${email}' (actor.email): give an address such as alice@example.com`);
  return { name, email };
}

function checkReason(reason: string): string {
  const r = reason.trim();
  if (r === "") throw new StateRepositoryError("bad-input", "the reason is empty (reason): say why, e.g. 'canary analysis passed' or 'error rate 4% > 1%'");
  return r;
}
