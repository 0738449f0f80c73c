// A bounded fuzz test: random and mutated workflow files, and random
// expressions, fed to the in-process loader and evaluator, then a sample of
// the broken files to `slipway lint`. Bad input must never crash: the loader
// returns diagnostics (each with a file, a line and column ≥ 0 and a
// message), the evaluator returns a value or throws ExpressionFailure, and
// the CLI exits 2 without a stack trace.
//
// Deterministic: a seeded PRNG, the seed printed; FUZZ_SEED=<n> replays
// another seed, FUZZ_COUNT=<n> changes the number of workflows (the
// expression count is three times that). Bounded by count, not by time.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Diagnostic } from "../src/diagnostics/index.js";
import { ExpressionFailure, evaluateExpression, evaluateToken, type Contexts, type HostFunctions } from "../src/expressions/index.js";
import { parseWorkflowText, type Workflow } from "../src/workflow/index.js";
import { removeDir, runCli } from "./helpers/cli.js";

const DEFAULT_SEED = 0x5eed_2024;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : DEFAULT_SEED;
const WORKFLOWS = process.env.FUZZ_COUNT ? Number(process.env.FUZZ_COUNT) : 300;
const EXPRESSIONS = WORKFLOWS * 3;
const CLI_SAMPLE = 10;
console.log(`fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${WORKFLOWS} workflows, ${EXPRESSIONS} expressions`);

// ---------------------------------------------------------------------------
// PRNG (mulberry32) and helpers

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

// ---------------------------------------------------------------------------
// Expressions: a small grammar, valid and broken

const CONTEXT_PATHS = [
  "github.sha",
  "github.ref",
  "github.event_name",
  "github.event.head_commit.message",
  "github.event.commits[0].id",
  "github.event.commits.*.id",
  "env.NAME",
  "env['NAME']",
  "vars.REGION",
  "secrets.TOKEN",
  "matrix.os",
  "matrix.node",
  "strategy.fail-fast",
  "steps.build.outputs.version",
  "steps.build.outcome",
  "needs.build.result",
  "needs.build.outputs.m",
  "inputs.level",
  "runner.os",
  "job.status",
  "jobs",
  "github",
  "unknown.thing",
  "nope",
];
const FUNCTIONS = [
  "contains",
  "startsWith",
  "endsWith",
  "format",
  "join",
  "toJSON",
  "fromJSON",
  "hashFiles",
  "success",
  "failure",
  "always",
  "cancelled",
  "noSuchFunction",
];
const OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "&&", "||"];
const JSON_TEXTS = ['{"a":1}', "[1,2,3]", '"x"', "true", "null", "1e400", "{", "[1,", "", "NaN", '{"a":{"b":[{"c":null}]}}'];

function stringLiteral(rng: Rng): string {
  const raw = rng.pick(["", "a", "it's", "''", "{0}", "{{0}}", "{", "}", "ubuntu-latest", "refs/heads/main", "\u00e9\u4e2d\u{1f600}", "\\n", "${{ x }}"]);
  const s = rng.chance(0.15) ? rng.pick(JSON_TEXTS) : raw;
  return `'${s.replaceAll("'", "''")}'`;
}

function literal(rng: Rng): string {
  switch (rng.int(6)) {
    case 0:
      return rng.pick(["true", "false", "null"]);
    case 1:
      return rng.pick(["0", "1", "-1", "1.5", "0x1F", "1e3", "-0", "NaN", "Infinity", "-Infinity", ".5", "1_000", "0b11", "0o7"]);
    default:
      return stringLiteral(rng);
  }
}

function expression(rng: Rng, depth = 0): string {
  const leaf = depth > 3 || rng.chance(0.3);
  if (leaf) return rng.chance(0.5) ? literal(rng) : rng.pick(CONTEXT_PATHS);
  switch (rng.int(7)) {
    case 0: {
      const fn = rng.pick(FUNCTIONS);
      const argc = rng.int(4);
      const args = Array.from({ length: argc }, () => (fn === "fromJSON" && rng.chance(0.6) ? stringLiteral(rng) : expression(rng, depth + 1)));
      return `${fn}(${args.join(", ")})`;
    }
    case 1:
      return `${expression(rng, depth + 1)} ${rng.pick(OPERATORS)} ${expression(rng, depth + 1)}`;
    case 2:
      return `!${expression(rng, depth + 1)}`;
    case 3:
      return `(${expression(rng, depth + 1)})`;
    case 4:
      return `${rng.pick(CONTEXT_PATHS)}[${expression(rng, depth + 1)}]`;
    case 5:
      return `fromJSON(${stringLiteral(rng)})${rng.pick([".a", "[0]", ".*", ".a.b[0].c", ""])}`;
    default:
      return `format('{0}-{1}', ${expression(rng, depth + 1)}, ${expression(rng, depth + 1)})`;
  }
}

const EXPRESSION_NOISE = ["(", ")", "[", "]", ".", ",", "'", "!", "=", "<", ">", "&", "|", "*", "{", "}", "$", " ", "\n", "\t", "\0", "é", "0x", "-", "\u2028"];

/** A random expression, valid by the grammar or broken on purpose. */
function randomExpression(rng: Rng): string {
  let e = expression(rng);
  const broken = rng.int(10);
  if (broken === 0) e = e.slice(0, rng.int(e.length + 1)); // truncated
  else if (broken === 1) {
    const at = rng.int(e.length + 1);
    e = e.slice(0, at) + rng.pick(EXPRESSION_NOISE) + e.slice(at); // a stray character
  } else if (broken === 2) e = "!".repeat(1 + rng.int(300)) + e; // deep unary
  else if (broken === 3) {
    const n = 1 + rng.int(120);
    e = "(".repeat(n) + e + ")".repeat(rng.chance(0.8) ? n : rng.int(n)); // deep (maybe unbalanced) nesting
  } else if (broken === 4) e = `${e} ${rng.pick(OPERATORS)}`; // dangling operator
  else if (broken === 5) e = rng.chance(0.5) ? "" : " ".repeat(rng.int(5));
  else if (broken === 6 && rng.chance(0.3)) e = "x".repeat(25_000); // beyond the length limit
  return e;
}

const CONTEXTS: Contexts = {
  github: {
    sha: "0123456789abcdef0123456789abcdef01234567",
    ref: "refs/heads/main",
    event_name: "push",
    event: { head_commit: { message: "fix: it's done" }, commits: [{ id: "a1" }, { id: "b2" }] },
  },
  env: { NAME: "value" },
  vars: { REGION: "eu" },
  secrets: { TOKEN: "s3cr3t" },
  matrix: { os: "ubuntu-latest", node: 20 },
  strategy: { "fail-fast": true },
  steps: { build: { outputs: { version: "1.2.3" }, outcome: "success", conclusion: "success" } },
  needs: { build: { result: "success", outputs: { m: '{"os":["a","b"]}' } } },
  inputs: { level: 3 },
  runner: { os: "Linux" },
  job: { status: "success" },
};

const HOST: HostFunctions = {
  success: () => true,
  failure: () => false,
  always: () => true,
  cancelled: () => false,
  hashFiles: (patterns) => (patterns.length > 0 ? "f".repeat(64) : ""),
};

// ---------------------------------------------------------------------------
// Workflows: valid templates and mutations

const TEMPLATES = [
  `name: CI
on:
  push:
    branches: [main, 'release/**']
    paths-ignore: ['docs/**']
  pull_request:
env:
  GREETING: hello
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      version: \${{ steps.v.outputs.version }}
    steps:
      - uses: actions/checkout@v4
      - id: v
        run: echo "version=1.2.3" >> "$GITHUB_OUTPUT"
      - name: Say \${{ env.GREETING }}
        if: \${{ github.event_name == 'push' }}
        run: echo "\${{ env.GREETING }} from \${{ github.sha }}"
  test:
    needs: build
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        node: [18, 20]
        os: [ubuntu-latest]
        include:
          - node: 22
            experimental: true
    steps:
      - run: echo "\${{ matrix.node }} \${{ needs.build.outputs.version }}"
        timeout-minutes: 5
        continue-on-error: \${{ matrix.experimental == true }}
`,
  `on:
  workflow_dispatch:
    inputs:
      level:
        type: choice
        options: [low, high]
        default: low
      dry:
        type: boolean
        default: true
jobs:
  deploy:
    if: \${{ inputs.dry != true }}
    runs-on: [self-hosted, linux]
    environment: production
    concurrency:
      group: deploy-\${{ github.ref }}
      cancel-in-progress: true
    defaults:
      run:
        shell: bash
        working-directory: app
    steps:
      - uses: ./.github/actions/deploy
        with:
          level: \${{ inputs.level }}
      - run: echo done
        env:
          TOKEN: \${{ secrets.TOKEN }}
`,
  `on: [push, pull_request]
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo a
  b:
    needs: [a]
    runs-on: ubuntu-latest
    steps:
      - uses: actions/cache@v4
        with:
          path: ~/.npm
          key: npm-\${{ hashFiles('**/package-lock.json') }}
          restore-keys: npm-
  c:
    needs: [a, b]
    if: always()
    uses: ./.github/workflows/reusable.yml
    with:
      x: \${{ needs.b.result }}
    secrets: inherit
`,
  `on:
  workflow_call:
    inputs:
      x:
        type: string
        required: true
    outputs:
      out:
        value: \${{ jobs.one.outputs.o }}
  schedule:
    - cron: '0 3 * * 1'
jobs:
  one:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    outputs:
      o: \${{ steps.s.outputs.o }}
    services:
      db:
        image: postgres:16
    steps:
      - id: s
        shell: python
        run: |
          print("o=1")
`,
];

const WRONG_VALUES = ["[1, 2]", "{a: 1}", "42", "true", "null", "~", '""', "''", "- x", "|", ">-", "*anchor", "&a x", "!!binary aGk=", "${{", "${{ }}", "}}", "{{"];
const RANDOM_KEYS = ["foo", "on", "jobs", "steps", "runs-on", "needs", "if", "uses", "run", "with", "env", "strategy", "matrix", "services", "container", "permissions", "<<", "? x", "- y", "\"quoted key\"", "x y z"];
const YAML_NOISE = ["\t", ":", " :", "- ", "#", "&", "*", "!", "%", "@", "`", "|", ">", "'", '"', "{", "}", "[", "]", ",", "?", "\0", "\uFEFF", "\r", "\r\n", "\u2028"];

function randomGarbage(rng: Rng, length: number): string {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = rng.int(256);
  return bytes.toString(rng.chance(0.5) ? "utf8" : "latin1");
}

function mutate(rng: Rng, text: string): string {
  let lines = text.split("\n");
  const at = () => rng.int(lines.length);
  switch (rng.int(14)) {
    case 0: // delete a line
      lines.splice(at(), 1);
      break;
    case 1: // duplicate a line (duplicate keys)
      {
        const i = at();
        lines.splice(i, 0, lines[i] ?? "");
      }
      break;
    case 2: // insert a key at a random indentation
      lines.splice(at(), 0, `${" ".repeat(rng.int(10))}${rng.pick(RANDOM_KEYS)}: ${rng.pick(WRONG_VALUES)}`);
      break;
    case 3: // break the indentation of a line
      {
        const i = at();
        const line = lines[i] ?? "";
        lines[i] = rng.chance(0.3) ? `\t${line.trimStart()}` : rng.chance(0.5) ? ` ${line}` : line.replace(/^ {1,3}/, "");
      }
      break;
    case 4: // a wrong type for a value
      {
        const i = at();
        lines[i] = (lines[i] ?? "").replace(/:\s.*$/, `: ${rng.pick(WRONG_VALUES)}`);
      }
      break;
    case 5: // a random expression in a value
      {
        const i = at();
        const e = `\${{ ${randomExpression(rng)} }}`;
        lines[i] = /:\s/.test(lines[i] ?? "") ? (lines[i] ?? "").replace(/:\s.*$/, `: ${rng.chance(0.5) ? e : JSON.stringify(e)}`) : `${lines[i] ?? ""} ${e}`;
      }
      break;
    case 6: // truncate the file
      return text.slice(0, rng.int(text.length + 1));
    case 7: // binary garbage somewhere
      {
        const pos = rng.int(text.length + 1);
        return text.slice(0, pos) + randomGarbage(rng, 1 + rng.int(40)) + text.slice(pos);
      }
    case 8: // swap two lines
      {
        const i = at();
        const j = at();
        [lines[i], lines[j]] = [lines[j] ?? "", lines[i] ?? ""];
      }
      break;
    case 9: // a YAML special character somewhere
      {
        const pos = rng.int(text.length + 1);
        return text.slice(0, pos) + rng.pick(YAML_NOISE) + text.slice(pos);
      }
    case 10: // a needs edge to a random (possibly unknown or cyclic) job
      lines = lines.map((l) => (/^ {4}runs-on:/.test(l) && rng.chance(0.5) ? `${l}\n    needs: [${rng.pick(["a", "b", "c", "build", "test", "deploy", "one", "ghost"])}]` : l));
      break;
    case 11: // an anchor and alias, or a merge key
      lines.splice(at(), 0, rng.pick(["x: &a {b: 1}", "y: *a", "<<: *missing", "z: &loop [*loop]", "  - &s {run: echo}", "  - *s"]));
      break;
    case 12: // deep flow nesting
      {
        const n = 1 + rng.int(200);
        lines.splice(at(), 0, `deep: ${"[".repeat(n)}1${"]".repeat(rng.chance(0.8) ? n : rng.int(n))}`);
      }
      break;
    default: // a very long line
      lines.splice(at(), 0, `long: ${"x".repeat(1000 + rng.int(50_000))}`);
      break;
  }
  return lines.join("\n");
}

function randomWorkflow(rng: Rng): string {
  const kind = rng.int(20);
  if (kind === 0) return randomGarbage(rng, rng.int(2000)); // pure garbage
  if (kind === 1) return rng.pick(["", " ", "\n", "---", "--- !!str", "null", "[]", "{}", "42", "on:", "jobs:", "on: push", "...", "%YAML 1.2\n---\n"]);
  let text = rng.pick(TEMPLATES);
  if (rng.chance(0.35)) {
    // Keep the YAML valid, change only the expressions: exercises the parser's expression checks and the evaluator.
    text = text.replace(/\$\{\{[^}]*\}\}/g, () => `\${{ ${rng.chance(0.8) ? expression(rng) : randomExpression(rng)} }}`);
    if (rng.chance(0.5)) return text;
  }
  const n = rng.chance(0.5) ? 1 : 1 + rng.int(4);
  for (let i = 0; i < n; i++) text = mutate(rng, text);
  return text;
}

// ---------------------------------------------------------------------------
// Checks

interface Problem {
  input: string;
  error: string;
}

/** Diagnostics that concern the whole file and so have no line. */
const WHOLE_FILE = [/^the file is empty/];

/** JavaScript values leaking into a message (when the workflow itself does not contain the word). */
const GARBLED = /\bundefined\b|\[object \w+\]|\bNaN\b/;
function checkDiagnostic(d: Diagnostic, file: string): string | undefined {
  if (d.file !== file) return `diagnostic file is ${JSON.stringify(d.file)}, not ${file}`;
  if (!Number.isInteger(d.line) || d.line < 0) return `diagnostic line ${String(d.line)}`;
  if (!Number.isInteger(d.column) || d.column < 0) return `diagnostic column ${String(d.column)}`;
  if (typeof d.message !== "string" || d.message.trim() === "") return "empty diagnostic message";
  if (!["error", "warning", "notice"].includes(d.severity)) return `severity ${String(d.severity)}`;
  if (typeof d.code !== "string" || d.code === "") return "no diagnostic code";
  return undefined;
}

/** The problems, short enough to read; the full inputs go to a file to replay them. */
function report(kind: string, problems: Problem[]): string {
  if (problems.length === 0) return "";
  const dir = mkdtempSync(join(tmpdir(), `slipway-fuzz-${kind}-`));
  problems.forEach((p, i) => writeFileSync(join(dir, `${i}.txt`), p.input));
  return `seed ${SEED}: ${problems.length} ${kind} problems (inputs in ${dir}); first:\n${problems
    .slice(0, 3)
    .map((p) => `${p.error.slice(0, 600)}\ninput: ${JSON.stringify(p.input.slice(0, 300))}`)
    .join("\n")}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ""}` : String(err);
}

/** Evaluates every template token the runner would evaluate: only ExpressionFailure may come out. */
function evaluateWorkflowTokens(workflow: Workflow): string | undefined {
  const tokens = [workflow.env, workflow.runName, workflow.concurrency];
  for (const job of workflow.jobs) {
    tokens.push(job.name, job.env, job.strategy, job.outputs, job.runsOn, job.environment, job.concurrency, job.timeoutMinutes, job.continueOnError, job.with);
    for (const step of job.steps) tokens.push(step.name, step.run, step.with, step.env, step.shell, step.workingDirectory, step.timeoutMinutes, step.continueOnError);
  }
  const conditions = workflow.jobs.flatMap((j) => [j.if, ...j.steps.map((s) => s.if)]);
  for (const token of tokens) {
    if (token === undefined) continue;
    try {
      evaluateToken(token, CONTEXTS, HOST);
    } catch (err) {
      if (!(err instanceof ExpressionFailure)) return `evaluateToken threw ${errorText(err)}`;
    }
  }
  for (const condition of conditions) {
    try {
      evaluateExpression(condition, CONTEXTS, HOST);
    } catch (err) {
      if (!(err instanceof ExpressionFailure)) return `evaluateExpression(${JSON.stringify(condition)}) threw ${errorText(err)}`;
    }
  }
  return undefined;
}

/** The workflows of this seed, the same on every call. */
function generateWorkflows(): string[] {
  const rng = new Rng(SEED);
  return Array.from({ length: WORKFLOWS }, () => randomWorkflow(rng));
}

const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeDir));

describe(`fuzz (seed ${SEED})`, () => {
  const brokenFiles: Array<{ text: string; diagnostics: Diagnostic[] }> = [];

  it(`${WORKFLOWS} random and mutated workflows give diagnostics, never exceptions`, async () => {
    const problems: Problem[] = [];
    let valid = 0;
    let withErrors = 0;
    const withoutLine: Problem[] = [];
    const garbled: Problem[] = [];
    const texts = generateWorkflows();
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i]!;
      const file = `.github/workflows/fuzz-${i}.yml`;
      let result;
      try {
        result = await parseWorkflowText(file, text);
      } catch (err) {
        problems.push({ input: text, error: `parseWorkflowText threw ${errorText(err)}` });
        continue;
      }
      if (!Array.isArray(result.diagnostics)) {
        problems.push({ input: text, error: "no diagnostics array" });
        continue;
      }
      for (const d of result.diagnostics) {
        const bad = checkDiagnostic(d, file);
        if (bad) problems.push({ input: text, error: `${bad}: ${JSON.stringify(d)}` });
        if (d.line === 0 && !WHOLE_FILE.some((re) => re.test(d.message))) withoutLine.push({ input: text, error: JSON.stringify(d) });
        const leak = GARBLED.exec(d.message)?.[0];
        if (leak && !text.includes(leak)) garbled.push({ input: text, error: JSON.stringify(d) });
      }
      const errors = result.diagnostics.filter((d) => d.severity === "error");
      if (errors.length > 0) {
        withErrors++;
        if (result.workflow) problems.push({ input: text, error: "a workflow was returned along with errors" });
        brokenFiles.push({ text, diagnostics: result.diagnostics });
      } else if (!result.workflow) {
        problems.push({ input: text, error: "neither a workflow nor an error" });
      } else {
        valid++;
        const bad = evaluateWorkflowTokens(result.workflow);
        if (bad) problems.push({ input: text, error: bad });
      }
    }
    console.log(`fuzz: ${WORKFLOWS} workflows: ${valid} valid, ${withErrors} with errors, ${withoutLine.length} diagnostics without a line`);
    expect(problems.length, report("workflow", problems)).toBe(0);
    // A diagnostic without a line is for the whole file only (an empty file); anything else must say where.
    expect(withoutLine.length, report("no-line", withoutLine)).toBe(0);
    // Messages are written for people: no JavaScript leaking through.
    expect(garbled.length, report("garbled-message", garbled)).toBe(0);
    expect(withErrors).toBeGreaterThan(WORKFLOWS / 4);
    expect(valid).toBeGreaterThan(0);
  });

  it(`${EXPRESSIONS} random expressions give a value or ExpressionFailure, never another exception`, () => {
    const rng = new Rng(SEED ^ 0x9e3779b9);
    const problems: Problem[] = [];
    let values = 0;
    let failures = 0;
    for (let i = 0; i < EXPRESSIONS; i++) {
      const e = randomExpression(rng);
      try {
        const v = evaluateExpression(e, CONTEXTS, HOST);
        JSON.stringify(v);
        values++;
      } catch (err) {
        if (err instanceof ExpressionFailure) {
          failures++;
          if (err.message.trim() === "") problems.push({ input: e, error: "ExpressionFailure without a message" });
        } else problems.push({ input: e, error: `threw ${errorText(err)}` });
      }
    }
    console.log(`fuzz: ${EXPRESSIONS} expressions: ${values} values, ${failures} ExpressionFailures`);
    expect(problems.length, report("expression", problems)).toBe(0);
    expect(values).toBeGreaterThan(0);
    expect(failures).toBeGreaterThan(0);
  });

  it(`slipway lint exits 2 without a stack trace on ${CLI_SAMPLE} of the broken files`, async () => {
    if (brokenFiles.length === 0) {
      // Run on its own (-t): find the broken files again.
      for (const text of generateWorkflows()) {
        const r = await parseWorkflowText("x.yml", text);
        if (r.diagnostics.some((d) => d.severity === "error")) brokenFiles.push({ text, diagnostics: r.diagnostics });
      }
    }
    expect(brokenFiles.length).toBeGreaterThanOrEqual(CLI_SAMPLE);
    const dir = mkdtempSync(join(tmpdir(), "slipway-fuzz-"));
    cleanup.push(dir);
    mkdirSync(join(dir, ".github", "workflows"), { recursive: true });
    // Spread the sample over the whole list.
    const step = Math.floor(brokenFiles.length / CLI_SAMPLE);
    const sample = Array.from({ length: CLI_SAMPLE }, (_, k) => brokenFiles[k * step]!);
    const names: string[] = [];
    sample.forEach((f, k) => {
      const name = `.github/workflows/broken-${k}.yml`;
      writeFileSync(join(dir, name), f.text);
      names.push(name);
    });
    const results = await Promise.all(
      names.map(async (name) => ({ name, res: await runCli(["lint", name], { cwd: dir }) })),
    );
    for (const { name, res } of results) {
      const out = res.stdout + res.stderr;
      const context = `${name}: exit ${res.code}\n${out.slice(0, 3000)}`;
      expect(res.code, context).toBe(2);
      expect(out, context).not.toMatch(/internal error/i);
      expect(out, context).not.toMatch(/^\s{4}at /m);
      expect(out, context).toMatch(/1 file checked, [1-9]\d* errors?/);
      // Every diagnostic line names the file, with line:column when it has one.
      const lines = res.stdout.split("\n").filter((l) => / error: | warning: /.test(l));
      expect(lines.length, context).toBeGreaterThan(0);
      for (const l of lines) expect(l.startsWith(`${name}:`) || l.startsWith(`${name} `), context).toBe(true);
    }
    // All of them at once, as JSON.
    const all = await runCli(["lint", "--json"], { cwd: dir });
    expect(all.code, all.stderr).toBe(2);
    expect(all.stderr).not.toMatch(/^\s{4}at /m);
    const json = JSON.parse(all.stdout) as { files: number; diagnostics: Diagnostic[] };
    expect(json.files).toBe(CLI_SAMPLE);
    for (const d of json.diagnostics) expect(checkDiagnostic(d, d.file), JSON.stringify(d)).toBeUndefined();
    expect(new Set(json.diagnostics.map((d) => d.file)).size).toBe(CLI_SAMPLE);
  });
});

// Bugs found while writing these tests, fixed since; kept as regression tests.
describe("known bugs", () => {
  const where = async (text: string) => (await parseWorkflowText("ci.yml", text)).diagnostics.map((d) => ({ line: d.line, message: d.message }));

  // @actions/workflow-parser's YamlObjectReader skips an alias that does not
  // resolve ("the yaml library already reports an error" — it does not), so
  // the template reader throws "Expected mapping end" with no range.
  it("an unresolved YAML alias is reported at its line", async () => {
    const d = await where("on: push\njobs:\n  a:\n    runs-on: *anchor\n    steps:\n      - run: echo a\n");
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((x) => x.line === 4), JSON.stringify(d)).toBe(true);
  });

  // An explicit key (`? x`) has no value node at all: the reader gets no
  // value event and reports "Expected a scalar value, a sequence, or a
  // mapping" with no range.
  it("an explicit `? key` without a value is reported at its line", async () => {
    const d = await where("on:\n  push:\n    ? x\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo a\n");
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((x) => x.line === 3), JSON.stringify(d)).toBe(true);
  });

  // A `!!binary` or `!!timestamp` value is read as a JS object: "Unexpected
  // value type 'object' when reading object", with no range.
  it("a !!binary value is reported at its line", async () => {
    const d = await where("on: push\njobs:\n  a:\n    runs-on: !!binary aGk=\n    steps:\n      - run: echo a\n");
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((x) => x.line === 4), JSON.stringify(d)).toBe(true);
  });

  // A mapping used as a key (`? x: 1`, `? [a, b]`) is read as the key 'undefined'.
  it("a complex key is not reported as the key 'undefined'", async () => {
    const d = await where("on: push\n? [a, b]\n: 1\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo a\n");
    expect(d.length).toBeGreaterThan(0);
    expect(JSON.stringify(d)).not.toContain("undefined");
  });

  // @actions/expressions' Lexer un-escapes only the first '' of a string
  // literal; src/expressions/evaluate.ts un-escapes them all (a run script
  // with `${{ }}` becomes one format() literal).
  it("a literal with several '' escapes evaluates to the text with single quotes", () => {
    const text = "echo 'a' && echo 'b'";
    expect(evaluateExpression(`'${text.replaceAll("'", "''")}'`, {})).toBe(text);
  });

  it("a run script with quotes and ${{ }} keeps its quotes", async () => {
    const r = await parseWorkflowText("ci.yml", "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo '${{ github.sha }}' 'b'\n");
    expect(evaluateToken(r.workflow?.jobs[0]?.steps[0]?.run, { github: { sha: "abc" } })).toBe("echo 'abc' 'b'");
  });

  it("a literal with one '' escape evaluates correctly", () => {
    expect(evaluateExpression("'it''s'", {})).toBe("it's");
  });
});
