import { Type } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { compile, HttpError, match, route, validate } from "./api.js";
import { roleAtLeast, tokenFromHeaders } from "./auth.js";
import { openApi } from "./openapi.js";

const ok = () => ({ status: 200 });

describe("routes", () => {
  const routes = [
    route({ method: "GET", path: "/api/runs", role: "viewer", tag: "runs", summary: "list", responses: { 200: { description: "ok" } }, handle: ok }),
    route({ method: "POST", path: "/api/runs", role: "developer", tag: "runs", summary: "start", body: Type.Object({ repository: Type.String() }), responses: { 202: { description: "ok" } }, handle: ok }),
    route({ method: "GET", path: "/api/runs/{id}/jobs/{job}/log", role: "viewer", tag: "runs", summary: "log", params: Type.Object({ id: Type.Integer(), job: Type.Integer() }), responses: { 200: { description: "ok" } }, handle: ok }),
  ];
  const compiled = compile(routes);

  it("matches paths with parameters, and names the methods a path allows", () => {
    const m = match(compiled, "GET", "/api/runs/12/jobs/3/log");
    expect("route" in m && m.raw).toEqual({ id: "12", job: "3" });
    expect(match(compiled, "DELETE", "/api/runs")).toEqual({ allowed: ["GET", "POST"] });
    expect(match(compiled, "GET", "/api/runs/12/jobs")).toEqual({ allowed: [] });
  });

  it("converts query and path strings, and names every bad field", () => {
    const q = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, default: 50 })), status: Type.Optional(Type.Union([Type.Literal("queued"), Type.Literal("completed")])) });
    expect(validate(q, { limit: "5" }, "query")).toEqual({ limit: 5 });
    expect(validate(q, {}, "query")).toEqual({ limit: 50 });
    let err: unknown;
    try {
      validate(q, { limit: "0", status: "done" }, "query");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HttpError);
    const h = err as HttpError;
    expect(h.status).toBe(400);
    expect(h.details.map((d) => d.field)).toEqual(["query.limit", "query.status"]);
    expect(h.details[1]?.message).toContain('"queued", "completed"');
  });

  it("does not turn body strings into numbers", () => {
    expect(() => validate(Type.Object({ n: Type.Integer() }), { n: "1" }, "body")).toThrow(/body\.n/);
  });

  it("describes every route in OpenAPI 3.1, with 401 and 403 where a role is needed", () => {
    const spec = openApi(routes, "1.0.0") as { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> };
    expect(spec.openapi).toBe("3.1.0");
    expect(Object.keys(spec.paths).filter((p) => p.startsWith("/api/"))).toEqual(["/api/runs", "/api/runs/{id}/jobs/{job}/log"]);
    // Turborepo's and Nx's remote cache, described by hand beside the route table.
    expect(Object.keys(spec.paths).filter((p) => !p.startsWith("/api/"))).toEqual(["/v8/artifacts/{hash}", "/v8/artifacts", "/v8/artifacts/status", "/v8/artifacts/events", "/v1/cache/{hash}"]);
    const start = spec.paths["/api/runs"]?.post as { operationId: string; responses: Record<string, unknown>; requestBody: unknown; "x-slipway-role": string };
    expect(start.operationId).toBe("postRuns");
    expect(start["x-slipway-role"]).toBe("developer");
    expect(Object.keys(start.responses).sort()).toEqual(["202", "400", "401", "403"]);
    expect(JSON.stringify(start.requestBody)).toContain('"repository"');
    const log = spec.paths["/api/runs/{id}/jobs/{job}/log"]?.get as { operationId: string; parameters: Array<{ name: string; in: string }> };
    expect(log.operationId).toBe("getRunsByIdJobsByJobLog");
    expect(log.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(["path:id", "path:job"]);
  });
});

describe("auth", () => {
  it("reads Bearer tokens and the password of Basic credentials (what git sends)", () => {
    expect(tokenFromHeaders({ authorization: "Bearer slw_abc" })).toBe("slw_abc");
    expect(tokenFromHeaders({ authorization: `Basic ${Buffer.from("anyone:slw_xyz").toString("base64")}` })).toBe("slw_xyz");
    expect(tokenFromHeaders({ authorization: "Digest foo" })).toBeUndefined();
    expect(tokenFromHeaders({})).toBeUndefined();
  });

  it("orders roles", () => {
    expect(roleAtLeast("admin", "developer")).toBe(true);
    expect(roleAtLeast("release-manager", "developer")).toBe(true);
    expect(roleAtLeast("developer", "release-manager")).toBe(false);
    expect(roleAtLeast("viewer", "viewer")).toBe(true);
  });
});
