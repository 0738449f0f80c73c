// The real `turbo` (npm package `turbo`, a devDependency) for tests: offline,
// no telemetry, never asking to infer a local version.
import { spawn } from "node:child_process";
import { resolve } from "node:path";

export const TURBO = resolve(import.meta.dirname, "../../node_modules/.bin/turbo");

export interface TurboResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment turbo runs in: this process's, without TURBO_* settings that would leak in, plus `env`. */
export function turboEnv(env: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("TURBO_")) base[k] = v;
  return { ...base, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1", TURBO_NO_UPDATE_NOTIFIER: "1", NO_COLOR: "1", ...env };
}

/** Runs `turbo ARGS --skip-infer` in `cwd`. */
export function runTurbo(args: string[], cwd: string, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<TurboResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(TURBO, [...args, "--skip-infer"], { cwd, env: turboEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
  });
}
