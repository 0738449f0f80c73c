// The `slipway` command line. Exit codes: 0 success, 1 the run failed,
// 2 invalid input or usage.
import { Command, Option } from "commander";
import { collect, globalOptions, VERSION } from "./common.js";
import { newProgram, start } from "./entry.js";
import { abortCommand, promoteCommand } from "./promote.js";
import { approveCommand } from "./approve.js";
import { historyCommand } from "./history.js";
import { rollbackCommand } from "./rollback.js";
import { statusCommand } from "./status.js";
import { upCommand } from "./up.js";
import { downCommand } from "./down.js";
import { lintCommand } from "./lint.js";
import { registerMigrations } from "./migrations.js";
import { logsCommand } from "./logs.js";
import { releaseCreateCommand, releasesCommand } from "./release.js";
import { registerRun } from "./run.js";
import { runsCommand } from "./runs.js";
import { runsShowCommand } from "./runs-show.js";
import { secretsCommand, varsCommand } from "./secrets.js";
import { serverCommand, tokensCommand } from "./server.js";
import { hookCommand } from "./hook.js";
import { changeCommand } from "./change.js";
import { registerAffected } from "./affected.js";
import { insightsCommand } from "./insights.js";
import { gcCommand } from "./gc.js";
import { agentCommand } from "./agent.js";
import { pinCommand } from "./pin.js";
import { depsReviewCommand } from "./deps.js";
import { sbomCommand } from "./sbom.js";
import { verifyCommand } from "./verify.js";
import { keysCommand } from "./keys.js";
import { oidcCommand } from "./oidc.js";

export function buildProgram(): Command {
  const program = newProgram();

  registerRun(program);

  globalOptions(
    program
      .command("lint")
      .description("validate workflow files and slipway.yml; print every problem with file:line:column")
      .argument("[files...]", "workflow files or slipway.yml (default: .github/workflows/*.yml and slipway.yml)")
      .option("--security", "only the workflow security rules (pinning, permissions, injection, …), errors exit 1")
      .option("--format <format>", "text, json or sarif (SARIF 2.1.0, for code scanning)")
      .option("--json", "print diagnostics as JSON (--format json)"),
  ).action(async (files: string[], opts) => {
    process.exitCode = await lintCommand(files, opts);
  });

  globalOptions(
    program
      .command("pin")
      .description("pin every remote action to the full commit SHA of its tag, keeping the tag as a comment")
      .argument("[files...]", "workflow or action files (default: .github/workflows/*.yml)")
      .option("--update", "move each pin to the newest tag of the same major (the tag in its comment)")
      .option("--dry-run", "print what would change; write nothing")
      .option("--action-source <url|dir>", "where action repositories are listed from (default https://github.com; $SLIPWAY_ACTION_SOURCE)")
      .option("--json", "print JSON"),
  ).action(async (files: string[], opts) => {
    process.exitCode = await pinCommand(files, opts);
  });

  const deps = program.command("deps").description("dependencies as the lockfiles resolve them");
  globalOptions(
    deps
      .command("review")
      .description("dependency changes between two commits (added, removed, upgraded, downgraded, licences), checked against a policy")
      .argument("<range>", "BASE..HEAD, e.g. main..HEAD")
      .option("--config <file>", "policy: allow-licenses, deny-licenses, deny-packages (default .github/dependency-review-config.yml if present)")
      .option("--json", "print JSON"),
  ).action(async (range: string, opts) => {
    process.exitCode = await depsReviewCommand(range, opts);
  });

  registerAffected(program);

  globalOptions(
    program
      .command("gc")
      .description("remove what the data directory no longer needs: expired artifacts, cache entries unused for 7 days or beyond 10 GiB per repository, unreferenced blobs (slipway server does it hourly)")
      .option("--dry-run", "report what would go; remove nothing")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    process.exitCode = await gcCommand(opts);
  });

  globalOptions(
    program
      .command("insights")
      .description("where CI time goes: job durations, the critical path, the slowest steps, cache hit rates over recent runs")
      .option("-n, --limit <n>", "runs per workflow", "20")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    process.exitCode = await insightsCommand(opts);
  });

  const runs = globalOptions(
    program
      .command("runs")
      .description("list recent runs; `slipway runs show RUN` shows one")
      .option("-n, --limit <n>", "how many", "20")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    process.exitCode = await runsCommand(opts);
  });

  globalOptions(
    runs
      .command("show")
      .description("show a run: its jobs, and their test reports (totals, failures with file:line, flaky tests, coverage)")
      .argument("<run>", "run id")
      .option("--json", "print JSON"),
  ).action(async (run: string, _opts: unknown, cmd: Command) => {
    // `runs` has --json, --data-dir and -C too, and commander gives them to it: read the parent's as well.
    process.exitCode = await runsShowCommand(run, cmd.optsWithGlobals());
  });

  globalOptions(
    program
      .command("logs")
      .description("print the logs of a run, or of one of its jobs")
      .argument("<run>", "run id")
      .argument("[job]", "job id, key or name")
      .option("--json", "print JSON"),
  ).action(async (run: string, job: string | undefined, opts) => {
    process.exitCode = await logsCommand(run, job, opts);
  });

  const release = program.command("release").description("make releases: immutable, content-addressed builds of a service");
  globalOptions(
    release
      .command("create")
      .description("make a release of a service from a successful run's artifact or from a file or folder (the same content is never released twice)")
      .option("--service <name>", "the service the release is of")
      .option("--from-run <run>", "a successful run whose artifact is the release")
      .option("--artifact <name>", "which artifact of the run (needed when it has several)")
      .option("--file <path>", "a file or folder to release instead")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    process.exitCode = await releaseCreateCommand(opts);
  });

  globalOptions(
    program
      .command("releases")
      .description("list releases, newest first")
      .argument("[service]", "only this service's")
      .option("--json", "print JSON"),
  ).action(async (service: string | undefined, opts) => {
    process.exitCode = await releasesCommand(service, opts);
  });

  globalOptions(
    program
      .command("history")
      .description("the audit trail of promotions and rollbacks, newest first, read from the state repository")
      .argument("[env]", "only this environment's")
      .option("--state-repo <path|url>", "the state repository (default: $SLIPWAY_STATE_REPO, else state.git in the data directory)")
      .option("--json", "print JSON"),
  ).action(async (env: string | undefined, opts) => {
    process.exitCode = await historyCommand(env, opts);
  });

  const delivery = (cmd: Command) => globalOptions(cmd.option("--state-repo <path|url>", "the state repository (default: $SLIPWAY_STATE_REPO, else state.git in the data directory)"));

  delivery(
    program
      .command("up")
      .description("run the delivery control loop in the foreground: promote, roll out, roll back, heal drift")
      .option("--interval <duration>", "how often to reconcile (default 10s; at once when the state repository changes)")
      .option("--router <kind>", "builtin or haproxy for every environment (default: each environment's `router` in slipway.yml, builtin when absent)")
      .option("--metrics-port <port>", "serve the routers' Prometheus metrics at http://127.0.0.1:PORT/metrics")
      .option("--once", "reconcile until nothing is left to do (rollouts finished, promotions waiting at gates), then exit; 1 if a rollout failed")
      .option("--traffic <rps>", "send this many requests per second to a service's router while it rolls out (demos)")
      .option("--approve <env>", "approve, as you, every release that waits for ENV's approval gate (repeatable)", collect)
      .option("--group <name>", "with --approve: a group you are in (repeatable; also $SLIPWAY_GROUPS)", collect)
      .option("--json", "print events as JSON lines"),
  ).action(async (opts) => {
    process.exitCode = await upCommand(opts);
  });

  delivery(
    program
      .command("down")
      .description("stop every service instance this data directory runs (slipway up leaves them running when it stops)")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    process.exitCode = await downCommand(opts);
  });

  delivery(
    program
      .command("status")
      .description("per environment and service: stable release, rollout, traffic, last verdict, sync and drift")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    process.exitCode = await statusCommand(opts);
  });

  delivery(
    program
      .command("promote")
      .description("promote RELEASE (web#3) to ENV after its gates; or, without a release, let ENV's paused rollout go on")
      .argument("<env>", "environment")
      .argument("[release-or-service]", "a release (web#3) to promote, or the service whose rollout goes on")
      .option("--reason <text>", "why (recorded in the state repository)")
      .option("--override-window <reason>", "deploy outside the deployment windows, recording who and why")
      .option("--as <name>", "who promotes (default: $SLIPWAY_ACTOR or the login name)")
      .option("--json", "print JSON"),
  ).action(async (env: string, what: string | undefined, opts) => {
    process.exitCode = await promoteCommand(env, what, opts);
  });

  delivery(
    program
      .command("abort")
      .description("abort ENV's rollout: traffic back to the stable release, the new one stopped, Git reverted")
      .argument("<env>", "environment")
      .argument("[service]", "service (default: the only one)")
      .option("--reason <text>", "why")
      .option("--as <name>", "who aborts")
      .option("--json", "print JSON"),
  ).action(async (env: string, service: string | undefined, opts) => {
    process.exitCode = await abortCommand(env, service, opts);
  });

  for (const decision of ["approve", "reject"] as const) {
    delivery(
      program
        .command(decision)
        .description(`${decision} RELEASE (or the jobs of run RUN that wait for ENV: run:RUN) for ENV's approval gate`)
        .argument("<env>", "environment")
        .argument("<release>", "release, e.g. web#3, or run:12 for a workflow run's jobs with environment: ENV")
        .option("--comment <text>", "a comment kept with the decision")
        .option("--as <name>", "who decides (default: $SLIPWAY_ACTOR or the login name)")
        .option("--group <name>", "a group the person is in (repeatable; also $SLIPWAY_GROUPS)", collect)
        .option("--json", "print JSON"),
    ).action(async (env: string, release: string, opts) => {
      process.exitCode = await approveCommand(decision, env, release, opts);
    });
  }

  delivery(
    program
      .command("rollback")
      .description("go back to an older release in ENV (a promotion of it); during a rollout, abort it")
      .argument("<env>", "environment")
      .argument("[service]", "service (default: the only one)")
      .option("--to <release>", "the release to go back to (default: the one stable before)")
      .option("--reason <text>", "why")
      .option("--as <name>", "who rolls back")
      .option("--json", "print JSON"),
  ).action(async (env: string, service: string | undefined, opts) => {
    process.exitCode = await rollbackCommand(env, service, opts);
  });

  program
    .command("server")
    .description("serve the API, hosted Git repositories (a push runs their workflows), /healthz, /readyz and /metrics")
    .option("--port <n>", "port to listen on; 0 picks a free one", "8080")
    .option("--host <address>", "address to listen on (0.0.0.0 for every interface)", "127.0.0.1")
    .option("--data-dir <dir>", "data directory (default: $SLIPWAY_DATA_DIR or ./slipway-data)")
    .option("--public-url <url>", "the URL clients use to reach the server (default http://HOST:PORT)")
    .option("--parallel-events <n>", "pushes and dispatches whose runs run at once", "4")
    .option("--deliver <owner/name>", "run the delivery control loop for this repository's slipway.yml (its default branch)")
    .option("--interval <duration>", "with --deliver: how often the control loop reconciles (default 10s)")
    .option("--database <url>", "postgres://USER:PASSWORD@HOST:PORT/DATABASE for the store (kept with the data directory; `sqlite` goes back to the embedded one); default: the data directory's SQLite file")
    .action(async (opts) => {
      process.exitCode = await serverCommand(opts, VERSION);
    });

  program
    .command("agent")
    .description("run jobs for a Slipway server: long-poll for jobs whose runs-on labels this agent has, stream their logs, report results")
    .option("--server <url>", "the server (default: $SLIPWAY_SERVER)")
    .option("--token <token>", "an agent token: a token in the group 'agents' (default: $SLIPWAY_AGENT_TOKEN)")
    .option("--labels <a,b>", "labels besides self-hosted, the OS and the architecture, comma-separated")
    .option("--name <name>", "this agent's name, unique per server (default: HOST-PID)")
    .option("--executor <kind>", "host or sandbox (bubblewrap)", "host")
    .option("--network", "with --executor sandbox: allow network access")
    .option("--work-dir <dir>", "repository mirrors, actions and the tool cache (default: a folder under the system temp directory)")
    .action(async (opts) => {
      process.exitCode = await agentCommand(opts);
    });

  program
    .command("tokens")
    .description("manage the server's API tokens in its data directory (create prints the secret once)")
    .addArgument(new Command().createArgument("<action>", "create | list | revoke").choices(["create", "list", "revoke"]))
    .argument("[id]", "revoke: the token id; create: its name")
    .option("--role <role>", "create: viewer, developer, release-manager or admin", "developer")
    .option("--name <name>", "create: a name for the token (default: the role)")
    .option("--group <name>", "create: a group its holder is in, for approval gates (repeatable)", collect)
    .option("--data-dir <dir>", "the server's data directory (default: $SLIPWAY_DATA_DIR or ./slipway-data)")
    .option("--json", "print JSON")
    .action(async (action: string, id: string | undefined, opts) => {
      process.exitCode = await tokensCommand(action, id, opts);
    });

  globalOptions(
    program
      .command("oidc")
      .description("the OIDC issuer's signing keys (docs/secrets.md): rotate makes a new key sign; the old one stays in the JWKS for 10 minutes")
      .addArgument(new Command().createArgument("<action>", "rotate").choices(["rotate"]))
      .option("--json", "print JSON"),
  ).action(async (action: string, opts) => {
    process.exitCode = await oidcCommand(action, opts);
  });

  program
    .command("change")
    .description("change requests on a Slipway server: a source branch into a (protected) target branch")
    .addArgument(new Command().createArgument("<action>", "create | list | show | approve | merge | close").choices(["create", "list", "show", "approve", "merge", "close"]))
    .argument("[number]", "the change request (show, approve, merge, close)")
    .option("--server <url>", "the server (default: $SLIPWAY_SERVER)")
    .option("--token <token>", "an API token (default: $SLIPWAY_TOKEN)")
    .option("--repo <owner/name>", "the hosted repository (default: from the origin remote)")
    .option("--source <branch>", "create: the branch with the changes (default: the checked-out branch)")
    .option("--target <branch>", "create: the branch to merge into (default: main)")
    .option("--title <text>", "create: a title (default: the source branch)")
    .option("-C, --directory <dir>", "the checkout (default: the current directory)")
    .option("--json", "print JSON")
    .action(async (action: string, number: string | undefined, opts) => {
      process.exitCode = await changeCommand(action, number, opts);
    });

  // Run by hosted repositories' hooks, which the server writes; not for people.
  program
    .command("hook", { hidden: true })
    .argument("<kind>", "pre-receive")
    .option("--data-dir <dir>", "the server's data directory")
    .option("--repository <owner/name>", "the hosted repository")
    .action(async (kind: string, opts) => {
      process.exitCode = await hookCommand(kind, opts);
    });

  for (const [kind, fn] of [
    ["secrets", secretsCommand],
    ["vars", varsCommand],
  ] as const) {
    const noun = kind === "secrets" ? "secret" : "variable";
    const actions = kind === "secrets" ? ["set", "list", "rm", "rotate-key", "audit"] : ["set", "list", "rm"];
    const command = program
      .command(kind)
      .description(
        kind === "secrets"
          ? "manage encrypted secrets (set reads the value from standard input); rotate-key makes a new master key and re-encrypts everything; audit lists which job read which secret"
          : "manage configuration variables (set reads the value from standard input)",
      )
      .addArgument(new Command().createArgument("<action>", actions.join(" | ")).choices(actions))
      .argument("[name]", `${noun} name`)
      .option("--env <environment>", "environment scope (default: repository)")
      .addOption(new Option("--json", kind === "secrets" ? "print JSON (list, rotate-key, audit)" : "print JSON (list)"));
    if (kind === "secrets") {
      command.option("--prune", "rotate-key: make no new key; re-encrypt what is still under a retired key, then delete the retired keys");
      command.option("--run <number>", "audit: only this run's reads");
    }
    globalOptions(command).action(async (action: string, name: string | undefined, opts) => {
      process.exitCode = await fn(action, name, opts);
    });
  }
  globalOptions(
    program
      .command("sbom")
      .description("print the CycloneDX 1.6 SBOM of a folder's lockfiles (package-lock.json, pnpm-lock.yaml, yarn.lock), validated")
      .argument("[dir]", "the folder (default: the repository)")
      .option("-o, --output <file>", "write it to this file instead of standard output"),
  ).action(async (dir: string | undefined, opts) => {
    process.exitCode = await sbomCommand(dir, opts);
  });

  globalOptions(
    program
      .command("verify")
      .description("verify a release's signature and SLSA provenance offline, against the artifact's bytes and a policy")
      .argument("<release|file>", "a release (web#3) or a released file or folder")
      .option("--key <pem>", "a trusted public key (repeatable; default: the keys this data directory signed with)", collect)
      .option("--bundle <file>", "the signature bundle (Sigstore v0.3) of a file or folder")
      .option("--provenance <file>", "the provenance bundle (DSSE) of a file or folder")
      .option("--source <owner/name>", "the repository the provenance must name")
      .option("--branch <name>", "the branch the provenance must name (with --source)")
      .option("--builder <id>", "the builder id the provenance must name (default https://slipway.dev/builder/v1)")
      .option("--env <environment>", "check against this environment's policy in slipway.yml")
      .option("--json", "print JSON"),
  ).action(async (target: string, opts) => {
    process.exitCode = await verifyCommand(target, opts);
  });

  globalOptions(
    program
      .command("keys")
      .description("the release signing key: export-public | list | rotate | import FILE")
      .addArgument(new Command().createArgument("<action>", "export-public | list | rotate | import").choices(["export-public", "list", "rotate", "import"]))
      .argument("[file]", "import: the private key (PKCS#8 PEM, ECDSA P-256)")
      .option("--all", "export-public: every public key that signed releases here")
      .option("--json", "print JSON (list)"),
  ).action(async (action: string, file: string | undefined, opts) => {
    process.exitCode = await keysCommand(action, file, opts);
  });

  registerMigrations(program);
  return program;
}

start(buildProgram());
