// The shared Store test suite. Every implementation runs it:
//
//   describeStore("SqliteStore", () => openStore(tempDir()));
//
// The factory must return a fresh, empty store each time; the suite closes it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ROLES, StoreError, type Store, type StoreErrorCode } from "./store.js";

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

const newRun = {
  workflowPath: ".github/workflows/ci.yml",
  workflowName: "CI",
  event: "push",
  ref: "refs/heads/main",
  sha: "0123456789abcdef0123456789abcdef01234567",
};

function expectStoreError(fn: () => unknown, code: StoreErrorCode, message?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a StoreError").toBeInstanceOf(StoreError);
  expect((caught as StoreError).code).toBe(code);
  if (message) expect((caught as StoreError).message).toMatch(message);
}

export function describeStore(name: string, factory: () => Store): void {
  describe(`Store: ${name}`, () => {
    let store: Store;
    beforeEach(() => {
      store = factory();
    });
    afterEach(() => {
      store.close();
    });

    describe("runs", () => {
      it("creates a queued run with every field", () => {
        const run = store.createRun(newRun);
        expect(run).toEqual({
          id: expect.any(Number),
          ...newRun,
          status: "queued",
          conclusion: null,
          reason: null,
          createdAt: expect.stringMatching(ISO_UTC),
          startedAt: null,
          completedAt: null,
          owner: null,
          repository: null,
        });
        expect(store.getRun(run.id)).toEqual(run);
      });

      it("records the run's repository", () => {
        const run = store.createRun({ ...newRun, repository: "octo-org/octo-repo" });
        expect(run.repository).toBe("octo-org/octo-repo");
        expect(store.getRun(run.id)?.repository).toBe("octo-org/octo-repo");
        expect(store.listRuns()[0]?.repository).toBe("octo-org/octo-repo");
      });

      it("counts the runs of each workflow", () => {
        expect(store.countRuns(newRun.workflowPath)).toBe(0);
        store.createRun(newRun);
        store.createRun(newRun);
        store.createRun({ ...newRun, workflowPath: ".github/workflows/other.yml" });
        expect(store.countRuns(newRun.workflowPath)).toBe(2);
        expect(store.countRuns(".github/workflows/other.yml")).toBe(1);
      });

      it("counts a workflow's runs per repository when one is named", () => {
        store.createRun({ ...newRun, repository: "acme/web" });
        store.createRun({ ...newRun, repository: "acme/web" });
        store.createRun({ ...newRun, repository: "acme/api" });
        store.createRun({ ...newRun, repository: "acme/web", workflowPath: ".github/workflows/other.yml" });
        store.createRun(newRun); // no repository: counted only without one
        expect(store.countRuns(newRun.workflowPath, "acme/web")).toBe(2);
        expect(store.countRuns(newRun.workflowPath, "acme/api")).toBe(1);
        expect(store.countRuns(newRun.workflowPath, "acme/none")).toBe(0);
        expect(store.countRuns(".github/workflows/other.yml", "acme/web")).toBe(1);
        expect(store.countRuns(".github/workflows/other.yml", "acme/api")).toBe(0);
        expect(store.countRuns(newRun.workflowPath)).toBe(4);
      });

      it("counts the runs of a workflow up to a given run (its run number, whatever was created after it)", () => {
        const first = store.createRun({ ...newRun, repository: "acme/web" });
        const second = store.createRun({ ...newRun, repository: "acme/web" });
        store.createRun({ ...newRun, repository: "acme/web" });
        expect(store.countRuns(newRun.workflowPath, "acme/web", first.id)).toBe(1);
        expect(store.countRuns(newRun.workflowPath, "acme/web", second.id)).toBe(2);
        expect(store.countRuns(newRun.workflowPath, undefined, second.id)).toBe(2);
        expect(store.countRuns(newRun.workflowPath, "acme/web")).toBe(3);
      });

      it("gives each run a new, increasing id", () => {
        const a = store.createRun(newRun);
        const b = store.createRun(newRun);
        expect(b.id).toBeGreaterThan(a.id);
      });

      it("returns undefined for an unknown run", () => {
        expect(store.getRun(987654)).toBeUndefined();
      });

      it("keeps text exactly, including unicode and quotes", () => {
        const odd = { ...newRun, workflowName: `Déploiement 🚀 "prod" 'x'; DROP TABLE runs; --`, ref: "refs/tags/v1.0.0-ß" };
        const run = store.createRun(odd);
        expect(store.getRun(run.id)).toMatchObject(odd);
      });

      it("starts a run: in_progress with startedAt, idempotent while running", () => {
        const run = store.createRun(newRun);
        store.startRun(run.id);
        const started = store.getRun(run.id)!;
        expect(started.status).toBe("in_progress");
        expect(started.startedAt).toMatch(ISO_UTC);
        expect(started.startedAt! >= started.createdAt).toBe(true);
        store.startRun(run.id);
        expect(store.getRun(run.id)!.startedAt).toBe(started.startedAt);
      });

      it("finishes a run with conclusion, reason and completedAt", () => {
        const run = store.createRun(newRun);
        store.startRun(run.id);
        store.finishRun(run.id, { conclusion: "failure", reason: "job 'test' failed" });
        const done = store.getRun(run.id)!;
        expect(done).toMatchObject({ status: "completed", conclusion: "failure", reason: "job 'test' failed" });
        expect(done.completedAt).toMatch(ISO_UTC);
        expect(done.completedAt! >= done.startedAt!).toBe(true);
      });

      it("finishes a run that never started (skipped), reason defaulting to null", () => {
        const run = store.createRun(newRun);
        store.finishRun(run.id, { conclusion: "skipped" });
        expect(store.getRun(run.id)).toMatchObject({
          status: "completed",
          conclusion: "skipped",
          reason: null,
          startedAt: null,
        });
      });

      it("refuses to start or finish a completed run, leaving it unchanged", () => {
        const run = store.createRun(newRun);
        store.finishRun(run.id, { conclusion: "success" });
        const before = store.getRun(run.id);
        expectStoreError(() => store.finishRun(run.id, { conclusion: "failure" }), "conflict", new RegExp(`run ${run.id}`));
        expectStoreError(() => store.startRun(run.id), "conflict");
        expect(store.getRun(run.id)).toEqual(before);
      });

      it("reports unknown run ids as not_found", () => {
        expectStoreError(() => store.startRun(424242), "not_found", /run 424242/);
        expectStoreError(() => store.finishRun(424242, { conclusion: "success" }), "not_found");
      });

      it("lists runs newest first, with an optional limit", () => {
        expect(store.listRuns()).toEqual([]);
        const ids = [1, 2, 3, 4].map((i) => store.createRun({ ...newRun, sha: String(i).repeat(40) }).id);
        expect(store.listRuns().map((r) => r.id)).toEqual([...ids].reverse());
        expect(store.listRuns({ limit: 2 }).map((r) => r.id)).toEqual([ids[3], ids[2]]);
        expect(store.listRuns({ limit: 0 })).toEqual([]);
        expect(store.listRuns({ limit: 100 })).toHaveLength(4);
      });

      describe("listRuns filters", () => {
        // Eight runs over two repositories, two workflows, two refs, three shas and every status.
        function seed(): Record<string, number> {
          const mk = (key: string, extra: Partial<typeof newRun> & { repository?: string }, status: "queued" | "in_progress" | "completed") => {
            const run = store.createRun({ ...newRun, ...extra });
            if (status !== "queued") store.startRun(run.id);
            if (status === "completed") store.finishRun(run.id, { conclusion: "success" });
            return [key, run.id] as const;
          };
          const A = "0".repeat(40);
          const B = "b".repeat(40);
          return Object.fromEntries([
            mk("web1", { repository: "acme/web", sha: A }, "completed"),
            mk("api1", { repository: "acme/api", sha: A }, "completed"),
            mk("web2", { repository: "acme/web", sha: B, ref: "refs/heads/feature" }, "completed"),
            mk("web3", { repository: "acme/web", sha: B, workflowPath: ".github/workflows/deploy.yml" }, "in_progress"),
            mk("old", { sha: B }, "completed"),
            mk("web4", { repository: "acme/web", sha: B }, "in_progress"),
            mk("api2", { repository: "acme/api", sha: B, ref: "refs/heads/feature" }, "queued"),
            mk("web5", { repository: "acme/web", sha: A, ref: "refs/heads/feature" }, "queued"),
          ]);
        }
        const ids = (runs: Array<{ id: number }>) => runs.map((r) => r.id);

        it("filters by each field alone, newest first", () => {
          const r = seed();
          expect(ids(store.listRuns({ repository: "acme/web" }))).toEqual([r.web5, r.web4, r.web3, r.web2, r.web1]);
          expect(ids(store.listRuns({ repository: "acme/api" }))).toEqual([r.api2, r.api1]);
          expect(store.listRuns({ repository: "acme" })).toEqual([]);
          expect(ids(store.listRuns({ status: "queued" }))).toEqual([r.web5, r.api2]);
          expect(ids(store.listRuns({ status: "in_progress" }))).toEqual([r.web4, r.web3]);
          expect(store.listRuns({ status: "completed" })).toHaveLength(4);
          expect(ids(store.listRuns({ workflowPath: ".github/workflows/deploy.yml" }))).toEqual([r.web3]);
          expect(ids(store.listRuns({ sha: "0".repeat(40) }))).toEqual([r.web5, r.api1, r.web1]);
          expect(ids(store.listRuns({ ref: "refs/heads/feature" }))).toEqual([r.web5, r.api2, r.web2]);
          // Runs stored without a repository are listed when no repository is asked for.
          expect(ids(store.listRuns({ sha: "b".repeat(40), status: "completed" }))).toEqual([r.old, r.web2]);
        });

        it("combines filters with AND", () => {
          const r = seed();
          expect(ids(store.listRuns({ repository: "acme/web", status: "in_progress" }))).toEqual([r.web4, r.web3]);
          expect(ids(store.listRuns({ repository: "acme/web", status: "in_progress", workflowPath: newRun.workflowPath }))).toEqual([r.web4]);
          expect(ids(store.listRuns({ repository: "acme/web", ref: "refs/heads/feature", sha: "b".repeat(40) }))).toEqual([r.web2]);
          expect(ids(store.listRuns({ ref: "refs/heads/feature", status: "queued" }))).toEqual([r.web5, r.api2]);
          expect(store.listRuns({ repository: "acme/api", workflowPath: ".github/workflows/deploy.yml" })).toEqual([]);
          expect(ids(store.listRuns({ repository: "acme/web", sha: "0".repeat(40), limit: 1 }))).toEqual([r.web5]);
        });

        it("pages with beforeId: the runs with a smaller id, filters still applied", () => {
          const r = seed();
          const first = store.listRuns({ limit: 3 });
          expect(ids(first)).toEqual([r.web5, r.api2, r.web4]);
          const second = store.listRuns({ limit: 3, beforeId: first.at(-1)!.id });
          expect(ids(second)).toEqual([r.old, r.web3, r.web2]);
          const third = store.listRuns({ limit: 3, beforeId: second.at(-1)!.id });
          expect(ids(third)).toEqual([r.api1, r.web1]);
          expect(store.listRuns({ limit: 3, beforeId: third.at(-1)!.id })).toEqual([]);

          const web1 = store.listRuns({ repository: "acme/web", limit: 2 });
          expect(ids(web1)).toEqual([r.web5, r.web4]);
          const web2 = store.listRuns({ repository: "acme/web", limit: 2, beforeId: web1.at(-1)!.id });
          expect(ids(web2)).toEqual([r.web3, r.web2]);
          expect(ids(store.listRuns({ repository: "acme/web", limit: 2, beforeId: web2.at(-1)!.id }))).toEqual([r.web1]);
          expect(ids(store.listRuns({ repository: "acme/web", status: "completed", beforeId: r.web2 }))).toEqual([r.web1]);
          expect(store.listRuns({ beforeId: r.web1 })).toEqual([]);
          // An id past the newest: everything.
          expect(store.listRuns({ beforeId: r.web5! + 1000 })).toHaveLength(8);
        });
      });
    });

    describe("jobs", () => {
      it("creates a queued job with every field", () => {
        const run = store.createRun(newRun);
        const matrix = JSON.stringify({ node: 20, os: "linux" });
        const job = store.createJob({
          runId: run.id,
          jobKey: "build",
          name: "build (20, linux)",
          matrix,
          attempt: 1,
          environment: "production",
        });
        expect(job).toEqual({
          id: expect.any(Number),
          runId: run.id,
          jobKey: "build",
          name: "build (20, linux)",
          matrix,
          attempt: 1,
          status: "queued",
          conclusion: null,
          reason: null,
          environment: "production",
          outputs: null,
          logPath: null,
          startedAt: null,
          completedAt: null,
        });
        expect(store.getJob(job.id)).toEqual(job);
        expect(JSON.parse(store.getJob(job.id)!.matrix!)).toEqual({ node: 20, os: "linux" });
      });

      it("returns undefined for an unknown job", () => {
        expect(store.getJob(987654)).toBeUndefined();
      });

      it("refuses a job for an unknown run", () => {
        expectStoreError(
          () => store.createJob({ runId: 99999, jobKey: "a", name: "a", matrix: null, attempt: 1, environment: null }),
          "not_found",
          /run 99999/,
        );
      });

      it("starts a job with its log path and finishes it with outputs as JSON text", () => {
        const run = store.createRun(newRun);
        const job = store.createJob({ runId: run.id, jobKey: "a", name: "a", matrix: null, attempt: 2, environment: null });
        store.startJob(job.id, "logs/1/a.log");
        expect(store.getJob(job.id)).toMatchObject({ status: "in_progress", logPath: "logs/1/a.log", attempt: 2 });
        expect(store.getJob(job.id)!.startedAt).toMatch(ISO_UTC);

        const outputs = { version: "1.2.3", "multi-line": "a\nb", quote: `"'` };
        store.finishJob(job.id, { conclusion: "success", outputs });
        const done = store.getJob(job.id)!;
        expect(done).toMatchObject({ status: "completed", conclusion: "success", reason: null });
        expect(done.completedAt).toMatch(ISO_UTC);
        expect(typeof done.outputs).toBe("string");
        expect(JSON.parse(done.outputs!)).toEqual(outputs);
      });

      it("notes what a job that has not started waits for, until it starts", () => {
        const run = store.createRun(newRun);
        const job = store.createJob({ runId: run.id, jobKey: "deploy", name: "deploy", matrix: null, attempt: 1, environment: "prod" });
        store.noteJobWaiting(job.id, "environment prod: waits for 1 approval");
        expect(store.getJob(job.id)).toMatchObject({ status: "queued", reason: "environment prod: waits for 1 approval" });
        store.noteJobWaiting(job.id, null);
        expect(store.getJob(job.id)?.reason).toBeNull();
        store.noteJobWaiting(job.id, "again");
        store.startJob(job.id, "logs/deploy");
        store.noteJobWaiting(job.id, "too late");
        expect(store.getJob(job.id)?.reason).toBe("again");
      });

      it("finishes a job without outputs (null) and with empty outputs ({})", () => {
        const run = store.createRun(newRun);
        const a = store.createJob({ runId: run.id, jobKey: "a", name: "a", matrix: null, attempt: 1, environment: null });
        const b = store.createJob({ runId: run.id, jobKey: "b", name: "b", matrix: null, attempt: 1, environment: null });
        store.finishJob(a.id, { conclusion: "skipped", reason: "if: false" });
        store.finishJob(b.id, { conclusion: "success", outputs: {} });
        expect(store.getJob(a.id)).toMatchObject({ conclusion: "skipped", reason: "if: false", outputs: null });
        expect(JSON.parse(store.getJob(b.id)!.outputs!)).toEqual({});
      });

      it("refuses to start or finish a completed job; unknown ids are not_found", () => {
        const run = store.createRun(newRun);
        const job = store.createJob({ runId: run.id, jobKey: "a", name: "a", matrix: null, attempt: 1, environment: null });
        store.finishJob(job.id, { conclusion: "cancelled", reason: "run cancelled" });
        expectStoreError(() => store.startJob(job.id, "x.log"), "conflict", new RegExp(`job ${job.id}`));
        expectStoreError(() => store.finishJob(job.id, { conclusion: "success" }), "conflict");
        expect(store.getJob(job.id)).toMatchObject({ conclusion: "cancelled", logPath: null });
        expectStoreError(() => store.startJob(55555, "x.log"), "not_found", /job 55555/);
        expectStoreError(() => store.finishJob(55555, { conclusion: "success" }), "not_found");
      });

      it("lists the jobs of one run in creation order", () => {
        const r1 = store.createRun(newRun);
        const r2 = store.createRun(newRun);
        const mk = (runId: number, key: string) =>
          store.createJob({ runId, jobKey: key, name: key, matrix: null, attempt: 1, environment: null }).id;
        const a = mk(r1.id, "lint");
        mk(r2.id, "other");
        const b = mk(r1.id, "build");
        expect(store.listJobs(r1.id).map((j) => j.id)).toEqual([a, b]);
        expect(store.listJobs(r1.id).map((j) => j.jobKey)).toEqual(["lint", "build"]);
        expect(store.listJobs(123456)).toEqual([]);
      });
    });

    describe("steps", () => {
      function job(): number {
        const run = store.createRun(newRun);
        return store.createJob({ runId: run.id, jobKey: "a", name: "a", matrix: null, attempt: 1, environment: null }).id;
      }

      it("creates a step in progress and finishes it with outcome and conclusion", () => {
        const jobId = job();
        const step = store.createStep(jobId, 1, "Run npm test", "logs/a/1.log");
        expect(step).toEqual({
          id: expect.any(Number),
          jobId,
          number: 1,
          name: "Run npm test",
          status: "in_progress",
          outcome: null,
          conclusion: null,
          logPath: "logs/a/1.log",
          startedAt: expect.stringMatching(ISO_UTC),
          completedAt: null,
        });
        // continue-on-error: the outcome failed, the conclusion is success.
        store.finishStep(step.id, "failure", "success");
        const [done] = store.listSteps(jobId);
        expect(done).toMatchObject({ status: "completed", outcome: "failure", conclusion: "success" });
        expect(done!.completedAt).toMatch(ISO_UTC);
      });

      it("accepts a step without a log path", () => {
        const step = store.createStep(job(), 1, "Set up job", null);
        expect(step.logPath).toBeNull();
      });

      it("lists steps of one job by number", () => {
        const j1 = job();
        const j2 = job();
        store.createStep(j1, 2, "second", null);
        store.createStep(j2, 1, "elsewhere", null);
        store.createStep(j1, 1, "first", null);
        store.createStep(j1, 3, "third", null);
        expect(store.listSteps(j1).map((s) => [s.number, s.name])).toEqual([
          [1, "first"],
          [2, "second"],
          [3, "third"],
        ]);
        expect(store.listSteps(99999)).toEqual([]);
      });

      it("refuses a duplicate step number, an unknown job and finishing twice", () => {
        const jobId = job();
        const step = store.createStep(jobId, 1, "a", null);
        expectStoreError(() => store.createStep(jobId, 1, "again", null), "conflict", /step number 1/);
        expectStoreError(() => store.createStep(77777, 1, "a", null), "not_found", /job 77777/);
        store.finishStep(step.id, "success", "success");
        expectStoreError(() => store.finishStep(step.id, "failure", "failure"), "conflict");
        expect(store.listSteps(jobId)[0]).toMatchObject({ outcome: "success", conclusion: "success" });
        expectStoreError(() => store.finishStep(77777, "success", "success"), "not_found", /step 77777/);
      });
    });

    describe("recoverInterrupted", () => {
      it("cancels everything queued or in progress with the reason, and nothing else", () => {
        const done = store.createRun(newRun);
        const doneJob = store.createJob({ runId: done.id, jobKey: "a", name: "a", matrix: null, attempt: 1, environment: null });
        const doneStep = store.createStep(doneJob.id, 1, "s", null);
        store.finishStep(doneStep.id, "success", "success");
        store.finishJob(doneJob.id, { conclusion: "success" });
        store.finishRun(done.id, { conclusion: "success" });

        const queued = store.createRun(newRun);
        const queuedJob = store.createJob({ runId: queued.id, jobKey: "q", name: "q", matrix: null, attempt: 1, environment: null });

        const running = store.createRun(newRun);
        store.startRun(running.id);
        const finishedJob = store.createJob({ runId: running.id, jobKey: "lint", name: "lint", matrix: null, attempt: 1, environment: null });
        store.finishJob(finishedJob.id, { conclusion: "failure", reason: "lint failed" });
        const runningJob = store.createJob({ runId: running.id, jobKey: "b", name: "b", matrix: null, attempt: 1, environment: null });
        store.startJob(runningJob.id, "b.log");
        const okStep = store.createStep(runningJob.id, 1, "ok", null);
        store.finishStep(okStep.id, "success", "success");
        store.createStep(runningJob.id, 2, "hung", null);

        const reason = "Slipway restarted while this was running";
        expect(store.recoverInterrupted(reason)).toBe(2);

        expect(store.getRun(done.id)).toMatchObject({ conclusion: "success", reason: null });
        expect(store.getJob(doneJob.id)).toMatchObject({ conclusion: "success", reason: null });
        expect(store.listSteps(doneJob.id)[0]).toMatchObject({ conclusion: "success" });

        for (const id of [queued.id, running.id]) {
          const r = store.getRun(id)!;
          expect(r).toMatchObject({ status: "completed", conclusion: "cancelled", reason });
          expect(r.completedAt).toMatch(ISO_UTC);
        }
        expect(store.getJob(queuedJob.id)).toMatchObject({ status: "completed", conclusion: "cancelled", reason });
        expect(store.getJob(runningJob.id)).toMatchObject({ status: "completed", conclusion: "cancelled", reason });
        expect(store.getJob(finishedJob.id)).toMatchObject({ conclusion: "failure", reason: "lint failed" });
        const steps = store.listSteps(runningJob.id);
        expect(steps[0]).toMatchObject({ outcome: "success", conclusion: "success" });
        expect(steps[1]).toMatchObject({ status: "completed", outcome: "cancelled", conclusion: "cancelled" });
        expect(steps[1]!.completedAt).toMatch(ISO_UTC);

        expect(store.recoverInterrupted(reason)).toBe(0);
      });

      it("leaves the runs of a live owner alone", () => {
        const mine = store.createRun({ ...newRun, owner: "host-a:1" });
        const theirs = store.createRun({ ...newRun, owner: "host-a:2" });
        const job = store.createJob({ runId: theirs.id, jobKey: "j", name: "j", matrix: null, attempt: 1, environment: null });
        expect(store.getRun(mine.id)?.owner).toBe("host-a:1");
        expect(store.recoverInterrupted("restart", (owner) => owner === "host-a:2")).toBe(1);
        expect(store.getRun(mine.id)).toMatchObject({ status: "completed", conclusion: "cancelled", reason: "restart" });
        expect(store.getRun(theirs.id)).toMatchObject({ status: "queued", conclusion: null });
        expect(store.getJob(job.id)).toMatchObject({ status: "queued", conclusion: null });
      });

      it("returns 0 on an empty store", () => {
        expect(store.recoverInterrupted("restart")).toBe(0);
      });
    });

    describe("secrets (ciphertext only)", () => {
      const blob = Buffer.from([0x01, 0x00, 0xff, 0x10, 0x00, 0x7f, 0x80]);

      it("puts and gets the exact bytes", () => {
        store.putSecret("TOKEN", "", blob);
        const rec = store.getSecret("TOKEN", "")!;
        expect(rec.name).toBe("TOKEN");
        expect(rec.environment).toBe("");
        expect(Buffer.isBuffer(rec.ciphertext)).toBe(true);
        expect(rec.ciphertext.equals(blob)).toBe(true);
        expect(rec.updatedAt).toMatch(ISO_UTC);
      });

      it("keeps repository-level and environment-level secrets apart", () => {
        store.putSecret("TOKEN", "", Buffer.from("repo"));
        store.putSecret("TOKEN", "production", Buffer.from("prod"));
        expect(store.getSecret("TOKEN", "")!.ciphertext.toString()).toBe("repo");
        expect(store.getSecret("TOKEN", "production")!.ciphertext.toString()).toBe("prod");
        expect(store.getSecret("TOKEN", "staging")).toBeUndefined();
        expect(store.getSecret("OTHER", "")).toBeUndefined();
      });

      it("records which job read which secret names, once per job and name, with the job's environment", () => {
        const run = store.createRun(newRun);
        const build = store.createJob({ runId: run.id, jobKey: "build", name: "build", matrix: null, attempt: 1, environment: null });
        const deploy = store.createJob({ runId: run.id, jobKey: "deploy", name: "deploy", matrix: null, attempt: 1, environment: "prod" });
        store.recordSecretReads(build.id, ["NPM_TOKEN"]);
        store.recordSecretReads(deploy.id, ["DEPLOY_KEY", "NPM_TOKEN"]);
        store.recordSecretReads(deploy.id, ["DEPLOY_KEY"]);
        store.recordSecretReads(deploy.id, []);
        const all = store.listSecretReads();
        expect(all.map((r) => [r.job, r.environment, r.name])).toEqual(
          expect.arrayContaining([
            ["build", "", "NPM_TOKEN"],
            ["deploy", "prod", "DEPLOY_KEY"],
            ["deploy", "prod", "NPM_TOKEN"],
          ]),
        );
        expect(all).toHaveLength(3);
        expect(all.every((r) => r.runId === run.id && ISO_UTC.test(r.readAt))).toBe(true);
        expect(store.listSecretReads({ name: "NPM_TOKEN" }).map((r) => r.job).sort()).toEqual(["build", "deploy"]);
        expect(store.listSecretReads({ runId: run.id + 1 })).toEqual([]);
        expect(store.listSecretReads({ limit: 1 })).toHaveLength(1);
      });

      it("keeps a job's annotations, at most 50 per job, listed by run", () => {
        const run = store.createRun(newRun);
        const build = store.createJob({ runId: run.id, jobKey: "build", name: "build", matrix: null, attempt: 1, environment: null });
        const lint = store.createJob({ runId: run.id, jobKey: "lint", name: "lint", matrix: null, attempt: 1, environment: null });
        store.recordAnnotations(lint.id, [{ level: "warning", message: "unused variable", file: "src/a.ts", line: 3, col: 7, title: "eslint", step: "Run eslint" }]);
        store.recordAnnotations(build.id, [{ level: "error", message: "boom" }, { level: "notice", message: "note" }]);
        store.recordAnnotations(build.id, []);
        const list = store.listAnnotations(run.id);
        expect(list.map((a) => [a.jobId, a.level, a.message])).toEqual([
          [build.id, "error", "boom"],
          [build.id, "notice", "note"],
          [lint.id, "warning", "unused variable"],
        ]);
        expect(list[2]).toMatchObject({ runId: run.id, file: "src/a.ts", line: 3, col: 7, title: "eslint", step: "Run eslint" });
        expect(list[0]).not.toHaveProperty("file");
        expect(ISO_UTC.test(list[0]!.createdAt)).toBe(true);
        store.recordAnnotations(build.id, Array.from({ length: 60 }, (_, i) => ({ level: "warning" as const, message: `w${i}` })));
        expect(store.listAnnotations(run.id).filter((a) => a.jobId === build.id)).toHaveLength(50);
        expect(store.listAnnotations(run.id + 1)).toEqual([]);
      });

      it("replaces a ciphertext only while it is the expected one, keeping updatedAt", () => {
        store.putSecret("TOKEN", "prod", Buffer.from("old"));
        const before = store.getSecret("TOKEN", "prod")!;
        expect(store.replaceSecret("TOKEN", "prod", Buffer.from("other"), Buffer.from("new"))).toBe(false);
        expect(store.replaceSecret("TOKEN", "", Buffer.from("old"), Buffer.from("new"))).toBe(false);
        expect(store.getSecret("TOKEN", "prod")!.ciphertext.toString()).toBe("old");
        expect(store.replaceSecret("TOKEN", "prod", Buffer.from("old"), Buffer.from("new"))).toBe(true);
        expect(store.getSecret("TOKEN", "prod")).toEqual({ ...before, ciphertext: Buffer.from("new") });
      });

      it("replaces a secret on put", () => {
        store.putSecret("TOKEN", "", Buffer.from("one"));
        const first = store.getSecret("TOKEN", "")!.updatedAt;
        store.putSecret("TOKEN", "", Buffer.from("two"));
        const rec = store.getSecret("TOKEN", "")!;
        expect(rec.ciphertext.toString()).toBe("two");
        expect(rec.updatedAt >= first).toBe(true);
        expect(store.listSecrets()).toHaveLength(1);
      });

      it("lists names without ciphertext, all or per environment", () => {
        store.putSecret("B", "", blob);
        store.putSecret("A", "", blob);
        store.putSecret("A", "production", blob);
        const all = store.listSecrets();
        expect(all.map((s) => [s.environment, s.name])).toEqual([
          ["", "A"],
          ["", "B"],
          ["production", "A"],
        ]);
        for (const s of all) {
          expect(Object.keys(s).sort()).toEqual(["environment", "name", "updatedAt"]);
        }
        expect(store.listSecrets("").map((s) => s.name)).toEqual(["A", "B"]);
        expect(store.listSecrets("production").map((s) => s.name)).toEqual(["A"]);
        expect(store.listSecrets("nowhere")).toEqual([]);
      });

      it("deletes one secret and says whether it existed", () => {
        store.putSecret("A", "", blob);
        store.putSecret("A", "production", blob);
        expect(store.deleteSecret("A", "production")).toBe(true);
        expect(store.deleteSecret("A", "production")).toBe(false);
        expect(store.getSecret("A", "")).toBeDefined();
        expect(store.deleteSecret("MISSING", "")).toBe(false);
      });
    });

    describe("variables", () => {
      it("puts, replaces, lists and deletes variables per environment", () => {
        store.putVariable("REGION", "", "eu-west-1");
        store.putVariable("REGION", "production", "us-east-1");
        store.putVariable("DEBUG", "", "");
        store.putVariable("REGION", "", "eu-central-1");
        const all = store.listVariables();
        expect(all.map((v) => [v.environment, v.name, v.value])).toEqual([
          ["", "DEBUG", ""],
          ["", "REGION", "eu-central-1"],
          ["production", "REGION", "us-east-1"],
        ]);
        for (const v of all) expect(v.updatedAt).toMatch(ISO_UTC);
        expect(store.listVariables("production").map((v) => v.value)).toEqual(["us-east-1"]);
        expect(store.listVariables("none")).toEqual([]);
        expect(store.deleteVariable("REGION", "production")).toBe(true);
        expect(store.deleteVariable("REGION", "production")).toBe(false);
        expect(store.listVariables().map((v) => v.name)).toEqual(["DEBUG", "REGION"]);
      });

      it("keeps multi-line and unicode values exactly", () => {
        // No NUL character: PostgreSQL's text cannot hold one (SQLite's can).
        const value = "line 1\nline 2\r\n\ttabbed ✓ end";
        store.putVariable("TEXT", "", value);
        expect(store.listVariables("")[0]!.value).toBe(value);
      });
    });

    describe("API tokens", () => {
      const hash = (c: string) => c.repeat(64);

      it("lists the roles lowest to highest", () => {
        expect(ROLES).toEqual(["viewer", "developer", "release-manager", "admin"]);
      });

      it("creates a token with every field, without its hash", () => {
        const token = store.createToken({ name: "ci", role: "developer", hash: hash("a"), createdBy: "alice" });
        expect(token).toEqual({
          id: expect.any(Number),
          name: "ci",
          role: "developer",
          groups: [],
          createdAt: expect.stringMatching(ISO_UTC),
          createdBy: "alice",
          lastUsedAt: null,
          revokedAt: null,
        });
        expect(store.createToken({ name: "bootstrap", role: "admin", hash: hash("b") }).createdBy).toBeNull();
        expect(store.createToken({ name: "x", role: "viewer", hash: hash("c"), createdBy: null }).createdBy).toBeNull();
        for (const t of store.listTokens()) expect(Object.keys(t)).not.toContain("hash");
        expect(JSON.stringify(store.listTokens())).not.toContain(hash("a"));
      });

      it("stores every role", () => {
        for (const [i, role] of ROLES.entries()) store.createToken({ name: role, role, hash: hash(String(i)) });
        expect(store.listTokens().map((t) => t.role)).toEqual([...ROLES]);
      });

      it("finds a token by its hash", () => {
        const a = store.createToken({ name: "a", role: "viewer", hash: hash("a") });
        store.createToken({ name: "b", role: "admin", hash: hash("b") });
        expect(store.findToken(hash("a"))).toEqual(a);
        expect(store.findToken(hash("b"))?.role).toBe("admin");
        expect(store.findToken(hash("c"))).toBeUndefined();
        expect(store.findToken("")).toBeUndefined();
      });

      it("refuses a second token with the same hash", () => {
        store.createToken({ name: "a", role: "viewer", hash: hash("a") });
        expectStoreError(() => store.createToken({ name: "b", role: "admin", hash: hash("a") }), "conflict");
        expect(store.listTokens().map((t) => t.name)).toEqual(["a"]);
      });

      it("revokes a token: no longer found nor counted, still listed with revokedAt", () => {
        const a = store.createToken({ name: "a", role: "developer", hash: hash("a") });
        const b = store.createToken({ name: "b", role: "admin", hash: hash("b") });
        expect(store.countTokens()).toBe(2);
        store.revokeToken(a.id);
        expect(store.findToken(hash("a"))).toBeUndefined();
        expect(store.findToken(hash("b"))?.id).toBe(b.id);
        expect(store.countTokens()).toBe(1);
        const listed = store.listTokens();
        expect(listed.map((t) => t.id)).toEqual([a.id, b.id]);
        expect(listed[0]!.revokedAt).toMatch(ISO_UTC);
        expect(listed[0]!.revokedAt! >= a.createdAt).toBe(true);
        expect(listed[1]!.revokedAt).toBeNull();
      });

      it("refuses to revoke a token twice (conflict), or an unknown one (not_found)", () => {
        const a = store.createToken({ name: "a", role: "developer", hash: hash("a") });
        store.revokeToken(a.id);
        const revokedAt = store.listTokens()[0]!.revokedAt;
        expectStoreError(() => store.revokeToken(a.id), "conflict", new RegExp(`token ${a.id} is already revoked`));
        expect(store.listTokens()[0]!.revokedAt).toBe(revokedAt);
        expectStoreError(() => store.revokeToken(424242), "not_found", /token 424242/);
      });

      it("records when a token was last used", () => {
        const a = store.createToken({ name: "a", role: "viewer", hash: hash("a") });
        const b = store.createToken({ name: "b", role: "viewer", hash: hash("b") });
        store.touchToken(a.id);
        const used = store.findToken(hash("a"))!.lastUsedAt;
        expect(used).toMatch(ISO_UTC);
        expect(used! >= a.createdAt).toBe(true);
        expect(store.findToken(hash("b"))!.lastUsedAt).toBeNull();
        store.touchToken(a.id);
        expect(store.findToken(hash("a"))!.lastUsedAt! >= used!).toBe(true);
        expect(store.listTokens().find((t) => t.id === b.id)?.lastUsedAt).toBeNull();
        expectStoreError(() => store.touchToken(424242), "not_found", /token 424242/);
      });

      it("counts the tokens not revoked", () => {
        expect(store.countTokens()).toBe(0);
        const a = store.createToken({ name: "a", role: "admin", hash: hash("a") });
        store.createToken({ name: "b", role: "viewer", hash: hash("b") });
        expect(store.countTokens()).toBe(2);
        store.revokeToken(a.id);
        expect(store.countTokens()).toBe(1);
      });

      it("keeps the groups a token was given", () => {
        const t = store.createToken({ name: "qa", role: "release-manager", hash: "c".repeat(64), groups: ["qa", "release-managers"] });
        expect(t.groups).toEqual(["qa", "release-managers"]);
        expect(store.findToken("c".repeat(64))?.groups).toEqual(["qa", "release-managers"]);
        expect(store.createToken({ name: "plain", role: "viewer", hash: "d".repeat(64) }).groups).toEqual([]);
      });

      it("lists tokens by id", () => {
        expect(store.listTokens()).toEqual([]);
        const made = ["z", "a", "m"].map((name, i) => store.createToken({ name, role: "viewer", hash: hash(String(i)) }).id);
        expect(store.listTokens().map((t) => t.id)).toEqual(made);
        expect(store.listTokens().map((t) => t.name)).toEqual(["z", "a", "m"]);
      });
    });

    describe("concurrency claims", () => {
      const alive = () => true;

      it("lets one claim run and one wait per group; a newer one cancels the waiting one", () => {
        const a = store.claimConcurrency("acme/web\ndeploy", "h:1", false, alive);
        expect(a).toMatchObject({ state: "running", holder: "h:1", cancelRequested: false });
        const b = store.claimConcurrency("acme/web\ndeploy", "h:2", false, alive);
        expect(b.state).toBe("pending");
        expect(store.claimConcurrency("acme/api\ndeploy", "h:2", false, alive).state).toBe("running");
        const c = store.claimConcurrency("acme/web\ndeploy", "h:3", false, alive);
        expect(store.checkConcurrency(b.id, alive)?.state).toBe("cancelled");
        expect(store.checkConcurrency(c.id, alive)?.state).toBe("pending");
        store.releaseConcurrency(a.id);
        expect(store.checkConcurrency(a.id, alive)).toBeUndefined();
        expect(store.checkConcurrency(c.id, alive)?.state).toBe("running");
        store.releaseConcurrency(b.id);
        store.releaseConcurrency(c.id);
        expect(store.claimConcurrency("acme/web\ndeploy", "h:4", false, alive).state).toBe("running");
      });

      it("asks the running claim to cancel with cancel-in-progress", () => {
        const a = store.claimConcurrency("g", "h:1", false, alive);
        store.claimConcurrency("g", "h:2", true, alive);
        expect(store.checkConcurrency(a.id, alive)).toMatchObject({ state: "running", cancelRequested: true });
      });

      it("drops the claims of dead holders: a waiting claim goes ahead, a new one runs at once", () => {
        const dead = (h: string) => h !== "h:dead";
        const a = store.claimConcurrency("g", "h:dead", false, alive);
        const b = store.claimConcurrency("g", "h:2", false, alive);
        expect(b.state).toBe("pending");
        expect(store.checkConcurrency(b.id, dead)?.state).toBe("running");
        expect(store.checkConcurrency(a.id, dead)).toBeUndefined();
        store.releaseConcurrency(b.id);
        store.claimConcurrency("g2", "h:dead", false, alive);
        expect(store.claimConcurrency("g2", "h:3", false, dead).state).toBe("running");
      });
    });

    describe("change requests", () => {
      const base = { title: "Add a thing", source: "feature", target: "main", author: "ada" };

      it("numbers change requests per repository and lists them newest first", () => {
        const a = store.createChangeRequest({ repository: "acme/web", ...base });
        const b = store.createChangeRequest({ repository: "acme/web", ...base, source: "other" });
        const c = store.createChangeRequest({ repository: "acme/api", ...base });
        expect([a.number, b.number, c.number]).toEqual([1, 2, 1]);
        expect(a).toMatchObject({ ...base, repository: "acme/web", state: "open", mergeSha: null, mergedAt: null });
        expect(store.listChangeRequests("acme/web").map((x) => x.number)).toEqual([2, 1]);
        expect(store.getChangeRequest("acme/api", 1)?.source).toBe("feature");
        expect(store.getChangeRequest("acme/api", 2)).toBeUndefined();
      });

      it("records the merge result, approvals once per person, and the end", () => {
        store.createChangeRequest({ repository: "acme/web", ...base });
        store.setChangeMerge("acme/web", 1, { headSha: "h".repeat(40), baseSha: "b".repeat(40), mergeSha: "m".repeat(40), detail: null });
        expect(store.getChangeRequest("acme/web", 1)).toMatchObject({ headSha: "h".repeat(40), mergeSha: "m".repeat(40) });
        expect(store.approveChangeRequest("acme/web", 1, "bob")).toBe(true);
        expect(store.approveChangeRequest("acme/web", 1, "bob")).toBe(false);
        expect(store.approveChangeRequest("acme/web", 1, "cy")).toBe(true);
        expect(store.listChangeApprovals("acme/web", 1).map((x) => x.by).sort()).toEqual(["bob", "cy"]);
        expect(() => store.approveChangeRequest("acme/web", 9, "bob")).toThrow(expect.objectContaining({ code: "not_found" }));
        store.finishChangeRequest("acme/web", 1, "merged", "bob");
        expect(store.getChangeRequest("acme/web", 1)).toMatchObject({ state: "merged", mergedBy: "bob" });
        expect(store.listChangeRequests("acme/web", "open")).toEqual([]);
        expect(() => store.finishChangeRequest("acme/web", 1, "closed", "bob")).toThrow(expect.objectContaining({ code: "conflict" }));
        expect(() => store.setChangeMerge("acme/web", 1, { headSha: "h", baseSha: "b", mergeSha: null, detail: "x" })).toThrow(expect.objectContaining({ code: "conflict" }));
        expect(() => store.finishChangeRequest("acme/web", 7, "closed", "bob")).toThrow(expect.objectContaining({ code: "not_found" }));
      });
    });

    describe("launches", () => {
      const launch = { repository: "acme/web", event: "push", ref: "refs/heads/main", sha: "a".repeat(40), request: '{"before":"0"}', actor: "ada" };

      it("keeps an event waiting, then running by one runner, then done, in order", () => {
        const a = store.createLaunch(launch);
        const b = store.createLaunch({ ...launch, sha: "b".repeat(40) });
        expect(a).toMatchObject({ ...launch, state: "waiting", attempts: 0, runner: null, exitCode: null, detail: null, startedAt: null, finishedAt: null });
        expect(store.listLaunches({ state: "waiting" }).map((l) => l.id)).toEqual([a.id, b.id]);
        expect(store.listLaunches({ state: "waiting", limit: 1 }).map((l) => l.id)).toEqual([a.id]);
        const started = store.startLaunch(a.id, "host:42");
        expect(started).toMatchObject({ state: "running", runner: "host:42", attempts: 1 });
        expect(started.startedAt).not.toBeNull();
        expect(() => store.startLaunch(a.id, "host:43")).toThrow(expect.objectContaining({ code: "conflict" }));
        store.finishLaunch(a.id, { exitCode: 0, detail: null });
        expect(store.getLaunch(a.id)).toMatchObject({ state: "done", exitCode: 0 });
        expect(() => store.finishLaunch(a.id, { exitCode: 1, detail: null })).toThrow(expect.objectContaining({ code: "conflict" }));
        expect(() => store.finishLaunch(999, { exitCode: 1, detail: null })).toThrow(expect.objectContaining({ code: "not_found" }));
        expect(store.listLaunches().map((l) => l.state)).toEqual(["done", "waiting"]);
        expect(store.getLaunch(999)).toBeUndefined();
      });

      it("takes a launch back when its runner died before it ran anything", () => {
        const a = store.createLaunch(launch);
        store.startLaunch(a.id, "host:42");
        store.requeueLaunch(a.id, "its slipway run (host:42) died before starting a run");
        expect(store.getLaunch(a.id)).toMatchObject({ state: "waiting", runner: null, attempts: 1, detail: expect.stringContaining("died") });
        expect(store.startLaunch(a.id, "host:44")).toMatchObject({ attempts: 2, runner: "host:44" });
        expect(() => store.requeueLaunch(store.createLaunch(launch).id, "x")).toThrow(expect.objectContaining({ code: "conflict" }));
      });

      it("finds the runs of one runner", () => {
        const mine = store.createRun({ ...newRun, owner: "host:42" });
        store.createRun({ ...newRun, owner: "host:43" });
        expect(store.listRuns({ owner: "host:42" }).map((r) => r.id)).toEqual([mine.id]);
        expect(store.listRuns({ owner: "host:42", repository: "none/none" })).toEqual([]);
      });
    });

    describe("releases", () => {
      const file = (path: string, digest: string) => ({ path, digest: `sha256:${digest.repeat(64).slice(0, 64)}`, size: 3, mode: 0o644 });
      const release = (service: string, digest: string, extra: Partial<Parameters<Store["createRelease"]>[0]> = {}) => ({
        service,
        digest: `sha256:${digest.repeat(64).slice(0, 64)}`,
        artifact: "web",
        files: [file("server.js", "a"), file("package.json", "b")],
        size: 6,
        sourceCommit: "0123456789abcdef0123456789abcdef01234567",
        sourceRef: "refs/heads/main",
        runId: null,
        workflowPath: ".github/workflows/ci.yml",
        createdBy: "alice",
        ...extra,
      });

      it("numbers a service's releases and never makes a second one of the same digest", () => {
        const first = store.createRelease(release("web", "1"));
        expect(first.created).toBe(true);
        expect(first.release).toMatchObject({ service: "web", number: 1, artifact: "web", size: 6, createdBy: "alice", runId: null });
        expect(first.release.createdAt).toMatch(ISO_UTC);
        expect(first.release.files.map((f) => f.path)).toEqual(["server.js", "package.json"]);

        const again = store.createRelease(release("web", "1", { createdBy: "bob", artifact: "other" }));
        expect(again.created).toBe(false);
        expect(again.release).toEqual(first.release);

        expect(store.createRelease(release("web", "2")).release.number).toBe(2);
        // Numbers and digests are per service.
        expect(store.createRelease(release("api", "1")).release.number).toBe(1);
      });

      it("finds a release by number or digest and lists them newest first", () => {
        const run = store.createRun(newRun);
        store.createRelease(release("web", "1", { runId: run.id }));
        store.createRelease(release("web", "2"));
        store.createRelease(release("api", "3"));
        expect(store.getRelease("web", 1)?.runId).toBe(run.id);
        expect(store.getRelease("web", `sha256:${"2".repeat(64)}`)?.number).toBe(2);
        expect(store.getRelease("web", 3)).toBeUndefined();
        expect(store.getRelease("api", `sha256:${"1".repeat(64)}`)).toBeUndefined();
        expect(store.listReleases("web").map((r) => r.number)).toEqual([2, 1]);
        expect(store.listReleases().map((r) => `${r.service}#${r.number}`)).toEqual(["api#1", "web#2", "web#1"]);
        expect(store.listReleases("none")).toEqual([]);
      });

      it("keeps one attestation of each kind per release, never replaced", () => {
        const { release: r } = store.createRelease(release("web", "1"));
        const sig = { releaseId: r.id, kind: "signature" as const, digest: `sha256:${"e".repeat(64)}`, mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", keyId: "f".repeat(64) };
        const first = store.putReleaseAttestation(sig);
        expect(first.created).toBe(true);
        expect(first.attestation).toMatchObject(sig);
        expect(first.attestation.createdAt).toMatch(ISO_UTC);
        const again = store.putReleaseAttestation({ ...sig, digest: `sha256:${"0".repeat(64)}` });
        expect(again.created).toBe(false);
        expect(again.attestation.digest).toBe(sig.digest);
        store.putReleaseAttestation({ releaseId: r.id, kind: "provenance", digest: `sha256:${"d".repeat(64)}`, mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", keyId: "f".repeat(64) });
        store.putReleaseAttestation({ releaseId: r.id, kind: "sbom", digest: `sha256:${"c".repeat(64)}`, mediaType: "application/vnd.cyclonedx+json", keyId: null });
        expect(store.listReleaseAttestations(r.id).map((a) => a.kind)).toEqual(["sbom", "signature", "provenance"]);
        expect(store.listReleaseAttestations(r.id + 1)).toEqual([]);
      });
    });

    describe("delivery", () => {
      const digest = (c: string) => `sha256:${c.repeat(64)}`;
      const rollout = { env: "prod", service: "web", fromRelease: "web#1", fromDigest: digest("1"), toRelease: "web#2", toDigest: digest("2"), strategy: "canary", stateCommit: "abc" };

      it("records what runs per environment and service, replacing it on the next deploy", () => {
        expect(store.getDeployment("prod", "web")).toBeUndefined();
        store.putDeployment({ env: "prod", service: "web", release: "web#1", digest: digest("1"), configHash: digest("c"), port: 8080 });
        const second = store.putDeployment({ env: "prod", service: "web", release: "web#2", digest: digest("2"), configHash: digest("c"), port: 8080 });
        store.putDeployment({ env: "dev", service: "web", release: null, digest: null, configHash: null, port: null });
        expect(second.updatedAt).toMatch(ISO_UTC);
        expect(store.getDeployment("prod", "web")).toMatchObject({ release: "web#2", digest: digest("2"), port: 8080 });
        expect(store.listDeployments().map((d) => `${d.env}/${d.service}=${d.release}`)).toEqual(["dev/web=null", "prod/web=web#2"]);
      });

      it("moves a rollout through its phases; a final phase ends it and nothing changes it after", () => {
        const r = store.createRollout(rollout);
        expect(r).toMatchObject({ phase: "progressing", step: 0, weight: 0, reason: null, finishedAt: null });
        expect(store.activeRollout("prod", "web")?.id).toBe(r.id);
        const paused = store.updateRollout(r.id, { phase: "paused", step: 2, weight: 25, reason: "only 7 requests: inconclusive" });
        expect(paused).toMatchObject({ phase: "paused", step: 2, weight: 25, reason: "only 7 requests: inconclusive", finishedAt: null });
        // Omitted fields stay; reason cleared only when given.
        expect(store.updateRollout(r.id, { phase: "progressing" })).toMatchObject({ step: 2, weight: 25, reason: "only 7 requests: inconclusive" });
        const done = store.updateRollout(r.id, { phase: "rolled-back", weight: 0, reason: "error rate 20% ≥ 1%" });
        expect(done.finishedAt).toMatch(ISO_UTC);
        expect(store.activeRollout("prod", "web")).toBeUndefined();
        expectStoreError(() => store.updateRollout(r.id, { phase: "progressing" }), "conflict", /already ended \(rolled-back\)/);
        expectStoreError(() => store.updateRollout(9999, { step: 1 }), "not_found");
        expectStoreError(() => store.updateRollout(store.createRollout(rollout).id, { weight: 101 }), "conflict", /whole percentage/);
        expect(store.listRollouts({ env: "prod" }).map((x) => x.id)[1]).toBe(r.id);
        expect(store.listRollouts({ service: "api" })).toEqual([]);
      });

      it("stores measurements with their values and reasons", () => {
        const r = store.createRollout(rollout);
        store.addMeasurement({ rolloutId: r.id, step: 0, verdict: "pass", measured: { error_rate: 0, p99: 12.5 }, reason: "ok" });
        store.addMeasurement({ rolloutId: r.id, step: 1, verdict: "inconclusive", measured: { requests: 3, p99: null }, reason: "only 3 requests" });
        const list = store.listMeasurements(r.id);
        expect(list.map((m) => m.verdict)).toEqual(["pass", "inconclusive"]);
        expect(list[1]?.measured).toEqual({ requests: 3, p99: null });
        store.addMeasurement({ rolloutId: r.id, step: 2, verdict: "fail", measured: { error_rate: 0.5 }, reason: "errors" });
        expect(store.listMeasurements(r.id, 2).map((m) => m.step)).toEqual([1, 2]); // the newest two, oldest first
      });

      it("keeps one approval decision per person, environment and release", () => {
        store.putApproval({ env: "prod", release: "web#2", by: "alice", groups: ["release-managers"], decision: "reject", comment: "wait" });
        store.putApproval({ env: "prod", release: "web#2", by: "alice", groups: ["release-managers"], decision: "approve", comment: null });
        store.putApproval({ env: "prod", release: "web#2", by: "bob", groups: [], decision: "approve", comment: "lgtm" });
        store.putApproval({ env: "staging", release: "web#2", by: "carol", groups: [], decision: "approve", comment: null });
        const list = store.listApprovals("prod", "web#2");
        expect(list.map((a) => `${a.by}:${a.decision}`).sort()).toEqual(["alice:approve", "bob:approve"]);
        expect(list.find((a) => a.by === "alice")?.groups).toEqual(["release-managers"]);
      });

      it("hands each command to the control loop once, oldest first", () => {
        store.addCommand({ env: "prod", service: "web", kind: "promote", by: "alice", reason: null });
        store.addCommand({ env: "prod", service: "web", kind: "abort", by: "bob", reason: "bad numbers" });
        store.addCommand({ env: "prod", service: "api", kind: "abort", by: "bob", reason: null });
        const taken = store.takeCommands("prod", "web");
        expect(taken.map((c) => c.kind)).toEqual(["promote", "abort"]);
        expect(taken[0]?.handledAt).toMatch(ISO_UTC);
        expect(store.takeCommands("prod", "web")).toEqual([]);
        expect(store.takeCommands("prod", "api")).toHaveLength(1);
      });

      it("lists events in order, filtered, after an id and limited to the newest", () => {
        const a = store.addEvent({ env: "prod", service: "web", kind: "drift", message: "instance 2 exited", details: { pid: 42 } });
        store.addEvent({ env: "dev", service: "web", kind: "healed", message: "restarted", details: null });
        store.addEvent({ env: "prod", service: "web", kind: "healed", message: "restarted", details: undefined });
        expect(store.listEvents({ env: "prod" }).map((e) => e.kind)).toEqual(["drift", "healed"]);
        expect(store.listEvents({ env: "prod" })[0]?.details).toEqual({ pid: 42 });
        expect(store.listEvents({ afterId: a.id }).map((e) => e.env)).toEqual(["dev", "prod"]);
        expect(store.listEvents({ limit: 1 }).map((e) => e.kind)).toEqual(["healed"]);
      });

      it("finds the newest alert event of a service", () => {
        expect(store.lastAlertEvent("prod", "web")).toBeUndefined();
        store.addEvent({ env: "prod", service: "web", kind: "alert-trigger", message: "web#2 failed", details: null });
        store.addEvent({ env: "prod", service: "web", kind: "alert-resolve", message: "web#3 deployed", details: null });
        store.addEvent({ env: "prod", service: "web", kind: "alert-trigger", message: "web#4 failed", details: null });
        store.addEvent({ env: "prod", service: "web", kind: "healed", message: "restarted", details: null });
        store.addEvent({ env: "dev", service: "web", kind: "alert-resolve", message: "dev", details: null });
        store.addEvent({ env: "prod", service: "api", kind: "alert-resolve", message: "api", details: null });
        expect(store.lastAlertEvent("prod", "web")).toMatchObject({ kind: "alert-trigger", message: "web#4 failed" });
        expect(store.lastAlertEvent("dev", "web")?.kind).toBe("alert-resolve");
      });
    });

    describe("job queue (agents)", () => {
      const queued = (labels: string[] = ["linux"], extra: { maxAttempts?: number; timeoutMs?: number } = {}) => {
        const run = store.createRun(newRun);
        const job = store.createJob({ runId: run.id, jobKey: "build", name: "build", matrix: null, attempt: 1, environment: null });
        return store.enqueueJob({ jobId: job.id, runId: run.id, labels, payload: JSON.stringify({ job: "build" }), secrets: null, ...extra });
      };
      /** Waits until the clock has moved past a lease of 0 ms. */
      const tick = () => {
        const t = Date.now();
        while (Date.now() <= t + 1) {
          // spin: a millisecond or two
        }
      };

      it("enqueues a job once, with lowercase labels, no attempt yet, three attempts by default", () => {
        const q = queued(["Linux", "gpu", "linux"]);
        expect(q).toMatchObject({ state: "queued", attempt: 0, maxAttempts: 3, labels: ["gpu", "linux"], agent: null, result: null, cancelRequested: false });
        expect(q.createdAt).toMatch(ISO_UTC);
        expectStoreError(() => store.enqueueJob({ jobId: q.jobId, runId: q.runId, labels: [], payload: "{}", secrets: null }), "conflict", /already in the queue/);
        expect(store.getQueuedJob(q.jobId)?.payload).toBe('{"job":"build"}');
        expect(store.listQueuedJobs({ state: "queued" }).map((j) => j.jobId)).toEqual([q.jobId]);
        expect(store.listQueuedJobs({ runId: q.runId + 1000 })).toEqual([]);
      });

      it("leases a job only to an agent with all its labels, oldest first, and never twice", () => {
        const a = queued(["linux", "gpu"]);
        const b = queued(["linux"]);
        expect(store.leaseJob("small", ["linux"], 30_000)?.jobId).toBe(b.jobId);
        expect(store.leaseJob("small", ["linux"], 30_000)).toBeUndefined();
        const leased = store.leaseJob("big", ["GPU", "linux", "x64"], 30_000);
        expect(leased).toMatchObject({ jobId: a.jobId, state: "leased", attempt: 1, agent: "big" });
        expect(Date.parse(leased?.leaseExpiresAt ?? "") - Date.parse(leased?.leasedAt ?? "")).toBe(30_000);
        expect(store.leaseJob("big", ["gpu", "linux"], 30_000)).toBeUndefined();
      });

      it("renews a lease only for its agent and attempt, and tells it when cancelled", () => {
        const q = queued();
        store.leaseJob("a1", ["linux"], 10_000);
        expect(store.heartbeatJob(q.jobId, "a1", 1, 60_000).cancelRequested).toBe(false);
        expectStoreError(() => store.heartbeatJob(q.jobId, "a2", 1, 60_000), "conflict", /no longer leased to a2/);
        expectStoreError(() => store.heartbeatJob(q.jobId, "a1", 2, 60_000), "conflict");
        expect(store.cancelQueuedJob(q.jobId, "the run was cancelled")).toMatchObject({ state: "leased", cancelRequested: true, cancelReason: "the run was cancelled" });
        expect(store.heartbeatJob(q.jobId, "a1", 1, 60_000).cancelRequested).toBe(true);
        const done = store.finishQueuedJob(q.jobId, { agent: "a1", attempt: 1 }, { result: "cancelled", reason: "the run was cancelled" });
        expect(done).toMatchObject({ state: "finished", result: "cancelled" });
        expect(done.finishedAt).toMatch(ISO_UTC);
        expectStoreError(() => store.heartbeatJob(q.jobId, "a1", 1, 60_000), "conflict", /already finished/);
      });

      it("cancels a job still queued at once, and finishes one with its outputs", () => {
        const q = queued();
        expect(store.cancelQueuedJob(q.jobId, "cancelled before it started")).toMatchObject({ state: "finished", result: "cancelled", reason: "cancelled before it started" });
        expect(store.leaseJob("a", ["linux"], 1000)).toBeUndefined();
        const r = queued();
        store.leaseJob("a", ["linux"], 1000);
        expectStoreError(() => store.finishQueuedJob(r.jobId, { agent: "b", attempt: 1 }, { result: "success" }), "conflict");
        const done = store.finishQueuedJob(r.jobId, { agent: "a", attempt: 1 }, { result: "success", outputs: { v: "1" } });
        expect(JSON.parse(done.outputs ?? "{}")).toEqual({ v: "1" });
        expectStoreError(() => store.finishQueuedJob(r.jobId, null, { result: "failure" }), "conflict", /already finished/);
      });

      it("requeues an expired lease while attempts remain, then fails it as agent lost", () => {
        const q = queued(["linux"], { maxAttempts: 2 });
        store.leaseJob("a1", ["linux"], 0);
        tick();
        expect(store.sweepJobQueue(60_000)).toMatchObject({ requeued: [q.jobId], lost: [] });
        expect(store.getQueuedJob(q.jobId)).toMatchObject({ state: "queued", agent: null, attempt: 1 });
        expect(store.getQueuedJob(q.jobId)?.reason).toMatch(/agent lost/);
        expectStoreError(() => store.heartbeatJob(q.jobId, "a1", 1, 1000), "conflict");
        expect(store.leaseJob("a2", ["linux"], 0)).toMatchObject({ attempt: 2, agent: "a2" });
        tick();
        expect(store.sweepJobQueue(60_000)).toMatchObject({ requeued: [], lost: [q.jobId] });
        const lost = store.getQueuedJob(q.jobId);
        expect(lost).toMatchObject({ state: "finished", result: "failure" });
        expect(lost?.reason).toMatch(/^agent lost: a2 stopped renewing its lease on attempt 2 of 2/);
      });

      it("asks a job past its timeout to cancel, then fails it after the grace", () => {
        const q = queued(["linux"], { timeoutMs: 0 });
        store.leaseJob("a1", ["linux"], 60_000);
        tick();
        expect(store.sweepJobQueue(60_000).timingOut).toEqual([q.jobId]);
        expect(store.getQueuedJob(q.jobId)).toMatchObject({ cancelRequested: true, cancelReason: "the job exceeded its timeout of 0 minutes" });
        expect(store.sweepJobQueue(60_000).timingOut).toEqual([]);
        expect(store.sweepJobQueue(0).timedOut).toEqual([q.jobId]);
        expect(store.getQueuedJob(q.jobId)).toMatchObject({ state: "finished", result: "failure" });
      });

      it("cancels the queued jobs of a completed run and asks its leased ones to stop", () => {
        const a = queued();
        const b = queued();
        store.leaseJob("x", ["linux"], 60_000);
        store.finishRun(a.runId, { conclusion: "cancelled", reason: "Slipway stopped" });
        store.finishRun(b.runId, { conclusion: "cancelled", reason: "Slipway stopped" });
        expect(store.sweepJobQueue(60_000).orphaned.sort()).toEqual([a.jobId, b.jobId].sort());
        expect(store.getQueuedJob(a.jobId)).toMatchObject({ state: "leased", cancelRequested: true });
        expect(store.getQueuedJob(b.jobId)).toMatchObject({ state: "finished", result: "cancelled" });
      });

      it("replaces a queued job's sealed secrets only while they are the expected ones and the job is unfinished", () => {
        const run = store.createRun(newRun);
        const job = store.createJob({ runId: run.id, jobKey: "build", name: "build", matrix: null, attempt: 1, environment: null });
        const q = store.enqueueJob({ jobId: job.id, runId: run.id, labels: ["linux"], payload: "{}", secrets: Buffer.from("sealed-1") });
        expect(store.replaceQueuedJobSecrets(q.jobId, Buffer.from("other"), Buffer.from("sealed-2"))).toBe(false);
        expect(store.replaceQueuedJobSecrets(q.jobId, Buffer.from("sealed-1"), Buffer.from("sealed-2"))).toBe(true);
        expect(store.getQueuedJob(q.jobId)?.secrets?.toString()).toBe("sealed-2");
        store.cancelQueuedJob(q.jobId, "done");
        expect(store.replaceQueuedJobSecrets(q.jobId, Buffer.from("sealed-2"), Buffer.from("sealed-3"))).toBe(false);
        expect(store.getQueuedJob(q.jobId)?.secrets?.toString()).toBe("sealed-2");
      });

      it("answers the state and result of a list of queued jobs in one call, without payload or secrets", () => {
        const a = queued();
        const b = queued();
        expect(store.queuedJobResults([])).toEqual([]);
        store.leaseJob("a1", ["linux"], 60_000);
        store.finishQueuedJob(a.jobId, { agent: "a1", attempt: 1 }, { result: "success", outputs: { v: "1" }, reason: null });
        expect(store.queuedJobResults([b.jobId, a.jobId, a.jobId + 1000])).toEqual([
          { jobId: a.jobId, state: "finished", result: "success", outputs: '{"v":"1"}', reason: null },
          { jobId: b.jobId, state: "queued", result: null, outputs: null, reason: null },
        ]);
        store.cancelQueuedJob(b.jobId, "the run was cancelled");
        expect(store.queuedJobResults([b.jobId])).toEqual([{ jobId: b.jobId, state: "finished", result: "cancelled", outputs: null, reason: "the run was cancelled" }]);
      });

      it("counts queued and leased jobs, finished ones left out", () => {
        expect(store.queuedJobCounts()).toEqual({ queued: 0, leased: 0 });
        const [a, b] = [queued(), queued()];
        queued();
        expect(store.queuedJobCounts()).toEqual({ queued: 3, leased: 0 });
        store.leaseJob("a1", ["linux"], 60_000);
        store.finishQueuedJob(a.jobId, { agent: "a1", attempt: 1 }, { result: "success" });
        store.leaseJob("a1", ["linux"], 60_000);
        expect(store.getQueuedJob(b.jobId)?.state).toBe("leased");
        expect(store.queuedJobCounts()).toEqual({ queued: 1, leased: 1 });
      });

      it("leases nothing and sweeps nothing when no job fits or every job is finished", () => {
        expect(store.leaseJob("a1", ["linux"], 60_000)).toBeUndefined();
        expect(store.sweepJobQueue(0)).toEqual({ requeued: [], lost: [], timedOut: [], timingOut: [], orphaned: [] });
        const q = queued(["gpu"]);
        expect(store.leaseJob("a1", ["linux"], 60_000)).toBeUndefined();
        expect(store.getQueuedJob(q.jobId)).toMatchObject({ state: "queued", attempt: 0, agent: null });
        expect(store.leaseJob("a1", ["GPU"], 0)).toMatchObject({ jobId: q.jobId, attempt: 1 });
        store.finishQueuedJob(q.jobId, { agent: "a1", attempt: 1 }, { result: "success" });
        store.finishRun(q.runId, { conclusion: "success" });
        tick();
        expect(store.sweepJobQueue(0)).toEqual({ requeued: [], lost: [], timedOut: [], timingOut: [], orphaned: [] });
        expect(store.getQueuedJob(q.jobId)).toMatchObject({ state: "finished", result: "success" });
      });

      it("keeps the first copy of a log chunk per job and attempt", () => {
        const q = queued();
        expect(store.hasLogChunk(q.jobId, 1, 0)).toBe(false);
        expect(store.addLogChunk(q.jobId, 1, 0)).toBe(true);
        expect(store.hasLogChunk(q.jobId, 1, 0)).toBe(true);
        expect(store.addLogChunk(q.jobId, 1, 0)).toBe(false);
        expect(store.addLogChunk(q.jobId, 1, 1)).toBe(true);
        expect(store.addLogChunk(q.jobId, 2, 0)).toBe(true);
      });

      it("records agents with their labels and when they were last seen", () => {
        const first = store.touchAgent("a1", ["Linux", "x64"]);
        expect(first.labels).toEqual(["linux", "x64"]);
        store.touchAgent("a1", ["linux"]);
        store.touchAgent("a0", []);
        const agents = store.listAgents();
        expect(agents.map((a) => a.name)).toEqual(["a0", "a1"]);
        expect(agents[1]).toMatchObject({ labels: ["linux"], registeredAt: first.registeredAt });
        expect(agents[1]?.lastSeenAt).toMatch(ISO_UTC);
      });
    });
  });
}
