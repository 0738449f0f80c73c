// Hosted repositories: bare Git repositories under `<dataDir>/repos/OWNER/NAME.git`,
// served over Git's smart HTTP protocol by Git's own `git http-backend` (CGI).
// Slipway authenticates the request first (read: viewer, push: developer),
// then hands it to http-backend. A push is seen by comparing the refs before
// and after receive-pack (pushes to one repository are taken one at a time),
// which gives every updated ref's old and new commit. A mirror of an
// external repository is a hosted repository too, fetched from its remote
// (on a webhook or by polling) and read-only over HTTP.
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { git } from "./git.js";

/** `owner/name`: letters, digits, `.`, `_`, `-`; no leading dot; as on GitHub. */
export const REPOSITORY_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

export interface RefUpdate {
  ref: string;
  /** All zeros when the ref was created. */
  before: string;
  /** All zeros when the ref was deleted. */
  after: string;
}

export interface RepositoryInfo {
  name: string;
  defaultBranch: string;
}

const ZERO = "0".repeat(40);

export class HostedRepositories {
  private readonly pushing = new Map<string, Promise<unknown>>();

  constructor(readonly root: string) {}

  /** The bare repository's path; the name must be valid (see REPOSITORY_NAME). */
  path(name: string): string {
    return join(this.root, `${name}.git`);
  }

  exists(name: string): boolean {
    return REPOSITORY_NAME.test(name) && !name.endsWith(".git") && existsSync(join(this.path(name), "HEAD"));
  }

  list(): string[] {
    if (!existsSync(this.root)) return [];
    const out: string[] = [];
    for (const owner of readdirSync(this.root, { withFileTypes: true })) {
      if (!owner.isDirectory()) continue;
      for (const repo of readdirSync(join(this.root, owner.name), { withFileTypes: true })) {
        if (repo.isDirectory() && repo.name.endsWith(".git")) out.push(`${owner.name}/${repo.name.slice(0, -4)}`);
      }
    }
    return out.sort();
  }

  async create(name: string, defaultBranch = "main"): Promise<RepositoryInfo> {
    const dir = this.path(name);
    mkdirSync(dir, { recursive: true });
    await git(dir, ["init", "--quiet", "--bare", `--initial-branch=${defaultBranch}`]);
    // Pushes over HTTP are allowed for authenticated users (Slipway checks the role first).
    await git(dir, ["config", "http.receivepack", "true"]);
    if (this.hook) this.writeHook(name, this.hook(name));
    return { name, defaultBranch };
  }

  /**
   * A mirror of an external repository (GitHub, Gitea, GitLab, any Git URL):
   * fetched on its webhooks or by polling, read-only over HTTP.
   */
  async createMirror(name: string, remote: string): Promise<RepositoryInfo> {
    const dir = this.path(name);
    mkdirSync(dir, { recursive: true });
    await git(dir, ["init", "--quiet", "--bare"]);
    await git(dir, ["remote", "add", "origin", remote]);
    await git(dir, ["config", "--replace-all", "remote.origin.fetch", "+refs/heads/*:refs/heads/*"]);
    await git(dir, ["config", "--add", "remote.origin.fetch", "+refs/tags/*:refs/tags/*"]);
    await git(dir, ["config", "slipway.mirror", "true"]);
    await this.fetch(name);
    // The remote's default branch becomes HEAD.
    const head = await git(dir, ["ls-remote", "--symref", "origin", "HEAD"]).catch(() => "");
    const branch = /^ref: refs\/heads\/(\S+)\s+HEAD/m.exec(head)?.[1];
    if (branch) await git(dir, ["symbolic-ref", "HEAD", `refs/heads/${branch}`]);
    return { name, defaultBranch: branch ?? (await this.defaultBranch(name)) };
  }

  async isMirror(name: string): Promise<boolean> {
    return (await git(this.path(name), ["config", "--get", "slipway.mirror"]).catch(() => "")).trim() === "true";
  }

  async remote(name: string): Promise<string | undefined> {
    return (await git(this.path(name), ["config", "--get", "remote.origin.url"]).catch(() => "")).trim() || undefined;
  }

  /**
   * Fetches a mirror from its remote (branches and tags, pruned, plus
   * `extra` refspecs such as a pull request's head) and gives the branches
   * and tags that changed. Fetches of one mirror are taken one at a time.
   */
  async fetch(name: string, extra: string[] = []): Promise<RefUpdate[]> {
    return this.oneAtATime(name, async () => {
      const before = await this.refs(name);
      await git(this.path(name), ["fetch", "--quiet", "--prune", "origin", "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", ...extra]);
      return diffRefs(before, await this.refs(name));
    });
  }

  /**
   * `hook(name)` gives the command the repository's pre-receive hook runs
   * (argv); it is written into every repository now and into new ones.
   */
  installHooks(hook: (name: string) => string[]): void {
    this.hook = hook;
    for (const name of this.list()) this.writeHook(name, hook(name));
  }

  private hook: ((name: string) => string[]) | undefined;

  private writeHook(name: string, argv: string[]): void {
    const file = join(this.path(name), "hooks", "pre-receive");
    mkdirSync(join(this.path(name), "hooks"), { recursive: true });
    const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    writeFileSync(file, `#!/bin/sh\n# Written by slipway server: enforces this repository's protected branches.\nexec ${quoted}\n`);
    chmodSync(file, 0o755);
  }

  async defaultBranch(name: string): Promise<string> {
    const head = await git(this.path(name), ["symbolic-ref", "--short", "HEAD"]);
    return head.trim();
  }

  /** ref → commit, for branches and tags. */
  async refs(name: string): Promise<Map<string, string>> {
    const out = await git(this.path(name), ["for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags"]);
    const refs = new Map<string, string>();
    for (const line of out.split("\n")) {
      const [ref, sha] = line.trim().split(" ");
      if (ref && sha) refs.set(ref, sha);
    }
    return refs;
  }

  /** The commit a branch, tag or sha names, or undefined. */
  async resolve(name: string, ref: string): Promise<string | undefined> {
    if (ref.startsWith("-")) return undefined;
    try {
      return (await git(this.path(name), ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Serves one smart-HTTP request (PATH_INFO after `/git`) with git http-backend.
   * For a push, resolves with the refs it changed once the push is complete.
   */
  async serve(req: IncomingMessage, res: ServerResponse, repo: string, pathInfo: string, query: string, user: string): Promise<RefUpdate[]> {
    const isPush = pathInfo.endsWith("/git-receive-pack");
    if (!isPush) {
      await this.cgi(req, res, pathInfo, query, user);
      return [];
    }
    // One push at a time per repository, so the before/after comparison is this push's.
    return this.oneAtATime(repo, async () => {
      const before = await this.refs(repo);
      await this.cgi(req, res, pathInfo, query, user);
      return diffRefs(before, await this.refs(repo));
    });
  }

  private async oneAtATime<T>(repo: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.pushing.get(repo) ?? Promise.resolve();
    const mine = previous.then(fn);
    const settled = mine.catch(() => undefined);
    this.pushing.set(repo, settled);
    try {
      return await mine;
    } finally {
      if (this.pushing.get(repo) === settled) this.pushing.delete(repo);
    }
  }

  private cgi(req: IncomingMessage, res: ServerResponse, pathInfo: string, query: string, user: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        GIT_PROJECT_ROOT: this.root,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: pathInfo,
        QUERY_STRING: query,
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        REMOTE_USER: user,
        REMOTE_ADDR: req.socket.remoteAddress ?? "",
        GIT_HTTP_MAX_REQUEST_BUFFER: "100M",
      };
      if (req.headers["content-length"]) env.CONTENT_LENGTH = req.headers["content-length"];
      if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = req.headers["content-encoding"];
      if (req.headers["git-protocol"]) env.GIT_PROTOCOL = String(req.headers["git-protocol"]);
      const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
      let head = Buffer.alloc(0);
      let headerDone = false;
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.stdout.on("data", (chunk: Buffer) => {
        if (headerDone) {
          res.write(chunk);
          return;
        }
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        headerDone = true;
        let status = 200;
        for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
          const i = line.indexOf(":");
          if (i <= 0) continue;
          const key = line.slice(0, i).trim();
          const value = line.slice(i + 1).trim();
          if (key.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
          else res.setHeader(key, value);
        }
        res.statusCode = status;
        const rest = head.subarray(end + 4);
        if (rest.length > 0) res.write(rest);
      });
      child.on("error", reject);
      child.on("close", (code) => {
        if (!headerDone) {
          res.statusCode = 500;
          res.setHeader("content-type", "text/plain");
          res.end(`git http-backend failed (exit ${code}): ${stderr.trim()}\n`);
        } else res.end();
        resolve();
      });
      req.pipe(child.stdin);
      child.stdin.on("error", () => undefined);
    });
  }
}

export function diffRefs(before: Map<string, string>, after: Map<string, string>): RefUpdate[] {
  const updates: RefUpdate[] = [];
  for (const [ref, sha] of after) {
    const old = before.get(ref) ?? ZERO;
    if (old !== sha) updates.push({ ref, before: old, after: sha });
  }
  for (const [ref, sha] of before) if (!after.has(ref)) updates.push({ ref, before: sha, after: ZERO });
  return updates.sort((a, b) => a.ref.localeCompare(b.ref));
}
