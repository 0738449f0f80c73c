// `slipway affected`: the workspace packages a change affects, with the
// reasons (see docs/affected.md).
import type { Command } from "commander";
import { findAffected, type FindAffectedOptions } from "../monorepo/index.js";
import { EXIT, globalOptions, UsageError, workDir, type GlobalOptions } from "./common.js";
import { paint, table } from "./style.js";

export interface AffectedOptions extends GlobalOptions {
  base?: string;
  head?: string;
  uncommitted?: boolean;
  json?: boolean;
  explain?: boolean;
}

/** `slipway affected`, on `program` (dist/cli.js, and dist/affected.js alone: affected-main.ts). */
export function registerAffected(program: Command): void {
  globalOptions(
    program
      .command("affected")
      .description("the workspace packages a change affects, and why (npm, yarn and pnpm workspaces)")
      .option("--base <ref>", "count changes since the merge base with this ref (default: origin/HEAD, else the default branch)")
      .option("--head <ref>", "up to this ref (default: HEAD)")
      .option("--uncommitted", "add staged, unstaged and untracked files (packages read from the working tree)")
      .option("--json", "print JSON")
      .option("--explain", "print each affected package's chain of reasons"),
  ).action(async (opts) => {
    process.exitCode = await affectedCommand(opts);
  });
}

export async function affectedCommand(opts: AffectedOptions): Promise<number> {
  if (opts.uncommitted === true && opts.head !== undefined) {
    throw new UsageError("--uncommitted compares the working tree with --base; leave out --head");
  }
  const find: FindAffectedOptions = {};
  if (opts.base !== undefined) find.base = opts.base;
  if (opts.head !== undefined) find.head = opts.head;
  if (opts.uncommitted === true) find.uncommitted = true;
  const result = await findAffected(workDir(opts), find);
  const out = process.stdout;
  if (opts.json) {
    const json = {
      base: result.base,
      head: opts.uncommitted === true ? "working tree" : result.head,
      mergeBase: result.mergeBase,
      packages: result.packages.map((p) => ({ name: p.name, path: p.path === "" ? "." : p.path, reasons: p.reasons, chain: p.chain })),
      cycles: result.cycles,
      removed: result.removed,
      warnings: result.warnings,
    };
    out.write(JSON.stringify(json, null, 2) + "\n");
    return EXIT.ok;
  }
  const c = paint(out);
  for (const w of result.warnings) process.stderr.write(`${c.yellow("warning:")} ${w}\n`);
  for (const cycle of result.cycles) process.stderr.write(`${c.yellow("cycle:")} ${cycle.join(" ↔ ")} depend on each other\n`);
  const head = opts.uncommitted === true ? `${result.headRef} + uncommitted changes` : result.headRef;
  const summary = `${result.packages.length} package(s) affected by ${result.changedFiles} changed file(s) in ${result.baseRef}...${head}`;
  if (opts.explain) {
    for (const p of result.packages) {
      out.write(`${c.bold(p.name)} ${c.dim(p.path === "" ? "." : p.path)}\n`);
      out.write(`  ${p.chain.join(" ← ")}\n`);
      for (const r of p.reasons.slice(1)) out.write(`  ${c.dim(`also: ${r.message}`)}\n`);
    }
    for (const name of result.removed) out.write(`${c.dim(`${name}: removed since the base`)}\n`);
    process.stderr.write(`${summary}\n`);
    return EXIT.ok;
  }
  if (result.packages.length > 0) {
    out.write(table(["PACKAGE", "PATH", "REASON"], result.packages.map((p) => [p.name, p.path === "" ? "." : p.path, p.reasons[0]?.message ?? ""])));
  }
  process.stderr.write(`${summary}\n`);
  return EXIT.ok;
}
