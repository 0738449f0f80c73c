// A small typed route table for the JSON API. Each route declares its
// method, path, the role it needs and TypeBox schemas for its path
// parameters, query and body; the same schemas validate requests and make
// the OpenAPI description (openapi.ts), so the two cannot disagree.
import type { IncomingMessage } from "node:http";
import type { Static, TObject, TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { JobGrant, PermissionScope } from "../secrets/index.js";
import type { Role, TokenRecord } from "../store/index.js";

/** Who calls: an API token's record, or for a job token (secrets/job-tokens.ts) a stand-in record with the job's grant. */
export type Actor = TokenRecord & { job?: JobGrant };

export interface RequestContext<P extends TObject | undefined, Q extends TObject | undefined, B extends TSchema | undefined> {
  params: P extends TObject ? Static<P> : Record<string, never>;
  query: Q extends TObject ? Static<Q> : Record<string, never>;
  body: B extends TSchema ? Static<B> : undefined;
  /** The caller's token; undefined only on public routes. */
  actor: Actor | undefined;
  req: IncomingMessage;
  /** The body's bytes, on routes with `raw` (webhooks verify signatures over them). */
  raw: Buffer | undefined;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** A plain-text answer instead of JSON. */
  text?: string;
  /** Bytes streamed as they are read (artifact files); `headers` give their content type. */
  stream?: NodeJS.ReadableStream;
  headers?: Record<string, string>;
}

export interface ResponseSpec {
  description: string;
  schema?: TSchema;
}

export interface Route<P extends TObject | undefined = TObject | undefined, Q extends TObject | undefined = TObject | undefined, B extends TSchema | undefined = TSchema | undefined> {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** `/api/runs/{id}`: `{name}` segments are path parameters. */
  path: string;
  /** The least role that may call it; null for public routes. */
  role: Role | null;
  tag: string;
  summary: string;
  params?: P;
  query?: Q;
  body?: B;
  /** The handler gets the body's bytes (ctx.raw) instead of parsed JSON. */
  raw?: boolean;
  /**
   * Whether job tokens may call it, with which of the job's permissions, and
   * about which repository (a job token reaches only its own). `repository`
   * answers null when the thing named does not exist (the handler answers
   * 404) and undefined when the request names no repository. Without `job`,
   * job tokens are refused.
   */
  job?: {
    scope: PermissionScope;
    access: "read" | "write";
    repository?: (ctx: Pick<RequestContext<P, Q, B>, "params" | "query" | "body">) => string | null | undefined;
  };
  responses: Record<number, ResponseSpec>;
  handle(ctx: RequestContext<P, Q, B>): Reply | Promise<Reply>;
}

/** Declares a route with its types inferred from its schemas. */
export function route<P extends TObject | undefined = undefined, Q extends TObject | undefined = undefined, B extends TSchema | undefined = undefined>(r: Route<P, Q, B>): Route {
  return r as unknown as Route;
}

export interface FieldError {
  /** Where: `body.name`, `query.limit`, `params.id`. */
  field: string;
  message: string;
}

/** An error answered as `{ "error": message, "details": [...] }` with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: FieldError[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

export function compile(routes: Route[]): CompiledRoute[] {
  return routes.map((route) => {
    const names: string[] = [];
    const source = route.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, (_m, name: string) => {
      names.push(name);
      return "([^/]+)";
    });
    return { route, pattern: new RegExp(`^${source}$`), names };
  });
}

/** The route for a method and path; `allowed` lists the methods of a path that exists under another method. */
export function match(compiled: CompiledRoute[], method: string, path: string): { route: CompiledRoute; raw: Record<string, string> } | { allowed: string[] } {
  const allowed: string[] = [];
  for (const c of compiled) {
    const m = c.pattern.exec(path);
    if (!m) continue;
    if (c.route.method !== method) {
      allowed.push(c.route.method);
      continue;
    }
    const raw: Record<string, string> = {};
    c.names.forEach((n, i) => {
      raw[n] = decodeURIComponent(m[i + 1] ?? "");
    });
    return { route: c, raw };
  }
  return { allowed };
}

/**
 * Converts (strings to numbers and booleans, as in a query string) and
 * checks a value against a schema; throws HttpError 400 naming each field.
 */
export function validate<T extends TSchema>(schema: T, value: unknown, where: "params" | "query" | "body"): Static<T> {
  const converted = where === "body" ? value : Value.Convert(schema, value);
  const withDefaults = Value.Default(schema, Value.Clone(converted));
  if (Value.Check(schema, withDefaults)) return withDefaults as Static<T>;
  const details: FieldError[] = [];
  for (const e of Value.Errors(schema, withDefaults)) {
    const field = [where, ...e.path.split("/").filter((s) => s !== "")].join(".");
    if (details.some((d) => d.field === field)) continue;
    details.push({ field, message: describe(e.message, e.schema) });
    if (details.length >= 20) break;
  }
  const first = details[0];
  throw new HttpError(400, first ? `invalid ${where}: ${first.field}: ${first.message}` : `invalid ${where}`, details);
}

function describe(message: string, schema: TSchema): string {
  const allowed = schema.anyOf as TSchema[] | undefined;
  if (allowed && allowed.every((s) => "const" in s)) return `${message}; one of ${allowed.map((s) => JSON.stringify(s.const)).join(", ")}`;
  if (typeof schema.pattern === "string" && typeof schema.description === "string") return `${message}: ${schema.description}`;
  return message;
}
