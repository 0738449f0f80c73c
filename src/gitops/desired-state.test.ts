import { describe, expect, it } from "vitest";
import { parseDesiredState, parseStatePath, serializeDesiredState, type DesiredState } from "./index.js";

const D = `sha256:${"a".repeat(64)}`;
const C = `sha256:${"c".repeat(64)}`;

describe("desired-state files", () => {
  it("round-trips through the YAML text", () => {
    const state: DesiredState = { release: "web#3", digest: D, configHash: C, strategy: "blue-green" };
    const text = serializeDesiredState("prod", "web", state);
    expect(text).toBe(`# Desired state of web in prod, written by Slipway. A commit that changes it is a promotion.\nrelease: web#3\ndigest: ${D}\nconfig_hash: ${C}\nstrategy: blue-green\n`);
    expect(parseDesiredState(text, "environments/prod/web.yaml", "web")).toEqual({ state, diagnostics: [] });
  });

  it("points at the line and column of each problem, with the fix", () => {
    const text = `release: web#3\ndigest: ${D}\nconfig_hash: 42\nstrategy: canary\nowner: me\n`;
    const { state, diagnostics } = parseDesiredState(text, "environments/prod/web.yaml", "web");
    expect(state).toBeUndefined();
    expect(diagnostics.map((d) => [d.line, d.column, d.severity, d.message])).toEqual([
      [3, 14, "error", "config_hash must be a string"],
      [5, 1, "warning", "unknown key 'owner' in a desired-state file (ignored)"],
    ]);
    const missing = parseDesiredState("release: web#1\n", "f.yaml", "web").diagnostics.map((d) => d.message);
    expect(missing).toEqual(["digest is missing", "config_hash is missing", "strategy is missing"]);
    expect(parseDesiredState("- a\n", "f.yaml", "web").diagnostics[0]?.message).toContain("must be a mapping");
  });

  it("recognises only environments/<env>/<service>.yaml with valid names", () => {
    expect(parseStatePath("environments/prod/web.yaml")).toEqual({ env: "prod", service: "web" });
    expect(parseStatePath("environments/Prod/web.yaml")).toBeUndefined();
    expect(parseStatePath("environments/prod/web.yml")).toBeUndefined();
    expect(parseStatePath("environments/prod/x/web.yaml")).toBeUndefined();
    expect(parseStatePath("README.md")).toBeUndefined();
  });
});
