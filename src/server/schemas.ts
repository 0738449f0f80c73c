// Request and response shapes of the JSON API (TypeBox = JSON Schema).
import { Type, type Static } from "@sinclair/typebox";

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Time = Type.String({ format: "date-time" });

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: "What is wrong and how to fix it" }),
    details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: "Error" },
);

export const RunStatus = Type.Union([Type.Literal("queued"), Type.Literal("in_progress"), Type.Literal("completed")]);
export const Conclusion = Type.Union([Type.Literal("success"), Type.Literal("failure"), Type.Literal("cancelled"), Type.Literal("skipped"), Type.Null()]);
export const RoleSchema = Type.Union([Type.Literal("viewer"), Type.Literal("developer"), Type.Literal("release-manager"), Type.Literal("admin")]);

export const Run = Type.Object({
  id: Type.Integer(),
  repository: Nullable(Type.String()),
  workflow: Type.String({ description: "Workflow file path in the repository" }),
  name: Type.String(),
  event: Type.String(),
  ref: Type.String(),
  sha: Type.String(),
  status: RunStatus,
  conclusion: Conclusion,
  reason: Nullable(Type.String()),
  createdAt: Time,
  startedAt: Nullable(Time),
  completedAt: Nullable(Time),
});
export type RunBody = Static<typeof Run>;

export const Step = Type.Object({
  number: Type.Integer(),
  name: Type.String(),
  status: RunStatus,
  outcome: Conclusion,
  conclusion: Conclusion,
  startedAt: Nullable(Time),
  completedAt: Nullable(Time),
});

export const Job = Type.Object({
  id: Type.Integer(),
  key: Type.String({ description: "The job's id in the workflow" }),
  name: Type.String(),
  matrix: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  attempt: Type.Integer(),
  status: RunStatus,
  conclusion: Conclusion,
  reason: Nullable(Type.String()),
  environment: Nullable(Type.String()),
  outputs: Type.Record(Type.String(), Type.String()),
  startedAt: Nullable(Time),
  completedAt: Nullable(Time),
  steps: Type.Array(Step),
  summary: Nullable(Type.String({ description: "The job summary (Markdown, masked), as GITHUB_STEP_SUMMARY wrote it" })),
});

export const Artifact = Type.Object({
  name: Type.String(),
  size: Type.Integer({ description: "Bytes of all its files" }),
  digest: Type.String(),
  files: Type.Array(Type.Object({ path: Type.String(), size: Type.Integer() })),
  createdAt: Time,
  expiresAt: Time,
});

export const Annotation = Type.Object({
  job: Type.Integer({ description: "The job's id" }),
  level: Type.Union([Type.Literal("error"), Type.Literal("warning"), Type.Literal("notice")]),
  message: Type.String(),
  title: Type.Optional(Type.String()),
  file: Type.Optional(Type.String({ description: "Relative to the workspace" })),
  line: Type.Optional(Type.Integer()),
  col: Type.Optional(Type.Integer()),
  step: Type.Optional(Type.String()),
});

export const RunDetail = Type.Composite([
  Run,
  Type.Object({
    jobs: Type.Array(Job),
    annotations: Type.Array(Annotation, { description: "The jobs' ::error, ::warning and ::notice annotations and the built-in actions' (at most 50 per job)" }),
    tests: Type.Unknown({ description: "Test reports of the run's jobs (null when none): see docs/test-reports.md" }),
    artifacts: Type.Array(Artifact, { description: "The run's artifacts (actions/upload-artifact), unexpired" }),
  }),
]);

export const RunList = Type.Object({ runs: Type.Array(Run) });

export const RunQuery = Type.Object({
  repository: Type.Optional(Type.String({ description: "owner/name" })),
  status: Type.Optional(RunStatus),
  workflow: Type.Optional(Type.String({ description: "Workflow file path, e.g. .github/workflows/ci.yml" })),
  sha: Type.Optional(Type.String()),
  ref: Type.Optional(Type.String({ description: "e.g. refs/heads/main" })),
  before: Type.Optional(Type.Integer({ minimum: 1, description: "Only runs with a smaller id (paging)" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
});

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
export const ArtifactParams = Type.Object({ id: Type.Integer({ minimum: 1 }), name: Type.String({ minLength: 1, maxLength: 256 }) });
export const ArtifactFileQuery = Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096, description: "A file's path in the artifact, as the run's artifacts list it" }) });
export const JobLogParams = Type.Object({ id: Type.Integer({ minimum: 1 }), job: Type.Integer({ minimum: 1 }) });

export const RepositoryName = Type.String({
  pattern: "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}/[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$",
  description: "owner/name: letters, digits, '.', '_' and '-', each part not starting with '.' or '-'",
});

export const StartRuns = Type.Object(
  {
    repository: RepositoryName,
    event: Type.Union([Type.Literal("push"), Type.Literal("workflow_dispatch")], { default: "push" }),
    ref: Type.Optional(Type.String({ minLength: 1, description: "Branch, tag or refs/…; default: the repository's default branch" })),
    workflow: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_.-]+\\.ya?ml$", description: "workflow_dispatch: the file name in .github/workflows" })),
    inputs: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);

export const Launch = Type.Object({
  launch: Type.Integer({ description: "The id of this start request, for GET /api/launches/{id}" }),
  repository: Type.String(),
  event: Type.String(),
  ref: Type.String(),
  sha: Type.String(),
  state: Type.Union([Type.Literal("waiting"), Type.Literal("running"), Type.Literal("done")]),
  runs: Type.Array(Type.Integer(), { description: "Runs started, once done" }),
  detail: Nullable(Type.String()),
});

export const Repository = Type.Object({
  name: Type.String(),
  defaultBranch: Type.String(),
  cloneUrl: Type.String(),
  remote: Type.Optional(Type.String({ description: "A mirror's remote: where pushes go" })),
  webhookUrl: Type.Optional(Type.String({ description: "A mirror's webhook address, for GitHub, Gitea or GitLab" })),
  pollSeconds: Type.Optional(Type.Integer()),
});
export const RepositoryList = Type.Object({ repositories: Type.Array(Repository) });
export const CreateRepository = Type.Object(
  {
    name: RepositoryName,
    defaultBranch: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9._/-]+$", description: "A hosted repository's default branch (main)" })),
    remote: Type.Optional(Type.String({ minLength: 1, description: "Mirror this external repository (any Git URL) instead of hosting one" })),
    webhookSecret: Type.Optional(Type.String({ minLength: 16, description: "The secret its webhooks are signed with (GitHub, Gitea; GitLab's signing token or secret token)" })),
    pollSeconds: Type.Optional(Type.Integer({ minimum: 1, description: "Also fetch the remote this often and run what moved" })),
  },
  { additionalProperties: false },
);
export const WebhookResult = Type.Object({
  provider: Type.String(),
  event: Type.String(),
  outcome: Type.Union([Type.Literal("started"), Type.Literal("ignored"), Type.Literal("pong")]),
  launches: Type.Array(Type.Integer()),
  detail: Type.Optional(Type.String()),
});

const GroupName = Type.String({ pattern: "^[a-z0-9][a-z0-9-]{0,62}$", description: "a group name: lowercase letters, digits and '-'" });
export const Token = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  role: RoleSchema,
  groups: Type.Array(Type.String()),
  createdAt: Time,
  createdBy: Nullable(Type.String()),
  lastUsedAt: Nullable(Time),
  revokedAt: Nullable(Time),
});
export const TokenList = Type.Object({ tokens: Type.Array(Token) });
export const CreateToken = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    role: RoleSchema,
    groups: Type.Optional(Type.Array(GroupName, { maxItems: 50, description: "Groups its holder is in, for approval gates (slipway.yml approval.from)" })),
  },
  { additionalProperties: false },
);
export const CreatedToken = Type.Composite([Token, Type.Object({ token: Type.String({ description: "The secret, shown only in this answer" }) })]);

export const Health = Type.Object({ status: Type.String(), checks: Type.Optional(Type.Record(Type.String(), Type.String())) });
export const PlainText = Type.String({ contentMediaType: "text/plain" });
export const Whoami = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  role: RoleSchema,
  job: Type.Optional(
    Type.Object(
      {
        id: Type.Integer(),
        run: Type.Integer(),
        repository: Type.String(),
        permissions: Type.Record(Type.String(), Type.Union([Type.Literal("none"), Type.Literal("read"), Type.Literal("write")])),
        expiresAt: Type.String({ format: "date-time" }),
      },
      { description: "For a job token: the job, its repository and permissions" },
    ),
  ),
});

export const RepoParams = Type.Object({ owner: Type.String(), name: Type.String() });
export const BranchParams = Type.Object({ owner: Type.String(), name: Type.String(), branch: Type.String({ description: "The branch name, URL-encoded (release%2F1.x)" }) });
export const Protection = Type.Object({
  branch: Type.String(),
  requiredChecks: Type.Array(Type.String(), { description: "Jobs that must have passed for a pushed commit: job id, display name, or 'Workflow / job'" }),
  allowForcePush: Type.Boolean(),
  allowDeletion: Type.Boolean(),
  requiredApprovals: Type.Integer(),
  preventSelfApproval: Type.Boolean(),
});
export const ProtectionList = Type.Object({ branches: Type.Array(Protection) });
export const SetProtection = Type.Object(
  {
    requiredChecks: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    allowForcePush: Type.Boolean({ default: false }),
    allowDeletion: Type.Boolean({ default: false }),
    requiredApprovals: Type.Integer({ minimum: 0, maximum: 10, default: 0, description: "Above 0: the branch changes only through change requests with this many approvals" }),
    preventSelfApproval: Type.Boolean({ default: true, description: "The author of a change request cannot approve it" }),
  },
  { additionalProperties: false },
);
export const ChangeParams = Type.Object({ owner: Type.String(), name: Type.String(), number: Type.Integer({ minimum: 1 }) });
export const CreateChange = Type.Object(
  {
    source: Type.String({ minLength: 1, description: "The branch with the changes" }),
    target: Type.String({ minLength: 1, description: "The branch to merge them into (often protected)" }),
    title: Type.String({ minLength: 1, maxLength: 300 }),
  },
  { additionalProperties: false },
);

export const Approval = Type.Object(
  {
    env: Type.String({ minLength: 1 }),
    release: Type.String({ minLength: 1, description: "SERVICE#NUMBER, or NUMBER when there is one service" }),
    decision: Type.Union([Type.Literal("approve"), Type.Literal("reject")], { default: "approve" }),
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export const RunApproval = Type.Object(
  {
    env: Type.String({ minLength: 1, description: "the environment the run's jobs wait for" }),
    decision: Type.Union([Type.Literal("approve"), Type.Literal("reject")], { default: "approve" }),
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export const Promotion = Type.Object(
  {
    env: Type.String({ minLength: 1 }),
    release: Type.String({ minLength: 1, description: "SERVICE#NUMBER, or NUMBER when there is one service" }),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
    overrideWindow: Type.Optional(Type.String({ minLength: 1, description: "Deploy outside the deployment windows, recording why" })),
  },
  { additionalProperties: false },
);
export const HistoryQuery = Type.Object({ env: Type.Optional(Type.String()) });
export const AnyObject = Type.Record(Type.String(), Type.Unknown());
