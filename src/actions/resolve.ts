// Resolves `uses:` of a step to something runnable: a built-in action, a
// local action folder, or a remote action fetched with git.
import { isAbsolute, join, normalize, relative } from "node:path";
import type { Diagnostic } from "../diagnostics/index.js";
import { loadActionFile, type ActionMetadata } from "./action-file.js";
import type { BuiltinAction } from "./builtin/builtin-action.js";
import { fetchRemoteAction, parseRemoteUses, type ActionSource } from "./remote.js";

export type ResolvedAction =
  | { kind: "builtin"; uses: string; builtin: BuiltinAction }
  | { kind: "action"; uses: string; meta: ActionMetadata; sha?: string };

export class ActionResolutionError extends Error {
  constructor(
    message: string,
    readonly diagnostics: Diagnostic[] = [],
  ) {
    super(message);
    this.name = "ActionResolutionError";
  }
}

export interface ResolveOptions {
  workspace: string;
  source: ActionSource;
  /** `<dataDir>/actions`: remote actions cached by commit SHA. */
  cacheDir: string;
  builtins: ReadonlyMap<string, BuiltinAction>;
  /** When false, built-ins are not used for remote names (they are fetched instead). */
  useBuiltins: boolean;
}

export function isLocalUses(uses: string): boolean {
  return uses.startsWith("./") || uses.startsWith("../") || uses === ".";
}

/** The built-in for `owner/repo[/path]@ref`, if any (the ref is ignored: built-ins follow the latest major). */
export function builtinFor(uses: string, builtins: ReadonlyMap<string, BuiltinAction>): BuiltinAction | undefined {
  const at = uses.lastIndexOf("@");
  const name = (at > 0 ? uses.slice(0, at) : uses).toLowerCase();
  return builtins.get(name);
}

export async function resolveAction(uses: string, opts: ResolveOptions): Promise<ResolvedAction> {
  if (uses.startsWith("docker://")) {
    throw new ActionResolutionError(
      `\`${uses}\`: Docker actions need a container engine, and none is available on this host`,
    );
  }
  if (isLocalUses(uses)) {
    const dir = normalize(join(opts.workspace, uses));
    const rel = relative(opts.workspace, dir);
    if (rel.startsWith("..") || isAbsolute(rel)) {
      throw new ActionResolutionError(`\`${uses}\`: a local action must be inside the workspace`);
    }
    const { action, diagnostics } = loadActionFile(dir, opts.workspace);
    if (!action) {
      const first = diagnostics[0];
      throw new ActionResolutionError(
        `\`${uses}\`: ${first?.message ?? "cannot load the action"}${first?.fix ? ` (${first.fix})` : ""}`,
        diagnostics,
      );
    }
    return checkRunnable({ kind: "action", uses, meta: action });
  }
  if (opts.useBuiltins) {
    const builtin = builtinFor(uses, opts.builtins);
    if (builtin) return { kind: "builtin", uses, builtin };
  }
  if (!parseRemoteUses(uses)) {
    throw new ActionResolutionError(
      `\`${uses}\` is not a valid action reference; use ./path, owner/repo@ref or owner/repo/path@ref`,
    );
  }
  let fetched;
  try {
    fetched = await fetchRemoteAction({ uses, source: opts.source, cacheDir: opts.cacheDir });
  } catch (err) {
    throw new ActionResolutionError((err as Error).message);
  }
  const { action, diagnostics } = loadActionFile(fetched.dir, fetched.dir);
  if (!action) {
    throw new ActionResolutionError(`\`${uses}\`: ${diagnostics[0]?.message ?? "cannot load the action"}`, diagnostics);
  }
  return checkRunnable({ kind: "action", uses, meta: action, sha: fetched.sha });
}

function checkRunnable(resolved: ResolvedAction): ResolvedAction {
  if (resolved.kind === "action" && resolved.meta.runs.using === "docker") {
    throw new ActionResolutionError(
      `\`${resolved.uses}\` is a Docker action (image ${resolved.meta.runs.image}); Docker actions need a container engine, and none is available on this host`,
    );
  }
  return resolved;
}
