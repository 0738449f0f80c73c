// The OpenAPI 3.1 description of the JSON API, made from the route table:
// the schemas that validate requests are the ones published (OpenAPI 3.1
// uses JSON Schema, which TypeBox schemas are).
import type { TObject, TSchema } from "@sinclair/typebox";
import type { Route } from "./api.js";
import { remoteCacheOpenApi } from "./remote-cache.js";
import { ErrorBody } from "./schemas.js";

export function openApi(routes: Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const op: Record<string, unknown> = {
      operationId: operationId(r),
      summary: r.summary,
      tags: [r.tag],
      "x-slipway-role": r.role ?? "public",
      // Job tokens (github.token): the permission they need; routes without it refuse them.
      "x-slipway-job-permission": r.job ? `${r.job.scope}: ${r.job.access}` : "none",
    };
    const parameters = [...params(r.params, "path"), ...params(r.query, "query")];
    if (parameters.length > 0) op.parameters = parameters;
    if (r.body) op.requestBody = { required: true, content: { "application/json": { schema: plain(r.body) } } };
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(r.responses)) {
      responses[status] = { description: spec.description, ...(spec.schema ? { content: { [contentType(spec.schema)]: { schema: plain(spec.schema) } } } : {}) };
    }
    if (r.params || r.query || r.body) responses["400"] ??= { description: "Invalid request: `details` names each bad field", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
    if (r.role) {
      op.security = [{ bearerAuth: [] }];
      responses["401"] = { description: "No token, or an unknown or revoked one", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
      responses["403"] = { description: `The token's role is below ${r.role}`, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
    }
    op.responses = responses;
    (paths[r.path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Slipway API",
      version,
      description: "Runs, repositories and tokens of a Slipway server. Every route under /api/ except this description needs `Authorization: Bearer <token>`; roles are viewer < developer < release-manager < admin. A job's token (github.token, slwj_…) may call the routes whose x-slipway-job-permission its `permissions:` grant, on its own repository only.",
    },
    // Turborepo's and Nx's remote cache, in their own protocols (remote-cache.ts).
    paths: { ...paths, ...remoteCacheOpenApi() },
    components: {
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", description: "An API token (slw_…); create one with POST /api/tokens or `slipway tokens create`. Or a job token (slwj_…), the github.token of a running job." } },
      schemas: { Error: plain(ErrorBody) },
    },
  };
}

function params(schema: TObject | undefined, where: "path" | "query"): unknown[] {
  if (!schema) return [];
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, s]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    ...(typeof s.description === "string" ? { description: s.description } : {}),
    schema: plain(s),
  }));
}

function operationId(r: Route): string {
  const words = r.path
    .replace(/^\/api\//, "")
    .split("/")
    .map((s) => (s.startsWith("{") ? `by-${s.slice(1, -1)}` : s));
  return [r.method.toLowerCase(), ...words].join("-").replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
}

function contentType(schema: TSchema): string {
  return schema.type === "string" && schema.contentMediaType === "text/plain" ? "text/plain" : "application/json";
}

/** The schema as JSON (TypeBox's symbol keys dropped). */
function plain(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema)) as unknown;
}
