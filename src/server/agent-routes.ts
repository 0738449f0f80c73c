// The API of runner agents (`slipway agent`, agent/): register, long-poll for
// a job lease, heartbeat, numbered log chunks, artifacts (staged file by file
// under `<data>/agent-uploads`, then stored in the blob store as the run's
// artifact; names and paths that could leave their folder are refused),
// completion; and the sweeper
// that keeps the job queue honest — expired leases queued again or failed as
// "agent lost", `timeout-minutes` enforced, the jobs of finished runs
// cancelled.
//
// An agent's token is a developer token (the least role every mutating route
// needs) in the group `agents` (`slipway tokens create --name agent-1 --role
// developer --group agents`), or an admin token: a lease answer carries the
// job's secrets, so a developer token outside the group is refused too.
//
// Log chunks carry the step records of the job as events (step started, a
// line, step finished) in order; a chunk is applied once per (job, attempt,
// seq) — delivery is at least once, later copies are acknowledged and
// dropped — into the files `slipway logs`, the API and the UI read
// (`<data>/logs/<run>/<job>/<step>.log`, `<step>.attempt<k>.log` for a retry).
import { appendFileSync, chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { adoptCacheEntry, findCacheEntry, listArtifacts, uploadArtifact, validateArtifactName, type CacheEntry } from "../actions/index.js";
import { FileBlobStore, type BlobStore, type Digest } from "../blobs/index.js";
import { Type, type Static } from "@sinclair/typebox";
import { TEST_REPORT_FILE } from "../reports/index.js";
import { openJobSecrets, type JobSecrets } from "../scheduler/index.js";
import { JOB_SUMMARY_FILE, jobLogDir, stepLogPath, StoreError, type QueuedJobRecord, type Store, type TokenRecord } from "../store/index.js";
import { HttpError, route, type Route } from "./api.js";
import type { Logger } from "./log.js";
import { ErrorBody } from "./schemas.js";

/** The token group an agent's token must be in. */
export const AGENT_GROUP = "agents";
/** The longest a lease request is held open. */
const MAX_WAIT_SECONDS = 25;

export interface AgentRoutesOptions {
  dataDir: string;
  store: Store;
  /** The data directory's blob store (artifact files); default: a FileBlobStore of dataDir. */
  blobs?: BlobStore;
  log: Logger;
  /** Lease length, renewed by each heartbeat (default 30 s, `$SLIPWAY_AGENT_LEASE_SECONDS`). */
  leaseMs?: number;
  /** How often a waiting lease request looks at the queue, and the sweeper runs (ms). */
  pollMs?: number;
}

/** The lease length: `$SLIPWAY_AGENT_LEASE_SECONDS`, else 30 s. */
export function defaultLeaseMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.SLIPWAY_AGENT_LEASE_SECONDS ?? "30");
  return Number.isFinite(s) && s > 0 ? Math.round(s * 1000) : 30_000;
}

const Name = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", description: "letters, digits, '.', '_' and '-', up to 63" });
const Label = Type.String({ minLength: 1, maxLength: 100 });
const Lease = Type.Object({ name: Name, attempt: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });
const JobParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
const Outcome = Type.Union([Type.Literal("success"), Type.Literal("failure"), Type.Literal("cancelled"), Type.Literal("skipped")]);
const LogEvent = Type.Union([
  Type.Object({ type: Type.Literal("step-start"), number: Type.Integer({ minimum: 1 }), name: Type.String() }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal("line"), step: Type.Integer({ minimum: 0 }), text: Type.String() }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal("step-end"), number: Type.Integer({ minimum: 1 }), outcome: Outcome, conclusion: Outcome }, { additionalProperties: false }),
]);
const Ok = Type.Object({}, { additionalProperties: true });
const ArtifactParams = Type.Object({ id: Type.Integer({ minimum: 1 }), artifact: Type.String() });

/**
 * An artifact's name must be one uploadArtifact takes (validateArtifactName:
 * none of `"` `:` `<` `>` `|` `*` `?` CR LF `\\` `/`, not `.` or `..`), and
 * stay one folder name (no NUL, at most 255 characters): else 400 naming the
 * field and the fix, never a 500 the agent would retry.
 */
function checkArtifactName(name: string): void {
  let why: string | undefined;
  if (name.includes("\0")) why = "it contains NUL";
  else if (name.length > 255) why = "it is longer than 255 characters";
  else {
    try {
      validateArtifactName(name);
    } catch (err) {
      why = (err as Error).message.split("\n")[0];
    }
  }
  if (why === undefined) return;
  const rule = `a name without '"', ':', '<', '>', '|', '*', '?', CR, LF, '/', '\\' or NUL, not '.' or '..', up to 255 characters`;
  throw new HttpError(400, `invalid params: params.artifact: '${name.replace(/\0/g, "\\0")}' is not an artifact name (${why}): use one without '"', ':', '<', '>', '|', '*', '?', CR, LF, '/', '\\' or NUL, and other than '.' or '..'`, [
    { field: "params.artifact", message: rule },
  ]);
}

/** A file's path inside an artifact: relative, `/`-separated, no `..`, no backslash, no NUL. */
function checkFilePath(path: string): void {
  const parts = path.split("/");
  if (path === "" || path.startsWith("/") || /[\\\0]/.test(path) || /^[A-Za-z]:/.test(path) || parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new HttpError(400, `invalid query: query.path: '${path.replace(/\0/g, "\\0")}' is not a relative path inside the artifact: use '/'-separated names, no '..', no leading '/', no '\\' or NUL`, [
      { field: "query.path", message: "a relative '/'-separated path without '..', '\\' or NUL" },
    ]);
  }
}

/** Files under a folder, recursively (absolute paths). */
function listFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

/** The agents' routes; starts the queue's sweeper (an unref'd timer). */
export function agentRoutes(o: AgentRoutesOptions): Route[] {
  const leaseMs = o.leaseMs ?? defaultLeaseMs();
  const pollMs = o.pollMs ?? 200;
  const { store, log } = o;

  const sweeper = setInterval(() => sweep(), Math.min(1000, Math.max(100, Math.floor(leaseMs / 4))));
  sweeper.unref();

  function sweep(): void {
    try {
      const s = store.sweepJobQueue(leaseMs);
      for (const id of [...s.requeued, ...s.lost]) closeOpenSteps(id, "agent lost: the agent stopped renewing its lease during this step");
      for (const id of s.timedOut) closeOpenSteps(id, "the job exceeded its timeout");
      if (s.requeued.length > 0) log.warn("agent lost: jobs queued again", { jobs: s.requeued });
      if (s.lost.length > 0) log.warn("agent lost: jobs failed after their last attempt", { jobs: s.lost });
      if (s.timingOut.length > 0) log.warn("jobs past their timeout: cancelling", { jobs: s.timingOut });
      if (s.timedOut.length > 0) log.warn("jobs past their timeout failed: their agents did not stop them", { jobs: s.timedOut });
      if (s.orphaned.length > 0) log.info("jobs of completed runs cancelled", { jobs: s.orphaned });
    } catch (err) {
      log.error("job queue sweep failed; trying again", { error: (err as Error).message });
    }
  }

  /** Finishes the steps an agent left running, with a line saying why. */
  function closeOpenSteps(jobId: number, why: string): void {
    for (const s of store.listSteps(jobId)) {
      if (s.status === "completed") continue;
      if (s.logPath) appendSafe(s.logPath, `##[error]${why}\n`);
      store.finishStep(s.id, "cancelled", "cancelled");
    }
  }

  function requireAgent(actor: TokenRecord | undefined): TokenRecord {
    if (!actor || !(actor.role === "admin" || actor.groups.includes(AGENT_GROUP))) {
      throw new HttpError(403, `token '${actor?.name ?? "?"}' is not an agent token: make one with \`slipway tokens create --name AGENT --role developer --group ${AGENT_GROUP}\``);
    }
    return actor;
  }

  /** The queued job, leased by this agent on this attempt; 409 (stop the job) otherwise. */
  function leased(jobId: number, name: string, attempt: number): QueuedJobRecord {
    const q = store.getQueuedJob(jobId);
    if (!q) throw new HttpError(404, `job ${jobId} is not in the job queue`);
    if (q.state !== "leased" || q.agent !== name || q.attempt !== attempt) {
      throw new HttpError(409, `the lease of job ${jobId} attempt ${attempt} is no longer ${name}'s (the job is ${q.state}${q.agent ? `, attempt ${q.attempt} by ${q.agent}` : ""}): stop the job and drop its results`);
    }
    return q;
  }

  function logDirOf(q: { runId: number; jobId: number }): string {
    return jobLogDir(o.dataDir, q.runId, q.jobId);
  }

  /** Hands a freshly leased job to its agent: the job's start in the store, its payload and secrets. */
  function grant(q: QueuedJobRecord): Record<string, unknown> | undefined {
    try {
      store.startJob(q.jobId, logDirOf(q));
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      store.finishQueuedJob(q.jobId, null, { result: "cancelled", reason: `its job record is already completed: ${err.message}` });
      return undefined;
    }
    let sealed: JobSecrets;
    try {
      sealed = openJobSecrets(o.dataDir, q.jobId, q.secrets);
    } catch (err) {
      store.finishQueuedJob(q.jobId, null, { result: "failure", reason: `cannot open the job's secrets: ${(err as Error).message} (the server and its runs must share the data directory's master key)` });
      return undefined;
    }
    log.info("job leased", { job: q.jobId, run: q.runId, agent: q.agent, attempt: q.attempt });
    return { id: q.jobId, runId: q.runId, attempt: q.attempt, leaseSeconds: leaseMs / 1000, payload: JSON.parse(q.payload) as unknown, secrets: sealed.secrets, ...(sealed.idToken ? { idToken: sealed.idToken } : {}), ...(sealed.jobToken ? { jobToken: sealed.jobToken } : {}) };
  }

  /** Where an agent's artifact files wait until the artifact is complete. */
  function stagingOf(jobId: number, attempt: number, name: string): string {
    return join(o.dataDir, "agent-uploads", String(jobId), String(attempt), name);
  }

  const blobs = o.blobs ?? new FileBlobStore(o.dataDir);

  return [
    route({
      method: "GET",
      path: "/api/agents/jobs/{id}/artifacts",
      role: "developer",
      tag: "agents",
      summary: "The artifacts of the leased job's run (manifests: files with digests and modes), for actions/download-artifact on the agent",
      params: JobParams,
      query: Type.Object({ name: Name, attempt: Type.Integer({ minimum: 1 }) }),
      responses: { 200: { description: "The manifests", schema: Ok }, 409: { description: "The lease is lost", schema: ErrorBody } },
      handle: async ({ params, query, actor }) => {
        requireAgent(actor);
        const q = leased(params.id, query.name, query.attempt);
        return { status: 200, body: { artifacts: await listArtifacts(o.dataDir, q.runId) } };
      },
    }),
    route({
      method: "GET",
      path: "/api/agents/jobs/{id}/blobs/{digest}",
      role: "developer",
      tag: "agents",
      summary: "The bytes of one file of an artifact of the leased job's run, by digest (no other blob is served)",
      params: Type.Object({ id: Type.Integer({ minimum: 1 }), digest: Type.String({ pattern: "^sha256:[0-9a-f]{64}$" }) }),
      query: Type.Object({ name: Name, attempt: Type.Integer({ minimum: 1 }) }),
      responses: { 200: { description: "The bytes", schema: Ok }, 404: { description: "Not a file of the run's artifacts", schema: ErrorBody }, 409: { description: "The lease is lost", schema: ErrorBody } },
      handle: async ({ params, query, actor }) => {
        requireAgent(actor);
        const q = leased(params.id, query.name, query.attempt);
        const file = (await listArtifacts(o.dataDir, q.runId)).flatMap((m) => m.files).find((f) => f.digest === params.digest);
        if (!file) throw new HttpError(404, `no artifact of run ${q.runId} has a file ${params.digest}; GET /api/agents/jobs/${q.jobId}/artifacts lists them`);
        return { status: 200, stream: blobs.open(file.digest as Digest), headers: { "content-type": "application/octet-stream", "content-length": String(file.size) } };
      },
    }),
    route({
      method: "POST",
      path: "/api/agents/jobs/{id}/caches/lookup",
      role: "developer",
      tag: "agents",
      summary: "actions/cache on an agent: the entry a restore would use in the server's cache (the run's repository only), as the agent's own lookup",
      params: JobParams,
      body: Type.Object(
        {
          name: Name,
          attempt: Type.Integer({ minimum: 1 }),
          keys: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 10 }),
          version: Type.String({ pattern: "^[0-9a-f]{64}$" }),
          scopes: Type.Array(Type.String({ pattern: "^refs/\\S+$", maxLength: 1024 }), { minItems: 1, maxItems: 5 }),
        },
        { additionalProperties: false },
      ),
      responses: { 200: { description: "The entry and whether it matches the primary key", schema: Ok }, 404: { description: "No entry", schema: ErrorBody }, 409: { description: "The lease is lost", schema: ErrorBody } },
      handle: async ({ params, body, actor }) => {
        requireAgent(actor);
        const q = leased(params.id, body.name, body.attempt);
        const repository = store.getRun(q.runId)?.repository ?? undefined;
        const found = await findCacheEntry(o.dataDir, { keys: body.keys, version: body.version, scopes: body.scopes, ...(repository ? { repository } : {}) });
        if (!found || !(await blobs.has(found.entry.digest))) throw new HttpError(404, `no cache entry for ${body.keys.join(", ")}`);
        return { status: 200, body: found };
      },
    }),
    route({
      method: "GET",
      path: "/api/agents/jobs/{id}/caches/archive",
      role: "developer",
      tag: "agents",
      summary: "The archive of a cache entry of the run's repository (found with caches/lookup)",
      params: JobParams,
      query: Type.Object({ name: Name, attempt: Type.Integer({ minimum: 1 }), key: Type.String({ minLength: 1, maxLength: 512 }), version: Type.String({ pattern: "^[0-9a-f]{64}$" }), scope: Type.String({ pattern: "^refs/\\S+$" }) }),
      responses: { 200: { description: "The archive's bytes", schema: Ok }, 404: { description: "No such entry", schema: ErrorBody }, 409: { description: "The lease is lost", schema: ErrorBody } },
      handle: async ({ params, query, actor }) => {
        requireAgent(actor);
        const q = leased(params.id, query.name, query.attempt);
        const repository = store.getRun(q.runId)?.repository ?? undefined;
        const found = await findCacheEntry(o.dataDir, { keys: [query.key], version: query.version, scopes: [query.scope], ...(repository ? { repository } : {}) });
        if (!found?.exact || !(await blobs.has(found.entry.digest))) throw new HttpError(404, `no cache entry ${query.key} in ${query.scope}`);
        return { status: 200, stream: blobs.open(found.entry.digest), headers: { "content-type": "application/octet-stream", "content-length": String(found.entry.size) } };
      },
    }),
    route({
      method: "PUT",
      path: "/api/agents/jobs/{id}/caches",
      role: "developer",
      tag: "agents",
      summary: "actions/cache on an agent: an entry it saved (the body is its archive), kept under the run's repository and ref; an existing key stands",
      params: JobParams,
      query: Type.Object({ name: Name, attempt: Type.Integer({ minimum: 1 }), key: Type.String({ minLength: 1, maxLength: 512 }), version: Type.String({ pattern: "^[0-9a-f]{64}$" }), home: Type.Optional(Type.String({ maxLength: 4096 })) }),
      raw: true,
      responses: { 201: { description: "Kept", schema: Ok }, 200: { description: "The key exists already: the first entry stands", schema: Ok }, 409: { description: "The lease is lost", schema: ErrorBody } },
      handle: async ({ params, query, actor, raw }) => {
        requireAgent(actor);
        const q = leased(params.id, query.name, query.attempt);
        const run = store.getRun(q.runId);
        if (!run) throw new HttpError(404, `run ${q.runId} is gone`);
        if (query.key.includes(",")) throw new HttpError(400, "invalid query: query.key: a cache key cannot contain commas", [{ field: "query.key", message: "contains a comma" }]);
        const blob = await blobs.put(raw ?? Buffer.alloc(0));
        const now = new Date().toISOString();
        // The run's own ref and repository, whatever the agent says: no job writes into another branch's or repository's cache.
        const entry: CacheEntry = { key: query.key, version: query.version, scope: run.ref, digest: blob.digest, size: blob.size, createdAt: now, lastAccessedAt: now, ...(query.home !== undefined ? { home: query.home } : {}), ...(run.repository ? { repository: run.repository } : {}) };
        const saved = await adoptCacheEntry(o.dataDir, entry);
        log.info("cache entry from agent", { job: q.jobId, run: q.runId, key: query.key, scope: run.ref, size: blob.size, saved });
        return { status: saved ? 201 : 200, body: { saved, key: query.key, scope: run.ref, digest: blob.digest } };
      },
    }),
    route({
      method: "PUT",
      path: "/api/agents/jobs/{id}/reports/{file}",
      role: "developer",
      tag: "agents",
      summary: "The job's summary (summary.md) or test reports (test-report.json) as the agent's runner wrote them (masked); the run page and `slipway runs show` read them",
      params: Type.Object({ id: Type.Integer({ minimum: 1 }), file: Type.Union([Type.Literal(JOB_SUMMARY_FILE), Type.Literal(TEST_REPORT_FILE)]) }),
      query: Type.Object({ name: Name, attempt: Type.Integer({ minimum: 1 }) }),
      raw: true,
      responses: { 200: { description: "Stored", schema: Ok }, 400: { description: "test-report.json that is not JSON", schema: ErrorBody }, 409: { description: "The lease is lost", schema: ErrorBody } },
      handle: ({ params, query, actor, raw }) => {
        requireAgent(actor);
        const q = leased(params.id, query.name, query.attempt);
        const bytes = raw ?? Buffer.alloc(0);
        if (params.file === TEST_REPORT_FILE) {
          try {
            JSON.parse(bytes.toString("utf8"));
          } catch (err) {
            throw new HttpError(400, `${TEST_REPORT_FILE} is not JSON (${(err as Error).message}): send the file slipway/test-report wrote`);
          }
        }
        const dir = logDirOf(q);
        mkdirSync(dir, { recursive: true });
        // The last attempt's wins, as its steps' logs do.
        writeFileSync(join(dir, params.file), bytes);
        return { status: 200, body: { file: params.file, size: bytes.length } };
      },
    }),
    route({
      method: "PUT",
      path: "/api/agents/jobs/{id}/artifacts/{artifact}/files",
      role: "developer",
      tag: "agents",
      summary: "One file of an artifact a job made (the body is its bytes); the artifact is stored when complete",
      params: ArtifactParams,
      query: Type.Object({ name: Name, attempt: Type.Integer({ minimum: 1 }), path: Type.String(), mode: Type.Optional(Type.Integer({ minimum: 0, maximum: 0o7777 })) }),
      raw: true,
      responses: { 200: { description: "Staged", schema: Ok }, 400: { description: "A name or path that could leave its folder", schema: ErrorBody }, 409: { description: "The lease is lost", schema: ErrorBody } },
      handle: ({ params, query, actor, raw }) => {
        requireAgent(actor);
        checkArtifactName(params.artifact);
        checkFilePath(query.path);
        leased(params.id, query.name, query.attempt);
        const file = join(stagingOf(params.id, query.attempt, params.artifact), ...query.path.split("/"));
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, raw ?? Buffer.alloc(0));
        chmodSync(file, (query.mode ?? 0o644) & 0o777);
        return { status: 200, body: { path: query.path, size: raw?.length ?? 0 } };
      },
    }),
    route({
      method: "POST",
      path: "/api/agents/jobs/{id}/artifacts/{artifact}",
      role: "developer",
      tag: "agents",
      summary: "Store an artifact whose files were sent: in the server's blob store, as an artifact of the job's run",
      params: ArtifactParams,
      body: Type.Object({ name: Name, attempt: Type.Integer({ minimum: 1 }), retentionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 400 })) }, { additionalProperties: false }),
      responses: { 201: { description: "Stored: the artifact's manifest", schema: Ok }, 400: { description: "A bad name", schema: ErrorBody }, 409: { description: "The lease is lost", schema: ErrorBody } },
      handle: async ({ params, body, actor }) => {
        requireAgent(actor);
        checkArtifactName(params.artifact);
        const q = leased(params.id, body.name, body.attempt);
        const dir = stagingOf(q.jobId, q.attempt, params.artifact);
        const files = listFiles(dir);
        const manifest = await uploadArtifact({ dataDir: o.dataDir, runId: q.runId, name: params.artifact, files, rootDirectory: dir, overwrite: true, ...(body.retentionDays ? { retentionDays: body.retentionDays } : {}) });
        rmSync(dir, { recursive: true, force: true });
        log.info("artifact stored", { job: q.jobId, run: q.runId, artifact: manifest.name, digest: manifest.digest, files: manifest.files.length });
        return { status: 201, body: { name: manifest.name, digest: manifest.digest, size: manifest.size, files: manifest.files.length } };
      },
    }),
    route({
      method: "GET",
      path: "/api/agents",
      role: "viewer",
      tag: "agents",
      summary: "Runner agents, when each was last seen, and the jobs they hold",
      responses: { 200: { description: "The agents", schema: Ok } },
      handle: () => {
        const leasedJobs = store.listQueuedJobs({ state: "leased" });
        return {
          status: 200,
          body: {
            agents: store.listAgents().map((a) => ({ ...a, jobs: leasedJobs.filter((j) => j.agent === a.name).map((j) => ({ id: j.jobId, run: j.runId, attempt: j.attempt })) })),
            queued: store.listQueuedJobs({ state: "queued" }).length,
          },
        };
      },
    }),
    route({
      method: "POST",
      path: "/api/agents/register",
      role: "developer",
      tag: "agents",
      summary: "An agent says who it is and which labels it has (agent token)",
      body: Type.Object({ name: Name, labels: Type.Array(Label, { maxItems: 100 }) }, { additionalProperties: false }),
      responses: { 200: { description: "Registered", schema: Ok }, 403: { description: "Not an agent token", schema: ErrorBody } },
      handle: ({ body, actor }) => {
        requireAgent(actor);
        const agent = store.touchAgent(body.name, body.labels);
        log.info("agent registered", { agent: agent.name, labels: agent.labels });
        return { status: 200, body: { name: agent.name, labels: agent.labels, leaseSeconds: leaseMs / 1000, maxWaitSeconds: MAX_WAIT_SECONDS } };
      },
    }),
    route({
      method: "POST",
      path: "/api/agents/lease",
      role: "developer",
      tag: "agents",
      summary: "Long poll (up to 25 s) for a queued job whose runs-on labels the agent all has; the answer holds its payload and secrets",
      body: Type.Object({ name: Name, labels: Type.Array(Label, { maxItems: 100 }), waitSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_WAIT_SECONDS })) }, { additionalProperties: false }),
      responses: { 200: { description: "`job` is the lease, or null when none came in time", schema: Ok }, 403: { description: "Not an agent token", schema: ErrorBody } },
      handle: async ({ body, actor, req }) => {
        requireAgent(actor);
        store.touchAgent(body.name, body.labels);
        let gone = false;
        const onClose = () => (gone = true);
        // One listener per request, removed when it is answered: a keep-alive socket carries many polls.
        req.socket.once("close", onClose);
        try {
          // A server that stops listening (SIGTERM) answers at once rather than hold its close for the poll.
          const server = (req.socket as unknown as { server?: { listening: boolean } }).server;
          const until = Date.now() + (body.waitSeconds ?? MAX_WAIT_SECONDS) * 1000;
          for (;;) {
            if (gone || server?.listening === false) return { status: 200, body: { job: null } };
            // leaseJob writes only when a job it could lease is queued (a read first).
            const q = store.leaseJob(body.name, body.labels, leaseMs);
            if (q) {
              const job = grant(q);
              if (job) return { status: 200, body: { job } };
              continue;
            }
            if (Date.now() >= until) return { status: 200, body: { job: null } };
            await new Promise((r) => setTimeout(r, pollMs));
          }
        } finally {
          req.socket.off("close", onClose);
        }
      },
    }),
    route({
      method: "POST",
      path: "/api/agents/jobs/{id}/heartbeat",
      role: "developer",
      tag: "agents",
      summary: "Renew a job's lease; the answer says whether the job is to be cancelled",
      params: JobParams,
      body: Lease,
      responses: { 200: { description: "Renewed: `cancel` and `reason`", schema: Ok }, 409: { description: "The lease is lost: stop the job", schema: ErrorBody } },
      handle: ({ params, body, actor }) => {
        const agent = requireAgent(actor);
        try {
          const q = store.heartbeatJob(params.id, body.name, body.attempt, leaseMs);
          return { status: 200, body: { cancel: q.cancelRequested, reason: q.cancelReason, leaseSeconds: leaseMs / 1000 } };
        } catch (err) {
          if (!(err instanceof StoreError)) throw err;
          log.warn("heartbeat of a lost lease", { job: params.id, agent: body.name, token: agent.name, error: err.message });
          throw new HttpError(err.code === "not_found" ? 404 : 409, `${err.message}: stop the job and drop its results`);
        }
      },
    }),
    route({
      method: "POST",
      path: "/api/agents/jobs/{id}/logs",
      role: "developer",
      tag: "agents",
      summary: "A numbered chunk of a job's log and step events; a chunk already received is acknowledged and dropped",
      params: JobParams,
      body: Type.Object({ name: Name, attempt: Type.Integer({ minimum: 1 }), seq: Type.Integer({ minimum: 0 }), events: Type.Array(LogEvent, { maxItems: 10_000 }) }, { additionalProperties: false }),
      responses: { 200: { description: "Stored (`duplicate`: a copy of a chunk stored before)", schema: Ok }, 409: { description: "The lease is lost", schema: ErrorBody } },
      handle: ({ params, body, actor }) => {
        requireAgent(actor);
        const q = leased(params.id, body.name, body.attempt);
        // Applied, then recorded: a server killed in between gets the chunk again (a repeated
        // line at worst), never loses one it acknowledged.
        if (store.hasLogChunk(q.jobId, q.attempt, body.seq)) return { status: 200, body: { duplicate: true } };
        applyEvents(q, body.events);
        store.addLogChunk(q.jobId, q.attempt, body.seq);
        return { status: 200, body: { duplicate: false } };
      },
    }),
    route({
      method: "POST",
      path: "/api/agents/jobs/{id}/complete",
      role: "developer",
      tag: "agents",
      summary: "A job's result, outputs and reason (send its last log chunk first)",
      params: JobParams,
      body: Type.Object(
        {
          name: Name,
          attempt: Type.Integer({ minimum: 1 }),
          result: Outcome,
          outputs: Type.Optional(Type.Record(Type.String(), Type.String())),
          reason: Type.Optional(Type.String()),
          // The names (never values) of the secrets the job's expressions read, for the audit.
          secretsRead: Type.Optional(Type.Array(Type.String({ pattern: "^[A-Za-z0-9_]{1,200}$" }), { maxItems: 1000 })),
          // The job's annotations, masked by the agent (the store keeps 50 per job).
          annotations: Type.Optional(
            Type.Array(
              Type.Object({
                level: Type.Union([Type.Literal("error"), Type.Literal("warning"), Type.Literal("notice")]),
                message: Type.String({ maxLength: 65_536 }),
                title: Type.Optional(Type.String({ maxLength: 1024 })),
                file: Type.Optional(Type.String({ maxLength: 4096 })),
                line: Type.Optional(Type.Integer({ minimum: 0 })),
                col: Type.Optional(Type.Integer({ minimum: 0 })),
                step: Type.Optional(Type.String({ maxLength: 1024 })),
              }),
              { maxItems: 200 },
            ),
          ),
        },
        { additionalProperties: false },
      ),
      responses: { 200: { description: "Recorded", schema: Ok }, 409: { description: "The lease is lost (the result is dropped)", schema: ErrorBody } },
      handle: ({ params, body, actor }) => {
        requireAgent(actor);
        const q = leased(params.id, body.name, body.attempt);
        let result = body.result;
        let reason = body.reason ?? null;
        // Cancelled because the server's deadline passed: a timeout is a failure.
        if (result === "cancelled" && q.cancelReason?.startsWith("the job exceeded its timeout")) {
          result = "failure";
          reason = q.cancelReason;
        } else if (result === "cancelled" && q.cancelReason && !reason) reason = q.cancelReason;
        closeOpenSteps(q.jobId, `the agent finished the job (${result}) before this step's end arrived`);
        // Only names of secrets the job was given count: an agent cannot write others into the audit.
        const given = new Set(Object.keys(openJobSecrets(o.dataDir, q.jobId, q.secrets).secrets));
        store.recordSecretReads(q.jobId, (body.secretsRead ?? []).filter((n) => given.has(n)));
        store.recordAnnotations(q.jobId, body.annotations ?? []);
        store.finishQueuedJob(q.jobId, { agent: body.name, attempt: body.attempt }, { result, outputs: body.outputs ?? {}, reason });
        log.info("job finished by agent", { job: q.jobId, run: q.runId, agent: body.name, attempt: body.attempt, result });
        return { status: 200, body: { result } };
      },
    }),
  ];

  /** Applies a chunk's events: step records and lines appended to their step's log file. */
  function applyEvents(q: QueuedJobRecord, events: Array<Static<typeof LogEvent>>): void {
    const dir = logDirOf(q);
    mkdirSync(dir, { recursive: true });
    const suffix = q.attempt > 1 ? `.attempt${q.attempt}` : "";
    const fileOf = (n: number) => stepLogPath(dir, n === 0 ? "job" : n, q.attempt);
    // Step numbers are unique per job: a retried attempt's steps follow those of earlier attempts.
    const steps = store.listSteps(q.jobId);
    const base = q.attempt > 1 ? Math.max(0, ...steps.filter((s) => !s.logPath?.endsWith(`${suffix}.log`)).map((s) => s.number)) : 0;
    const open = new Map(steps.filter((s) => s.status !== "completed" && s.number > base).map((s) => [s.number - base, s]));
    let buffer = "";
    let bufferFile = "";
    const flush = () => {
      if (buffer) appendFileSync(bufferFile, buffer);
      buffer = "";
    };
    for (const e of events) {
      if (e.type === "line") {
        const file = fileOf(e.step);
        if (file !== bufferFile) {
          flush();
          bufferFile = file;
        }
        buffer += e.text + "\n";
        continue;
      }
      flush();
      if (e.type === "step-start") {
        if (!open.has(e.number) && !steps.some((s) => s.number === base + e.number)) open.set(e.number, store.createStep(q.jobId, base + e.number, e.name, fileOf(e.number)));
        appendSafe(fileOf(e.number), "");
      } else {
        const s = open.get(e.number);
        if (s) {
          store.finishStep(s.id, e.outcome, e.conclusion);
          open.delete(e.number);
        }
      }
    }
    flush();
  }
}

function appendSafe(file: string, text: string): void {
  try {
    appendFileSync(file, text);
  } catch {
    // The log folder is gone (the run was deleted): nothing to keep.
  }
}
