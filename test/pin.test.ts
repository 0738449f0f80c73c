// `slipway pin` through the built CLI, against real git repositories as the action source.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { git, makeRepo, runCli } from "./helpers/cli.js";

let source: string;
const tags: Record<string, string> = {};

beforeAll(() => {
  // <source>/acme/setup-tool: v1.0.0 (annotated), then v1.1.0 and the moving v1 tag on a later commit.
  source = mkdtempSync(join(tmpdir(), "slipway-pin-source-"));
  const repo = join(source, "acme", "setup-tool");
  mkdirSync(repo, { recursive: true });
  git(repo, "init", "-q", "-b", "main");
  writeFileSync(join(repo, "action.yml"), "name: setup\nruns:\n  using: composite\n  steps: []\n");
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "first");
  git(repo, "tag", "-a", "v1.0.0", "-m", "release 1.0.0");
  tags["v1.0.0"] = git(repo, "rev-parse", "HEAD");
  writeFileSync(join(repo, "README.md"), "more\n");
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "second");
  git(repo, "tag", "v1.1.0");
  git(repo, "tag", "v1");
  tags["v1"] = git(repo, "rev-parse", "HEAD");
});

const workflow = (uses: string[]) =>
  ["on: push", "jobs:", "  build:", "    runs-on: ubuntu-latest", "    steps:", ...uses.map((u) => `      - uses: ${u}`), "      - run: echo hi", ""].join("\n");

describe("slipway pin", () => {
  it("pins each remote action to its commit (annotated tags peeled), keeps the tag as a comment, and is idempotent", async () => {
    const dir = makeRepo({ ".github/workflows/ci.yml": workflow(["acme/setup-tool@v1.0.0", "acme/setup-tool@v1 # the moving major", "./local"]) });
    const r = await runCli(["pin", "--action-source", source], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const text = readFileSync(join(dir, ".github/workflows/ci.yml"), "utf8");
    expect(text).toContain(`- uses: acme/setup-tool@${tags["v1.0.0"]} # v1.0.0\n`);
    expect(text).toContain(`- uses: acme/setup-tool@${tags["v1"]} # v1\n`);
    expect(text).toContain("- uses: ./local\n");
    expect(r.stdout).toContain("2 actions pinned");
    // The pinned file passes the security lint's pinning rule.
    const lint = await runCli(["lint", "--security", "--json"], { cwd: dir });
    expect(JSON.parse(lint.stdout).diagnostics.filter((d: { code: string }) => d.code === "security/unpinned-action")).toEqual([]);
    const again = await runCli(["pin", "--action-source", source, "--json"], { cwd: dir });
    expect(JSON.parse(again.stdout).changes).toEqual([]);
  });

  it("--update moves a pin to the newest tag of the same major", async () => {
    const dir = makeRepo({ ".github/workflows/ci.yml": workflow([`acme/setup-tool@${tags["v1.0.0"]} # v1.0.0`]) });
    const dry = await runCli(["pin", "--update", "--dry-run", "--action-source", source], { cwd: dir });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("1 action would pin");
    expect(readFileSync(join(dir, ".github/workflows/ci.yml"), "utf8")).toContain(`@${tags["v1.0.0"]} # v1.0.0`);
    const r = await runCli(["pin", "--update", "--action-source", source, "--json"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).changes).toMatchObject([{ line: 6, column: 15, tag: "v1.1.0" }]);
    expect(readFileSync(join(dir, ".github/workflows/ci.yml"), "utf8")).toContain(`- uses: acme/setup-tool@${tags["v1"]} # v1.1.0\n`);
  });

  it("an unknown tag is an error with file:line:column and nothing is written (exit 2)", async () => {
    const before = workflow(["acme/setup-tool@v1.0.0", "acme/setup-tool@v7"]);
    const dir = makeRepo({ ".github/workflows/ci.yml": before });
    const r = await runCli(["pin", "--action-source", source], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(".github/workflows/ci.yml:7:15: error: 'v7' is not a tag or branch of acme/setup-tool [pin/unknown-ref]");
    expect(readFileSync(join(dir, ".github/workflows/ci.yml"), "utf8")).toBe(before);
  });
});
