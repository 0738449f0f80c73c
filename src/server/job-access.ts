// What a job token may do on the server (secrets/job-tokens.ts mints and
// checks them): the routes that declare `job` in routes.ts, and Git, with the
// permission they need, on the job's own repository only. Everything else
// is refused with 403; an expired token (its job finished) with 401.
import { allows, describePermissions, JobTokenError, type JobGrant, type JobTokens, type PermissionScope } from "../secrets/index.js";
import { HttpError, type Actor } from "./api.js";

const DOCS = "docs/secrets.md#job-tokens";

/** The job token's grant, or HttpError 401 with why it is refused. */
export function checkJobToken(tokens: JobTokens, token: string): JobGrant {
  try {
    return tokens.check(token);
  } catch (err) {
    if (err instanceof JobTokenError) throw new HttpError(err.status, err.message, [], { "www-authenticate": 'Bearer realm="Slipway"' });
    throw err;
  }
}

/** The stand-in token record a job acts as: handlers see its name (as the actor of what it does) and its grant. */
export function jobActor(grant: JobGrant): Actor {
  return {
    id: 0,
    name: `job ${grant.jobId} of run ${grant.runId} (${grant.repository})`,
    role: "viewer",
    groups: [],
    createdAt: new Date(0).toISOString(),
    createdBy: null,
    lastUsedAt: null,
    revokedAt: null,
    job: grant,
  };
}

/**
 * Refuses (HttpError 403) a job's request beyond its permissions or outside
 * its repository. `repository` is what the request is about: null when the
 * thing it names does not exist (allowed: the handler answers 404),
 * undefined when it names none.
 */
export function requireJobAccess(grant: JobGrant, scope: PermissionScope, access: "read" | "write", repository: string | null | undefined, what: string): void {
  if (!allows(grant.permissions, scope, access)) {
    throw new HttpError(
      403,
      `the job token of job ${grant.jobId} cannot ${what}: that needs \`${scope}: ${access}\`, and the job's permissions are ${describePermissions(grant.permissions)}; grant it in the workflow (\`permissions: { ${scope}: ${access} }\` on the job)`,
    );
  }
  if (repository === null) return;
  if (repository === undefined) throw new HttpError(403, `the job token of job ${grant.jobId} cannot ${what} without naming its repository: a job token reaches only ${grant.repository} (e.g. ?repository=${grant.repository})`);
  if (repository !== grant.repository) throw new HttpError(403, `the job token of job ${grant.jobId} cannot ${what}: it is about ${repository}, and a job token reaches only its own repository, ${grant.repository}`);
}

/** The 403 for a route job tokens may not call at all. */
export function notForJobs(grant: JobGrant, what: string): HttpError {
  return new HttpError(403, `the job token of job ${grant.jobId} cannot call ${what}: job tokens reach the runs, artifacts, change requests, delivery status and Git of their own repository (${DOCS}); use an API token`);
}
