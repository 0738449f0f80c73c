// The JSON API's routes. Reading needs `viewer`; starting and cancelling runs
// `developer`; repositories and tokens `admin`.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { listArtifacts, readArtifact } from "../actions/index.js";
import type { BlobStore } from "../blobs/index.js";
import { runTestReports } from "../reports/index.js";
import { runApprovalSubject } from "../control/index.js";
import { ownerAlive } from "../scheduler/index.js";
import { JOB_SUMMARY_FILE, jobLevelLog, StoreError, type ChangeRequestRecord, type JobRecord, type RunRecord, type StepRecord, type Store } from "../store/index.js";
import { HttpError, route, type Route } from "./api.js";
import { tokenGroups, type Authenticator } from "./auth.js";
import { readProtection, REPOSITORY_NAME, writeProtection, type HostedRepositories, type RefUpdate } from "../git/index.js";
import type { ChangeRequests } from "./changes.js";
import type { ServerDelivery } from "./delivery.js";
import type { ExternalRepositories } from "./external.js";
import type { Logger } from "./log.js";
import { parseWebhook, verifyWebhook } from "./webhooks.js";
import type { Launch as LaunchRecord, Launcher } from "./launcher.js";
import * as S from "./schemas.js";

export interface RouteDeps {
  dataDir: string;
  store: Store;
  repos: HostedRepositories;
  external: ExternalRepositories;
  launcher: Launcher;
  auth: Authenticator;
  /** The data directory's blob store (artifact files); shared with the remote cache. */
  blobs: BlobStore;
  baseUrl: () => string;
  /** Starts push events for refs that moved (a push, a fetch). */
  launchPushes: (repository: string, updates: RefUpdate[], actor: string, payload?: Record<string, unknown>) => LaunchRecord[];
  log: Logger;
  changes: ChangeRequests;
  /** The repository delivered (`--deliver`), if any. */
  delivery?: ServerDelivery;
}

export function apiRoutes(d: RouteDeps): Route[] {
  return [
    route({
      method: "GET",
      path: "/api/whoami",
      job: { scope: "metadata", access: "read" },
      role: "viewer",
      tag: "tokens",
      summary: "The caller's token: name and role",
      responses: { 200: { description: "The token", schema: S.Whoami } },
      handle: ({ actor }) => ({
        status: 200,
        body: {
          id: actor?.id,
          name: actor?.name,
          role: actor?.role,
          ...(actor?.job ? { job: { id: actor.job.jobId, run: actor.job.runId, repository: actor.job.repository, permissions: actor.job.permissions, expiresAt: new Date(actor.job.exp).toISOString() } } : {}),
        },
      }),
    }),
    route({
      method: "GET",
      path: "/api/runs",
      job: { scope: "actions", access: "read", repository: ({ query }) => query.repository },
      role: "viewer",
      tag: "runs",
      summary: "Runs, newest first, filtered",
      query: S.RunQuery,
      responses: { 200: { description: "The runs", schema: S.RunList } },
      handle: ({ query }) => ({
        status: 200,
        body: {
          runs: d.store
            .listRuns({
              limit: query.limit ?? 50,
              ...(query.repository !== undefined ? { repository: query.repository } : {}),
              ...(query.status !== undefined ? { status: query.status } : {}),
              ...(query.workflow !== undefined ? { workflowPath: query.workflow } : {}),
              ...(query.sha !== undefined ? { sha: query.sha } : {}),
              ...(query.ref !== undefined ? { ref: query.ref } : {}),
              ...(query.before !== undefined ? { beforeId: query.before } : {}),
            })
            .map(runBody),
        },
      }),
    }),
    route({
      method: "POST",
      path: "/api/runs",
      job: { scope: "actions", access: "write", repository: ({ body }) => body.repository },
      role: "developer",
      tag: "runs",
      summary: "Start the runs of an event (push or workflow_dispatch) on a hosted repository",
      body: S.StartRuns,
      responses: { 202: { description: "Accepted: the runs start in the background; follow them with GET /api/launches/{launch}", schema: S.Launch } },
      handle: async ({ body, actor }) => {
        if (actor?.job && body.event !== "workflow_dispatch") {
          throw new HttpError(403, `the job token of job ${actor.job.jobId} can start only workflow_dispatch runs: as on GitHub, no other event started with a job token runs workflows (it could start itself forever)`);
        }
        if (!d.repos.exists(body.repository)) throw new HttpError(404, `no hosted repository '${body.repository}' (create it with POST /api/repos)`);
        if (body.event === "workflow_dispatch" && !body.workflow) {
          throw new HttpError(400, "invalid body: body.workflow: workflow_dispatch needs the workflow's file name, e.g. deploy.yml", [{ field: "body.workflow", message: "required for workflow_dispatch" }]);
        }
        const refArg = body.ref ?? (await d.repos.defaultBranch(body.repository));
        const ref = await qualify(d.repos, body.repository, refArg);
        const sha = ref ? await d.repos.resolve(body.repository, ref) : undefined;
        if (!ref || !sha) throw new HttpError(422, `'${refArg}' is not a branch or tag of ${body.repository}; push it first, or name an existing one`, [{ field: "body.ref", message: "unknown ref" }]);
        const launch = d.launcher.launch({
          repository: body.repository,
          event: body.event,
          ref,
          sha,
          ...(body.workflow ? { workflow: body.workflow } : {}),
          ...(body.inputs ? { inputs: body.inputs } : {}),
          actor: actor?.name ?? "unknown",
        });
        return { status: 202, body: launchBody(launch), headers: { location: `/api/launches/${launch.id}` } };
      },
    }),
    route({
      method: "GET",
      path: "/api/launches/{id}",
      job: { scope: "actions", access: "read", repository: ({ params }) => d.launcher.get(params.id)?.repository ?? null },
      role: "viewer",
      tag: "runs",
      summary: "An event's start request: waiting, running or done, and the runs it started",
      params: S.IdParams,
      responses: { 200: { description: "The launch", schema: S.Launch }, 404: { description: "No such launch", schema: S.ErrorBody } },
      handle: ({ params }) => {
        const launch = d.launcher.get(params.id);
        if (!launch) throw new HttpError(404, `no launch ${params.id}`);
        return { status: 200, body: launchBody(launch) };
      },
    }),
    route({
      method: "GET",
      path: "/api/runs/{id}",
      job: { scope: "actions", access: "read", repository: ({ params }) => runRepository(d, params.id) },
      role: "viewer",
      tag: "runs",
      summary: "One run with its jobs and steps, and its test reports (totals, failures with file and line, flaky tests, coverage)",
      params: S.IdParams,
      responses: { 200: { description: "The run", schema: S.RunDetail }, 404: { description: "No such run", schema: S.ErrorBody } },
      handle: async ({ params }) => {
        const run = d.store.getRun(params.id);
        if (!run) throw new HttpError(404, `no run ${params.id}`);
        const tests = await runTestReports(d.dataDir, d.store, run.id);
        const artifacts = (await listArtifacts(d.dataDir, run.id)).map((a) => ({
          name: a.name,
          size: a.size,
          digest: a.digest,
          files: a.files.map((f) => ({ path: f.path, size: f.size })),
          createdAt: a.createdAt,
          expiresAt: a.expiresAt,
        }));
        const jobs = d.store.listJobs(run.id).map((j) => jobBody(j, d.store.listSteps(j.id)));
        const annotations = d.store.listAnnotations(run.id).map(({ id: _id, jobId, runId: _run, createdAt: _at, ...a }) => ({ job: jobId, ...a }));
        return { status: 200, body: { ...runBody(run), jobs, annotations, tests: tests ?? null, artifacts } };
      },
    }),
    route({
      method: "GET",
      path: "/api/runs/{id}/jobs/{job}/log",
      job: { scope: "actions", access: "read", repository: ({ params }) => runRepository(d, params.id) },
      role: "viewer",
      tag: "runs",
      summary: "A job's step logs (masked), as text",
      params: S.JobLogParams,
      responses: { 200: { description: "The log", schema: S.PlainText }, 404: { description: "No such run or job", schema: S.ErrorBody } },
      handle: ({ params }) => {
        const job = d.store.getJob(params.job);
        if (!job || job.runId !== params.id) throw new HttpError(404, `run ${params.id} has no job ${params.job}`);
        let text = "";
        for (const s of d.store.listSteps(job.id)) {
          text += `##[step ${s.number}] ${s.name}: ${s.conclusion ?? s.status}\n`;
          if (s.logPath && existsSync(s.logPath)) text += readFileSync(s.logPath, "utf8");
        }
        const outside = jobLevelLog(job.logPath);
        if (outside) text += `##[job] outside the steps (runner agent)\n${outside}`;
        return { status: 200, text };
      },
    }),
    route({
      method: "GET",
      path: "/api/runs/{id}/artifacts/{name}",
      job: { scope: "actions", access: "read", repository: ({ params }) => runRepository(d, params.id) },
      role: "viewer",
      tag: "runs",
      summary: "One file of a run's artifact, by its path in the artifact (the paths are listed in the run)",
      params: S.ArtifactParams,
      query: S.ArtifactFileQuery,
      responses: { 200: { description: "The file's bytes" }, 404: { description: "No such run, artifact or file", schema: S.ErrorBody } },
      handle: async ({ params, query }) => {
        if (!d.store.getRun(params.id)) throw new HttpError(404, `no run ${params.id}`);
        let manifest;
        try {
          manifest = await readArtifact(d.dataDir, params.id, params.name);
        } catch {
          // An invalid name (a path separator, `..`): no artifact can have it.
          throw new HttpError(404, `run ${params.id} has no artifact '${params.name}'; the run's artifacts are listed in GET /api/runs/${params.id}`);
        }
        if (!manifest) throw new HttpError(404, `run ${params.id} has no artifact '${params.name}' (or it expired); the run's artifacts are listed in GET /api/runs/${params.id}`);
        // Only a path the manifest lists: nothing of the file system is named by the request.
        const file = manifest.files.find((f) => f.path === query.path);
        if (!file) throw new HttpError(404, `artifact '${params.name}' has no file '${query.path}'; its files are listed in GET /api/runs/${params.id}`);
        const name = file.path.split("/").pop() ?? "file";
        return {
          status: 200,
          stream: d.blobs.open(file.digest),
          headers: { "content-length": String(file.size), "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(name)}` },
        };
      },
    }),
    route({
      method: "POST",
      path: "/api/runs/{id}/cancel",
      job: { scope: "actions", access: "write", repository: ({ params }) => runRepository(d, params.id) },
      role: "developer",
      tag: "runs",
      summary: "Cancel a run in progress (always() and post steps still run)",
      params: S.IdParams,
      responses: { 202: { description: "Cancelling", schema: S.Run }, 404: { description: "No such run", schema: S.ErrorBody }, 409: { description: "Already completed, or not run by this server", schema: S.ErrorBody } },
      handle: ({ params }) => {
        const run = d.store.getRun(params.id);
        if (!run) throw new HttpError(404, `no run ${params.id}`);
        if (run.status === "completed") throw new HttpError(409, `run ${run.id} is already completed (${run.conclusion ?? "unknown"})`);
        if (!run.owner || !d.launcher.cancelRunner(run.owner)) {
          const why = run.owner && ownerAlive(run.owner) ? `it is run by ${run.owner}, a process this server did not start; stop it there` : "the process that ran it is gone";
          throw new HttpError(409, `cannot cancel run ${run.id}: ${why}`);
        }
        return { status: 202, body: runBody(run) };
      },
    }),
    route({
      method: "POST",
      path: "/api/runs/{id}/approvals",
      role: "release-manager",
      tag: "runs",
      summary: "Approve (or reject) a run's jobs that wait for an environment's protection rules (environment: in the workflow), as the token with its groups",
      params: S.IdParams,
      body: S.RunApproval,
      responses: { 200: { description: "Recorded: the run's jobs start (or fail) within a second", schema: S.AnyObject }, 404: { description: "No such run", schema: S.ErrorBody }, 409: { description: "The run is completed", schema: S.ErrorBody } },
      handle: ({ params, body, actor }) => {
        const run = d.store.getRun(params.id);
        if (!run) throw new HttpError(404, `no run ${params.id}`);
        if (run.status === "completed") throw new HttpError(409, `run ${run.id} is already completed (${run.conclusion ?? "unknown"}): nothing waits for an approval`);
        const by = actor?.name ?? "unknown";
        const decision = body.decision ?? "approve";
        d.store.putApproval({ env: body.env, release: runApprovalSubject(run.id), by, groups: actor ? tokenGroups(actor) : [], decision, comment: body.comment ?? null });
        return { status: 200, body: { run: run.id, env: body.env, by, decision } };
      },
    }),
    route({
      method: "GET",
      path: "/api/repos",
      role: "viewer",
      tag: "repositories",
      summary: "Hosted repositories",
      responses: { 200: { description: "The repositories", schema: S.RepositoryList } },
      handle: async () => ({ status: 200, body: { repositories: await Promise.all(d.repos.list().map((name) => repositoryBody(d, name))) } }),
    }),
    route({
      method: "POST",
      path: "/api/repos",
      role: "admin",
      tag: "repositories",
      summary: "Create a hosted repository (an empty bare Git repository)",
      body: S.CreateRepository,
      responses: { 201: { description: "Created", schema: S.Repository }, 409: { description: "It exists", schema: S.ErrorBody } },
      handle: async ({ body }) => {
        if (!REPOSITORY_NAME.test(body.name) || body.name.endsWith(".git")) {
          throw new HttpError(400, `invalid body: body.name: '${body.name}' is not owner/name (leave out .git)`, [{ field: "body.name", message: "owner/name without .git" }]);
        }
        if (d.repos.exists(body.name)) throw new HttpError(409, `repository ${body.name} exists`);
        if (body.remote === undefined) {
          if (body.webhookSecret !== undefined || body.pollSeconds !== undefined) {
            throw new HttpError(400, "invalid body: webhookSecret and pollSeconds are for mirrors: give the external repository's `remote`", [{ field: "body.remote", message: "required with webhookSecret or pollSeconds" }]);
          }
          await d.repos.create(body.name, body.defaultBranch ?? "main");
          return { status: 201, body: await repositoryBody(d, body.name) };
        }
        try {
          await d.repos.createMirror(body.name, body.remote);
        } catch (err) {
          rmSync(d.repos.path(body.name), { recursive: true, force: true });
          throw new HttpError(422, `cannot fetch ${body.remote}: ${(err as Error).message.split("\n")[0] ?? ""} (check the URL and that this server can reach it)`, [{ field: "body.remote", message: "cannot be fetched" }]);
        }
        if (body.webhookSecret !== undefined) d.external.setWebhookSecret(body.name, body.webhookSecret);
        if (body.pollSeconds !== undefined) d.external.setPoll(body.name, body.pollSeconds);
        return { status: 201, body: await repositoryBody(d, body.name) };
      },
    }),
    route({
      method: "GET",
      path: "/api/repos/{owner}/{name}/protection",
      role: "viewer",
      tag: "repositories",
      summary: "The protected branches of a hosted repository",
      params: S.RepoParams,
      responses: { 200: { description: "The rules", schema: S.ProtectionList }, 404: { description: "No such repository", schema: S.ErrorBody } },
      handle: ({ params }) => ({ status: 200, body: { branches: readProtection(d.repos.path(hosted(d, params))) } }),
    }),
    route({
      method: "PUT",
      path: "/api/repos/{owner}/{name}/protection/{branch}",
      role: "admin",
      tag: "repositories",
      summary: "Protect a branch: no force push, no deletion, required checks passed for the pushed commit (enforced when pushed)",
      params: S.BranchParams,
      body: S.SetProtection,
      responses: { 200: { description: "The rule", schema: S.Protection }, 404: { description: "No such repository", schema: S.ErrorBody } },
      handle: ({ params, body }) => {
        const bare = d.repos.path(hosted(d, params));
        if (!/^[A-Za-z0-9._/-]+$/.test(params.branch) || params.branch.startsWith("-")) {
          throw new HttpError(400, `invalid params: params.branch: '${params.branch}' is not a branch name`, [{ field: "params.branch", message: "not a branch name" }]);
        }
        const rule = {
          branch: params.branch,
          requiredChecks: body.requiredChecks ?? [],
          allowForcePush: body.allowForcePush ?? false,
          allowDeletion: body.allowDeletion ?? false,
          requiredApprovals: body.requiredApprovals ?? 0,
          preventSelfApproval: body.preventSelfApproval ?? true,
        };
        writeProtection(bare, [...readProtection(bare).filter((r) => r.branch !== rule.branch), rule]);
        return { status: 200, body: rule };
      },
    }),
    route({
      method: "DELETE",
      path: "/api/repos/{owner}/{name}/protection/{branch}",
      role: "admin",
      tag: "repositories",
      summary: "Stop protecting a branch",
      params: S.BranchParams,
      responses: { 200: { description: "The rule removed", schema: S.Protection }, 404: { description: "No such repository or rule", schema: S.ErrorBody } },
      handle: ({ params }) => {
        const bare = d.repos.path(hosted(d, params));
        const rules = readProtection(bare);
        const rule = rules.find((r) => r.branch === params.branch);
        if (!rule) throw new HttpError(404, `branch '${params.branch}' of ${params.owner}/${params.name} is not protected`);
        writeProtection(bare, rules.filter((r) => r !== rule));
        return { status: 200, body: rule };
      },
    }),
    route({
      method: "POST",
      path: "/api/webhooks/{owner}/{name}",
      role: null,
      tag: "repositories",
      summary: "A webhook from GitHub, Gitea/Forgejo or GitLab for a mirror: verified with its webhook secret, then the mirror is fetched and push or pull request runs start",
      params: S.RepoParams,
      raw: true,
      responses: {
        202: { description: "Runs are starting", schema: S.WebhookResult },
        200: { description: "A ping, or an event that starts no run", schema: S.WebhookResult },
        401: { description: "Missing or wrong signature", schema: S.ErrorBody },
        404: { description: "No such mirror", schema: S.ErrorBody },
      },
      handle: async ({ params, req, raw }) => {
        // The same answer whether the repository is missing or takes no webhooks: this route is public.
        const name = `${params.owner}/${params.name}`;
        const secret = d.repos.exists(name) && (await d.repos.isMirror(name)) ? d.external.webhookSecret(name) : undefined;
        if (secret === undefined) throw new HttpError(404, `no mirror with a webhook secret at ${name} (create one with POST /api/repos and remote + webhookSecret)`);
        const v = verifyWebhook(req.headers, raw ?? Buffer.alloc(0), secret);
        if (!v.ok) throw new HttpError(v.status, v.reason);
        let payload: Record<string, unknown>;
        try {
          payload = JSON.parse((raw ?? Buffer.alloc(0)).toString("utf8")) as Record<string, unknown>;
        } catch {
          throw new HttpError(400, "the webhook body is not JSON: set the webhook's content type to application/json");
        }
        let event;
        try {
          event = parseWebhook(v.provider, v.event, payload);
        } catch (err) {
          throw new HttpError(400, `not a ${v.provider} ${v.event} payload: ${(err as Error).message}`);
        }
        const answer = (status: number, outcome: string, launches: number[], detail?: string) => ({ status, body: { provider: v.provider, event: v.event, outcome, launches, ...(detail ? { detail } : {}) } });
        if (event.kind === "ping") return answer(200, "pong", []);
        if (event.kind === "ignored") return answer(200, "ignored", [], event.reason);
        // GitHub-shaped payloads become github.event; GitLab's do not fit it.
        const merged = v.provider === "gitlab" ? undefined : payload;
        if (event.kind === "push") {
          const moved = await d.repos.fetch(name);
          const update = { ref: event.ref, before: event.before, after: event.after };
          if (!moved.some((m) => m.ref === update.ref) && !/^0+$/.test(update.after) && !(await d.repos.resolve(name, update.after))) {
            throw new HttpError(409, `${update.after.slice(0, 12)} of ${update.ref} is not on ${await d.repos.remote(name)} (any more): nothing to run`);
          }
          const launches = d.launchPushes(name, [update], `${v.provider} webhook`, merged);
          return answer(launches.length > 0 ? 202 : 200, launches.length > 0 ? "started" : "ignored", launches.map((l) => l.id), launches.length > 0 ? undefined : "a deleted ref starts no run");
        }
        // A pull request: its head may live in a fork, fetched by the provider's pull ref.
        const kept = `refs/slipway/pull/${event.number}/head`;
        await d.repos.fetch(name, [`+${event.headFetchRef}:${kept}`]).catch(async () => d.repos.fetch(name));
        if (!(await d.repos.resolve(name, event.headSha))) throw new HttpError(409, `the pull request's head ${event.headSha.slice(0, 12)} could not be fetched from ${await d.repos.remote(name)}`);
        const launch = d.launcher.launch({
          repository: name,
          event: "pull_request",
          ref: `refs/heads/${event.headRef}`,
          sha: event.headSha,
          baseRef: event.baseRef,
          ...(merged ? { payload: merged } : {}),
          noSecrets: event.fromFork,
          actor: `${v.provider} webhook`,
        });
        d.log.info("pull request", { repository: name, number: event.number, action: event.action, fork: event.fromFork, launch: launch.id });
        return answer(202, "started", [launch.id], event.fromFork ? "from a fork: the runs get no secrets" : undefined);
      },
    }),
    route({
      method: "GET",
      path: "/api/repos/{owner}/{name}/changes",
      job: { scope: "pull-requests", access: "read", repository: ({ params }) => `${params.owner}/${params.name}` },
      role: "viewer",
      tag: "changes",
      summary: "Change requests of a hosted repository, newest first",
      params: S.RepoParams,
      responses: { 200: { description: "The change requests", schema: S.AnyObject } },
      handle: ({ params }) => ({ status: 200, body: { changes: d.store.listChangeRequests(hosted(d, params)).map((c) => changeBody(d, c)) } }),
    }),
    route({
      method: "POST",
      path: "/api/repos/{owner}/{name}/changes",
      job: { scope: "pull-requests", access: "write", repository: ({ params }) => `${params.owner}/${params.name}` },
      role: "developer",
      tag: "changes",
      summary: "Open a change request: its pull_request workflows run on the merge result",
      params: S.RepoParams,
      body: S.CreateChange,
      responses: { 201: { description: "Opened", schema: S.AnyObject }, 409: { description: "One is open for these branches", schema: S.ErrorBody }, 422: { description: "No such branch", schema: S.ErrorBody } },
      handle: async ({ params, body, actor }) => ({ status: 201, body: changeBody(d, await d.changes.create(hosted(d, params), body, actor?.name ?? "unknown")) }),
    }),
    route({
      method: "GET",
      path: "/api/repos/{owner}/{name}/changes/{number}",
      job: { scope: "pull-requests", access: "read", repository: ({ params }) => `${params.owner}/${params.name}` },
      role: "viewer",
      tag: "changes",
      summary: "A change request with its checks, approvals and whether it can be merged (and why not)",
      params: S.ChangeParams,
      responses: { 200: { description: "The change request", schema: S.AnyObject }, 404: { description: "No such change request", schema: S.ErrorBody } },
      handle: ({ params }) => ({ status: 200, body: changeBody(d, d.changes.get(hosted(d, params), params.number)) }),
    }),
    route({
      method: "POST",
      path: "/api/repos/{owner}/{name}/changes/{number}/approvals",
      role: "developer",
      tag: "changes",
      summary: "Approve a change request (not your own, unless the target branch allows it)",
      params: S.ChangeParams,
      responses: { 200: { description: "Approved", schema: S.AnyObject }, 403: { description: "Your own change request", schema: S.ErrorBody } },
      handle: ({ params, actor }) => ({ status: 200, body: d.changes.approve(hosted(d, params), params.number, actor?.name ?? "unknown") }),
    }),
    route({
      method: "POST",
      path: "/api/repos/{owner}/{name}/changes/{number}/merge",
      job: { scope: "contents", access: "write", repository: ({ params }) => `${params.owner}/${params.name}` },
      role: "developer",
      tag: "changes",
      summary: "Merge a change request: the target branch moves to the merge result its checks passed on",
      params: S.ChangeParams,
      responses: { 200: { description: "Merged", schema: S.AnyObject }, 409: { description: "Not mergeable: the reasons", schema: S.ErrorBody } },
      handle: async ({ params, actor }) => ({ status: 200, body: changeBody(d, await d.changes.merge(hosted(d, params), params.number, actor?.name ?? "unknown")) }),
    }),
    route({
      method: "POST",
      path: "/api/repos/{owner}/{name}/changes/{number}/close",
      job: { scope: "pull-requests", access: "write", repository: ({ params }) => `${params.owner}/${params.name}` },
      role: "developer",
      tag: "changes",
      summary: "Close a change request without merging",
      params: S.ChangeParams,
      responses: { 200: { description: "Closed", schema: S.AnyObject } },
      handle: ({ params, actor }) => ({ status: 200, body: changeBody(d, d.changes.close(hosted(d, params), params.number, actor?.name ?? "unknown")) }),
    }),
    route({
      method: "GET",
      path: "/api/delivery",
      job: { scope: "deployments", access: "read", repository: () => d.delivery?.repository ?? null },
      role: "viewer",
      tag: "delivery",
      summary: "Per environment and service: the desired and running release, the rollout and its weights, the last verdict, sync and drift",
      responses: { 200: { description: "The status", schema: S.AnyObject }, 404: { description: "The server delivers nothing", schema: S.ErrorBody } },
      handle: async () => ({ status: 200, body: await delivering(d).status() }),
    }),
    route({
      method: "GET",
      path: "/api/delivery/history",
      job: { scope: "deployments", access: "read", repository: () => d.delivery?.repository ?? null },
      role: "viewer",
      tag: "delivery",
      summary: "Promotions and rollbacks, newest first, from the state repository's Git history",
      query: S.HistoryQuery,
      responses: { 200: { description: "The history", schema: S.AnyObject } },
      handle: async ({ query }) => ({ status: 200, body: { entries: await delivering(d).history(query.env) } }),
    }),
    route({
      method: "POST",
      path: "/api/delivery/approvals",
      role: "release-manager",
      tag: "delivery",
      summary: "Approve (or reject) a release waiting for an environment's approval gate, as the token",
      body: S.Approval,
      responses: { 200: { description: "Recorded; `gatesOpen` says whether it may go now", schema: S.AnyObject }, 404: { description: "No such environment or release", schema: S.ErrorBody }, 409: { description: "The environment needs no approval", schema: S.ErrorBody } },
      handle: ({ body, actor }) => ({
        status: 200,
        body: delivering(d).decide(body.env, body.release, actor?.name ?? "unknown", actor ? tokenGroups(actor) : [], body.decision ?? "approve", body.comment ?? null),
      }),
    }),
    route({
      method: "POST",
      path: "/api/delivery/promotions",
      job: { scope: "deployments", access: "write", repository: () => d.delivery?.repository ?? null },
      role: "release-manager",
      tag: "delivery",
      summary: "Promote a release to an environment (a commit in the state repository), when its gates are open",
      body: S.Promotion,
      responses: { 200: { description: "Committed", schema: S.AnyObject }, 409: { description: "A gate is closed, or a rollout is in progress", schema: S.ErrorBody } },
      handle: async ({ body, actor }) => ({ status: 200, body: await delivering(d).promote(body.env, body.release, actor?.name ?? "unknown", body.reason, body.overrideWindow) }),
    }),
    route({
      method: "GET",
      path: "/api/tokens",
      role: "admin",
      tag: "tokens",
      summary: "API tokens (never their secrets)",
      responses: { 200: { description: "The tokens", schema: S.TokenList } },
      handle: () => ({ status: 200, body: { tokens: d.store.listTokens() } }),
    }),
    route({
      method: "POST",
      path: "/api/tokens",
      role: "admin",
      tag: "tokens",
      summary: "Create an API token; its secret is in this answer only",
      body: S.CreateToken,
      responses: { 201: { description: "Created", schema: S.CreatedToken } },
      handle: ({ body, actor }) => {
        const { token, record } = d.auth.create(body.name, body.role, actor?.name ?? null, body.groups ?? []);
        return { status: 201, body: { ...record, token } };
      },
    }),
    route({
      method: "DELETE",
      path: "/api/tokens/{id}",
      role: "admin",
      tag: "tokens",
      summary: "Revoke an API token",
      params: S.IdParams,
      responses: { 200: { description: "Revoked", schema: S.Token }, 404: { description: "No such token", schema: S.ErrorBody }, 409: { description: "Already revoked", schema: S.ErrorBody } },
      handle: ({ params }) => {
        try {
          d.store.revokeToken(params.id);
        } catch (err) {
          if (err instanceof StoreError && err.code === "not_found") throw new HttpError(404, `no token ${params.id}`);
          if (err instanceof StoreError && err.code === "conflict") throw new HttpError(409, `token ${params.id} is already revoked`);
          throw err;
        }
        const record = d.store.listTokens().find((t) => t.id === params.id);
        return { status: 200, body: record ? record : {} };
      },
    }),
  ];
}

function changeBody(d: RouteDeps, c: ChangeRequestRecord): Record<string, unknown> {
  const m = d.changes.mergeability(c);
  const runs = c.mergeSha ? d.store.listRuns({ repository: c.repository, sha: c.mergeSha, limit: 20 }).map(runBody) : [];
  return { ...c, ...m, runs };
}

function delivering(d: RouteDeps): ServerDelivery {
  if (!d.delivery) throw new HttpError(404, "this server delivers no repository: start it with --deliver OWNER/NAME");
  return d.delivery;
}

/** The hosted repository's name, or 404. */
function hosted(d: RouteDeps, p: { owner: string; name: string }): string {
  const name = `${p.owner}/${p.name}`;
  if (!d.repos.exists(name)) throw new HttpError(404, `no hosted repository '${name}'`);
  return name;
}

/** A branch or tag name (or refs/…) as a full ref name, if it exists. */
async function qualify(repos: HostedRepositories, repo: string, ref: string): Promise<string | undefined> {
  const refs = await repos.refs(repo);
  if (ref.startsWith("refs/")) return refs.has(ref) ? ref : undefined;
  if (refs.has(`refs/heads/${ref}`)) return `refs/heads/${ref}`;
  if (refs.has(`refs/tags/${ref}`)) return `refs/tags/${ref}`;
  return undefined;
}

function cloneUrl(d: RouteDeps, name: string): string {
  return `${d.baseUrl()}/git/${name}.git`;
}

async function repositoryBody(d: RouteDeps, name: string): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = { name, defaultBranch: await d.repos.defaultBranch(name), cloneUrl: cloneUrl(d, name) };
  if (await d.repos.isMirror(name)) {
    body.remote = await d.repos.remote(name);
    body.webhookUrl = `${d.baseUrl()}/api/webhooks/${name}`;
    const poll = d.external.pollSeconds(name);
    if (poll !== undefined) body.pollSeconds = poll;
  }
  return body;
}

export function runBody(r: RunRecord): S.RunBody {
  return {
    id: r.id,
    repository: r.repository,
    workflow: r.workflowPath,
    name: r.workflowName,
    event: r.event,
    ref: r.ref,
    sha: r.sha,
    status: r.status,
    conclusion: r.conclusion,
    reason: r.reason,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    completedAt: r.completedAt,
  };
}

function jobBody(j: JobRecord, steps: StepRecord[]): unknown {
  return {
    id: j.id,
    key: j.jobKey,
    name: j.name,
    matrix: j.matrix ? (JSON.parse(j.matrix) as unknown) : null,
    attempt: j.attempt,
    status: j.status,
    conclusion: j.conclusion,
    reason: j.reason,
    environment: j.environment,
    outputs: j.outputs ? (JSON.parse(j.outputs) as unknown) : {},
    startedAt: j.startedAt,
    completedAt: j.completedAt,
    steps: steps.map((s) => ({ number: s.number, name: s.name, status: s.status, outcome: s.outcome, conclusion: s.conclusion, startedAt: s.startedAt, completedAt: s.completedAt })),
    summary: jobSummary(j),
  };
}

/** GitHub shows at most 1 MiB of a job summary; so does the API. */
const MAX_SUMMARY = 1 << 20;

/** The job summary (`summary.md` in the job's log folder, masked when written), or null. */
function jobSummary(j: JobRecord): string | null {
  if (!j.logPath) return null;
  try {
    const text = readFileSync(join(j.logPath, JOB_SUMMARY_FILE), "utf8");
    return text.length > MAX_SUMMARY ? `${text.slice(0, MAX_SUMMARY)}\n\n(the summary is longer than 1 MiB; the rest is left out)\n` : text;
  } catch {
    return null;
  }
}


function launchBody(l: LaunchRecord): unknown {
  return { launch: l.id, repository: l.repository, event: l.event, ref: l.ref, sha: l.sha, state: l.state, runs: l.runIds, detail: l.detail };
}

/** The repository a run is of, for a job token's check: null when there is no such run (404 follows). */
function runRepository(d: RouteDeps, id: number): string | null {
  const run = d.store.getRun(id);
  return run ? (run.repository ?? "a repository not recorded with the run") : null;
}
