import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Json } from "../expressions/index.js";
import { parseWorkflowText, type JobSpec, type Workflow } from "../workflow/index.js";
import { OIDC_KEY_RETENTION_MS, OidcKeyStore, oidcKeysPath } from "./oidc-keys.js";
import { OidcIssuer, jobGrantsIdToken, oidcJobClaims, startLoopbackIssuer, type OidcJob } from "./oidc.js";

const KEY = "11".repeat(32);
const env = { SLIPWAY_MASTER_KEY: KEY };

const github: Record<string, Json> = {
  repository: "acme/app",
  repository_owner: "acme",
  ref: "refs/heads/main",
  ref_type: "branch",
  sha: "a".repeat(40),
  workflow: "Deploy",
  workflow_ref: "acme/app/.github/workflows/deploy.yml@refs/heads/main",
  run_id: "7",
  run_number: "3",
  run_attempt: "1",
  actor: "ada",
  event_name: "push",
  head_ref: "",
  base_ref: "",
};

function job(over: Partial<OidcJob> = {}): OidcJob {
  return {
    workflow: { path: ".github/workflows/deploy.yml" } as Workflow,
    job: {} as JobSpec,
    jobId: 1,
    environment: null,
    github,
    ...over,
  };
}

describe("OIDC issuer", () => {
  let dir: string;
  let clock: number;
  let active: Set<number>;
  const now = () => clock;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "slipway-oidc-"));
    clock = Date.parse("2026-11-27T08:00:00Z");
    active = new Set([1]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const issuer = (keys?: OidcKeyStore) => new OidcIssuer({ dataDir: dir, issuer: "https://ci.example.com/", env, now, jobActive: (id) => active.has(id), ...(keys ? { keys } : {}) });

  it("reads a job's effective permissions from the workflow: the job's own override the workflow's", async () => {
    const text = `on: push
permissions:
  id-token: write
jobs:
  inherits: { runs-on: x, steps: [{ run: "true" }] }
  narrows: { runs-on: x, permissions: { contents: read }, steps: [{ run: "true" }] }
  none: { runs-on: x, permissions: {}, steps: [{ run: "true" }] }
  all: { runs-on: x, permissions: write-all, steps: [{ run: "true" }] }
`;
    const { workflow, diagnostics } = await parseWorkflowText("w.yml", text);
    expect(diagnostics).toEqual([]);
    const grants = Object.fromEntries(workflow!.jobs.map((j) => [j.id, jobGrantsIdToken(workflow!, j)]));
    expect(grants).toEqual({ inherits: true, narrows: false, none: false, all: true });
    const noPermissions = (await parseWorkflowText("w.yml", "on: push\njobs:\n  a: { runs-on: x, steps: [{ run: \"true\" }] }\n")).workflow!;
    expect(jobGrantsIdToken(noPermissions, noPermissions.jobs[0]!)).toBe(false);
  });

  it("makes GitHub's subjects: ref, environment, pull_request", () => {
    expect(oidcJobClaims(job()).sub).toBe("repo:acme/app:ref:refs/heads/main");
    expect(oidcJobClaims(job({ environment: "prod" })).sub).toBe("repo:acme/app:environment:prod");
    expect(oidcJobClaims(job({ github: { ...github, event_name: "pull_request", ref: "refs/pull/4/merge" } })).sub).toBe("repo:acme/app:pull_request");
    const c = oidcJobClaims(job({ environment: "prod" }));
    expect(c).toMatchObject({ environment: "prod", job_workflow_ref: "acme/app/.github/workflows/deploy.yml@refs/heads/main", run_id: "7", actor: "ada" });
    expect("environment" in oidcJobClaims(job())).toBe(false);
  });

  it("keeps the signing key encrypted at rest (0600), its kid the RFC 7638 thumbprint", async () => {
    const keys = new OidcKeyStore(dir, { env, now });
    const k = await keys.signingKey();
    const file = readFileSync(oidcKeysPath(dir), "utf8");
    expect(file).not.toContain("PRIVATE KEY");
    expect(file).not.toContain(k.privateKey.export({ format: "pem", type: "pkcs8" }).toString().split("\n")[1]);
    expect(statSync(oidcKeysPath(dir)).mode & 0o777).toBe(0o600);
    const { keys: jwks } = await keys.jwks();
    expect(jwks).toHaveLength(1);
    expect(jwks[0]).toMatchObject({ kty: "RSA", kid: k.kid, alg: "RS256", use: "sig" });
    expect(jwks[0]).not.toHaveProperty("d");
    // Another process (same data directory) reads the same key; a wrong master key cannot.
    expect((await new OidcKeyStore(dir, { env }).signingKey()).kid).toBe(k.kid);
    await expect(new OidcKeyStore(dir, { env: { SLIPWAY_MASTER_KEY: "22".repeat(32) } }).signingKey()).rejects.toThrow(/different master key/);
  });

  it("redeems a job's request token for a verifiable token; refuses expired, altered and finished-job request tokens", async () => {
    const iss = issuer();
    const { url, token } = iss.credentials(job({ environment: "prod" }));
    expect(url).toBe("https://ci.example.com/oidc/token?api-version=2.0");
    const jwt = await iss.redeem(`bearer ${token}`, "sts.example");
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(await iss.jwks()), { issuer: "https://ci.example.com", audience: "sts.example", currentDate: new Date(clock) });
    expect(payload).toMatchObject({ sub: "repo:acme/app:environment:prod", repository: "acme/app", environment: "prod", aud: "sts.example" });
    expect(payload.exp! - payload.iat!).toBe(300);
    // Default audience: the owner's URL under the issuer.
    expect((await jwtVerify(await iss.redeem(`Bearer ${token}`, undefined), createLocalJWKSet(await iss.jwks()), { currentDate: new Date(clock) })).payload.aud).toBe("https://ci.example.com/acme");

    await expect(iss.redeem(undefined, "x")).rejects.toMatchObject({ status: 401 });
    await expect(iss.redeem(`bearer ${token.slice(0, -4)}AAAA`, "x")).rejects.toMatchObject({ status: 401 });
    active.delete(1);
    await expect(iss.redeem(`bearer ${token}`, "x")).rejects.toThrow(/job \(1\) is not running/);
    active.add(1);
    clock += 7 * 60 * 60_000;
    await expect(iss.redeem(`bearer ${token}`, "x")).rejects.toThrow(/expired/);
  });

  it("rotation: a token signed before still verifies for its lifetime; the old key leaves the JWKS after the retention", async () => {
    const keys = new OidcKeyStore(dir, { env, now });
    const iss = issuer(keys);
    const before = await iss.mint(oidcJobClaims(job()), "aud");
    const oldKid = decodeProtectedHeader(before).kid;
    const r = await keys.rotate();
    expect(r.kid).not.toBe(oldKid);
    expect(r.retained.map((k) => k.kid)).toEqual([oldKid]);
    const after = await iss.mint(oidcJobClaims(job()), "aud");
    expect(decodeProtectedHeader(after).kid).toBe(r.kid);
    clock += 4 * 60_000;
    const jwks = createLocalJWKSet(await iss.jwks());
    await jwtVerify(before, jwks, { audience: "aud", currentDate: new Date(clock) });
    await jwtVerify(after, jwks, { audience: "aud", currentDate: new Date(clock) });
    clock += OIDC_KEY_RETENTION_MS;
    expect((await iss.jwks()).keys.map((k) => k.kid)).toEqual([r.kid]);
    const second = await keys.rotate();
    expect(second.dropped).toEqual([oldKid]);
  });

  it("serves discovery, JWKS and the token endpoint on loopback; jose verifies against it", async () => {
    const lo = await startLoopbackIssuer({ dataDir: dir, env, jobActive: (id) => active.has(id) });
    try {
      expect(lo.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const disco = (await (await fetch(`${lo.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(disco).toMatchObject({ issuer: lo.url, jwks_uri: `${lo.url}/.well-known/jwks`, response_types_supported: ["id_token"], id_token_signing_alg_values_supported: ["RS256"], scopes_supported: ["openid"] });
      const { url, token } = lo.issuer.credentials(job());
      const res = await fetch(`${url}&audience=sts.example`, { headers: { authorization: `bearer ${token}` } });
      expect(res.status).toBe(200);
      const { value } = (await res.json()) as { value: string };
      const { payload } = await jwtVerify(value, createRemoteJWKSet(new URL(disco.jwks_uri as string)), { issuer: lo.url, audience: "sts.example" });
      expect(payload.sub).toBe("repo:acme/app:ref:refs/heads/main");
      const bad = await fetch(`${url}&audience=x`, { headers: { authorization: "bearer nope" } });
      expect(bad.status).toBe(401);
      expect(bad.headers.get("www-authenticate")).toMatch(/Bearer/);
      expect((await fetch(url, { method: "POST" })).status).toBe(405);
      expect((await fetch(`${lo.url}/other`)).status).toBe(404);
    } finally {
      await lo.close();
    }
  });
});
