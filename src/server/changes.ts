// Change requests of hosted repositories: a source branch proposed into a
// target branch, as GitHub's pull requests. Slipway makes the merge result
// (`git merge-tree` then `commit-tree`: the target's tip merged with the
// source's, kept at refs/pull/N/merge) and runs the repository's
// `pull_request` workflows on it; their jobs are the change's checks. The
// merge result is made again whenever either branch moves. Merging moves the
// target to that very commit (compare-and-swap), only when the target
// branch's required checks passed on it and it has the required approvals
// (the author's own not counted unless allowed), then runs the target's
// `push` workflows as a push would.
import { execFile } from "node:child_process";
import { git, readProtection, ruleFor, type BranchProtection, type CheckStatus, type HostedRepositories, type RefUpdate } from "../git/index.js";
import type { ChangeRequestRecord, Store } from "../store/index.js";
import { HttpError } from "./api.js";
import { requiredCheckStatus } from "./checks.js";
import type { Launcher } from "./launcher.js";
import type { Logger } from "./log.js";

export interface Mergeability {
  mergeable: boolean;
  reasons: string[];
  checks: CheckStatus[];
  approvals: string[];
  requiredApprovals: number;
}

const IDENTITY = { GIT_AUTHOR_NAME: "Slipway", GIT_AUTHOR_EMAIL: "slipway@localhost", GIT_COMMITTER_NAME: "Slipway", GIT_COMMITTER_EMAIL: "slipway@localhost" };

export class ChangeRequests {
  constructor(
    private readonly store: Store,
    private readonly repos: HostedRepositories,
    private readonly launcher: Launcher,
    private readonly log: Logger,
    /** Starts the push events of refs that moved (a merge is a push of the target). */
    private readonly launchPushes: (repository: string, updates: RefUpdate[], actor: string) => unknown,
  ) {}

  async create(repository: string, input: { source: string; target: string; title: string }, author: string): Promise<ChangeRequestRecord> {
    for (const [field, branch] of [
      ["source", input.source],
      ["target", input.target],
    ] as const) {
      if (!(await this.repos.resolve(repository, `refs/heads/${branch}`))) throw new HttpError(422, `${field} branch '${branch}' does not exist in ${repository}; push it first`, [{ field: `body.${field}`, message: "no such branch" }]);
    }
    if (input.source === input.target) throw new HttpError(422, "the source and target branches are the same", [{ field: "body.source", message: "same as target" }]);
    const open = this.store.listChangeRequests(repository, "open").find((c) => c.source === input.source && c.target === input.target);
    if (open) throw new HttpError(409, `change request #${open.number} already proposes ${input.source} into ${input.target}`);
    const c = this.store.createChangeRequest({ repository, ...input, author });
    await this.refresh(repository, c.number, "opened");
    return this.get(repository, c.number);
  }

  get(repository: string, number: number): ChangeRequestRecord {
    const c = this.store.getChangeRequest(repository, number);
    if (!c) throw new HttpError(404, `no change request #${number} in ${repository}`);
    return c;
  }

  /** After a push: the open change requests whose source or target moved get a new merge result. */
  async onPush(repository: string, updates: RefUpdate[]): Promise<void> {
    const moved = new Set(updates.map((u) => u.ref));
    for (const c of this.store.listChangeRequests(repository, "open")) {
      if (moved.has(`refs/heads/${c.source}`) || moved.has(`refs/heads/${c.target}`)) {
        await this.refresh(repository, c.number, "synchronize").catch((err: unknown) => this.log.warn("change request refresh failed", { repository, number: c.number, error: (err as Error).message }));
      }
    }
  }

  /** Makes the merge result again if either branch moved, and runs its checks. */
  async refresh(repository: string, number: number, action: "opened" | "synchronize"): Promise<void> {
    const c = this.get(repository, number);
    if (c.state !== "open") return;
    const head = await this.repos.resolve(repository, `refs/heads/${c.source}`);
    const base = await this.repos.resolve(repository, `refs/heads/${c.target}`);
    if (!head || !base) {
      this.store.setChangeMerge(repository, number, { headSha: head ?? c.headSha ?? "", baseSha: base ?? c.baseSha ?? "", mergeSha: null, detail: `branch '${head ? c.target : c.source}' was deleted` });
      return;
    }
    if (c.headSha === head && c.baseSha === base && (c.mergeSha || c.detail)) return;
    const bare = this.repos.path(repository);
    const merged = await mergeTree(bare, base, head);
    if (merged.conflicts) {
      this.store.setChangeMerge(repository, number, {
        headSha: head,
        baseSha: base,
        mergeSha: null,
        detail: `${c.source} does not merge cleanly into ${c.target}: conflicts in ${merged.conflicts.join(", ") || "some files"}; merge ${c.target} into ${c.source} and push`,
      });
      return;
    }
    const merge = (await git(bare, ["commit-tree", merged.tree, "-p", base, "-p", head, "-m", `Merge ${c.source} into ${c.target} (change request #${number})`], { env: IDENTITY })).trim();
    await git(bare, ["update-ref", `refs/pull/${number}/head`, head]);
    await git(bare, ["update-ref", `refs/pull/${number}/merge`, merge]);
    this.store.setChangeMerge(repository, number, { headSha: head, baseSha: base, mergeSha: merge, detail: null });
    this.launcher.launch({
      repository,
      event: "pull_request",
      ref: `refs/heads/${c.source}`,
      sha: merge,
      baseRef: c.target,
      payload: {
        action,
        number,
        pull_request: { number, title: c.title, user: { login: c.author }, head: { ref: c.source, sha: head }, base: { ref: c.target, sha: base }, merge_commit_sha: merge },
      },
      actor: c.author,
    });
  }

  approve(repository: string, number: number, by: string): { approvals: string[] } {
    const c = this.get(repository, number);
    if (c.state !== "open") throw new HttpError(409, `change request #${number} is ${c.state}`);
    const rule = this.rule(repository, c.target);
    if (by === c.author && (rule?.preventSelfApproval ?? true)) throw new HttpError(403, `you opened change request #${number}: someone else must approve it`);
    this.store.approveChangeRequest(repository, number, by);
    return { approvals: this.store.listChangeApprovals(repository, number).map((a) => a.by) };
  }

  mergeability(c: ChangeRequestRecord): Mergeability {
    const rule = this.rule(c.repository, c.target);
    const requiredApprovals = rule?.requiredApprovals ?? 0;
    const approvals = this.store
      .listChangeApprovals(c.repository, c.number)
      .map((a) => a.by)
      .filter((by) => !(by === c.author && (rule?.preventSelfApproval ?? true)));
    const checks = c.mergeSha ? (rule?.requiredChecks ?? []).map((name) => requiredCheckStatus(this.store, c.repository, c.mergeSha as string, name)) : [];
    const reasons: string[] = [];
    if (c.state !== "open") reasons.push(`it is ${c.state}`);
    if (!c.mergeSha) reasons.push(c.detail ?? "its merge result is not made yet");
    for (const k of checks) if (k.state !== "success") reasons.push(`required check '${k.name}' ${k.state === "missing" ? "has not run" : k.state === "pending" ? "is still running" : "failed"} (${k.detail})`);
    if (approvals.length < requiredApprovals) reasons.push(`${approvals.length} of ${requiredApprovals} required approval(s)${rule?.preventSelfApproval ?? true ? " (the author's own does not count)" : ""}`);
    return { mergeable: reasons.length === 0, reasons, checks, approvals, requiredApprovals };
  }

  async merge(repository: string, number: number, by: string): Promise<ChangeRequestRecord> {
    await this.refresh(repository, number, "synchronize");
    const before = this.get(repository, number);
    const m = this.mergeability(before);
    if (!m.mergeable) throw new HttpError(409, `change request #${number} cannot be merged: ${m.reasons.join("; ")}`);
    const bare = this.repos.path(repository);
    try {
      // Compare-and-swap: only if the target is still where the merge result was made on.
      await git(bare, ["update-ref", "-m", `merge change request #${number} by ${by}`, `refs/heads/${before.target}`, before.mergeSha as string, before.baseSha as string]);
    } catch {
      throw new HttpError(409, `${before.target} moved while merging; the merge result is made again and its checks run: try again when they pass`);
    }
    this.store.finishChangeRequest(repository, number, "merged", by);
    this.log.info("change request merged", { repository, number, by, target: before.target, commit: before.mergeSha });
    this.launchPushes(repository, [{ ref: `refs/heads/${before.target}`, before: before.baseSha as string, after: before.mergeSha as string }], by);
    await this.onPush(repository, [{ ref: `refs/heads/${before.target}`, before: before.baseSha as string, after: before.mergeSha as string }]);
    return this.get(repository, number);
  }

  close(repository: string, number: number, by: string): ChangeRequestRecord {
    const c = this.get(repository, number);
    if (c.state !== "open") throw new HttpError(409, `change request #${number} is ${c.state}`);
    this.store.finishChangeRequest(repository, number, "closed", by);
    return this.get(repository, number);
  }

  private rule(repository: string, target: string): BranchProtection | undefined {
    return ruleFor(readProtection(this.repos.path(repository)), `refs/heads/${target}`);
  }
}

/** `git merge-tree --write-tree`: the merged tree, or the conflicting files (exit 1). */
function mergeTree(bare: string, base: string, head: string): Promise<{ tree: string; conflicts?: undefined } | { tree?: undefined; conflicts: string[] }> {
  return new Promise((resolve, reject) => {
    execFile("git", ["merge-tree", "--write-tree", "--name-only", "--no-messages", base, head], { cwd: bare, env: { ...process.env, LC_ALL: "C" } }, (err, stdout, stderr) => {
      const lines = stdout.split("\n").map((l) => l.trim()).filter(Boolean);
      if (!err) return resolve({ tree: lines[0] ?? "" });
      if ((err as { code?: unknown }).code === 1) return resolve({ conflicts: lines.slice(1) });
      reject(new Error(`git merge-tree failed: ${stderr.trim() || err.message}`));
    });
  });
}
