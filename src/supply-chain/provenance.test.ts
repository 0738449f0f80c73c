import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildProvenance, collectActions, SLIPWAY_BUILDER_ID } from "./provenance.js";

const SHA = "b4ffde65f46336ab88eb53be808477a3936bae11";

describe("provenance", () => {
  it("lists the actions a workflow uses: pinned by commit, tags from the action cache, built-ins as part of the builder", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "slipway-prov-"));
    try {
      const cached = join(dataDir, "actions", "acme", "deploy", "c".repeat(40));
      mkdirSync(cached, { recursive: true });
      writeFileSync(join(cached, ".slipway-complete"), JSON.stringify({ uses: "acme/deploy@v2", sha: "c".repeat(40), fetchedAt: "2026-01-01T00:00:00.000Z" }));
      const workflow = `jobs:\n  b:\n    steps:\n      - uses: actions/checkout@v4\n      - uses: acme/setup@${SHA}\n      - uses: "acme/deploy@v2"\n      - uses: other/thing@main # moving\n      - uses: ./local\n`;
      const actions = collectActions(workflow, { dataDir, isBuiltin: (u) => u.startsWith("actions/checkout@") });
      expect(actions).toEqual([
        { uri: "slipway:builtin/actions/checkout@v4", annotations: { builtin: true, note: "run by Slipway itself: part of the builder" } },
        { uri: `git+https://github.com/acme/setup@${SHA}`, digest: { gitCommit: SHA } },
        { uri: "git+https://github.com/acme/deploy@v2", digest: { gitCommit: "c".repeat(40) }, annotations: { resolvedFrom: "action cache", fetchedAt: "2026-01-01T00:00:00.000Z" } },
        { uri: "git+https://github.com/other/thing@main", annotations: { note: "main is not a commit SHA and no resolved commit is recorded for it; pin it to a full SHA" } },
      ]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("builds an in-toto statement with the SLSA v1 predicate of a run", () => {
    const s = buildProvenance({
      artifact: "web",
      digest: `sha256:${"a".repeat(64)}`,
      files: [{ path: "server.js", digest: `sha256:${"b".repeat(64)}` }],
      repository: "acme/web",
      ref: "refs/heads/main",
      commit: SHA,
      run: { id: 7, workflowPath: ".github/workflows/ci.yml", event: "push", startedAt: "2026-01-01T00:00:00.000Z", finishedAt: "2026-01-01T00:01:00.000Z" },
      actions: [],
      createdAt: "2026-01-01T00:02:00.000Z",
      slipwayVersion: "0.1.0",
      host: "ci-1",
    });
    expect(s.subject).toEqual([
      { name: "web", digest: { sha256: "a".repeat(64) } },
      { name: "web/server.js", digest: { sha256: "b".repeat(64) } },
    ]);
    expect(s.predicate.buildDefinition.externalParameters).toEqual({ source: { repository: "acme/web", ref: "refs/heads/main", commit: SHA }, workflow: { path: ".github/workflows/ci.yml", run: 7 } });
    expect(s.predicate.runDetails).toEqual({
      builder: { id: SLIPWAY_BUILDER_ID, version: { slipway: "0.1.0", host: "ci-1" } },
      metadata: { invocationId: "7", startedOn: "2026-01-01T00:00:00.000Z", finishedOn: "2026-01-01T00:01:00.000Z" },
    });
  });
});
