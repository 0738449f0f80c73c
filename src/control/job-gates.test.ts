import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseDeliveryConfig, type DeliveryConfig } from "../delivery/index.js";
import { openStore, type SqliteStore } from "../store/index.js";
import { jobEnvironmentGates, runApprovalSubject, waitForEnvironmentGates } from "./job-gates.js";

const YML = `services:
  web:
    release: { file: build }
    run: { command: node server.js }
environments:
  prod:
    approval: { required: 1, from: [qa], prevent_self_review: true, timeout: 1h }
  closed:
    window: { cron: "0 0 1 1 *", duration: 1m, timezone: UTC }
  free: {}
`;

function config(): DeliveryConfig {
  const { config, diagnostics } = parseDeliveryConfig(YML, "slipway.yml");
  if (!config) throw new Error(JSON.stringify(diagnostics));
  return config;
}

describe("environment gates of workflow jobs", () => {
  let dir: string;
  let store: SqliteStore;
  let runId: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "slipway-job-gates-"));
    store = openStore(dir);
    runId = store.createRun({ workflowPath: ".github/workflows/ci.yml", workflowName: "CI", event: "push", ref: "refs/heads/main", sha: "a".repeat(40) }).id;
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const at = (iso: string) => new Date(iso);
  const approve = (by: string, groups: string[], decision: "approve" | "reject" = "approve") => store.putApproval({ env: "prod", release: runApprovalSubject(runId), by, groups, decision, comment: null });

  it("waits for the run's approval by a reviewer who is not the run's actor; a rejection closes it", () => {
    const prod = config().environments.prod!;
    const o = { actor: "dev", now: new Date(), requestedAt: new Date() };
    expect(jobEnvironmentGates(store, prod, runId, o)).toMatchObject({ state: "waiting", reason: expect.stringContaining(`slipway approve prod run:${runId}`) });
    approve("dev", ["qa"]);
    expect(jobEnvironmentGates(store, prod, runId, o).state).toBe("waiting");
    // Another run's approval does not count for this one.
    store.putApproval({ env: "prod", release: runApprovalSubject(runId + 1), by: "ann", groups: ["qa"], decision: "approve", comment: null });
    expect(jobEnvironmentGates(store, prod, runId, o).state).toBe("waiting");
    approve("ann", ["qa"]);
    expect(jobEnvironmentGates(store, prod, runId, o).state).toBe("open");
    approve("bob", ["qa"], "reject");
    expect(jobEnvironmentGates(store, prod, runId, o)).toMatchObject({ state: "closed", reason: expect.stringContaining("bob") });
  });

  it("an approval not given within its timeout expires: closed", () => {
    const prod = config().environments.prod!;
    expect(jobEnvironmentGates(store, prod, runId, { actor: "dev", now: at("2026-01-01T02:00:00Z"), requestedAt: at("2026-01-01T00:00:00Z") }).state).toBe("closed");
  });

  it("waits outside the environment's deployment window; an environment without gates is open", () => {
    const c = config();
    expect(jobEnvironmentGates(store, c.environments.closed!, runId, { actor: "dev", now: at("2026-06-01T12:00:00Z"), requestedAt: at("2026-06-01T12:00:00Z") }).state).toBe("waiting");
    expect(jobEnvironmentGates(store, c.environments.closed!, runId, { actor: "dev", now: at("2027-01-01T00:00:30Z"), requestedAt: at("2027-01-01T00:00:30Z") }).state).toBe("open");
    expect(jobEnvironmentGates(store, c.environments.free!, runId, { actor: "dev", now: new Date(), requestedAt: new Date() })).toEqual({ state: "open", reason: "environment free has no gates" });
  });

  it("waitForEnvironmentGates: tells what it waits for once, opens on approval, stops when cancelled; an unknown environment is open, a broken slipway.yml closed", async () => {
    const waiting: string[] = [];
    const abort = new AbortController();
    const waited = waitForEnvironmentGates({ store, config: config(), environment: "prod", runId, actor: "dev", signal: abort.signal, waiting: (r) => waiting.push(r), pollMs: 20 });
    await new Promise((r) => setTimeout(r, 100));
    approve("ann", ["qa"]);
    expect(await waited).toEqual({ open: true });
    expect(waiting).toHaveLength(1);

    const cancelled = new AbortController();
    const pending = waitForEnvironmentGates({ store, config: config(), environment: "prod", runId: runId + 5, actor: "dev", signal: cancelled.signal, waiting: () => {}, pollMs: 20 });
    cancelled.abort();
    expect(await pending).toEqual({ open: false, reason: "cancelled while waiting for environment prod" });

    const never = new AbortController().signal;
    expect(await waitForEnvironmentGates({ store, config: config(), environment: "staging", runId, actor: "dev", signal: never, waiting: () => {} })).toEqual({ open: true });
    expect(await waitForEnvironmentGates({ store, config: undefined, environment: "prod", runId, actor: "dev", signal: never, waiting: () => {} })).toEqual({ open: true });
    expect(await waitForEnvironmentGates({ store, config: { error: "slipway.yml:3:5: bad" }, environment: "prod", runId, actor: "dev", signal: never, waiting: () => {} })).toEqual({
      open: false,
      reason: "slipway.yml has errors, so the gates of environment prod cannot be checked: slipway.yml:3:5: bad (fix: slipway lint)",
    });
  });
});
