// The two WebAssembly packages of migrations/ (libpg-query, PGlite): how they are loaded and compiled.
import { createRequire } from "node:module";
import v8 from "node:v8";

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

let liftoffDepth = 0;

/**
 * Runs `fn` (which compiles a WebAssembly module) with V8's `--liftoff-only`:
 * V8 compiles a module twice by default (Liftoff, then TurboFan in the
 * background); for a command that lives seconds, the baseline code alone
 * costs far less CPU and is fast enough. The flag is read when a module is
 * compiled, so it is on while `fn` runs (calls may nest) and off again after.
 */
export async function withLiftoffOnly<T>(fn: () => Promise<T>): Promise<T> {
  if (liftoffDepth++ === 0) v8.setFlagsFromString("--liftoff-only");
  try {
    return await fn();
  } finally {
    if (--liftoffDepth === 0) v8.setFlagsFromString("--no-liftoff-only");
  }
}
