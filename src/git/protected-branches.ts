// Protected branches of hosted repositories, enforced in the repository's
// pre-receive hook (so a refused push changes nothing, for every client).
// The rules live beside the repository, in `<bare>/slipway/protection.json`;
// `decide` is the pure rule check, the hook (cli/hook.ts) gathers the facts.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface BranchProtection {
  /** A branch name, exactly (`main`, `release/1.x`). */
  branch: string;
  /**
   * Checks that must have passed for the pushed commit: a job's id (`build`),
   * its display name (`test (20)`), or `Workflow name / job` to pick one
   * workflow's job.
   */
  requiredChecks: string[];
  /** Default false: a push must fast-forward the branch. */
  allowForcePush: boolean;
  /** Default false. */
  allowDeletion: boolean;
  /**
   * Default 0. Above 0 the branch changes only through change requests with
   * that many approvals: direct pushes are refused.
   */
  requiredApprovals: number;
  /** Default true: the author's own approval does not count (and is refused). */
  preventSelfApproval: boolean;
}

export type CheckState = "success" | "failure" | "pending" | "missing";

export interface CheckStatus {
  name: string;
  state: CheckState;
  /** e.g. "run 12, job build: failure". */
  detail: string;
}

export interface PushFacts {
  /** The old commit is an ancestor of the new (always true for a new branch). */
  fastForward: boolean;
  checks: CheckStatus[];
}

const ZERO = /^0{40}$/;

export function protectionFile(bareDir: string): string {
  return join(bareDir, "slipway", "protection.json");
}

export function readProtection(bareDir: string): BranchProtection[] {
  const file = protectionFile(bareDir);
  if (!existsSync(file)) return [];
  const data = JSON.parse(readFileSync(file, "utf8")) as { branches?: Array<Partial<BranchProtection> & { branch: string }> };
  // Rules written before a field existed get its default.
  return (data.branches ?? []).map((r) => ({ requiredChecks: [], allowForcePush: false, allowDeletion: false, requiredApprovals: 0, preventSelfApproval: true, ...r }));
}

/** Replaces the rules (atomically: a hook never reads half a file). */
export function writeProtection(bareDir: string, rules: BranchProtection[]): void {
  const file = protectionFile(bareDir);
  mkdirSync(join(bareDir, "slipway"), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ branches: [...rules].sort((a, b) => a.branch.localeCompare(b.branch)) }, null, 2) + "\n");
  renameSync(tmp, file);
}

export function ruleFor(rules: BranchProtection[], ref: string): BranchProtection | undefined {
  if (!ref.startsWith("refs/heads/")) return undefined;
  const branch = ref.slice("refs/heads/".length);
  return rules.find((r) => r.branch === branch);
}

/**
 * Why the update of a protected branch is refused, or undefined when it may
 * go ahead. Messages say what to do instead; git shows them as `remote:` lines.
 */
export function decide(update: { ref: string; before: string; after: string }, rule: BranchProtection, facts: PushFacts): string | undefined {
  const branch = rule.branch;
  if (ZERO.test(update.after)) {
    return rule.allowDeletion ? undefined : `branch '${branch}' is protected: it cannot be deleted`;
  }
  if ((rule.requiredApprovals ?? 0) > 0) {
    return `branch '${branch}' is protected: it changes only through change requests with ${rule.requiredApprovals} approval(s); push another branch and open one (slipway change create --source BRANCH --target ${branch})`;
  }
  if (!ZERO.test(update.before) && !facts.fastForward && !rule.allowForcePush) {
    return `branch '${branch}' is protected: force pushes are refused; fetch, merge or rebase onto ${update.before.slice(0, 12)}, and push again`;
  }
  const notPassed = facts.checks.filter((c) => c.state !== "success");
  if (notPassed.length > 0) {
    const list = notPassed.map((c) => `'${c.name}' ${c.state === "missing" ? "has not run" : c.state === "pending" ? "is still running" : "failed"} (${c.detail})`).join("; ");
    return `branch '${branch}' is protected: required checks must pass for ${update.after.slice(0, 12)} first: ${list}. Push the commit to another branch, let its checks pass, then push it here`;
  }
  return undefined;
}

/** A check name matches a job by id, display name, or `Workflow / job`. */
export function checkMatches(check: string, job: { key: string; name: string; workflow: string }): boolean {
  return check === job.key || check === job.name || check === `${job.workflow} / ${job.key}` || check === `${job.workflow} / ${job.name}`;
}
