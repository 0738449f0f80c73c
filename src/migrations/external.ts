// The two WebAssembly packages of migrations/ (libpg-query, PGlite): how they are loaded and compiled.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * A package the CLI bundle keeps external, loaded with `require` (both have a
 * CommonJS build): a dynamic `import()` from the bundle, which bin/slipway.js
 * runs through node:vm, needs an experimental loader option that prints a
 * warning (and is refused for code-cached scripts).
 */
export function requireExternal(name: string): unknown {
  return require(name) as unknown;
}

/** The path `require` resolves `name` to. */
export function resolveExternal(name: string): string {
  return require.resolve(name);
}
