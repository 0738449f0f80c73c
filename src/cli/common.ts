// What every command shares: exit codes, the data directory, the store.
import { resolve } from "node:path";
import type { Command } from "commander";
import { retentionFromEnv, type RetentionPolicy } from "../retention/index.js";
import { openDataStore, type Store } from "../store/index.js";

export const VERSION = "0.1.0";

/** 0 success, 1 the run failed, 2 invalid input or usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A user error: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface GlobalOptions {
  dataDir?: string;
  directory?: string;
}

/** The options every command that works in a repository takes. */
export function globalOptions(cmd: Command): Command {
  return cmd
    .option("--data-dir <dir>", "data directory (default: $SLIPWAY_DATA_DIR or .slipway/ in the repository)")
    .option("-C, --directory <dir>", "repository directory (default: the current directory)");
}

export function workDir(opts: GlobalOptions): string {
  return resolve(opts.directory ?? process.cwd());
}

/** `--data-dir`, else SLIPWAY_DATA_DIR, else `.slipway/` in the repository. */
export function dataDirFor(opts: GlobalOptions, repoDir: string): string {
  return resolve(opts.dataDir ?? process.env.SLIPWAY_DATA_DIR ?? resolve(repoDir, ".slipway"));
}

export function withStore<T>(dataDir: string, fn: (store: Store) => T): T {
  const store = openDataStore(dataDir);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** Reads all of standard input (for secret values). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Parses repeated `NAME=VALUE` options. */
export function keyValues(values: string[] | undefined, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const i = v.indexOf("=");
    if (i <= 0) throw new UsageError(`${option} expects NAME=VALUE, got '${v}'`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The retention policy from SLIPWAY_CACHE_MAX_AGE and SLIPWAY_CACHE_MAX_BYTES; a usage error (exit 2) naming the variable when one is wrong. */
export function retentionPolicy(): RetentionPolicy {
  try {
    return retentionFromEnv();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
