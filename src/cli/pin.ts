// `slipway pin [FILES] [--update] [--dry-run] [--json]`: every remote action
// pinned to the full commit SHA of its tag, the tag kept as a comment.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { builtinActions, listRemoteRefs, parseActionSource } from "../actions/index.js";
import { formatDiagnostic, type Diagnostic } from "../diagnostics/index.js";
import { memoizeRefResolver, pinActions, type PinChange } from "../supply-chain/index.js";
import { EXIT, workDir, type GlobalOptions } from "./common.js";
import { workflowFiles } from "./run.js";
import { paint } from "./style.js";

export interface PinCommandOptions extends GlobalOptions {
  update?: boolean;
  dryRun?: boolean;
  json?: boolean;
  actionSource?: string;
}

export async function pinCommand(files: string[], opts: PinCommandOptions): Promise<number> {
  const dir = workDir(opts);
  const source = parseActionSource(opts.actionSource ?? process.env.SLIPWAY_ACTION_SOURCE ?? "https://github.com");
  const builtins = new Set([...builtinActions.keys()].map((k) => k.split("/").slice(0, 2).join("/").toLowerCase()));
  const paths = workflowFiles(dir, files.length > 0 ? files : undefined);
  const changes: PinChange[] = [];
  const notes: Diagnostic[] = [];
  const errors: Diagnostic[] = [];
  const rewritten: { path: string; text: string }[] = [];
  // One listing per repository for all the files: an action used in every workflow is asked once.
  const resolver = memoizeRefResolver((owner, repo) => listRemoteRefs(source, owner, repo));
  for (const path of paths) {
    const display = relative(dir, path).startsWith("..") ? path : relative(dir, path);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      errors.push({ code: "pin/read", severity: "error", message: `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file: display, line: 0, column: 0, fix: "pass an existing workflow or action file" });
      continue;
    }
    const r = await pinActions(text, display, resolver, { update: opts.update === true, builtins });
    changes.push(...r.changes);
    notes.push(...r.notes);
    errors.push(...r.errors);
    if (r.text !== text) rewritten.push({ path, text: r.text });
  }
  // All or nothing: a file is written only when every action of every file resolved.
  const write = errors.length === 0 && opts.dryRun !== true;
  if (write) {
    for (const { path, text } of rewritten) {
      const tmp = `${path}.slipway-pin.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, path);
    }
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ files: paths.length, written: write ? rewritten.length : 0, changes, notes, errors }, null, 2)}\n`);
  } else {
    const p = paint(process.stdout);
    for (const c of changes) {
      process.stdout.write(`${c.file}:${c.line}:${c.column}: ${c.from} → ${p.bold(`${c.to.slice(0, c.to.lastIndexOf("@") + 13)}…`)} # ${c.tag}\n`);
    }
    for (const d of notes) process.stdout.write(`${p.dim(formatDiagnostic(d))}\n`);
    for (const d of errors) process.stderr.write(`${p.red(formatDiagnostic(d))}\n`);
    const verb = write ? "pinned" : opts.dryRun ? "would pin" : "not written";
    process.stdout.write(
      `${paths.length} file${paths.length === 1 ? "" : "s"}: ${changes.length} action${changes.length === 1 ? "" : "s"} ${verb}${errors.length > 0 ? `, ${errors.length} error${errors.length === 1 ? "" : "s"} (nothing written)` : ""}\n`,
    );
  }
  return errors.length > 0 ? EXIT.usage : EXIT.ok;
}
