// `slipway hook pre-receive`: run by a hosted repository's pre-receive hook
// (written by `slipway server`), with git's "<old> <new> <ref>" lines on
// standard input and the repository as the working directory. It refuses the
// whole push (exit 1, reasons on standard error, which git shows the pusher
// as `remote:` lines) when an update breaks a protected branch's rules.
import { decide, git, readProtection, ruleFor } from "../git/index.js";
import { requiredCheckStatus } from "../server/index.js";
import { openDataStore } from "../store/index.js";
import { readStdin, UsageError } from "./common.js";

export interface HookOptions {
  dataDir?: string;
  repository?: string;
}

export async function hookCommand(kind: string, opts: HookOptions): Promise<number> {
  if (kind !== "pre-receive") throw new UsageError(`unknown hook '${kind}'; slipway handles pre-receive`);
  if (!opts.dataDir || !opts.repository) throw new UsageError("slipway hook needs --data-dir and --repository (the server writes the hook with both)");
  const bare = process.env.GIT_DIR ?? process.cwd();
  const rules = readProtection(bare);
  const updates = (await readStdin())
    .split("\n")
    .map((l) => l.trim().split(" "))
    .filter((p): p is [string, string, string] => p.length === 3)
    .map(([before, after, ref]) => ({ before, after, ref }));
  const protectedUpdates = updates.map((u) => ({ u, rule: ruleFor(rules, u.ref) })).filter((x) => x.rule !== undefined);
  if (protectedUpdates.length === 0) return 0;
  const store = openDataStore(opts.dataDir);
  const refusals: string[] = [];
  try {
    for (const { u, rule } of protectedUpdates) {
      if (!rule) continue;
      const deleting = /^0{40}$/.test(u.after);
      const fastForward = deleting || /^0{40}$/.test(u.before) || (await isAncestor(bare, u.before, u.after));
      const checks = deleting ? [] : rule.requiredChecks.map((name) => requiredCheckStatus(store, opts.repository as string, u.after, name));
      const why = decide(u, rule, { fastForward, checks });
      if (why) refusals.push(why);
    }
  } finally {
    store.close();
  }
  for (const r of refusals) process.stderr.write(`slipway: ${r}\n`);
  return refusals.length > 0 ? 1 : 0;
}

async function isAncestor(cwd: string, a: string, b: string): Promise<boolean> {
  try {
    await git(cwd, ["merge-base", "--is-ancestor", a, b]);
    return true;
  } catch {
    return false;
  }
}
