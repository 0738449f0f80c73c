// `slipway affected` alone, bundled as dist/affected.js: bin/slipway.js starts this bundle for it (a
// sixth of dist/cli.js; the command is often a CI job's first step, deciding what the rest builds).
// dist/cli.js registers the same command with the same call; test/bin.test.ts checks both answer alike.
import { newProgram, start } from "./entry.js";
import { registerAffected } from "./affected.js";

const program = newProgram();
registerAffected(program);
start(program);
