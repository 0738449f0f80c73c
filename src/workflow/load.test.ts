import { describe, expect, it } from "vitest";
import { parseWorkflowText } from "./load.js";

describe("parseWorkflowText", () => {
  it("reads the fields GitHub's job model drops from the template tokens", async () => {
    const { workflow, diagnostics } = await parseWorkflowText(
      "ci.yml",
      `name: CI
on: push
defaults: { run: { shell: bash, working-directory: src } }
jobs:
  build:
    runs-on: x
    timeout-minutes: 5
    continue-on-error: \${{ matrix.experimental }}
    permissions: { contents: read }
    steps:
      - id: s
        shell: python
        working-directory: app
        timeout-minutes: 1
        continue-on-error: true
        run: print(1)
      - uses: actions/cache@v4
        with: { path: x, key: k }
`,
    );
    expect(diagnostics).toEqual([]);
    expect(workflow?.name).toBe("CI");
    expect(workflow?.defaults).toEqual({ shell: "bash", workingDirectory: "src" });
    const job = workflow!.jobs[0]!;
    expect(job.timeoutMinutes).toBeDefined();
    expect(job.continueOnError).toBeDefined();
    expect(job.permissions).toBeDefined();
    const [run, uses] = job.steps;
    expect(run).toMatchObject({ id: "s", hasUserId: true, if: "success()" });
    expect(run!.shell).toBeDefined();
    expect(run!.workingDirectory).toBeDefined();
    expect(run!.location).toEqual({ file: "ci.yml", line: 11, column: 9 });
    expect(uses).toMatchObject({ uses: "actions/cache@v4", hasUserId: false });
    expect(uses!.with).toBeDefined();
  });

  it("reports only the first YAML syntax error, with its line and column", async () => {
    const { workflow, diagnostics } = await parseWorkflowText("bad.yml", "on: push\njobs:\n  a: [\n    b: c\n");
    expect(workflow).toBeUndefined();
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ code: "yaml-syntax", file: "bad.yml" });
    expect(diagnostics[0]!.line).toBeGreaterThan(0);
    expect(diagnostics[0]!.message).not.toContain("bad.yml");
  });

  it("reports every schema and expression problem with a position and a fix", async () => {
    const { diagnostics } = await parseWorkflowText(
      "e.yml",
      `on: push
jobs:
  a:
    runs-on: x
    foo: bar
    steps:
      - run: echo \${{ nope.x }}
      - run: echo \${{ fromJSON( }}
  b:
    needs: [c]
    runs-on: x
    steps: [{run: x}]
  c:
    needs: b
    runs-on: x
    steps: [{run: x}]
`,
    );
    const byCode = (code: string) => diagnostics.filter((d) => d.code === code);
    expect(byCode("unknown-key")[0]).toMatchObject({ line: 5, column: 5 });
    expect(byCode("bad-expression").map((d) => d.line)).toEqual([7, 8]);
    expect(byCode("needs-cycle").length).toBeGreaterThan(0);
    for (const d of diagnostics) expect(d.fix, d.message).toBeTruthy();
  });

  it("reports an empty file and an unknown need", async () => {
    expect((await parseWorkflowText("x.yml", "  \n")).diagnostics[0]).toMatchObject({ code: "empty-workflow" });
    const { diagnostics } = await parseWorkflowText("n.yml", "on: push\njobs:\n  r:\n    runs-on: x\n    steps: [{run: x}]\n  a:\n    needs: nope\n    runs-on: x\n    steps: [{run: x}]\n");
    expect(diagnostics[0]).toMatchObject({ code: "unknown-need", line: 7 });
    const noRoot = await parseWorkflowText("r.yml", "on: push\njobs:\n  a:\n    needs: a\n    runs-on: x\n    steps: [{run: x}]\n");
    expect(noRoot.diagnostics.some((d) => d.code === "no-root-job" && d.fix)).toBe(true);
  });
});
