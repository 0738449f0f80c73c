// The `slipway` command line. Exit codes: 0 success, 1 the run failed,
// 2 invalid input or usage.
import { Command, CommanderError, Option } from "commander";
import { GitError } from "../git/index.js";
import { StateRepositoryError } from "../gitops/index.js";
import { SecretsError } from "../secrets/index.js";
import { StoreError } from "../store/index.js";
import { EXIT, UsageError, collect } from "./common.js";
import { historyCommand } from "./history.js";
import { lintCommand } from "./lint.js";
import { logsCommand } from "./logs.js";
import { releaseCreateCommand, releasesCommand } from "./release.js";
import { ReleaseError } from "../release/index.js";
import { runCommand } from "./run.js";
import { runsCommand } from "./runs.js";
import { secretsCommand, varsCommand } from "./secrets.js";

const VERSION = "0.1.0";

function globalOptions(cmd: Command): Command {
  return cmd
    .option("--data-dir <dir>", "data directory (default: $SLIPWAY_DATA_DIR or .slipway/ in the repository)")
    .option("-C, --directory <dir>", "repository directory (default: the current directory)");
}

export function buildProgram(): Command {
  const program = new Command("slipway")
    .description("Run GitHub Actions workflows unchanged, and deliver releases safely")
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();

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
      .option("--action-source <url|dir>", "where remote actions are fetched from (default https://github.com; $SLIPWAY_ACTION_SOURCE)")
      .option("--keep-workspace", "keep each job's workspace (under the system temp directory) after the run")
      .option("--json", "print a JSON result instead of the live view"),
  ).action(async (event: string | undefined, opts) => {
    process.exitCode = await runCommand(event, opts);
  });

  globalOptions(
    program
      .command("lint")
      .description("validate workflow files and slipway.yml; print every problem with file:line:column")
      .argument("[files...]", "workflow files or slipway.yml (default: .github/workflows/*.yml and slipway.yml)")
      .option("--json", "print diagnostics as JSON"),
  ).action(async (files: string[], opts) => {
    process.exitCode = await lintCommand(files, opts);
  });

  globalOptions(
    program
      .command("runs")
      .description("list recent runs")
      .option("-n, --limit <n>", "how many", "20")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    process.exitCode = await runsCommand(opts);
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

  for (const [kind, fn] of [
    ["secrets", secretsCommand],
    ["vars", varsCommand],
  ] as const) {
    const noun = kind === "secrets" ? "secret" : "variable";
    globalOptions(
      program
        .command(kind)
        .description(`manage ${kind === "secrets" ? "encrypted secrets" : "configuration variables"} (set reads the value from standard input)`)
        .addArgument(new Command().createArgument("<action>", "set | list | rm").choices(["set", "list", "rm"]))
        .argument("[name]", `${noun} name`)
        .option("--env <environment>", "environment scope (default: repository)")
        .addOption(new Option("--json", "print JSON (list)")),
    ).action(async (action: string, name: string | undefined, opts) => {
      process.exitCode = await fn(action, name, opts);
    });
  }
  return program;
}

/** Errors caused by input a user can fix: printed without a stack, exit 2. */
function isUserError(err: unknown): err is Error {
  return (
    err instanceof GitError ||
    err instanceof SecretsError ||
    err instanceof ReleaseError ||
    err instanceof StateRepositoryError ||
    (err instanceof StoreError && (err.code === "open" || err.code === "schema"))
  );
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return EXIT.ok;
      return EXIT.usage;
    }
    if (err instanceof UsageError || isUserError(err)) {
      process.stderr.write(`slipway: ${err.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`slipway: internal error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}

// No top-level await: the bundle is CommonJS (see scripts/build.mjs).
void main(process.argv).then((code) => {
  process.exitCode = code;
});
