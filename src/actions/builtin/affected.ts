// `uses: slipway/affected@v1`: the workspace packages the event's changes
// affect (src/monorepo), as step outputs a workflow builds its matrix from:
//
//   outputs.packages  JSON array of package names           ["@acme/ui","@acme/web"]
//   outputs.paths     JSON array of their folders            ["packages/ui","apps/web"]
//   outputs.matrix    {"include":[{"name":…,"path":…},…]}    strategy.matrix: ${{ fromJSON(needs.x.outputs.matrix) }}
//   outputs.count     how many; outputs.any "true" or "false" (an empty matrix is an error on GitHub: guard with it)
//
// The changes are those of the event: a push from `github.event.before` (its
// parent for a new branch), a pull request from its base; inputs `base` and
// `head` override. Read from the repository Slipway runs (full history), not
// the job's shallow workspace.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findAffected } from "../../monorepo/index.js";
import { ActionError, type BuiltinAction, type BuiltinContext } from "./builtin-action.js";

const ZERO = /^0{40}$/;

async function main(ctx: BuiltinContext): Promise<void> {
  const dir = ctx.repo.prefix ? join(ctx.repo.root, ctx.repo.prefix) : ctx.repo.root;
  const base = ctx.inputs.base || eventBase(ctx);
  const head = ctx.inputs.head || ctx.repo.sha;
  let result;
  try {
    result = await findAffected(dir, { ...(base ? { base } : {}), head });
  } catch (err) {
    throw new ActionError(`slipway/affected: ${(err as Error).message}`);
  }
  for (const w of result.warnings) {
    if (ctx.warning) ctx.warning(w);
    else ctx.log(`Warning: ${w}`);
  }
  for (const c of result.cycles) ctx.log(`Dependency cycle: ${c.join(" → ")}`);
  ctx.log(`${result.packages.length} package(s) affected by ${result.changedFiles} changed file(s) in ${result.baseRef}...${result.headRef}`);
  const path = (p: { path: string }) => (p.path === "" ? "." : p.path);
  for (const p of result.packages) ctx.log(`  ${p.chain.join(" ← ")}`);
  const packages = result.packages.map((p) => p.name);
  ctx.setOutput("packages", JSON.stringify(packages));
  ctx.setOutput("paths", JSON.stringify(result.packages.map(path)));
  ctx.setOutput("matrix", JSON.stringify({ include: result.packages.map((p) => ({ name: p.name, path: path(p) })) }));
  ctx.setOutput("count", String(packages.length));
  ctx.setOutput("any", packages.length > 0 ? "true" : "false");
}

/** The event's base: push → before (unless the ref is new), pull_request → the base commit. */
function eventBase(ctx: BuiltinContext): string | undefined {
  const path = ctx.env.GITHUB_EVENT_PATH;
  if (!path) return undefined;
  let event: { before?: string; pull_request?: { base?: { sha?: string; ref?: string } } };
  try {
    event = JSON.parse(readFileSync(path, "utf8")) as typeof event;
  } catch {
    return undefined;
  }
  const pr = event.pull_request?.base;
  if (pr?.sha || pr?.ref) return pr.sha ?? pr.ref;
  if (event.before && !ZERO.test(event.before)) return event.before;
  // A new branch or a tag: since the default branch.
  return ctx.repo.defaultBranch;
}

export const affectedAction: BuiltinAction = { name: "slipway/affected", main };
