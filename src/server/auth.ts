// API tokens and roles. A token is `slw_` + 32 random bytes (base64url); the
// store keeps only its SHA-256, so a stolen database gives no working token.
// Roles are ordered: a route that needs `developer` admits `release-manager`
// and `admin` too. A job token (`slwj_`, secrets/job-tokens.ts) is recognised
// here too, as its job: what it may do is its permissions (job-access.ts).
import { createHash, randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { JOB_TOKEN_PREFIX, type JobTokens } from "../secrets/index.js";
import { ROLES, type Role, type Store, type TokenRecord } from "../store/index.js";
import type { Actor } from "./api.js";
import { checkJobToken, jobActor } from "./job-access.js";

export const TOKEN_PREFIX = "slw_";
/** How often last_used_at is written for one token (not on every request). */
const TOUCH_EVERY_MS = 60_000;

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** The token in `Authorization: Bearer T`, or the password of `Basic` (what git sends). */
export function tokenFromHeaders(headers: IncomingHttpHeaders): string | undefined {
  const h = headers.authorization;
  if (!h) return undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
  if (basic) {
    const decoded = Buffer.from(basic[1] ?? "", "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    // git asks for a user name too; any is accepted, the token is the password.
    return colon >= 0 ? decoded.slice(colon + 1) : decoded;
  }
  return undefined;
}

/**
 * Whether the caller may: its token record when the token is known and its
 * role is at least `need`; else 401 (no token, or an unknown or revoked one)
 * or 403 (with the token, whose role is too low). Each caller answers in its
 * own words and shape. A job's token passes whatever `need` is (`token.job`
 * set): the route's job permission decides.
 */
export type Authentication = { token: Actor; status?: undefined } | { status: 401; token?: undefined } | { status: 403; token: Actor };

export function checkRole(token: TokenRecord | undefined, need: Role): Authentication {
  if (!token) return { status: 401 };
  if (!roleAtLeast(token.role, need)) return { status: 403, token };
  return { token };
}

export class Authenticator {
  private readonly touched = new Map<number, number>();

  constructor(
    private readonly store: Store,
    /** Without them, a job token is an unknown token. */
    private readonly jobTokens?: JobTokens,
    private readonly now: () => number = Date.now,
  ) {}

  /** Who calls with these headers (an API token or a job's token) and whether they may act as `need`; HttpError 401 for a job token refused (its job finished). */
  authenticate(headers: IncomingHttpHeaders, need: Role): Authentication {
    const token = tokenFromHeaders(headers);
    if (this.jobTokens && token?.startsWith(JOB_TOKEN_PREFIX)) return { token: jobActor(checkJobToken(this.jobTokens, token)) };
    return checkRole(this.identify(token), need);
  }

  /** The API token's record, or undefined when the token is unknown or revoked. */
  identify(token: string | undefined): TokenRecord | undefined {
    if (!token?.startsWith(TOKEN_PREFIX)) return undefined;
    const record = this.store.findToken(hashToken(token));
    if (!record) return undefined;
    const t = this.now();
    if ((this.touched.get(record.id) ?? 0) + TOUCH_EVERY_MS <= t) {
      this.touched.set(record.id, t);
      this.store.touchToken(record.id);
    }
    return record;
  }

  /** Creates a token; the returned secret is shown once and never stored. */
  create(name: string, role: Role, createdBy: string | null, groups: string[] = []): { token: string; record: TokenRecord } {
    const token = newToken();
    const record = this.store.createToken({ name, role, hash: hashToken(token), createdBy, groups });
    return { token, record };
  }
}

/**
 * The groups a token's holder acts in for approval gates: the groups an
 * admin gave the token, and its role and the role's plural
 * (`release-manager`, `release-managers`).
 */
export function tokenGroups(t: TokenRecord): string[] {
  return [...new Set([...t.groups, t.role, `${t.role}s`])];
}
