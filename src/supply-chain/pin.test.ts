import { describe, expect, it } from "vitest";
import type { RemoteRef } from "../actions/index.js";
import { newestOfMajor, pinActions } from "./pin.js";

const sha = (c: string) => c.repeat(40);
const REFS: Record<string, RemoteRef[]> = {
  "actions/checkout": [
    { kind: "tag", name: "v3", sha: sha("3") },
    { kind: "tag", name: "v4", sha: sha("4") },
    { kind: "tag", name: "v4.1.0", sha: sha("a") },
    { kind: "tag", name: "v4.10.0", sha: sha("b") },
    { kind: "tag", name: "v4.2.0", sha: sha("c") },
    { kind: "tag", name: "v5.0.0", sha: sha("5") },
    { kind: "branch", name: "main", sha: sha("e") },
    { kind: "branch", name: "v4", sha: sha("f") },
  ],
};
const resolver = async (owner: string, repo: string) => {
  const refs = REFS[`${owner}/${repo}`];
  if (!refs) throw new Error("repository not found");
  return refs;
};

describe("newestOfMajor", () => {
  it("keeps a major-only tag (maintainers move it) and compares versions numerically", () => {
    expect(newestOfMajor("v4", REFS["actions/checkout"] ?? [])?.sha).toBe(sha("4"));
    expect(newestOfMajor("v4.1.0", REFS["actions/checkout"] ?? [])?.name).toBe("v4.10.0");
    expect(newestOfMajor("v3.0.0", REFS["actions/checkout"] ?? [])).toBeUndefined();
    expect(newestOfMajor("main", REFS["actions/checkout"] ?? [])).toBeUndefined();
  });
});

describe("pinActions", () => {
  it("pins tags and branches to their SHA, keeps the tag as a comment, leaves everything else alone", async () => {
    const text = [
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: actions/checkout@v4",
      "      - uses: 'actions/checkout@main'   # track main",
      "      - uses: ./local-action",
      "      - uses: docker://alpine:3",
      "      - uses: slipway/affected@v1",
      `      - uses: actions/checkout@${sha("a")}`,
      "",
    ].join("\n");
    const r = await pinActions(text, "ci.yml", resolver, { builtins: new Set(["slipway/affected"]) });
    expect(r.errors).toEqual([]);
    expect(r.text.split("\n").slice(5, 11)).toEqual([
      `      - uses: actions/checkout@${sha("4")} # v4`,
      `      - uses: 'actions/checkout@${sha("e")}' # main`,
      "      - uses: ./local-action",
      "      - uses: docker://alpine:3",
      "      - uses: slipway/affected@v1",
      `      - uses: actions/checkout@${sha("a")}`,
    ]);
    expect(r.changes.map((c) => [c.line, c.column, c.from, c.tag])).toEqual([
      [6, 15, "actions/checkout@v4", "v4"],
      [7, 15, "actions/checkout@main", "main"],
    ]);
    // Pinning is idempotent.
    const again = await pinActions(r.text, "ci.yml", resolver);
    expect(again.changes).toEqual([]);
    expect(again.text).toBe(r.text);
  });

  it("with update, moves a pin to the newest tag of the major its comment names", async () => {
    const text = `jobs:\n  a:\n    uses: actions/checkout/.github/workflows/x.yml@${sha("a")} # v4.1.0\n  b:\n    steps:\n      - uses: actions/checkout@${sha("9")}\n`;
    const r = await pinActions(text, "w.yml", resolver, { update: true });
    expect(r.text).toContain(`uses: actions/checkout/.github/workflows/x.yml@${sha("b")} # v4.10.0\n`);
    expect(r.notes.map((n) => [n.code, n.line])).toEqual([["pin/no-tag", 6]]);
  });

  it("names the file, line and column of an unknown tag or repository", async () => {
    const r = await pinActions("steps:\n  - uses: actions/checkout@v9\n  - uses: nobody/nothing@v1\n", "a.yml", resolver);
    expect(r.errors.map((e) => [e.code, e.file, e.line, e.column])).toEqual([
      ["pin/unknown-ref", "a.yml", 2, 11],
      ["pin/unreachable", "a.yml", 3, 11],
    ]);
  });

  it("reports invalid YAML instead of throwing", async () => {
    const r = await pinActions("jobs: [\n", "bad.yml", resolver);
    expect(r.errors[0]?.code).toBe("pin/yaml");
    expect(r.text).toBe("jobs: [\n");
  });
});
