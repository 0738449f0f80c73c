// The OIDC token issuer: jobs whose `permissions` grant `id-token: write` get
// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN and trade
// them, as on GitHub, for an RS256 JWT with GitHub's claim shapes:
//
//   curl -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
//        "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.amazonaws.com"   → {"value": "<jwt>"}
//
// The request token is the job's claims, encrypted and authenticated with the
// master key (crypto.ts envelope) together with the job's id and an expiry:
// whoever holds the data directory's master key can check it — the
// `slipway run` that minted it (loopback issuer) or the `slipway server` whose
// child runs the job. It is refused once the job has finished (the store
// says so), once it expired, or when it was altered. The only thing a caller
// chooses is the audience.
//
// Routes (under the issuer URL):
//   GET /.well-known/openid-configuration   discovery document
//   GET /.well-known/jwks                   JSON Web Key Set (oidc-keys.ts)
//   GET /oidc/token?api-version=2.0&audience=AUD   {"value": JWT}, bearer request token
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, type JWK } from "jose";
import type { Json } from "../expressions/index.js";
import type { JobSpec, Workflow } from "../workflow/index.js";
import { jobPermissions } from "./job-tokens.js";
import { OIDC_TOKEN_LIFETIME_MS, OidcKeyStore } from "./oidc-keys.js";

/** Paths the issuer serves, relative to its URL. */
export const OIDC_PATHS = {
  discovery: "/.well-known/openid-configuration",
  jwks: "/.well-known/jwks",
  token: "/oidc/token",
} as const;

const PATHS: ReadonlySet<string> = new Set(Object.values(OIDC_PATHS));

/** Whether a request path is one the issuer serves. */
export function isOidcPath(path: string): boolean {
  return PATHS.has(path);
}

/**
 * Set by `slipway server` for the runs it starts: its public URL. They use
 * its OIDC issuer instead of a loopback one, and give their jobs job tokens
 * for its API (job-tokens.ts).
 */
export const SERVER_URL_ENV = "SLIPWAY_SERVER_URL";

/** A request token is good for at most this long (and only while its job runs). */
export const REQUEST_TOKEN_TTL_MS = 6 * 60 * 60_000;

const MAX_AUDIENCE = 512;
const REQUEST_AAD = "slipway oidc request token";

/** The claims that describe a job (everything but iss, aud, iat, nbf, exp, jti). */
export interface OidcJobClaims {
  sub: string;
  repository: string;
  repository_owner: string;
  ref: string;
  ref_type: string;
  sha: string;
  workflow: string;
  workflow_ref: string;
  workflow_sha: string;
  job_workflow_ref: string;
  job_workflow_sha: string;
  environment?: string;
  run_id: string;
  run_number: string;
  run_attempt: string;
  actor: string;
  event_name: string;
  head_ref: string;
  base_ref: string;
  runner_environment: string;
}

/** What the scheduler knows of a job when it asks for its OIDC credentials. */
export interface OidcJob {
  workflow: Workflow;
  job: JobSpec;
  /** The job's store id: its request token works while this job is in progress. */
  jobId: number;
  environment: string | null;
  /** The run's github context. */
  github: Record<string, Json>;
}

/** The two values a job gets: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
export interface IdTokenCredentials {
  url: string;
  token: string;
}

/** An issuer error with the HTTP status it answers. */
export class OidcError extends Error {
  override readonly name = "OidcError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Whether a job may request ID tokens: its permissions (job-tokens.ts's
 * jobPermissions) grant `id-token: write` — `write-all` does; GitHub's
 * default token permissions never include it.
 */
export function jobGrantsIdToken(workflow: Workflow, job: JobSpec): boolean {
  return jobPermissions(workflow, job)["id-token"] === "write";
}

/** The job's claims, from the run's github context: GitHub's shapes. */
export function oidcJobClaims(job: Pick<OidcJob, "workflow" | "environment" | "github">): OidcJobClaims {
  const g = job.github;
  const s = (v: Json | undefined) => (v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));
  const repository = s(g.repository);
  const ref = s(g.ref);
  const eventName = s(g.event_name);
  const sub = job.environment
    ? `repo:${repository}:environment:${job.environment}`
    : eventName === "pull_request"
      ? `repo:${repository}:pull_request`
      : `repo:${repository}:ref:${ref}`;
  return {
    sub,
    repository,
    repository_owner: s(g.repository_owner),
    ref,
    ref_type: s(g.ref_type),
    sha: s(g.sha),
    workflow: s(g.workflow),
    workflow_ref: s(g.workflow_ref),
    workflow_sha: s(g.workflow_sha) || s(g.sha),
    // The file that defines the job: a reusable workflow's for its jobs.
    job_workflow_ref: `${repository}/${job.workflow.path}@${ref}`,
    job_workflow_sha: s(g.sha),
    ...(job.environment ? { environment: job.environment } : {}),
    run_id: s(g.run_id),
    run_number: s(g.run_number),
    run_attempt: s(g.run_attempt) || "1",
    actor: s(g.actor),
    event_name: eventName,
    head_ref: s(g.head_ref),
    base_ref: s(g.base_ref),
    runner_environment: "self-hosted",
  };
}

export interface OidcIssuerOptions {
  dataDir: string;
  /** The issuer URL (`iss`), without a trailing slash; a function when it is known only once listening. */
  issuer: string | (() => string);
  /** Whether a job is still in progress; a request token of a finished job is refused. */
  jobActive: (jobId: number) => boolean;
  /** Where SLIPWAY_MASTER_KEY is read from; defaults to process.env (with `keys`, theirs is used). */
  env?: NodeJS.ProcessEnv;
  /** Clock in milliseconds (tests). */
  now?: () => number;
  /** Shares the keys (their clock and master key) with others; default: the data directory's. */
  keys?: OidcKeyStore;
}

interface RequestTokenBody {
  v: 1;
  jobId: number;
  /** Expiry, epoch milliseconds. */
  exp: number;
  claims: OidcJobClaims;
}

/** Mints ID tokens for jobs and serves discovery, JWKS and the token endpoint. */
export class OidcIssuer {
  readonly keys: OidcKeyStore;
  private readonly now: () => number;

  constructor(private readonly o: OidcIssuerOptions) {
    this.now = o.now ?? Date.now;
    this.keys = o.keys ?? new OidcKeyStore(o.dataDir, { ...(o.env ? { env: o.env } : {}), now: this.now });
  }

  /** The issuer URL (`iss`). */
  get url(): string {
    return (typeof this.o.issuer === "string" ? this.o.issuer : this.o.issuer()).replace(/\/+$/, "");
  }

  /** The OpenID Provider configuration (`/.well-known/openid-configuration`). */
  discovery(): Record<string, unknown> {
    const issuer = this.url;
    return {
      issuer,
      jwks_uri: `${issuer}${OIDC_PATHS.jwks}`,
      subject_types_supported: ["public", "pairwise"],
      response_types_supported: ["id_token"],
      claims_supported: [
        "sub", "aud", "exp", "iat", "iss", "jti", "nbf",
        "repository", "repository_owner", "ref", "ref_type", "sha", "workflow", "workflow_ref", "workflow_sha",
        "job_workflow_ref", "job_workflow_sha", "environment", "run_id", "run_number", "run_attempt",
        "actor", "event_name", "head_ref", "base_ref", "runner_environment",
      ],
      id_token_signing_alg_values_supported: ["RS256"],
      scopes_supported: ["openid"],
    };
  }

  /** The JSON Web Key Set (`/.well-known/jwks`). */
  jwks(): Promise<{ keys: JWK[] }> {
    return this.keys.jwks();
  }

  /** A job's request credentials: the token endpoint's URL (with its `?`) and a request token bound to the job. */
  credentials(job: OidcJob): IdTokenCredentials {
    const body: RequestTokenBody = { v: 1, jobId: job.jobId, exp: this.now() + REQUEST_TOKEN_TTL_MS, claims: oidcJobClaims(job) };
    const token = this.keys.masterKeys().encrypt(JSON.stringify(body), REQUEST_AAD).toString("base64url");
    return { url: `${this.url}${OIDC_PATHS.token}?api-version=2.0`, token };
  }

  /**
   * The default audience when the request names none: the repository owner's
   * URL under the issuer, as GitHub's is `https://github.com/OWNER`.
   */
  defaultAudience(claims: OidcJobClaims): string {
    return `${this.url}/${claims.repository_owner}`;
  }

  /** Signs an ID token for these claims (5 minutes from now, by the issuer's clock). */
  async mint(claims: OidcJobClaims, audience?: string): Promise<string> {
    const key = await this.keys.signingKey();
    const iat = Math.floor(this.now() / 1000);
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" })
      .setIssuer(this.url)
      .setAudience(audience || this.defaultAudience(claims))
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + OIDC_TOKEN_LIFETIME_MS / 1000)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  /** Checks a request token (the Authorization header's value) and mints its job's ID token. */
  async redeem(authorization: string | undefined, audience: string | undefined): Promise<string> {
    const m = /^bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!m?.[1]) throw new OidcError(401, "send the job's request token: Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    if (audience !== undefined && audience.length > MAX_AUDIENCE) throw new OidcError(400, `query.audience is ${audience.length} characters; at most ${MAX_AUDIENCE}`);
    let body: RequestTokenBody;
    try {
      body = JSON.parse(this.keys.masterKeys().decrypt(Buffer.from(m[1], "base64url"), REQUEST_AAD).toString("utf8")) as RequestTokenBody;
    } catch {
      throw new OidcError(401, "the request token is not valid here: use ACTIONS_ID_TOKEN_REQUEST_TOKEN of a running job of this Slipway");
    }
    if (body.v !== 1 || typeof body.jobId !== "number" || typeof body.exp !== "number") throw new OidcError(401, "the request token is not valid here: unknown format");
    if (this.now() >= body.exp) throw new OidcError(401, "the request token has expired: request ID tokens while the job runs");
    if (!this.o.jobActive(body.jobId)) throw new OidcError(401, `the request token's job (${body.jobId}) is not running: request ID tokens while the job runs`);
    return this.mint(body.claims, audience);
  }

  /**
   * Serves the issuer's routes on a Node HTTP request; false when the path is
   * not one of them (the caller answers it).
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? "/", "http://x");
    const route = url.pathname;
    if (!isOidcPath(route)) return false;
    try {
      if (req.method !== "GET" && req.method !== "HEAD") throw new OidcError(405, `${req.method ?? ""} is not allowed on ${url.pathname}; use GET`);
      if (route === OIDC_PATHS.discovery) send(res, 200, this.discovery(), "public, max-age=300");
      else if (route === OIDC_PATHS.jwks) send(res, 200, await this.jwks(), "public, max-age=60");
      else send(res, 200, { value: await this.redeem(req.headers.authorization, url.searchParams.get("audience") ?? undefined) }, "no-store");
    } catch (err) {
      if (!(err instanceof OidcError)) throw err;
      const headers: Record<string, string> = err.status === 401 ? { "www-authenticate": 'Bearer realm="Slipway OIDC"' } : err.status === 405 ? { allow: "GET" } : {};
      send(res, err.status, { error: err.message }, "no-store", headers);
    }
    return true;
  }
}

function send(res: ServerResponse, status: number, body: unknown, cache: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": cache, ...headers });
  res.end(JSON.stringify(body) + "\n");
}

/** An issuer listening on loopback (127.0.0.1, a free port), for `slipway run`. */
export interface LoopbackIssuer {
  issuer: OidcIssuer;
  url: string;
  close(): Promise<void>;
}

/** Starts an issuer on 127.0.0.1 at a free port; its URL is `http://127.0.0.1:PORT`. */
export async function startLoopbackIssuer(o: Omit<OidcIssuerOptions, "issuer">): Promise<LoopbackIssuer> {
  let url = "";
  const issuer = new OidcIssuer({ ...o, issuer: () => url });
  const server = createServer((req, res) => {
    issuer
      .handle(req, res)
      .then((handled) => {
        if (!handled) send(res, 404, { error: `nothing at ${(req.url ?? "").split("?")[0]}; the issuer serves ${Object.values(OIDC_PATHS).join(", ")}` }, "no-store");
      })
      .catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { error: `the OIDC issuer failed: ${(err as Error).message}` }, "no-store");
        else res.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  server.unref();
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The OIDC side of one `slipway run`: credentials for the jobs that grant
 * `id-token: write`, from the issuer named by SLIPWAY_SERVER_URL (a
 * `slipway server`) or else from a loopback issuer started at the first such
 * job and closed with the run.
 */
export class RunOidc {
  private loopback: Promise<LoopbackIssuer> | undefined;
  private remote: OidcIssuer | undefined;

  constructor(private readonly o: Omit<OidcIssuerOptions, "issuer"> & { issuer?: string }) {}

  /** The job's credentials, or undefined when its permissions do not grant `id-token: write`. */
  async credentials(job: OidcJob): Promise<IdTokenCredentials | undefined> {
    if (!jobGrantsIdToken(job.workflow, job.job)) return undefined;
    if (this.o.issuer) {
      this.remote ??= new OidcIssuer({ ...this.o, issuer: this.o.issuer });
      return this.remote.credentials(job);
    }
    this.loopback ??= startLoopbackIssuer(this.o);
    return (await this.loopback).issuer.credentials(job);
  }

  /** Stops the loopback issuer, if one was started. */
  async close(): Promise<void> {
    const l = await this.loopback?.catch(() => undefined);
    await l?.close();
  }
}
