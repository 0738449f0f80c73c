// `slipway deps review BASE..HEAD [--config FILE] [--json]`: the dependency
// changes between two commits from their lockfiles, checked against a policy.
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { formatDiagnostic } from "../diagnostics/index.js";
import { parseReviewPolicy, reviewDependencies, type ReviewPolicy } from "../supply-chain/index.js";
import { EXIT, UsageError, workDir, type GlobalOptions } from "./common.js";
import { paint } from "./style.js";

export interface DepsReviewOptions extends GlobalOptions {
  config?: string;
  json?: boolean;
}

/** Where a policy is found when --config is not given (actions/dependency-review-action's usual place first). */
const DEFAULT_POLICIES = [".github/dependency-review-config.yml", ".github/dependency-review.yml", ".slipway/dependency-review.yml"];

export async function depsReviewCommand(range: string, opts: DepsReviewOptions): Promise<number> {
  const dir = workDir(opts);
  const m = /^(.+?)\.\.(\.)?(.+)$/.exec(range);
  if (!m || !m[1] || !m[3]) throw new UsageError(`expected BASE..HEAD (two commits, branches or tags), got '${range}'; for example: slipway deps review main..HEAD`);
  const [base, head] = [m[1], m[3]];
  const configPath = opts.config ? resolve(opts.config) : DEFAULT_POLICIES.map((f) => join(dir, f)).find((f) => existsSync(f));
  let policy: ReviewPolicy | undefined;
  if (configPath) {
    const display = relative(dir, configPath).startsWith("..") ? configPath : relative(dir, configPath);
    let text: string;
    try {
      text = readFileSync(configPath, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read --config ${display} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give an existing policy file`);
    }
    const parsed = parseReviewPolicy(text, display);
    if (parsed.diagnostics.length > 0) {
      for (const d of parsed.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
      return EXIT.usage;
    }
    policy = parsed.policy;
  }
  const review = await reviewDependencies(dir, base, head, policy);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ...review, policy: policy?.file ?? null }, null, 2)}\n`);
  } else {
    const p = paint(process.stdout);
    const colour = { added: p.green, removed: p.red, upgraded: p.cyan, downgraded: p.yellow } as const;
    const rows = review.changes.map((c) => [c.change, c.name, c.from ?? "", c.to ?? "", c.license ?? "", c.lockfile]);
    const head = ["change", "package", "from", "to", "licence", "lockfile"];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
    if (rows.length > 0) {
      process.stdout.write(`${p.bold(line(head))}\n`);
      review.changes.forEach((c, i) => process.stdout.write(`${colour[c.change](line(rows[i] ?? []))}\n`));
    }
    for (const v of review.violations) process.stdout.write(`${p.red(`denied: ${v.message}`)}\n`);
    process.stdout.write(
      `${review.changes.length} dependency change${review.changes.length === 1 ? "" : "s"} in ${review.lockfiles.length} lockfile${review.lockfiles.length === 1 ? "" : "s"}` +
        (policy ? `; ${review.violations.length} denied by ${policy.file}` : "; no policy (--config, or .github/dependency-review-config.yml)") +
        "\n",
    );
  }
  return review.violations.length > 0 ? EXIT.failed : EXIT.ok;
}
