// `uses: slipway/dependency-review@v1`, and `actions/dependency-review-action`
// run by Slipway itself: the dependency changes of the event (a pull request
// from its base, a push from `before`), from the lockfiles at both commits
// (src/supply-chain/deps-review.ts), failing the step when the policy denies
// a licence or a package. A job running it can be a required check of a
// protected branch or change request.
//
// Inputs, as actions/dependency-review-action names them: `base-ref`,
// `head-ref`, `config-file` (a policy file in the repository), and
// `allow-licenses`, `deny-licenses`, `deny-packages` (comma-separated, over
// the file's). Its vulnerability inputs (`fail-on-severity`, …) need GitHub's
// advisory database, which Slipway does not have offline: they are accepted
// and said to be ignored. Outputs: `added`, `removed`, `changed` (counts) and
// `violations` (a JSON array).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ADVISORY_POLICY_KEYS, parseReviewPolicy, reviewDependencies, type ReviewPolicy } from "../../supply-chain/index.js";
import { ActionError, type BuiltinAction, type BuiltinContext } from "./builtin-action.js";

const ZERO = /^0{40}$/;

async function main(ctx: BuiltinContext): Promise<void> {
  const dir = ctx.repo.prefix ? join(ctx.repo.root, ctx.repo.prefix) : ctx.repo.root;
  const base = ctx.inputs["base-ref"] || eventBase(ctx);
  const head = ctx.inputs["head-ref"] || ctx.repo.sha;
  if (!base) throw new ActionError("dependency review: no base commit (not a pull request or push with a previous commit); set the `base-ref` input");
  for (const name of ADVISORY_POLICY_KEYS) {
    if (ctx.inputs[name]) ctx.log(`Note: input '${name}' needs GitHub's advisory database; Slipway reviews licences and denied packages only`);
  }
  const policy = loadPolicy(ctx, dir);
  let review;
  try {
    review = await reviewDependencies(dir, base, head, policy);
  } catch (err) {
    throw new ActionError(`dependency review: ${(err as Error).message}`);
  }
  const count = (kind: string) => review.changes.filter((c) => c.change === kind).length;
  ctx.log(`Dependency changes ${review.base.slice(0, 12)}..${review.head.slice(0, 12)} in ${review.lockfiles.length} lockfile(s): ${review.changes.length}`);
  for (const c of review.changes) {
    const version = c.change === "added" ? c.to : c.change === "removed" ? c.from : `${c.from} → ${c.to}`;
    ctx.log(`  ${c.change.padEnd(10)} ${c.name} ${version}${c.license ? ` (${c.license})` : ""}  [${c.lockfile}]`);
  }
  ctx.setOutput("added", String(count("added")));
  ctx.setOutput("removed", String(count("removed")));
  ctx.setOutput("changed", String(count("upgraded") + count("downgraded")));
  ctx.setOutput("violations", JSON.stringify(review.violations.map((v) => ({ rule: v.rule, package: v.change.name, version: v.change.to, license: v.change.license ?? null, message: v.message }))));
  if (policy && (policy.allowLicenses || policy.denyLicenses.length > 0)) {
    for (const c of review.unknownLicenses) ctx.log(`Note: ${c.name}@${c.to} has no licence in ${c.lockfile}; not checked`);
  }
  if (review.violations.length > 0) {
    throw new ActionError(`dependency review failed:\n${review.violations.map((v) => `  ${v.message}`).join("\n")}`);
  }
}

function loadPolicy(ctx: BuiltinContext, dir: string): ReviewPolicy | undefined {
  const file = ctx.inputs["config-file"];
  let policy: ReviewPolicy | undefined;
  if (file) {
    let text: string;
    try {
      text = readFileSync(join(dir, file), "utf8");
    } catch (err) {
      throw new ActionError(`dependency review: cannot read config-file '${file}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a path in the repository`);
    }
    const parsed = parseReviewPolicy(text, file);
    const first = parsed.diagnostics[0];
    if (first) throw new ActionError(`dependency review: ${first.file}:${first.line}:${first.column}: ${first.message} (fix: ${first.fix ?? "see docs"})`);
    policy = parsed.policy;
  }
  const list = (name: string) => (ctx.inputs[name] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const inline = ["allow-licenses", "deny-licenses", "deny-packages"].filter((k) => list(k).length > 0);
  if (inline.length === 0) return policy;
  const lines = inline.map((k) => `${k}: ${JSON.stringify(list(k))}`).join("\n");
  const parsed = parseReviewPolicy(lines, "the action's inputs");
  const first = parsed.diagnostics[0];
  if (first) throw new ActionError(`dependency review: ${first.message} (fix: ${first.fix ?? "see docs"})`);
  return { ...(policy ?? { file: "the action's inputs", denyLicenses: [], denyPackages: [] }), ...pick(parsed.policy, inline) };
}

function pick(p: ReviewPolicy, keys: string[]): Partial<ReviewPolicy> {
  return {
    ...(keys.includes("allow-licenses") && p.allowLicenses ? { allowLicenses: p.allowLicenses } : {}),
    ...(keys.includes("deny-licenses") ? { denyLicenses: p.denyLicenses } : {}),
    ...(keys.includes("deny-packages") ? { denyPackages: p.denyPackages } : {}),
  };
}

/** The event's base: pull_request → its base commit, push → before (unless the ref is new). */
function eventBase(ctx: BuiltinContext): string | undefined {
  const path = ctx.env.GITHUB_EVENT_PATH;
  if (!path) return undefined;
  try {
    const event = JSON.parse(readFileSync(path, "utf8")) as { before?: string; pull_request?: { base?: { sha?: string } } };
    if (event.pull_request?.base?.sha) return event.pull_request.base.sha;
    if (event.before && !ZERO.test(event.before)) return event.before;
  } catch {
    return undefined;
  }
  return undefined;
}

export const dependencyReviewAction: BuiltinAction = { name: "slipway/dependency-review", main };
export const githubDependencyReviewAction: BuiltinAction = { name: "actions/dependency-review-action", main };
