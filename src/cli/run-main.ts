// `slipway run` alone, bundled as dist/run.js: bin/slipway.js starts this bundle for it (about half
// of dist/cli.js: no server, delivery control loop or supply-chain commands to read, deserialise and
// initialise before the first step). dist/cli.js registers the same command with the same call;
// test/bin.test.ts checks both answer alike.
import { newProgram, start } from "./entry.js";
import { registerRun } from "./run.js";

const program = newProgram();
registerRun(program);
start(program);
