import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildEvent, readRepo, type EventInfo } from "../git/index.js";
import { parseWorkflowText } from "./load.js";
import type { Workflow } from "./model.js";
import { matchTrigger } from "./triggers.js";

const SHA = "1234567890abcdef1234567890abcdef12345678";

/** Parses a workflow whose `on:` block is `on` (YAML, indented by the caller). */
async function workflow(on: string): Promise<Workflow> {
  const text = `name: t\non:\n${on}\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n`;
  const { workflow, diagnostics } = await parseWorkflowText("t.yml", text);
  expect(diagnostics).toEqual([]);
  if (!workflow) throw new Error("no workflow");
  return workflow;
}

function pushBranch(branch: string, changedFiles?: string[]): EventInfo {
  return {
    name: "push",
    ref: `refs/heads/${branch}`,
    refName: branch,
    refType: "branch",
    sha: SHA,
    branch,
    ...(changedFiles ? { changedFiles } : {}),
    payload: {},
  };
}

function pushTag(tag: string, changedFiles?: string[]): EventInfo {
  return { name: "push", ref: `refs/tags/${tag}`, refName: tag, refType: "tag", sha: SHA, tag, ...(changedFiles ? { changedFiles } : {}), payload: {} };
}

function pullRequest(base: string, opts: { action?: string; changedFiles?: string[]; name?: string } = {}): EventInfo {
  return {
    name: opts.name ?? "pull_request",
    ref: "refs/pull/1/merge",
    refName: "1/merge",
    refType: "branch",
    sha: SHA,
    baseRef: base,
    headRef: "feature/x",
    ...(opts.changedFiles ? { changedFiles: opts.changedFiles } : {}),
    payload: opts.action ? { action: opts.action } : {},
  };
}

function other(name: string, payload: Record<string, unknown> = {}): EventInfo {
  return { name, ref: "refs/heads/main", refName: "main", refType: "branch", sha: SHA, branch: "main", payload };
}

describe("matchTrigger: the event must be listed", () => {
  it("matches `on: push` for any branch or tag", async () => {
    const wf = await workflow("  push:");
    expect(matchTrigger(wf, pushBranch("anything/at/all", ["x"]))).toEqual({ matched: true });
    expect(matchTrigger(wf, pushTag("v1"))).toEqual({ matched: true });
  });

  it("says which events the workflow lists when the event is not one of them", async () => {
    const wf = await workflow("  pull_request:\n  workflow_dispatch:");
    expect(matchTrigger(wf, pushBranch("main"))).toEqual({
      matched: false,
      reason: "event 'push' is not in the workflow's on: [pull_request, workflow_dispatch]",
    });
  });

  it("accepts the string and list forms of on:", async () => {
    const single = await parseWorkflowText("a.yml", "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n");
    const list = await parseWorkflowText("b.yml", "on: [push, pull_request]\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n");
    expect(matchTrigger(single.workflow as Workflow, pushBranch("main"))).toEqual({ matched: true });
    expect(matchTrigger(list.workflow as Workflow, pullRequest("main"))).toEqual({ matched: true });
    expect(matchTrigger(single.workflow as Workflow, pullRequest("main")).matched).toBe(false);
  });
});

describe("matchTrigger: push branch and tag filters", () => {
  it("applies branches", async () => {
    const wf = await workflow("  push:\n    branches: [main, 'releases/**']");
    expect(matchTrigger(wf, pushBranch("main")).matched).toBe(true);
    expect(matchTrigger(wf, pushBranch("releases/v1/hotfix")).matched).toBe(true);
    expect(matchTrigger(wf, pushBranch("feature/x"))).toEqual({
      matched: false,
      reason: "branch 'feature/x' does not match push.branches [main, releases/**]",
    });
  });

  it("applies negative patterns in branches in order", async () => {
    const wf = await workflow("  push:\n    branches:\n      - 'releases/**'\n      - '!releases/**-alpha'");
    expect(matchTrigger(wf, pushBranch("releases/10")).matched).toBe(true);
    expect(matchTrigger(wf, pushBranch("releases/10-alpha"))).toEqual({
      matched: false,
      reason: "branch 'releases/10-alpha' does not match push.branches [releases/**, '!releases/**-alpha']",
    });
  });

  it("applies branches-ignore", async () => {
    const wf = await workflow("  push:\n    branches-ignore: ['mona/octocat', 'releases/**-alpha']");
    expect(matchTrigger(wf, pushBranch("main")).matched).toBe(true);
    expect(matchTrigger(wf, pushBranch("releases/beta/3-alpha"))).toEqual({
      matched: false,
      reason: "branch 'releases/beta/3-alpha' is excluded by push.branches-ignore [mona/octocat, releases/**-alpha]",
    });
  });

  it("runs a branch-only workflow for no tag, and a tag-only workflow for no branch", async () => {
    const branchesOnly = await workflow("  push:\n    branches: ['**']");
    expect(matchTrigger(branchesOnly, pushTag("v1"))).toEqual({
      matched: false,
      reason: "tag 'v1' does not run the workflow: push has only branch filters (push.branches ['**'])",
    });
    const tagsOnly = await workflow("  push:\n    tags: ['v2*']");
    expect(matchTrigger(tagsOnly, pushBranch("main"))).toEqual({
      matched: false,
      reason: "a push of branch 'main' does not run the workflow: push has only tag filters (push.tags [v2*])",
    });
    expect(matchTrigger(tagsOnly, pushTag("v2.1")).matched).toBe(true);
    expect(matchTrigger(tagsOnly, pushTag("v1.0"))).toEqual({ matched: false, reason: "tag 'v1.0' does not match push.tags [v2*]" });
    const ignoreTagsOnly = await workflow("  push:\n    tags-ignore: ['v1.*']");
    expect(matchTrigger(ignoreTagsOnly, pushBranch("main")).matched).toBe(false);
    expect(matchTrigger(ignoreTagsOnly, pushTag("v1.2"))).toEqual({ matched: false, reason: "tag 'v1.2' is excluded by push.tags-ignore [v1.*]" });
    expect(matchTrigger(ignoreTagsOnly, pushTag("v2.0")).matched).toBe(true);
  });

  it("filters branches and tags independently when both are given", async () => {
    const wf = await workflow("  push:\n    branches: [main]\n    tags: ['v[12].[0-9]+.[0-9]+']");
    expect(matchTrigger(wf, pushBranch("main")).matched).toBe(true);
    expect(matchTrigger(wf, pushBranch("dev")).matched).toBe(false);
    expect(matchTrigger(wf, pushTag("v1.10.1")).matched).toBe(true);
    expect(matchTrigger(wf, pushTag("v3.0.0")).matched).toBe(false);
  });

  it("cannot match branch filters with a detached HEAD, but runs without them", async () => {
    const detached: EventInfo = { name: "push", ref: SHA, refName: SHA, refType: "branch", sha: SHA, payload: {} };
    const filtered = await workflow("  push:\n    branches: [main]");
    const result = matchTrigger(filtered, detached);
    expect(result.matched).toBe(false);
    expect(!result.matched && result.reason).toBe(
      "HEAD is detached at 1234567, so no branch can match push.branches [main]; check out a branch or name one as the ref",
    );
    expect(matchTrigger(await workflow("  push:"), detached).matched).toBe(true);
  });

  it("turns an invalid pattern into a reason instead of throwing", async () => {
    const wf = await workflow("  push:\n    branches: ['release/[0-9']");
    const result = matchTrigger(wf, pushBranch("release/1"));
    expect(result.matched).toBe(false);
    expect(!result.matched && result.reason).toMatch(/^push\.branches has an invalid filter pattern 'release\/\[0-9' at character 9: '\[' has no closing '\]'/);
  });
});

describe("matchTrigger: push path filters", () => {
  it("runs when at least one changed file matches paths", async () => {
    const wf = await workflow("  push:\n    paths: ['docs/**']");
    expect(matchTrigger(wf, pushBranch("main", ["src/a.ts", "docs/guide/x.md"])).matched).toBe(true);
    expect(matchTrigger(wf, pushBranch("main", ["src/a.ts", "README.md"]))).toEqual({
      matched: false,
      reason: "no changed file matches push.paths [docs/**] (changed: src/a.ts, README.md)",
    });
  });

  it("lists at most three changed files in the reason", async () => {
    const wf = await workflow("  push:\n    paths: ['docs/**']");
    const result = matchTrigger(wf, pushBranch("main", ["a", "b", "c", "d", "e"]));
    expect(!result.matched && result.reason).toBe("no changed file matches push.paths [docs/**] (changed: a, b, c and 2 more)");
  });

  it("applies '!' in paths per file, last match wins", async () => {
    const wf = await workflow("  push:\n    paths:\n      - 'sub-project/**'\n      - '!sub-project/docs/**'");
    expect(matchTrigger(wf, pushBranch("main", ["sub-project/docs/a.md"])).matched).toBe(false);
    expect(matchTrigger(wf, pushBranch("main", ["sub-project/docs/a.md", "sub-project/src/a.ts"])).matched).toBe(true);
  });

  it("runs unless every changed file is ignored by paths-ignore", async () => {
    const wf = await workflow("  push:\n    paths-ignore: ['docs/**', '*.md']");
    expect(matchTrigger(wf, pushBranch("main", ["docs/a.md", "README.md"]))).toEqual({
      matched: false,
      reason: "all changed files are ignored by push.paths-ignore [docs/**, '*.md'] (changed: docs/a.md, README.md)",
    });
    expect(matchTrigger(wf, pushBranch("main", ["docs/a.md", "src/index.ts"])).matched).toBe(true);
  });

  it("does not run path-filtered workflows when no file changed", async () => {
    const wf = await workflow("  push:\n    paths-ignore: ['docs/**']");
    expect(matchTrigger(wf, pushBranch("main", []))).toEqual({ matched: false, reason: "no files changed, so nothing matches push.paths-ignore [docs/**]" });
    expect(matchTrigger(await workflow("  push:"), pushBranch("main", [])).matched).toBe(true);
  });

  it("treats an unknown list of changed files as a match", async () => {
    const wf = await workflow("  push:\n    paths: ['docs/**']");
    expect(matchTrigger(wf, pushBranch("main")).matched).toBe(true);
  });

  it("requires both the branch and the path filters when both are set", async () => {
    const wf = await workflow("  push:\n    branches: [main]\n    paths: ['src/**']");
    expect(matchTrigger(wf, pushBranch("main", ["src/a.ts"])).matched).toBe(true);
    expect(matchTrigger(wf, pushBranch("dev", ["src/a.ts"]))).toEqual({ matched: false, reason: "branch 'dev' does not match push.branches [main]" });
    expect(matchTrigger(wf, pushBranch("main", ["docs/a.md"]))).toEqual({
      matched: false,
      reason: "no changed file matches push.paths [src/**] (changed: docs/a.md)",
    });
  });

  it("ignores path filters for tag pushes", async () => {
    const wf = await workflow("  push:\n    tags: ['v*']\n    paths: ['src/**']");
    expect(matchTrigger(wf, pushTag("v1", ["docs/a.md"])).matched).toBe(true);
  });

  it("with both paths and paths-ignore, needs a file that matches one and not the other", async () => {
    const wf = await workflow("  push:\n    paths: ['src/**']\n    paths-ignore: ['src/**/*.md']");
    expect(matchTrigger(wf, pushBranch("main", ["src/a.ts"])).matched).toBe(true);
    expect(matchTrigger(wf, pushBranch("main", ["src/doc.md", "README"]))).toEqual({
      matched: false,
      reason: "every changed file that matches push.paths [src/**] is ignored by push.paths-ignore [src/**/*.md] (changed: src/doc.md, README)",
    });
  });
});

describe("matchTrigger: pull_request", () => {
  it("filters branches on the base branch, not the head", async () => {
    const wf = await workflow("  pull_request:\n    branches: [main]");
    expect(matchTrigger(wf, pullRequest("main")).matched).toBe(true);
    expect(matchTrigger(wf, pullRequest("develop"))).toEqual({ matched: false, reason: "base branch 'develop' does not match pull_request.branches [main]" });
  });

  it("applies branches-ignore to the base branch", async () => {
    const wf = await workflow("  pull_request:\n    branches-ignore: ['releases/**']");
    expect(matchTrigger(wf, pullRequest("releases/1"))).toEqual({
      matched: false,
      reason: "base branch 'releases/1' is excluded by pull_request.branches-ignore [releases/**]",
    });
    expect(matchTrigger(wf, pullRequest("main")).matched).toBe(true);
  });

  it("runs for opened, synchronize and reopened by default", async () => {
    const wf = await workflow("  pull_request:");
    expect(matchTrigger(wf, pullRequest("main", { action: "opened" })).matched).toBe(true);
    expect(matchTrigger(wf, pullRequest("main", { action: "synchronize" })).matched).toBe(true);
    expect(matchTrigger(wf, pullRequest("main", { action: "reopened" })).matched).toBe(true);
    expect(matchTrigger(wf, pullRequest("main"))).toEqual({ matched: true });
    expect(matchTrigger(wf, pullRequest("main", { action: "closed" }))).toEqual({
      matched: false,
      reason: "activity type 'closed' is not one of pull_request's default types [opened, synchronize, reopened]; list it in pull_request.types",
    });
  });

  it("applies explicit types", async () => {
    const wf = await workflow("  pull_request:\n    types: [labeled, closed]");
    expect(matchTrigger(wf, pullRequest("main", { action: "closed" })).matched).toBe(true);
    expect(matchTrigger(wf, pullRequest("main", { action: "opened" }))).toEqual({
      matched: false,
      reason: "activity type 'opened' is not in pull_request.types [labeled, closed]",
    });
  });

  it("applies paths to the pull request's changed files", async () => {
    const wf = await workflow("  pull_request:\n    branches: [main]\n    paths: ['**.js']");
    expect(matchTrigger(wf, pullRequest("main", { changedFiles: ["src/js/app.js"] })).matched).toBe(true);
    expect(matchTrigger(wf, pullRequest("main", { changedFiles: ["README.md"] }))).toEqual({
      matched: false,
      reason: "no changed file matches pull_request.paths ['**.js'] (changed: README.md)",
    });
  });

  it("filters pull_request_target the same way", async () => {
    const wf = await workflow("  pull_request_target:\n    branches: [main]");
    expect(matchTrigger(wf, pullRequest("main", { name: "pull_request_target" })).matched).toBe(true);
    expect(matchTrigger(wf, pullRequest("dev", { name: "pull_request_target" })).matched).toBe(false);
  });
});

describe("matchTrigger: events without filters", () => {
  it("matches workflow_dispatch, schedule and workflow_call when listed", async () => {
    const wf = await workflow(
      "  workflow_dispatch:\n    inputs:\n      level:\n        type: string\n  schedule:\n    - cron: '0 3 * * *'\n  workflow_call:",
    );
    expect(matchTrigger(wf, other("workflow_dispatch"))).toEqual({ matched: true });
    expect(matchTrigger(wf, other("schedule"))).toEqual({ matched: true });
    expect(matchTrigger(wf, other("workflow_call"))).toEqual({ matched: true });
    expect(matchTrigger(wf, other("push")).matched).toBe(false);
  });

  it("filters other events on their activity types", async () => {
    const wf = await workflow("  issues:\n    types: [opened]\n  release:");
    expect(matchTrigger(wf, other("issues", { action: "opened" })).matched).toBe(true);
    expect(matchTrigger(wf, other("issues", { action: "closed" }))).toEqual({
      matched: false,
      reason: "activity type 'closed' is not in issues.types [opened]",
    });
    expect(matchTrigger(wf, other("release", { action: "published" })).matched).toBe(true);
  });
});

describe("matchTrigger with events built from a real checkout", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const sh = (cwd: string, ...args: string[]) =>
    execFileSync("git", ["-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", ...args], { cwd, encoding: "utf8" });
  const write = (dir: string, path: string, content: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  };
  const commit = (dir: string, message: string) => {
    sh(dir, "add", "-A");
    sh(dir, "commit", "-q", "-m", message);
  };

  it("skips a docs-only push for paths-ignore, runs for code, and filters pull requests by base branch", async () => {
    const dir = mkdtempSync(join(tmpdir(), "slipway-triggers-"));
    dirs.push(dir);
    sh(dir, "init", "-q", "-b", "main");
    write(dir, "src/app.ts", "1\n");
    write(dir, "docs/guide.md", "guide\n");
    commit(dir, "first");
    const wf = await workflow("  push:\n    branches: [main]\n    paths-ignore: ['docs/**']\n  pull_request:\n    branches: [main]");

    write(dir, "docs/guide.md", "better guide\n");
    commit(dir, "docs only");
    const docsPush = await buildEvent(await readRepo(dir), { eventName: "push" });
    expect(matchTrigger(wf, docsPush)).toEqual({
      matched: false,
      reason: "all changed files are ignored by push.paths-ignore [docs/**] (changed: docs/guide.md)",
    });

    write(dir, "src/app.ts", "2\n");
    commit(dir, "code");
    expect(matchTrigger(wf, await buildEvent(await readRepo(dir), { eventName: "push" }))).toEqual({ matched: true });

    sh(dir, "checkout", "-q", "-b", "feature");
    write(dir, "src/feature.ts", "f\n");
    commit(dir, "feature");
    const repo = await readRepo(dir);
    expect(matchTrigger(wf, await buildEvent(repo, { eventName: "push" }))).toEqual({
      matched: false,
      reason: "branch 'feature' does not match push.branches [main]",
    });
    expect(matchTrigger(wf, await buildEvent(repo, { eventName: "pull_request" }))).toEqual({ matched: true });
    sh(dir, "branch", "develop", "main");
    expect(matchTrigger(wf, await buildEvent(repo, { eventName: "pull_request", base: "develop" }))).toEqual({
      matched: false,
      reason: "base branch 'develop' does not match pull_request.branches [main]",
    });
  });
});
