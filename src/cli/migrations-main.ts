// The `slipway migrations …` commands alone, bundled as dist/migrations.js: bin/slipway.js starts this
// bundle for them (0.8 MB instead of the 3 MB of dist/cli.js, so less to read, deserialise and
// initialise: `migrations lint` is often run in a pre-commit hook or a CI step of its own). The same
// commands are in dist/cli.js too, registered by the same call; test/bin.test.ts checks both answer alike.
import { newProgram, start } from "./entry.js";
import { registerMigrations } from "./migrations.js";

const program = newProgram();
registerMigrations(program);
start(program);
