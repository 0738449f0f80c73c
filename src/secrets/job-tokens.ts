// Job tokens: what GitHub's GITHUB_TOKEN is, for Slipway's own API and its
// hosted Git. Each job a `slipway server` runs gets one as `github.token` and
// `secrets.GITHUB_TOKEN`, scoped by the job's `permissions:` (its own, else
// the workflow's, else the restricted default `contents: read`) and bound to
// the job's repository. The server refuses it once the job has finished or
// its expiry passed, outside the repository, and beyond its permissions.
//
// The token is `slwj_` + the grant (job, run, repository, permissions,
// expiry) encrypted and authenticated with the data directory's master key:
// whoever holds the key — the `slipway run` the server started, which mints
// it, and the server, which checks it — can read it; nobody can change it.
// Nothing is stored: a job's token dies with the job.
import { evaluateToken, type Json } from "../expressions/index.js";
import type { JobSpec, Workflow } from "../workflow/index.js";
import { MasterKeyring } from "./master-keys.js";

export const JOB_TOKEN_PREFIX = "slwj_";
const AAD = "slipway job token";

/** GitHub's permission scopes (`permissions:` keys). `metadata: read` is always granted. */
export const PERMISSION_SCOPES = [
  "actions",
  "attestations",
  "checks",
  "contents",
  "deployments",
  "discussions",
  "id-token",
  "issues",
  "models",
  "packages",
  "pages",
  "pull-requests",
  "repository-projects",
  "security-events",
  "statuses",
] as const;
export type PermissionScope = (typeof PERMISSION_SCOPES)[number] | "metadata";
export type Access = "none" | "read" | "write";
/** The access of each scope; a scope not listed has none. */
export type Permissions = Partial<Record<PermissionScope, Access>>;

/**
 * Without `permissions:` anywhere: GitHub's "restricted" default for new
 * repositories and organisations (read the contents; nothing else).
 */
export const DEFAULT_PERMISSIONS: Permissions = { contents: "read", packages: "read" };

/** A token lives at most this long, however long its job runs (GitHub's GITHUB_TOKEN: 24 hours). */
export const JOB_TOKEN_MAX_TTL_MS = 24 * 60 * 60_000;

/** One `permissions:` value (`read-all`, `write-all`, `{}` or a map), as a map; undefined when not set. */
export function parsePermissions(value: Json | undefined): Permissions | undefined {
  if (value === undefined || value === null) return undefined;
  const all = (access: Access): Permissions =>
    Object.fromEntries(PERMISSION_SCOPES.map((s) => [s, s === "id-token" && access === "read" ? "none" : s === "models" && access === "write" ? "read" : access]));
  if (value === "read-all") return all("read");
  if (value === "write-all") return all("write");
  const out: Permissions = {};
  if (typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      if ((PERMISSION_SCOPES as readonly string[]).includes(k) && (v === "read" || v === "write" || v === "none")) out[k as PermissionScope] = v;
    }
  }
  return out;
}

/**
 * A job's permissions: its own `permissions:` if it has any, else the
 * workflow's, else DEFAULT_PERMISSIONS. `readOnly` (a pull request from a
 * fork, whose runs get no secrets) lowers every write to read and takes
 * `id-token` away, as GitHub does.
 */
export function jobPermissions(workflow: Pick<Workflow, "permissions">, job: Pick<JobSpec, "permissions">, readOnly = false): Permissions {
  const read = (token: Workflow["permissions"]) => (token === undefined ? undefined : parsePermissions(evaluateToken(token, {})));
  const granted = read(job.permissions) ?? read(workflow.permissions) ?? DEFAULT_PERMISSIONS;
  if (!readOnly) return granted;
  const lowered: Permissions = {};
  for (const [k, v] of Object.entries(granted) as [PermissionScope, Access][]) lowered[k] = k === "id-token" ? "none" : v === "write" ? "read" : v;
  return lowered;
}

/** Whether `have` allows `need` (write includes read; metadata is always readable). */
export function allows(permissions: Permissions, scope: PermissionScope, need: "read" | "write"): boolean {
  if (scope === "metadata") return need === "read";
  const have = permissions[scope] ?? "none";
  return have === "write" || (have === "read" && need === "read");
}

/** What a job token grants. */
export interface JobGrant {
  jobId: number;
  runId: number;
  /** `owner/name`: the only repository the token reaches. */
  repository: string;
  permissions: Permissions;
  /** Expiry, epoch milliseconds. */
  exp: number;
}

/** A job's token and the server it is for (steps see the URL as SLIPWAY_URL). */
export interface JobTokenCredentials {
  url: string;
  token: string;
}

export class JobTokenError extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

export interface JobTokensOptions {
  dataDir: string;
  /** Whether a job is still in progress: a finished job's token is refused. */
  jobActive: (jobId: number) => boolean;
  keys?: MasterKeyring;
  now?: () => number;
}

/** Mints and checks job tokens with the data directory's master key. */
export class JobTokens {
  private readonly keys: MasterKeyring;
  private readonly now: () => number;

  constructor(private readonly o: JobTokensOptions) {
    this.keys = o.keys ?? new MasterKeyring(o.dataDir);
    this.now = o.now ?? Date.now;
  }

  /** A token for the job, good until `ttlMs` from now (at most 24 hours) and while the job runs. */
  mint(grant: Omit<JobGrant, "exp">, ttlMs: number = JOB_TOKEN_MAX_TTL_MS): string {
    const body: JobGrant & { v: 1 } = { v: 1, ...grant, exp: this.now() + Math.min(ttlMs, JOB_TOKEN_MAX_TTL_MS) };
    return JOB_TOKEN_PREFIX + this.keys.encrypt(JSON.stringify(body), AAD).toString("base64url");
  }

  /** The grant of a token; JobTokenError(401) when it is not one of ours, expired, or its job finished. */
  check(token: string): JobGrant {
    if (!token.startsWith(JOB_TOKEN_PREFIX)) throw new JobTokenError(401, "not a job token");
    let body: JobGrant & { v?: number };
    try {
      body = JSON.parse(this.keys.decrypt(Buffer.from(token.slice(JOB_TOKEN_PREFIX.length), "base64url"), AAD).toString("utf8")) as JobGrant & { v?: number };
    } catch {
      throw new JobTokenError(401, "the job token is not valid here: use the github.token of a running job of this Slipway");
    }
    if (body.v !== 1 || typeof body.jobId !== "number" || typeof body.exp !== "number" || typeof body.repository !== "string") {
      throw new JobTokenError(401, "the job token is not valid here: unknown format");
    }
    if (this.now() >= body.exp) throw new JobTokenError(401, `the job token of job ${body.jobId} has expired (at ${new Date(body.exp).toISOString()})`);
    if (!this.o.jobActive(body.jobId)) throw new JobTokenError(401, `the job token has expired: its job (${body.jobId}) is no longer running; a job token is good only while its job runs`);
    return { jobId: body.jobId, runId: body.runId, repository: body.repository, permissions: body.permissions ?? {}, exp: body.exp };
  }
}

/** How a grant reads in messages: `contents: read, actions: write`. */
export function describePermissions(p: Permissions): string {
  const granted = Object.entries(p).filter(([, v]) => v !== "none");
  return granted.length > 0 ? granted.map(([k, v]) => `${k}: ${v}`).join(", ") : "none";
}
