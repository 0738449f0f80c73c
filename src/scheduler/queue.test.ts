import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type SqliteStore } from "../store/index.js";
import type { JobRunInput } from "../runner/index.js";
import { parseWorkflowText } from "../workflow/index.js";
import { envelopeKeyId, MasterKeyring, rotateMasterKey } from "../secrets/index.js";
import { evaluateWorkflowEnv, openJobSecrets, payloadRepository, QueueDispatcher, resealQueuedJobSecrets, runsOnLabels, sealJobSecrets, type QueuedJobPayload } from "./queue.js";
import type { JobSpec } from "../workflow/index.js";

describe("runsOnLabels", () => {
  it("reads a string, a list, an expression and {group, labels}, lowercase, each once", async () => {
    const text = `on: push
jobs:
  a: { runs-on: Ubuntu-Latest, steps: [{ run: x }] }
  b: { runs-on: [self-hosted, GPU, gpu], steps: [{ run: x }] }
  c: { runs-on: "\${{ matrix.os }}", steps: [{ run: x }] }
  d: { runs-on: { group: big, labels: [linux, x64] }, steps: [{ run: x }] }
`;
    const { workflow } = await parseWorkflowText("w.yml", text);
    const spec = (id: string) => workflow?.jobs.find((j) => j.id === id)?.runsOn;
    expect(runsOnLabels(spec("a"), {})).toEqual(["ubuntu-latest"]);
    expect(runsOnLabels(spec("b"), {})).toEqual(["self-hosted", "gpu"]);
    expect(runsOnLabels(spec("c"), { matrix: { os: "macos" } })).toEqual(["macos"]);
    expect(runsOnLabels(spec("d"), {})).toEqual(["linux", "x64"]);
    expect(runsOnLabels(undefined, {})).toEqual([]);
  });
});

describe("job secrets", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "slipway-queue-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("are sealed with the master key, bound to their job, and none are sealed as null", () => {
    expect(sealJobSecrets(dir, 1, { secrets: {} })).toBeNull();
    const sealed = sealJobSecrets(dir, 7, { secrets: { TOKEN: "hunter2-very-secret" } });
    expect(sealed?.toString("latin1")).not.toContain("hunter2");
    expect(openJobSecrets(dir, 7, sealed)).toEqual({ secrets: { TOKEN: "hunter2-very-secret" } });
    expect(() => openJobSecrets(dir, 8, sealed)).toThrow();
    expect(openJobSecrets(dir, 1, null)).toEqual({ secrets: {} });
    // OIDC request credentials and the job token are sealed with them, even for a job without secrets.
    const idToken = { url: "http://server/oidc/token?api-version=2.0", token: "request-token-value" };
    const jobToken = { url: "http://server", token: "slwj_job-token-value" };
    const withToken = sealJobSecrets(dir, 9, { secrets: {}, idToken, jobToken });
    expect(withToken?.toString("latin1")).not.toContain("request-token-value");
    expect(withToken?.toString("latin1")).not.toContain("job-token-value");
    expect(openJobSecrets(dir, 9, withToken)).toEqual({ secrets: {}, idToken, jobToken });
    expect(openJobSecrets(dir, 10, sealJobSecrets(dir, 10, { secrets: {}, jobToken }))).toEqual({ secrets: {}, jobToken });
    // A row sealed before credentials were (the secrets alone) still opens.
    const old = new MasterKeyring(dir).encrypt(JSON.stringify({ TOKEN: "x" }), "slipway queued job\u00003");
    expect(openJobSecrets(dir, 3, old)).toEqual({ secrets: { TOKEN: "x" } });
  });

  it("of unfinished jobs are sealed again after a master key rotation, and still open", () => {
    const store = openStore(dir);
    try {
      const run = store.createRun({ workflowPath: ".github/workflows/ci.yml", workflowName: "CI", event: "push", ref: "refs/heads/main", sha: "a".repeat(40) });
      const enqueue = () => {
        const job = store.createJob({ runId: run.id, jobKey: "build", name: "build", matrix: null, attempt: 1, environment: null });
        return store.enqueueJob({ jobId: job.id, runId: run.id, labels: [], payload: "{}", secrets: sealJobSecrets(dir, job.id, { secrets: { TOKEN: `t${job.id}` } }) });
      };
      const [waiting, done] = [enqueue(), enqueue()];
      store.cancelQueuedJob(done.jobId, "finished before the rotation");
      const { current } = rotateMasterKey(dir, {});
      expect(resealQueuedJobSecrets(store, new MasterKeyring(dir, {}))).toBe(1);
      const sealed = store.getQueuedJob(waiting.jobId)?.secrets ?? null;
      expect(envelopeKeyId(sealed as Buffer)).toBe(current);
      expect(openJobSecrets(dir, waiting.jobId, sealed)).toEqual({ secrets: { TOKEN: `t${waiting.jobId}` } });
      expect(envelopeKeyId(store.getQueuedJob(done.jobId)?.secrets as Buffer)).not.toBe(current);
    } finally {
      store.close();
    }
  });
});

describe("QueueDispatcher", () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "slipway-queue-"));
    store = openStore(dir);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The jobs of a workflow, by id. */
  async function jobsOf(text: string): Promise<Record<string, JobSpec>> {
    const { workflow } = await parseWorkflowText(".github/workflows/ci.yml", text);
    return Object.fromEntries((workflow?.jobs ?? []).map((j) => [j.id, j]));
  }

  function input(signal: AbortSignal, spec: Partial<JobSpec> = { id: "build" }): JobRunInput {
    const run = store.createRun({ workflowPath: ".github/workflows/ci.yml", workflowName: "CI", event: "push", ref: "refs/heads/main", sha: "a".repeat(40) });
    const job = store.createJob({ runId: run.id, jobKey: "build", name: "build (1)", matrix: '{"i":1}', attempt: 1, environment: null });
    return {
      workflow: { path: ".github/workflows/ci.yml" },
      job: spec,
      jobId: job.id,
      runId: run.id,
      runNumber: 4,
      attempt: 1,
      name: "build (1)",
      matrix: { i: 1 },
      strategy: { "job-index": 0 },
      needs: {},
      github: { sha: "a".repeat(40), event: { ref: "refs/heads/main" }, event_path: "/data/work/1/event.json" },
      repo: { root: "/src/app", prefix: "", sha: "a".repeat(40), ref: "refs/heads/main", branch: "main", defaultBranch: "main", owner: "acme", name: "app" },
      vars: { REGION: "eu" },
      secrets: { DEPLOY_KEY: "s3cr3t-value-123" },
      inputs: {},
      actions: { source: { kind: "url", prefix: "https://github.com" } },
      signal,
    } as unknown as JobRunInput;
  }

  it("queues a job with its payload, no secret value in the store's text, and resolves with its result", async () => {
    const d = new QueueDispatcher(store, dir, { pollMs: 10, maxAttempts: 2 });
    const { build } = await jobsOf("on: push\njobs:\n  build: { runs-on: [self-hosted, Linux], steps: [{ run: x }] }\n");
    const i = input(new AbortController().signal, build);
    const result = d.dispatch(i);
    const q = store.getQueuedJob(i.jobId);
    expect(q).toMatchObject({ state: "queued", labels: ["linux", "self-hosted"], maxAttempts: 2, timeoutMs: 360 * 60_000 });
    const payload = JSON.parse(q?.payload ?? "{}") as QueuedJobPayload;
    expect(payload).toMatchObject({ version: 1, workflowPath: ".github/workflows/ci.yml", jobKey: "build", runNumber: 4, matrix: { i: 1 }, repo: { root: "/src/app", owner: "acme", name: "app" }, vars: { REGION: "eu" } });
    expect(payloadRepository(payload)).toBe("acme/app");
    expect(payload).not.toHaveProperty("secretNames");
    expect(payload.github.event_path).toBe("");
    expect(q?.payload).not.toContain("s3cr3t");
    store.close();
    for (const f of readdirSync(dir)) if (f.startsWith("slipway.db")) expect(readFileSync(join(dir, f)).toString("latin1")).not.toContain("s3cr3t-value-123");
    store = openStore(dir);
    (d as unknown as { store: SqliteStore }).store = store;
    expect(openJobSecrets(dir, i.jobId, store.getQueuedJob(i.jobId)?.secrets ?? null)).toEqual({ secrets: { DEPLOY_KEY: "s3cr3t-value-123" } });
    store.leaseJob("a1", ["linux", "self-hosted"], 30_000);
    store.finishQueuedJob(i.jobId, { agent: "a1", attempt: 1 }, { result: "success", outputs: { v: "1" } });
    expect(await result).toEqual({ result: "success", outputs: { v: "1" } });
  });

  it("cancels a job still queued when the run is cancelled", async () => {
    const d = new QueueDispatcher(store, dir, { pollMs: 10 });
    const abort = new AbortController();
    const i = input(abort.signal);
    const result = d.dispatch(i);
    abort.abort("the run was cancelled");
    expect(await result).toEqual({ result: "cancelled", outputs: {}, reason: "the run was cancelled" });
    expect(store.getQueuedJob(i.jobId)).toMatchObject({ state: "finished", result: "cancelled" });
  });

  it("fails a job whose runs-on cannot be evaluated without queueing it", async () => {
    const d = new QueueDispatcher(store, dir, { pollMs: 10 });
    const { build } = await jobsOf("on: push\njobs:\n  build: { runs-on: \"${{ fromJSON('{') }}\", steps: [{ run: x }] }\n");
    const i = input(new AbortController().signal, build);
    const r = await d.dispatch(i);
    expect(r.result).toBe("failure");
    expect(r.reason).toMatch(/ci\.yml:\d+:\d+: runs-on: /);
    expect(store.getQueuedJob(i.jobId)).toBeUndefined();
  });

  it("gives the server the deadline the runner's timer uses: timeout-minutes evaluated, else 360", async () => {
    const d = new QueueDispatcher(store, dir, { pollMs: 10 });
    const jobs = await jobsOf(
      "on: push\njobs:\n  a: { runs-on: x, strategy: { matrix: { i: [1] } }, timeout-minutes: \"${{ matrix.i }}\", steps: [{ run: x }] }\n  b: { runs-on: x, timeout-minutes: 0, steps: [{ run: x }] }\n",
    );
    expect(jobs.a?.timeoutMinutes).toBeDefined();
    const abort = new AbortController();
    const a = input(abort.signal, jobs.a);
    const b = input(abort.signal, jobs.b);
    const done = [d.dispatch(a), d.dispatch(b)];
    expect(store.getQueuedJob(a.jobId)?.timeoutMs).toBe(60_000);
    expect(store.getQueuedJob(b.jobId)?.timeoutMs).toBe(360 * 60_000);
    abort.abort("the run was cancelled");
    expect((await Promise.all(done)).map((r) => r.result)).toEqual(["cancelled", "cancelled"]);
  });
});

describe("evaluateWorkflowEnv", () => {
  it("evaluates a workflow's env with the run's contexts, as strings", async () => {
    const { workflow } = await parseWorkflowText("w.yml", "on: push\nenv: { A: \"${{ vars.R }}-x\", N: 3, S: \"${{ secrets.T }}\" }\njobs:\n  a: { runs-on: x, steps: [{ run: x }] }\n");
    expect(evaluateWorkflowEnv(workflow?.env, { vars: { R: "eu" }, secrets: { T: "t" } })).toEqual({ A: "eu-x", N: "3", S: "t" });
    expect(evaluateWorkflowEnv(undefined, {})).toEqual({});
  });
});
