// Bundles the CLI into dist/cli.js. Bundling is needed because
// @actions/workflow-parser imports its JSON schema without an import
// attribute, which Node 20 refuses; it also makes start-up fast.
import { build } from "esbuild";

await build({
  entryPoints: ["src/cli/main.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile: "dist/cli.js",
  sourcemap: true,
  external: ["better-sqlite3"],
  banner: {
    js: "import { createRequire as __slipwayCreateRequire } from 'node:module'; const require = __slipwayCreateRequire(import.meta.url);",
  },
  logLevel: "warning",
});
