// How a CLI bundle starts: a `slipway` program, the arguments parsed by it, and what it throws mapped to an exit code.
// main.ts (every command, dist/cli.js) and the bundles of single commands that bin/slipway.js starts for them
// (run-main.ts, affected-main.ts, migrations-main.ts) all start here.
import { Command, CommanderError } from "commander";
import { MissingValueError } from "../control/index.js";
import { GitError } from "../git/index.js";
import { StateRepositoryError } from "../gitops/index.js";
import { ReleaseError } from "../release/index.js";
import { SecretsError } from "../secrets/index.js";
import { StoreError } from "../store/index.js";
import { EXIT, UsageError, VERSION } from "./common.js";

/** The root `slipway` command, before any subcommand is added. */
export function newProgram(): Command {
  return new Command("slipway").description("Run GitHub Actions workflows unchanged, and deliver releases safely").version(VERSION).showHelpAfterError().exitOverride();
}

/** Errors caused by input a user can fix: printed without a stack, exit 2. */
function isUserError(err: unknown): err is Error {
  return (
    err instanceof GitError ||
    err instanceof SecretsError ||
    err instanceof ReleaseError ||
    err instanceof StateRepositoryError ||
    err instanceof MissingValueError ||
    (err instanceof StoreError && (err.code === "open" || err.code === "schema"))
  );
}

/** Runs `program` on `argv`; the exit code: 0 success, 1 the run failed, 2 invalid input or usage. */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
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

/** Runs `program` on this process's arguments and sets its exit code. No top-level await: the bundles are CommonJS (see scripts/build.mjs). */
export function start(program: Command): void {
  void runProgram(program, process.argv).then((code) => {
    process.exitCode = code;
  });
}
