#!/usr/bin/env node
// Starts a CLI bundle (CommonJS) with a V8 code cache: dist/run.js,
// dist/affected.js and dist/migrations.js for `slipway run`, `affected` and
// `migrations …` (those commands alone: 1.8, 0.5 and 0.8 MB of the 3 MB),
// dist/cli.js for everything else. The code cache: the
// functions a command compiled the first time it ran are stored, and later
// starts load them instead of parsing and compiling the bundle again
// (30–40 ms on a small VM). Node 20 has no compile cache of its own, and
// `module.enableCompileCache()` (Node 22) would keep only what was compiled
// before the bundle ran.
//
// One file per command, bundle and Node version, in $SLIPWAY_COMPILE_CACHE,
// else $XDG_CACHE_HOME/slipway, else ~/.cache/slipway; the newest 16 are
// kept. SLIPWAY_DISABLE_COMPILE_CACHE=1 turns it off. A cache that cannot be
// read or written, or that another user owns, is skipped; V8 checks what it
// loads and rejects a cache from another V8 or other flags, and the file is
// then written again.
//
// This file is CommonJS (bin/package.json), as the bundles are: a CommonJS
// entry spares Node setting up its ES module loader and translating the
// built-in modules it imports, ~20 ms of every command here (`slipway
// --version` 311 → 286 ms, medians of 15 alternating runs, 2026-11-27).
const { createHash } = require("node:crypto");
const { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { homedir } = require("node:os");
const { dirname, isAbsolute, join } = require("node:path");
const v8 = require("node:v8");
const { constants, Script } = require("node:vm");

const COMMANDS = new Set(["run", "lint", "runs", "logs", "secrets", "vars", "affected", "migrations"]);
const KEEP = 16;

// WebAssembly (libpg-query's parser, PGlite) is compiled by V8's baseline
// compiler only: by default V8 also recompiles hot functions with TurboFan,
// which for a command that lives a second costs more CPU than it saves
// (`migrations lint` of 1,000 statements: 0.69 s with tier-up, 0.37 s
// without; medians of 9 runs, 2026-11-27). Set here, before the bundle is compiled, and never changed: V8
// keys the code cache by a hash of its flags, and a flag changed while the
// command ran made every later start reject the cache.
v8.setFlagsFromString("--liftoff-only");

/** Commands started from a bundle of their own (scripts/build.mjs makes them); the rest from dist/cli.js. */
const OWN_BUNDLE = new Set(["run", "affected", "migrations"]);
const bundle = join(__dirname, "..", "dist", `${OWN_BUNDLE.has(process.argv[2] ?? "") ? process.argv[2] : "cli"}.js`);
let bytes;
try {
  bytes = readFileSync(bundle);
} catch (err) {
  process.stderr.write(`slipway: cannot read ${bundle} (${err.code ?? err.message}); build it with \`npm run build\`\n`);
  process.exit(1);
}
const cache = openCache(bytes);
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${bytes.toString("utf8")}\n})`, {
  filename: bundle,
  ...(cache?.data ? { cachedData: cache.data } : {}),
  ...(constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER ? { importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER } : {}),
});
if (cache && (!cache.data || script.cachedDataRejected)) {
  // Not after bad input (exit 2): that run compiled little of what the command needs.
  process.once("exit", (code) => code !== 2 && cache.save(script.createCachedData()));
}
const bundleModule = { exports: {} };
script.runInThisContext().call(bundleModule.exports, bundleModule.exports, createRequire(bundle), bundleModule, bundle, dirname(bundle));

/** This command's cache of this bundle: its data, if any, and how to store new data. */
function openCache(source) {
  const env = process.env;
  if (env.SLIPWAY_DISABLE_COMPILE_CACHE) return undefined;
  try {
    const xdg = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
    const dir = env.SLIPWAY_COMPILE_CACHE || join(xdg, "slipway");
    const command = COMMANDS.has(process.argv[2] ?? "") ? process.argv[2] : "other";
    const key = createHash("sha1").update(bundleDigest(source)).update(`\0${process.version}\0${process.arch}`).digest("hex").slice(0, 24);
    const file = join(dir, `${command}-${key}.v8cache`);
    let data;
    try {
      // Only a cache of this user's: what V8 loads from it runs as code.
      if (statSync(file).uid === process.getuid?.()) data = readFileSync(file);
    } catch {
      // None yet, or unreadable: compile from source.
    }
    return { data, save: (code) => save(dir, file, code) };
  } catch {
    return undefined;
  }
}

/** The bundle's SHA-1: from the file the build wrote beside it (hashing 3 MB at every start cost ~8 ms), with the length in case the bundle was edited since; else computed. */
function bundleDigest(source) {
  try {
    const built = readFileSync(`${bundle}.sha1`, "utf8").trim();
    if (/^[0-9a-f]{40}$/.test(built)) return `${built}:${source.length}`;
  } catch {
    // Not built by scripts/build.mjs: hash it here.
  }
  return createHash("sha1").update(source).digest("hex");
}

function save(dir, file, code) {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, code, { mode: 0o600 });
    renameSync(tmp, file);
    // Old bundles' caches: keep the newest few.
    const caches = readdirSync(dir)
      .filter((f) => f.endsWith(".v8cache"))
      .map((f) => ({ f, mtime: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { f } of caches.slice(KEEP)) rmSync(join(dir, f), { force: true });
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // Nothing to clean up.
    }
  }
}
