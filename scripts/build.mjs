// Bundles the CLI into dist/cli.js (every command) and one bundle per command
// that bin/slipway.js starts on its own (BUNDLES below: run, affected,
// migrations), which then starts quicker (less to read, deserialise and
// initialise). Bundling is needed because
// @actions/workflow-parser imports its JSON schema without an import
// attribute, which Node 20 refuses; it also makes start-up fast.
//
// The bundle is CommonJS (dist/package.json says so, so `node dist/cli.js`
// runs it directly): bin/slipway.js compiles it with node:vm and a V8 code
// cache, which an ES module cannot be given on Node 20.
//
// The parser's workflow schema is built here, once, and bundled as a
// snapshot (src/workflow/schema-snapshot.ts). better-sqlite3's JavaScript is
// bundled too (its addon is loaded from node_modules, see sqlite-store.ts),
// and the bundle is kept ASCII: V8 then holds the 1 MB source in one byte per
// character, which reads and compiles faster.
//
// package.json declares the sources free of import side effects
// (`"sideEffects": false`): a module none of whose exports a bundle uses is
// left out of it whole, which is what keeps dist/migrations.js small (the
// barrels it imports from reach most of the code base).
//
// `node scripts/build.mjs DIR` writes the bundles into DIR
// instead (to benchmark a variant with `npm run bench -- --cli`, say).
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { runInThisContext } from "node:vm";
import { build } from "esbuild";

const outdir = process.argv[2] ?? "dist";
/** The bundles: every command, and the commands bin/slipway.js starts from a bundle of their own (its OWN_BUNDLE names the same ones). */
const BUNDLES = { cli: "src/cli/main.ts", run: "src/cli/run-main.ts", affected: "src/cli/affected-main.ts", migrations: "src/cli/migrations-main.ts" };
/**
 * Built-in modules a bundle loads when it first uses them rather than when
 * it starts. esbuild turns every `import … from "node:http"` of the bundled
 * ES modules into a `require` at the bundle's top level, so each command
 * loaded every built-in module any command imports (http, child_process,
 * zlib, worker_threads…): ~15 ms of `migrations lint` and of `--version` on
 * a small VM. These modules' exports are plain functions, classes and
 * values (none is called with the module as `this`), so an object of
 * getters that requires the module on first access stands in for it.
 */
const LAZY_BUILTINS = ["child_process", "crypto", "dgram", "dns", "dns/promises", "fs/promises", "http", "http2", "https", "net", "readline", "timers/promises", "tls", "worker_threads", "zlib"];
const SNAPSHOT_MODULE = resolve("src/workflow/schema-snapshot.ts");
const SCHEMA_MODULE = /[\\/]@actions[\\/]workflow-parser[\\/]dist[\\/]workflows[\\/]workflow-schema\.js$/;

const snapshot = await workflowSchemaSnapshot();
let replaced = 0;
await build({
  entryPoints: BUNDLES,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  outdir,
  sourcemap: true,
  // Loaded from node_modules at run time, with import(): they read their WASM,
  // data or JSON schema files next to their own code. pg-native is pg's
  // optional native binding, which Slipway does not use.
  external: ["libpg-query", "@electric-sql/pglite", "@cyclonedx/cyclonedx-library", "pg-native"],
  // import.meta.url of the ES module sources, in a CommonJS bundle.
  banner: { js: ['var __importMetaUrl = require("node:url").pathToFileURL(__filename).href;', lazyBuiltinHelper()].join("\n") },
  define: { "import.meta.url": "__importMetaUrl" },
  logLevel: "warning",
  plugins: [
    {
      name: "workflow-schema-snapshot",
      setup(b) {
        b.onLoad({ filter: SCHEMA_MODULE }, (args) => {
          // The module must still be what the snapshot replaces: one function, getWorkflowSchema.
          const original = readFileSync(args.path, "utf8");
          if (!/^export function getWorkflowSchema\(\)/m.test(original) || (original.match(/^export /gm) ?? []).length !== 1) {
            throw new Error(`${args.path} no longer exports just getWorkflowSchema(); update scripts/build.mjs`);
          }
          replaced++;
          return {
            contents: [
              `import { reviveSchema } from ${JSON.stringify(SNAPSHOT_MODULE)};`,
              "let schema;",
              `export function getWorkflowSchema() {`,
              `  return (schema ??= reviveSchema(${JSON.stringify(snapshot)}));`,
              "}",
            ].join("\n"),
            loader: "js",
          };
        });
      },
    },
  ],
});
if (replaced !== 1) throw new Error("the workflow schema module was not found in the bundle; update scripts/build.mjs");
for (const name of Object.keys(BUNDLES).map((b) => `${b}.js`)) {
  const bundle = join(outdir, name);
  const lazy = lazyBuiltins(readFileSync(bundle, "utf8"));
  if (name === "cli.js" && lazy.count === 0) throw new Error("no built-in module was made lazy in cli.js: esbuild's require lines changed; update lazyBuiltins in scripts/build.mjs");
  // esbuild escapes what is not ASCII in code, but not in the comments it keeps.
  const lines = lazy.code.split("\n");
  const ascii = lines.map((line) => (/^\s*(\/\/|\/\*|\*)/.test(line) ? line.replace(/[^\0-\x7f]/g, escapeChar) : line)).join("\n");
  writeFileSync(bundle, ascii);
  // The bundle's digest, for bin/slipway.js's code-cache key: hashing 3 MB at every start cost ~8 ms.
  writeFileSync(`${bundle}.sha1`, `${createHash("sha1").update(ascii).digest("hex")}\n`);
}
writeFileSync(join(outdir, "package.json"), `${JSON.stringify({ type: "commonjs" })}\n`);

/** A character as a JavaScript `\\uXXXX` escape. */
function escapeChar(c) {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** The banner's `__lazyBuiltin(id, esm)`: getters for the module's exports (and `default`, as esbuild's __toESM gives it), read from the module on each access. The export names are this Node's. */
function lazyBuiltinHelper() {
  const require = createRequire(import.meta.url);
  const keys = Object.fromEntries(LAZY_BUILTINS.map((id) => [`node:${id}`, Object.getOwnPropertyNames(require(`node:${id}`)).filter((k) => k !== "default")]));
  return [
    `var __lazyBuiltinKeys = ${JSON.stringify(keys)};`,
    "function __lazyBuiltin(id, esm) {",
    "  var mod;",
    "  var load = () => (mod ??= require(id));",
    "  var lazy = {};",
    "  for (const k of __lazyBuiltinKeys[id]) Object.defineProperty(lazy, k, { get: () => load()[k], set: (v) => { load()[k] = v; }, enumerable: true });",
    '  if (esm) Object.defineProperty(lazy, "default", { get: load });',
    "  return lazy;",
    "}",
  ].join("\n");
}

/**
 * The bundle with its `var x = require("node:<lazy>")` (and `__toESM(require(…), 1)`) lines made lazy: those
 * esbuild hoisted to the top level and those of the bundled CommonJS packages (commander's child_process);
 * line count unchanged, so the source map holds.
 */
function lazyBuiltins(code) {
  let count = 0;
  const out = code.replace(/^(\s*)var ([\w$]+) = (__toESM\()?require\("(?:node:)?([\w/]+)"\)(, 1\))?;$/gm, (line, indent, name, esm, id, esmEnd) => {
    if (!LAZY_BUILTINS.includes(id) || Boolean(esm) !== Boolean(esmEnd)) return line;
    count++;
    return `${indent}var ${name} = __lazyBuiltin("node:${id}", ${esm ? 1 : 0});`;
  });
  return { code: out, count };
}

/** Builds the parser's workflow schema and returns its snapshot, checked to revive to the same snapshot. */
async function workflowSchemaSnapshot() {
  const result = await build({
    stdin: {
      contents: [
        `import { getWorkflowSchema } from "@actions/workflow-parser/workflows/workflow-schema";`,
        `import { reviveSchema, snapshotSchema } from ${JSON.stringify(SNAPSHOT_MODULE)};`,
        "const snapshot = snapshotSchema(getWorkflowSchema());",
        `if (snapshotSchema(reviveSchema(snapshot)) !== snapshot) throw new Error("the workflow schema does not survive its snapshot");`,
        "module.exports = snapshot;",
      ].join("\n"),
      resolveDir: process.cwd(),
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    write: false,
    logLevel: "warning",
  });
  const module = { exports: {} };
  runInThisContext(`(function (module, require) {${result.outputFiles[0].text}\n})`)(module, createRequire(import.meta.url));
  return module.exports;
}
