// The JSON API's routes. Reading needs `viewer`; starting and cancelling runs
// `developer`; repositories and tokens `admin`.
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { ownerAlive } from "../scheduler/index.js";
import { StoreError, type JobRecord, type RunRecord, type StepRecord, type Store, type TokenRecord } from "../store/index.js";
import { HttpError, route, type Route } from "./api.js";
import type { Authenticator } from "./auth.js";
import { readProtection, REPOSITORY_NAME, writeProtection, type HostedRepositories } from "../git/index.js";
import type { Launch as LaunchRecord, Launcher } from "./launcher.js";
import * as S from "./schemas.js";

export interface RouteDeps {
  store: Store;
  repos: HostedRepositories;
  launcher: Launcher;
  auth: Authenticator;
  baseUrl: () => string;
}

export function apiRoutes(d: RouteDeps): Route[] {
  return [
    route({
      method: "GET",
      path: "/api/whoami",
      role: "viewer",
      tag: "tokens",
      summary: "The caller's token: name and role",
      responses: { 200: { description: "The token", schema: S.Whoami } },
      handle: ({ actor }) => ({ status: 200, body: { id: actor?.id, name: actor?.name, role: actor?.role } }),
    }),
    route({
      method: "GET",
      path: "/api/runs",
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
      role: "developer",
      tag: "runs",
      summary: "Start the runs of an event (push or workflow_dispatch) on a hosted repository",
      body: S.StartRuns,
      responses: { 202: { description: "Accepted: the runs start in the background; follow them with GET /api/launches/{launch}", schema: S.Launch } },
      handle: async ({ body, actor }) => {
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
      role: "viewer",
      tag: "runs",
      summary: "An event's start request: waiting, running or done, and the runs it started",
      params: S.IdParams,
      responses: { 200: { description: "The launch", schema: S.Launch }, 404: { description: "Unknown (or forgotten after a restart)", schema: S.ErrorBody } },
      handle: ({ params }) => {
        const launch = d.launcher.get(params.id);
        if (!launch) throw new HttpError(404, `no launch ${params.id} (launches are kept in memory until the server restarts; look for the runs with GET /api/runs?sha=…)`);
        return { status: 200, body: launchBody(launch) };
      },
    }),
    route({
      method: "GET",
      path: "/api/runs/{id}",
      role: "viewer",
      tag: "runs",
      summary: "One run with its jobs and steps",
      params: S.IdParams,
      responses: { 200: { description: "The run", schema: S.RunDetail }, 404: { description: "No such run", schema: S.ErrorBody } },
      handle: ({ params }) => {
        const run = d.store.getRun(params.id);
        if (!run) throw new HttpError(404, `no run ${params.id}`);
        return { status: 200, body: { ...runBody(run), jobs: d.store.listJobs(run.id).map((j) => jobBody(j, d.store.listSteps(j.id))) } };
      },
    }),
    route({
      method: "GET",
      path: "/api/runs/{id}/jobs/{job}/log",
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
        return { status: 200, text };
      },
    }),
    route({
      method: "POST",
      path: "/api/runs/{id}/cancel",
      role: "developer",
      tag: "runs",
      summary: "Cancel a run in progress (always() and post steps still run)",
      params: S.IdParams,
      responses: { 202: { description: "Cancelling", schema: S.Run }, 404: { description: "No such run", schema: S.ErrorBody }, 409: { description: "Already completed, or not run by this server", schema: S.ErrorBody } },
      handle: ({ params }) => {
        const run = d.store.getRun(params.id);
        if (!run) throw new HttpError(404, `no run ${params.id}`);
        if (run.status === "completed") throw new HttpError(409, `run ${run.id} is already completed (${run.conclusion ?? "unknown"})`);
        const pid = ownerPid(run.owner);
        if (pid === undefined || !d.launcher.cancelPid(pid)) {
          const why = run.owner && ownerAlive(run.owner) ? `it is run by ${run.owner}, a process this server did not start; stop it there` : "the process that ran it is gone";
          throw new HttpError(409, `cannot cancel run ${run.id}: ${why}`);
        }
        return { status: 202, body: runBody(run) };
      },
    }),
    route({
      method: "GET",
      path: "/api/repos",
      role: "viewer",
      tag: "repositories",
      summary: "Hosted repositories",
      responses: { 200: { description: "The repositories", schema: S.RepositoryList } },
      handle: async () => ({
        status: 200,
        body: { repositories: await Promise.all(d.repos.list().map(async (name) => ({ name, defaultBranch: await d.repos.defaultBranch(name), cloneUrl: cloneUrl(d, name) }))) },
      }),
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
        const info = await d.repos.create(body.name, body.defaultBranch ?? "main");
        return { status: 201, body: { ...info, cloneUrl: cloneUrl(d, info.name) } };
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
        const rule = { branch: params.branch, requiredChecks: body.requiredChecks ?? [], allowForcePush: body.allowForcePush ?? false, allowDeletion: body.allowDeletion ?? false };
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
      method: "GET",
      path: "/api/tokens",
      role: "admin",
      tag: "tokens",
      summary: "API tokens (never their secrets)",
      responses: { 200: { description: "The tokens", schema: S.TokenList } },
      handle: () => ({ status: 200, body: { tokens: d.store.listTokens().map(tokenBody) } }),
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
        const { token, record } = d.auth.create(body.name, body.role, actor?.name ?? null);
        return { status: 201, body: { ...tokenBody(record), token } };
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
        return { status: 200, body: record ? tokenBody(record) : {} };
      },
    }),
  ];
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

function ownerPid(owner: string | null): number | undefined {
  if (!owner) return undefined;
  const i = owner.lastIndexOf(":");
  if (owner.slice(0, i) !== hostname()) return undefined;
  const pid = Number(owner.slice(i + 1));
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
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
  };
}

function tokenBody(t: TokenRecord): Record<string, unknown> {
  return { id: t.id, name: t.name, role: t.role, createdAt: t.createdAt, createdBy: t.createdBy, lastUsedAt: t.lastUsedAt, revokedAt: t.revokedAt };
}

function launchBody(l: LaunchRecord): unknown {
  return { launch: l.id, repository: l.repository, event: l.event, ref: l.ref, sha: l.sha, state: l.state, runs: l.runIds, detail: l.detail };
}
