// `slipway run [EVENT]`: what GitHub would have done for this event, here.
import { setMaxListeners } from "node:events";
import type { Command } from "commander";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { availableParallelism, userInfo } from "node:os";
import { join, relative, resolve } from "node:path";
import { builtinActions, parseActionSource } from "../actions/index.js";
import { formatDiagnostic, hasErrors, type Diagnostic } from "../diagnostics/index.js";
import type { JobResult } from "../engine/index.js";
import { createHostExecutor, createSandboxExecutor, sandboxAvailable, type Executor } from "../executor/index.js";
import { waitForEnvironmentGates } from "../control/index.js";
import { findDeliveryConfig, loadDeliveryConfig, type DeliveryConfig } from "../delivery/index.js";
import { buildEvent, readRepo } from "../git/index.js";
import { ConcurrencyGroups, ownerAlive, processOwner, QueueDispatcher, runWorkflow, Semaphore, type RunSummary } from "../scheduler/index.js";
import { JOB_TOKEN_MAX_TTL_MS, JobTokens, jobPermissions, Masker, SERVER_URL_ENV, RunOidc, SecretStore } from "../secrets/index.js";
import { releaseAfterRuns, type AutomaticRelease } from "../release/index.js";
import { createStepFilesRoot, createWorkRoot, removeAbandonedWorkRoots } from "../runner/index.js";
import { DATABASE_URL_FILE, openDataStore, type Store } from "../store/index.js";
import { loadWorkflowFile, matchTrigger, resolveInputs, type Workflow } from "../workflow/index.js";
import { collect, dataDirFor, EXIT, globalOptions, keyValues, UsageError, workDir, type GlobalOptions } from "./common.js";
import { ConsoleReporter } from "./reporter.js";
import { paint } from "./style.js";

export interface RunOptions extends GlobalOptions {
  workflow?: string[];
  job?: string;
  secret?: string[];
  /** false with --no-secrets: jobs get no secrets. */
  secrets?: boolean;
  var?: string[];
  input?: string[];
  parallel?: string;
  sandbox?: boolean;
  network?: boolean;
  json?: boolean;
  eventPath?: string;
  ref?: string;
  base?: string;
  /** push: the sha the ref pointed to before the push (all zeros: a new ref). */
  before?: string;
  actionSource?: string;
  keepWorkspace?: boolean;
  /** Put the jobs in the store's job queue for runner agents (`slipway agent`) instead of running them here. */
  queue?: boolean;
}

/** `slipway run`, on `program` (dist/cli.js, and dist/run.js alone: run-main.ts). */
export function registerRun(program: Command): void {
  globalOptions(
    program
      .command("run")
      .description("run the workflows that an event triggers, as GitHub would")
      .argument("[event]", "push, pull_request, workflow_dispatch, schedule, workflow_call, …", "push")
      .option("-W, --workflow <file>", "workflow file or directory (repeatable; default .github/workflows)", collect)
      .option("-j, --job <id>", "run only this job (and the jobs it needs)")
      .option("-s, --secret <name[=value]>", "secret; without a value, read from the secret store or the environment (repeatable)", collect)
      .option("--var <name=value>", "configuration variable for the vars context (repeatable)", collect)
      .option("--input <name=value>", "workflow_dispatch / workflow_call input (repeatable)", collect)
      .option("--parallel <n>", "jobs run at once (default: CPU count)")
      .option("--sandbox", "run each job under bubblewrap: read-only host, writable workspace, no network")
      .option("--network", "with --sandbox: allow network access")
      .option("-e, --event-path <file>", "JSON merged over the generated event payload")
      .option("--ref <ref>", "ref to run for (default: HEAD), e.g. refs/tags/v1.2.0")
      .option("--base <branch>", "pull_request: the base branch (default: the default branch)")
      .option("--no-secrets", "give the jobs no secrets (what a pull request from a fork gets)")
      .option("--before <sha>", "push: the commit the ref pointed to before the push (default: the pushed commit's parent)")
      .option("--action-source <url|dir>", "where remote actions are fetched from (default https://github.com; $SLIPWAY_ACTION_SOURCE)")
      .option("--keep-workspace", "keep each job's workspace (under the system temp directory) after the run")
      .option("--queue", "put the jobs in the job queue for runner agents (slipway agent) instead of running them here")
      .option("--json", "print a JSON result instead of the live view"),
  ).action(async (event: string | undefined, opts) => {
    process.exitCode = await runCommand(event, opts);
  });
}

/** Workflow files: the -W files, or every .yml/.yaml in .github/workflows. */
export function workflowFiles(repoDir: string, given: string[] | undefined): string[] {
  if (given && given.length > 0) {
    const out: string[] = [];
    for (const g of given) {
      const p = resolve(g);
      if (existsSync(p) && !p.endsWith(".yml") && !p.endsWith(".yaml")) {
        // A directory, as act's -W accepts.
        out.push(...listYaml(p));
      } else out.push(p);
    }
    return out;
  }
  const dir = join(repoDir, ".github", "workflows");
  if (!existsSync(dir)) throw new UsageError(`no workflows: ${relative(process.cwd(), dir) || dir} does not exist (create .github/workflows/*.yml or pass -W FILE)`);
  return listYaml(dir);
}

function listYaml(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
    .sort()
    .map((f) => join(dir, f));
}

export async function loadWorkflows(repoDir: string, files: string[]): Promise<{ workflows: Workflow[]; diagnostics: Diagnostic[] }> {
  const workflows: Workflow[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const f of files) {
    const display = relative(repoDir, f).startsWith("..") ? f : relative(repoDir, f);
    const r = await loadWorkflowFile(f, display);
    diagnostics.push(...r.diagnostics);
    if (r.workflow) workflows.push(r.workflow);
  }
  return { workflows, diagnostics };
}

export async function runCommand(eventArg: string | undefined, opts: RunOptions): Promise<number> {
  const eventName = eventArg ?? "push";
  const dir = workDir(opts);
  const json = opts.json === true;
  const parallel = opts.parallel ? Number(opts.parallel) : availableParallelism();
  if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError(`--parallel expects a positive integer, got '${opts.parallel}'`);
  const cliVars = keyValues(opts.var, "--var");
  const inputs = keyValues(opts.input, "--input");
  if (opts.secrets === false && (opts.secret?.length ?? 0) > 0) throw new UsageError("--no-secrets gives jobs no secrets; drop either it or -s");
  if (opts.before !== undefined && eventName !== "push") {
    throw new UsageError(`--before applies to push events only (the commit the ref pointed to before the push); drop it for '${eventName}'`);
  }
  if (opts.before === "") throw new UsageError("--before expects a commit sha (all zeros for a new branch or tag)");

  let repo;
  try {
    repo = await readRepo(dir);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  // git builds the event while the workflows are parsed; a workflow error is still reported first.
  const eventBuilt = buildEvent(repo, {
    eventName,
    ...(opts.ref ? { ref: opts.ref } : {}),
    ...(opts.base ? { base: opts.base } : {}),
    ...(opts.before !== undefined ? { before: opts.before } : {}),
    inputs,
    ...(opts.eventPath ? { payloadFile: opts.eventPath } : {}),
  });
  eventBuilt.catch(() => undefined); // awaited below, unless the workflows come first
  const files = workflowFiles(repo.dir, opts.workflow);
  const { workflows, diagnostics } = await loadWorkflows(repo.dir, files);
  if (hasErrors(diagnostics)) {
    if (json) process.stdout.write(JSON.stringify({ diagnostics }, null, 2) + "\n");
    else for (const d of diagnostics) process.stderr.write(formatDiagnostic(d) + "\n");
    return EXIT.usage;
  }
  const event = await eventBuilt;

  const dataDir = dataDirFor(opts, repo.dir);
  const store = openDataStore(dataDir);
  const interrupted = store.recoverInterrupted("Slipway stopped while this was running", ownerAlive);
  // Variables and secrets of every environment, read (and decrypted) once:
  // environment name → name → value, "" being the repository's.
  const storedVars = new Map<string, Record<string, string>>();
  for (const v of store.listVariables()) storedVars.set(v.environment, { ...storedVars.get(v.environment), [v.name]: v.value });
  const vars = { ...storedVars.get(""), ...cliVars };
  const masker = new Masker();
  const secretStore = new SecretStore(store, dataDir);
  const storedSecrets = new Map<string, Record<string, string>>();
  const cliSecrets: Record<string, string> = {};
  try {
    for (const s of secretStore.list()) {
      const v = secretStore.get(s.name, s.environment);
      if (v !== undefined) storedSecrets.set(s.environment, { ...storedSecrets.get(s.environment), [s.name]: v });
    }
    for (const spec of opts.secret ?? []) {
      const i = spec.indexOf("=");
      if (i > 0) {
        cliSecrets[spec.slice(0, i)] = spec.slice(i + 1);
        continue;
      }
      const value = secretStore.get(spec) ?? process.env[spec];
      if (value === undefined) {
        throw new UsageError(`secret '${spec}' is neither in the secret store nor in the environment; set it with \`slipway secrets set ${spec}\` or pass -s ${spec}=VALUE`);
      }
      cliSecrets[spec] = value;
    }
  } catch (err) {
    store.close();
    throw err instanceof UsageError ? err : new UsageError((err as Error).message);
  }
  // --no-secrets (a pull request from a fork, as on GitHub): jobs get none;
  // the stored ones are still masked.
  const withSecrets = opts.secrets !== false;
  const secrets = withSecrets ? { ...storedSecrets.get(""), ...cliSecrets } : {};
  // A job with `environment:` sees that environment's over the repository's; the command line wins.
  const environmentScope = (environment: string) => ({
    secrets: withSecrets ? { ...storedSecrets.get(""), ...storedSecrets.get(environment), ...cliSecrets } : {},
    vars: { ...storedVars.get(""), ...storedVars.get(environment), ...cliVars },
  });
  // Every secret of every environment is masked, whichever job uses it.
  for (const values of [...storedSecrets.values(), cliSecrets]) for (const v of Object.values(values)) masker.add(v);

  // Job workspaces live outside the data directory (see JobRunInput.workRoot).
  const workRoot = createWorkRoot();
  const stepFilesRoot = createStepFilesRoot();
  const baseEnv = hostEnv();
  let executor: Executor = createHostExecutor();
  if (opts.sandbox) {
    const ok = await sandboxAvailable();
    if (!ok.ok) {
      store.close();
      throw new UsageError(`--sandbox: bubblewrap is not usable here: ${ok.reason ?? "unknown reason"} (install it with apt-get install bubblewrap)`);
    }
    // Jobs see the host read-only, write only their workspace and a HOME of
    // their own, cannot read Slipway's keys, database, blobs or logs, and
    // have no network unless --network.
    const home = join(workRoot, "home");
    mkdirSync(home, { recursive: true });
    baseEnv.HOME = home;
    executor = createSandboxExecutor({
      workspace: workRoot,
      writable: stepFilesRoot ? [stepFilesRoot] : [],
      // The database URL too: it may hold PostgreSQL's password.
      hidden: ["keys", "slipway.db", "slipway.db-wal", "slipway.db-shm", DATABASE_URL_FILE, "blobs", "logs", "cache", "artifacts"].map((p) => join(dataDir, p)),
      network: opts.network === true,
    });
  }

  const mode = json ? "json" : process.stdout.isTTY ? "live" : "plain";
  const reporter = new ConsoleReporter(mode);
  const p = paint(process.stdout);
  if (interrupted > 0 && !json) process.stdout.write(p.dim(`(${interrupted} interrupted records from an earlier crash were marked cancelled)\n`));

  const abort = new AbortController();
  setMaxListeners(0, abort.signal);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      if (!json) process.stderr.write(`\n${sig}: cancelling — always() and post steps still run; press Ctrl-C again to stop at once\n`);
      abort.abort();
    } else {
      process.exit(130);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const skipped: Array<{ workflow: string; reason: string }> = [];
  const selected = workflows.filter((w) => {
    const m = matchTrigger(w, event);
    if (!m.matched) skipped.push({ workflow: w.path, reason: m.reason });
    return m.matched;
  });
  if (!json) for (const s of skipped) process.stdout.write(`${p.dim(`↷ ${s.workflow}: skipped — ${s.reason}`)}\n`);
  // Inputs are checked before anything runs: GitHub refuses to start a run with bad inputs.
  const inputErrors = selected.flatMap((w) => (eventName === "workflow_dispatch" || eventName === "workflow_call" ? resolveInputs(w, eventName, inputs).errors : []));
  if (inputErrors.length > 0) {
    store.close();
    throw new UsageError(inputErrors.join("\n"));
  }
  if (opts.job && !selected.some((w) => w.jobs.some((j) => j.id === opts.job))) {
    store.close();
    throw new UsageError(`no job '${opts.job}' in the workflows that run for '${eventName}'`);
  }

  // With --queue the agents are the job slots: every ready job is queued (max-parallel still holds).
  const slots = new Semaphore(opts.queue ? Number.MAX_SAFE_INTEGER : parallel);
  const dispatch = opts.queue ? new QueueDispatcher(store, dataDir) : undefined;
  // Claimed in the store: runs of other processes sharing it obey the same groups.
  const concurrency = new ConcurrencyGroups(store, processOwner(), `${repo.owner}/${repo.name}`, ownerAlive);
  const source = parseActionSource(opts.actionSource ?? process.env.SLIPWAY_ACTION_SOURCE ?? "https://github.com");
  // ID tokens for jobs with `id-token: write` (none with --no-secrets): the server's issuer, else one on loopback.
  const issuer = process.env[SERVER_URL_ENV];
  const jobActive = (id: number) => store.getJob(id)?.status === "in_progress";
  const oidc = withSecrets ? new RunOidc({ dataDir, jobActive, ...(issuer ? { issuer } : {}) }) : undefined;
  // Under `slipway server`, each job gets a job token for its API and Git, scoped by its permissions (read-only with --no-secrets, as for forks).
  const jobTokens = issuer ? new JobTokens({ dataDir, jobActive }) : undefined;
  // slipway.yml's environments protect the jobs that name them (control/job-gates.ts); read when the first such job is ready.
  let environments: DeliveryConfig | { error: string } | undefined | null = null;
  const deliveryEnvironments = () => {
    if (environments !== null) return environments;
    if (findDeliveryConfig(repo.dir) === undefined) return (environments = undefined);
    const { config, diagnostics } = loadDeliveryConfig(repo.dir);
    const first = diagnostics.find((d) => d.severity === "error");
    return (environments = config ?? { error: first ? `${first.file}:${first.line}:${first.column}: ${first.message}` : "it cannot be read" });
  };
  const actor = safeUser();
  let summaries: RunSummary[];
  try {
    summaries = await Promise.all(
      selected
        .filter((w) => !opts.job || w.jobs.some((j) => j.id === opts.job))
        .map((workflow) =>
          runWorkflow({
            workflow,
            repo,
            event,
            store,
            dataDir,
            slots,
            concurrency,
            secrets,
            vars,
            inputs,
            masker,
            executor,
            reporter,
            signal: abort.signal,
            actions: { source, cacheDir: join(dataDir, "actions"), builtins: builtinActions, useBuiltins: true },
            ...(opts.job ? { onlyJob: opts.job } : {}),
            ...(opts.keepWorkspace ? { keepWorkspace: true } : {}),
            workRoot,
            ...(stepFilesRoot ? { stepFilesRoot } : {}),
            baseEnv,
            actor,
            environmentGate: (environment, g) => waitForEnvironmentGates({ store, config: deliveryEnvironments(), environment, runId: g.runId, actor, signal: g.signal, waiting: g.waiting }),
            environmentScope,
            // Jobs sent to runner agents need an issuer they can reach: the server's (its Launcher sets the variable), never a loopback one.
            ...(oidc && (!dispatch || issuer) ? { idToken: (job) => oidc.credentials(job) } : {}),
            ...(jobTokens && issuer
              ? {
                  jobToken: (j) => ({
                    url: issuer,
                    // A queued job may wait long for an agent: its token is bounded by the job running, not by the clock alone.
                    token: jobTokens.mint(
                      { jobId: j.jobId, runId: j.runId, repository: `${repo.owner}/${repo.name}`, permissions: jobPermissions(j.workflow, j.job, !withSecrets) },
                      dispatch ? JOB_TOKEN_MAX_TTL_MS : (j.timeoutMinutes + 5) * 60_000,
                    ),
                  }),
                }
              : {}),
            ...(dispatch ? { dispatch } : {}),
          }),
        ),
    );
  } finally {
    await oidc?.close();
    if (!opts.keepWorkspace) {
      for (const root of [workRoot, stepFilesRoot]) if (root) rmSync(root, { recursive: true, force: true });
    } else if (!json) process.stdout.write(`workspaces kept in ${workRoot}${stepFilesRoot ? `, step scripts in ${stepFilesRoot}` : ""}\n`);
    // Those of runs that were killed before they could delete theirs.
    await removeAbandonedWorkRoots();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    reporter.finish();
  }

  const failed = summaries.some((s) => s.conclusion === "failure" || s.conclusion === "cancelled");
  // A partial run (-j) builds only some jobs: it makes no release.
  const releases = opts.job ? [] : await automaticReleases(repo.dir, repo.defaultBranch, store, dataDir, summaries);
  if (json) {
    const runs = summaries.map((s) => {
      const run = store.getRun(s.runId);
      return {
        id: s.runId,
        repository: run?.repository ?? null,
        workflow: run?.workflowPath,
        name: run?.workflowName,
        conclusion: s.conclusion,
        reason: s.reason ? masker.mask(s.reason) : null,
        jobs: store.listJobs(s.runId).map((j) => ({
          id: j.id,
          key: j.jobKey,
          name: j.name,
          matrix: j.matrix ? JSON.parse(j.matrix) : null,
          environment: j.environment,
          conclusion: j.conclusion,
          reason: j.reason,
          outputs: j.outputs ? JSON.parse(j.outputs) : {},
          steps: store.listSteps(j.id).map((st) => ({ number: st.number, name: st.name, outcome: st.outcome, conclusion: st.conclusion })),
        })),
      };
    });
    process.stdout.write(masker.mask(JSON.stringify({ event: eventName, runs, skipped, annotations: reporter.annotations, ...releasesJson(releases) }, null, 2)) + "\n");
  } else {
    for (const s of summaries) {
      const run = store.getRun(s.runId);
      const icon = conclusionIcon(s.conclusion, p);
      process.stdout.write(`${icon} ${run?.workflowName ?? ""} ${p.dim(`run ${s.runId}`)} ${s.conclusion}${s.reason ? p.dim(` — ${masker.mask(s.reason)}`) : ""}\n`);
    }
    if (summaries.length === 0 && skipped.length > 0) process.stdout.write(`no workflow runs for '${eventName}'\n`);
    printReleases(releases, p);
  }
  store.close();
  return failed ? EXIT.failed : EXIT.ok;
}

/**
 * Releases of the services whose slipway.yml `release:` names a workflow that
 * succeeded here on the release branch. A slipway.yml with errors makes none
 * (and says so); the run's own result does not change.
 */
async function automaticReleases(
  repoDir: string,
  defaultBranch: string,
  store: Store,
  dataDir: string,
  summaries: RunSummary[],
): Promise<AutomaticRelease[] | { configErrors: number }> {
  if (!summaries.some((s) => s.conclusion === "success") || findDeliveryConfig(repoDir) === undefined) return [];
  const { config, diagnostics } = loadDeliveryConfig(repoDir);
  if (!config) return { configErrors: diagnostics.filter((d) => d.severity === "error").length };
  return releaseAfterRuns({ store, dataDir, config, runIds: summaries.map((s) => s.runId), defaultBranch, createdBy: safeUser(), repoDir });
}

function releasesJson(releases: AutomaticRelease[] | { configErrors: number }): { releases: AutomaticRelease[]; releaseError?: string } {
  if (Array.isArray(releases)) return { releases };
  return { releases: [], releaseError: `slipway.yml has ${releases.configErrors} error(s): no release made; run slipway lint` };
}

function printReleases(releases: AutomaticRelease[] | { configErrors: number }, p: ReturnType<typeof paint>): void {
  if (!Array.isArray(releases)) {
    const n = releases.configErrors;
    process.stdout.write(`${p.yellow("!")} slipway.yml has ${n} error${n === 1 ? "" : "s"}: no release made; \`slipway lint\` shows ${n === 1 ? "it" : "them"}\n`);
    return;
  }
  for (const r of releases) {
    if (r.error !== undefined) process.stdout.write(`${p.red("✗")} no release of ${r.service} from run ${r.runId}: ${r.error}\n`);
    else if (r.release && r.created) process.stdout.write(`${p.green("⬢")} released ${r.service}#${r.release.number} ${p.dim(`${r.release.digest.slice(0, 19)}… from run ${r.runId}`)}\n`);
    else if (r.release) process.stdout.write(`${p.dim(`⬢ ${r.service}#${r.release.number} already holds this content: no new release`)}\n`);
  }
}

function conclusionIcon(c: JobResult, p: ReturnType<typeof paint>): string {
  return c === "success" ? p.green("✓") : c === "failure" ? p.red("✗") : c === "cancelled" ? p.yellow("⊘") : p.dim("↷");
}

/** The environment steps inherit: the host's, less Slipway's own secrets. */
function hostEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k === "SLIPWAY_MASTER_KEY" || k === SERVER_URL_ENV || k.startsWith("ACTIONS_ID_TOKEN_") || k.startsWith("GITHUB_") || k.startsWith("RUNNER_") || k.startsWith("INPUT_") || k.startsWith("STATE_")) continue;
    // Set by an npm script that started Slipway; they would steer the jobs' own npm.
    if (/^npm_/i.test(k)) continue;
    env[k] = v;
  }
  return env;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "local";
  }
}
