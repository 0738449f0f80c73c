// Where an agent gets a job's repository and workflow file. A repository the
// server hosts (or mirrors) is kept as a bare mirror in the agent's work
// directory, cloned and fetched over smart HTTP with the agent's token (sent
// in a header through git's environment, never on a command line or in a
// URL); the job's workflow file is read from the job's commit. A run of a
// repository the server does not serve (`slipway run --queue` in a local
// checkout) is read from the path it ran in, when this host can reach it.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { git, STALL_LIMITS } from "../git/index.js";
import { loadWorkflowFile, parseWorkflowText, type LoadResult, type Workflow } from "../workflow/index.js";
import { payloadRepository, type QueuedJobPayload } from "../scheduler/index.js";

export interface PreparedRepository {
  /** The repository the job's steps (actions/checkout) read: a bare mirror or the run's path. */
  root: string;
  workflow: Workflow;
}

/** A job that cannot be prepared: the reason is the job's failure reason. */
export class PrepareError extends Error {}

/** git's environment with the agent's token as HTTP basic authentication. */
function authEnv(token: string): Record<string, string> {
  const basic = Buffer.from(`agent:${token}`).toString("base64");
  return { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "http.extraHeader", GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` };
}

/** Workflows read from mirrors, by repository, commit and path: the jobs of one run share them. */
const loaded = new Map<string, PreparedRepository>();

/** The repository and workflow of a job, in `workDir`. */
export async function prepareRepository(p: QueuedJobPayload, o: { server: string; token: string; workDir: string }): Promise<PreparedRepository> {
  const repository = payloadRepository(p);
  const mirror = join(o.workDir, "repos", `${repository}.git`);
  const rel = p.repo.prefix ? `${p.repo.prefix}/${p.workflowPath}` : p.workflowPath;
  // A commit's files never change: a workflow read from the mirror is read once.
  const key = `${mirror}\0${p.repo.sha}\0${rel}`;
  const known = loaded.get(key);
  if (known && existsSync(join(mirror, "HEAD"))) return known;
  let hostedError: string | undefined;
  if (!isAbsolute(p.workflowPath)) {
    try {
      await fetchCommit(mirror, `${o.server}/git/${repository}.git`, p.repo.sha, o.token);
      const text = await git(mirror, ["show", `${p.repo.sha}:${rel}`]);
      const prepared = { root: mirror, workflow: usable(await parseWorkflowText(p.workflowPath, text), p.workflowPath) };
      if (loaded.size >= 32) loaded.delete(loaded.keys().next().value as string);
      loaded.set(key, prepared);
      return prepared;
    } catch (err) {
      if (err instanceof PrepareError) throw err;
      hostedError = (err as Error).message.split("\n")[0];
    }
  }
  // Not served by the server: the path the run read, if this host has it.
  const root = p.repo.root;
  const file = isAbsolute(p.workflowPath) ? p.workflowPath : join(root, p.repo.prefix, p.workflowPath);
  if (existsSync(join(root, ".git")) && existsSync(file)) return { root, workflow: usable(await loadWorkflowFile(file, p.workflowPath), p.workflowPath) };
  throw new PrepareError(
    `cannot get repository ${repository} at ${p.repo.sha}: ${hostedError ? `the server's ${o.server}/git/${repository}.git: ${hostedError}; ` : ""}` +
      `and ${root} is not on this host (run the agent where the repository is reachable, or host the repository on the server)`,
  );
}

/** The workflow, or a PrepareError with its first diagnostic. */
function usable(r: LoadResult, display: string): Workflow {
  if (!r.workflow) {
    const d = r.diagnostics[0];
    throw new PrepareError(`${display}: ${d ? `${d.line}:${d.column}: ${d.message}` : "cannot be loaded"}`);
  }
  return r.workflow;
}

/** Clones the mirror once; fetches when the commit is not there yet. */
async function fetchCommit(mirror: string, url: string, sha: string, token: string): Promise<void> {
  const env = authEnv(token);
  if (!existsSync(join(mirror, "HEAD"))) {
    mkdirSync(dirname(mirror), { recursive: true });
    try {
      await git(dirname(mirror), [...STALL_LIMITS, "clone", "--quiet", "--mirror", url, mirror], { env });
    } catch (err) {
      rmSync(mirror, { recursive: true, force: true });
      throw err;
    }
    return;
  }
  try {
    await git(mirror, ["cat-file", "-e", `${sha}^{commit}`]);
    return;
  } catch {
    // not here yet
  }
  await git(mirror, ["remote", "set-url", "origin", url]);
  await git(mirror, [...STALL_LIMITS, "fetch", "--quiet", "--prune", "origin"], { env });
}
