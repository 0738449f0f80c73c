import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseWorkflowText } from "../workflow/index.js";
import { allows, DEFAULT_PERMISSIONS, describePermissions, JOB_TOKEN_MAX_TTL_MS, JobTokenError, JobTokens, jobPermissions, parsePermissions } from "./job-tokens.js";
import { MasterKeyring } from "./master-keys.js";

describe("permissions", () => {
  it("reads read-all, write-all, {} and maps as GitHub does", () => {
    const readAll = parsePermissions("read-all")!;
    expect(readAll.contents).toBe("read");
    expect(readAll.actions).toBe("read");
    expect(readAll["id-token"]).toBe("none");
    const writeAll = parsePermissions("write-all")!;
    expect(writeAll["pull-requests"]).toBe("write");
    expect(writeAll["id-token"]).toBe("write");
    expect(writeAll.models).toBe("read");
    expect(parsePermissions({})).toEqual({});
    expect(parsePermissions({ contents: "write", "id-token": "write", bogus: "write", actions: "sometimes" })).toEqual({ contents: "write", "id-token": "write" });
    expect(parsePermissions(undefined)).toBeUndefined();
  });

  it("a job's own permissions replace the workflow's; without any, the restricted default; a fork's are read-only", async () => {
    const { workflow, diagnostics } = await parseWorkflowText(
      "w.yml",
      `on: push
permissions: { contents: write, id-token: write, pull-requests: read }
jobs:
  inherits: { runs-on: x, steps: [{ run: "true" }] }
  narrows: { runs-on: x, permissions: { actions: read }, steps: [{ run: "true" }] }
  none: { runs-on: x, permissions: {}, steps: [{ run: "true" }] }
`,
    );
    expect(diagnostics).toEqual([]);
    const [inherits, narrows, none] = workflow!.jobs;
    expect(jobPermissions(workflow!, inherits!)).toEqual({ contents: "write", "id-token": "write", "pull-requests": "read" });
    expect(jobPermissions(workflow!, narrows!)).toEqual({ actions: "read" });
    expect(jobPermissions(workflow!, none!)).toEqual({});
    expect(jobPermissions(workflow!, inherits!, true)).toEqual({ contents: "read", "id-token": "none", "pull-requests": "read" });
    const bare = (await parseWorkflowText("w.yml", 'on: push\njobs:\n  a: { runs-on: x, steps: [{ run: "true" }] }\n')).workflow!;
    expect(jobPermissions(bare, bare.jobs[0]!)).toEqual(DEFAULT_PERMISSIONS);
  });

  it("write includes read; metadata is always readable", () => {
    expect(allows({ contents: "write" }, "contents", "read")).toBe(true);
    expect(allows({ contents: "read" }, "contents", "write")).toBe(false);
    expect(allows({ contents: "none" }, "contents", "read")).toBe(false);
    expect(allows({}, "actions", "read")).toBe(false);
    expect(allows({}, "metadata", "read")).toBe(true);
    expect(allows({}, "metadata", "write")).toBe(false);
    expect(describePermissions({ contents: "read", actions: "none", issues: "write" })).toBe("contents: read, issues: write");
    expect(describePermissions({})).toBe("none");
  });
});

describe("JobTokens", () => {
  let dir: string;
  let t: number;
  let active: Set<number>;
  const env = {};
  const tokens = (keys?: MasterKeyring) => new JobTokens({ dataDir: dir, jobActive: (id) => active.has(id), now: () => t, keys: keys ?? new MasterKeyring(dir, env) });
  const grant = { jobId: 7, runId: 3, repository: "acme/app", permissions: { contents: "read" as const } };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "slipway-job-tokens-"));
    t = Date.parse("2026-11-27T12:00:00Z");
    active = new Set([7]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a token carries its grant and is good while its job runs and before it expires", () => {
    const j = tokens();
    const token = j.mint(grant, 60_000);
    expect(token).toMatch(/^slwj_[A-Za-z0-9_-]+$/);
    expect(token).not.toContain("acme");
    expect(j.check(token)).toEqual({ ...grant, exp: t + 60_000 });
    // Another process with the same master key reads it (the run mints, the server checks).
    expect(tokens().check(token).jobId).toBe(7);
    t += 60_000;
    expect(() => j.check(token)).toThrow(/has expired/);
  });

  it("is refused once its job has finished, when altered, or under another master key", () => {
    const j = tokens();
    const token = j.mint(grant);
    active.delete(7);
    expect(() => j.check(token)).toThrow(/no longer running/);
    active.add(7);
    const body = Buffer.from(token.slice("slwj_".length), "base64url");
    body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 1;
    expect(() => j.check(`slwj_${body.toString("base64url")}`)).toThrow(/not valid here/);
    const other = mkdtempSync(join(tmpdir(), "slipway-job-tokens-other-"));
    try {
      expect(() => new JobTokens({ dataDir: other, jobActive: () => true, keys: new MasterKeyring(other, {}) }).check(token)).toThrow(/not valid here/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    expect(() => j.check("slw_an-api-token")).toThrow(JobTokenError);
  });

  it("lives at most 24 hours whatever is asked", () => {
    const token = tokens().mint(grant, 7 * 24 * 60 * 60_000);
    expect(tokens().check(token).exp).toBe(t + JOB_TOKEN_MAX_TTL_MS);
    const error = (() => {
      t += JOB_TOKEN_MAX_TTL_MS;
      try {
        tokens().check(token);
      } catch (err) {
        return err as JobTokenError;
      }
      return undefined;
    })();
    expect(error?.status).toBe(401);
  });
});
