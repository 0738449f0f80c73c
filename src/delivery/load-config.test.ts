import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findDeliveryConfig, loadDeliveryConfig } from "./load-config.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "slipway-delivery-"));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const WORKFLOW = "on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{ run: echo }]\n";

describe("loadDeliveryConfig", () => {
  it("loads slipway.yml from the repository root when the files it names exist", () => {
    const dir = repo({
      ".github/workflows/ci.yml": WORKFLOW,
      ".github/workflows/e2e.yml": WORKFLOW,
      "db/migrations/001.sql": "select 1;\n",
      "keys/release.pub": "-----BEGIN PUBLIC KEY-----\n",
      "slipway.yml": `services:
  web:
    release: { workflow: ci.yml }
    run: { command: node server.js }
    migrations: { dir: db/migrations, database: env:DATABASE_URL }
environments:
  staging: { checks: [{ workflow: e2e.yml }], policy: { signature: required, keys: keys/release.pub } }
`,
    });
    expect(findDeliveryConfig(dir)).toBe(join(dir, "slipway.yml"));
    const r = loadDeliveryConfig(dir);
    expect(r.diagnostics).toEqual([]);
    expect(r.config?.file).toBe("slipway.yml");
    expect(r.config?.environments.staging?.policy.keys).toEqual(["keys/release.pub"]);
  });

  it("reports workflows and key files that do not exist, at the field that names them", () => {
    const dir = repo({
      ".github/workflows/ci.yml": WORKFLOW,
      "slipway.yaml": `services:
  web:
    release: { workflow: cl.yml }
    run: { command: node server.js }
    migrations: { dir: db/migrations, database: env:DATABASE_URL }
environments:
  staging:
    checks:
      - smoke: { get: / }
      - workflow: e2e.yml
    policy: { signature: required, keys: [keys/a.pub] }
`,
    });
    const r = loadDeliveryConfig(dir);
    expect(r.config).toBeUndefined();
    expect(r.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.severity} ${d.code} ${d.path} | ${d.fix}`)).toEqual([
      "slipway.yaml:3:26 error unknown-workflow services.web.release.workflow | did you mean 'ci.yml'?",
      "slipway.yaml:5:24 warning missing-directory services.web.migrations.dir | create it or correct the path",
      "slipway.yaml:10:19 error unknown-workflow environments.staging.checks[1].workflow | name one of: ci.yml",
      "slipway.yaml:11:43 error missing-file environments.staging.policy.keys[0] | add the public key (PEM) to the repository or correct the path",
    ]);
  });

  it("says when there is no file to read", () => {
    const dir = repo({ "README.md": "x\n" });
    expect(findDeliveryConfig(dir)).toBeUndefined();
    expect(loadDeliveryConfig(dir).diagnostics).toMatchObject([{ code: "no-config", severity: "error", file: "slipway.yml", line: 0 }]);
    expect(loadDeliveryConfig(dir, { file: "deploy/slipway.yml" }).diagnostics).toMatchObject([{ code: "no-config", message: "deploy/slipway.yml does not exist" }]);
  });

  it("returns the parser's diagnostics without checking files when the text is invalid", () => {
    const dir = repo({ "slipway.yml": "services:\n  web: { release: { workflow: nope.yml } }\n" });
    const r = loadDeliveryConfig(dir);
    expect(r.diagnostics).toMatchObject([{ code: "missing-key", line: 2, column: 8, path: "services.web", message: "services.web: 'run' is required" }]);
  });
});
