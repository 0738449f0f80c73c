import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { toSarif } from "./sarif.js";
import { lintWorkflowSecurity, SECURITY_RULES } from "./workflow-security.js";

const builtins = new Set(["actions/checkout", "actions/cache", "actions/upload-artifact", "actions/setup-node"]);
const lint = (text: string) => lintWorkflowSecurity(text, ".github/workflows/x.yml", { builtins });
const codes = (text: string) => lint(text).map((d) => `${d.line}:${d.column} ${d.code}`);

/** SARIF 2.1.0's own JSON schema (OASIS, as SchemaStore publishes it; the `schemastore` dev dependency). */
const sarifSchema = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("schemastore/schemas/json/sarif-2.1.0.json"), "utf8")) as object;
// unicodeRegExp: false: the schema's language pattern (`^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`) is not valid with the u flag.
const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
addFormats.default(ajv);
const validateSarif = ajv.compile(sarifSchema);

const SAFE = `name: CI
on: [push, pull_request]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./.github/actions/local
      - uses: someone/tool@0123456789abcdef0123456789abcdef01234567 # v2
      - run: echo "\${{ github.sha }} \${{ inputs.name }}"
        env:
          TITLE: \${{ github.event.pull_request.title }}
          PASSWORD: \${{ secrets.PASSWORD }}
`;

describe("workflow security lint", () => {
  it("finds nothing in a hardened workflow", () => {
    expect(lint(SAFE)).toEqual([]);
  });

  it("flags actions not pinned to a commit, but not local and built-in ones", () => {
    const found = lint(SAFE.replace("someone/tool@0123456789abcdef0123456789abcdef01234567", "someone/tool@v2"));
    expect(found).toEqual([
      expect.objectContaining({ code: "security/unpinned-action", severity: "warning", line: 11, column: 15, message: expect.stringContaining("someone/tool@v2 is not pinned") }),
    ]);
    expect(found[0]?.fix).toContain("someone/tool@<sha> # v2");
  });

  it("flags missing, write-all and top-level write permissions", () => {
    expect(codes(SAFE.replace("permissions:\n  contents: read\n", ""))).toEqual(["1:1 security/missing-permissions"]);
    expect(codes(SAFE.replace("permissions:\n  contents: read\n", "permissions: write-all\n"))).toEqual(["3:14 security/excessive-permissions"]);
    expect(codes(SAFE.replace("  contents: read\n", "  contents: write\n"))).toEqual(["4:13 security/excessive-permissions"]);
    // A write for one job is how it should be.
    expect(codes(SAFE.replace("    runs-on: ubuntu-latest\n", "    runs-on: ubuntu-latest\n    permissions:\n      contents: write\n"))).toEqual([]);
  });

  it("flags attacker-controlled contexts expanded in run: and github-script, at the expression", () => {
    const text = `on: issue_comment
permissions: read-all
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "start"
          echo "\${{ github.event.comment.body }}"
      - run: git checkout "\${{ github.head_ref }}"
      - uses: actions/github-script@0123456789abcdef0123456789abcdef01234567
        with:
          script: console.log("\${{ github.event.issue.title }}")
`;
    const found = lint(text);
    expect(found.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual(["9:17 security/script-injection", "10:28 security/script-injection", "13:32 security/script-injection"]);
    expect(found[0]?.message).toContain("github.event.comment.body");
    expect(found[0]?.fix).toContain("env: { VALUE: ${{ github.event.comment.body }} }");
  });

  it("flags pull_request_target checking out the untrusted head, and self-hosted runners on fork events", () => {
    const text = `on: pull_request_target
permissions: read-all
jobs:
  a:
    runs-on: [self-hosted, linux]
    steps:
      - uses: actions/checkout@v4
        with:
          ref: \${{ github.event.pull_request.head.sha }}
`;
    expect(codes(text)).toEqual(["5:14 security/self-hosted-fork", "9:16 security/dangerous-checkout"]);
    expect(lint(text).find((d) => d.code === "security/dangerous-checkout")?.severity).toBe("error");
    // The same checkout under pull_request is fine.
    expect(codes(text.replace("pull_request_target", "push"))).toEqual([]);
  });

  it("flags plaintext credentials by format and by entropy under a secret-like key", () => {
    const text = `on: push
permissions: read-all
env:
  AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPLE
  API_TOKEN: "q8Zr3vN0xK7pLw2mYt5bHj9c"
  GREETING: hello-world-hello-world
  TOKEN_FROM_SECRETS: \${{ secrets.TOKEN }}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo ok
        env:
          GH: ghp_0123456789abcdefghijABCDEFGHIJ012345
`;
    expect(codes(text)).toEqual(["4:22 security/plaintext-secret", "5:14 security/plaintext-secret", "14:15 security/plaintext-secret"]);
  });

  it("flags secrets: inherit to a reusable workflow of another repository", () => {
    const text = `on: push
permissions: read-all
jobs:
  local:
    uses: ./.github/workflows/deploy.yml
    secrets: inherit
  remote:
    uses: other/repo/.github/workflows/deploy.yml@0123456789abcdef0123456789abcdef01234567
    secrets: inherit
`;
    expect(codes(text)).toEqual(["9:14 security/secrets-inherit"]);
  });

  it("writes SARIF 2.1.0 with the rules and each finding's location", () => {
    const sarif = toSarif(lint(SAFE.replace("@0123456789abcdef0123456789abcdef01234567", "@main")), { name: "slipway", version: "0.1.0", rules: SECURITY_RULES }) as {
      version: string;
      runs: Array<{ tool: { driver: { rules: Array<{ id: string }> } }; results: Array<{ ruleId: string; ruleIndex: number; level: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }> }> }>;
    };
    expect(sarif.version).toBe("2.1.0");
    const run = sarif.runs[0];
    expect(run?.tool.driver.rules.map((r) => r.id)).toContain("security/unpinned-action");
    expect(run?.results).toEqual([
      expect.objectContaining({ ruleId: "security/unpinned-action", level: "warning", locations: [{ physicalLocation: { artifactLocation: { uri: ".github/workflows/x.yml" }, region: { startLine: 11, startColumn: 15 } } }] }),
    ]);
    expect(run?.tool.driver.rules[run.results[0]?.ruleIndex ?? -1]?.id).toBe("security/unpinned-action");
  });

  it("writes SARIF that SARIF 2.1.0's JSON schema accepts, with a finding of every rule", () => {
    const text = `on: [pull_request_target, issue_comment]
permissions: write-all
env:
  API_TOKEN: "q8Zr3vN0xK7pLw2mYt5bHj9c"
jobs:
  a:
    runs-on: [self-hosted]
    steps:
      - uses: someone/tool@v2
      - uses: actions/checkout@v4
        with:
          ref: \${{ github.event.pull_request.head.sha }}
      - run: echo "\${{ github.event.comment.body }}"
  b:
    uses: other/repo/.github/workflows/deploy.yml@0123456789abcdef0123456789abcdef01234567
    secrets: inherit
`;
    const found = lint(text);
    const noPermissions = lint("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n");
    const all = [...found, ...noPermissions];
    expect(new Set(all.map((d) => d.code))).toEqual(new Set(Object.keys(SECURITY_RULES)));
    const sarif = toSarif(all, { name: "slipway", version: "0.1.0", rules: SECURITY_RULES });
    expect(validateSarif(sarif), JSON.stringify(validateSarif.errors)).toBe(true);
    expect(validateSarif(toSarif([], { name: "slipway", version: "0.1.0", rules: SECURITY_RULES })), JSON.stringify(validateSarif.errors)).toBe(true);
    // The schema is not a formality: a result with a level SARIF does not have fails it.
    const broken = JSON.parse(JSON.stringify(sarif)) as { runs: Array<{ results: Array<{ level: string }> }> };
    (broken.runs[0]?.results[0] as { level: string }).level = "fatal";
    expect(validateSarif(broken)).toBe(false);
  });
});
