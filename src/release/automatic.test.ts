import { describe, expect, it } from "vitest";
import { parseDeliveryConfig } from "../delivery/index.js";
import { servicesReleasedBy } from "./automatic.js";

const config = parseDeliveryConfig(
  `services:
  web:
    release: { workflow: ci.yml, artifact: web }
    run: { command: node server.js }
  api:
    release: { workflow: .github/workflows/api.yml, artifact: api, branch: release }
    run: { command: node api.js }
  docs:
    release: { file: site.tar.gz }
    run: { command: ./serve }
`,
  "slipway.yml",
).config!;

const run = (workflowPath: string, ref: string, conclusion: "success" | "failure" = "success") => ({ workflowPath, ref, conclusion });

describe("servicesReleasedBy", () => {
  it("parses the test configuration", () => {
    expect(Object.keys(config.services)).toEqual(["web", "api", "docs"]);
  });

  it("releases a service whose workflow succeeded on the default branch", () => {
    expect(servicesReleasedBy(config, run(".github/workflows/ci.yml", "refs/heads/main"), "main")).toEqual(["web"]);
    expect(servicesReleasedBy(config, run(".github/workflows/ci.yml", "refs/heads/trunk"), "trunk")).toEqual(["web"]);
  });

  it("follows a configured branch and a workflow named by its path", () => {
    expect(servicesReleasedBy(config, run(".github/workflows/api.yml", "refs/heads/release"), "main")).toEqual(["api"]);
    expect(servicesReleasedBy(config, run(".github/workflows/api.yml", "refs/heads/main"), "main")).toEqual([]);
  });

  it("releases nothing from a failed run, another branch, a tag or another workflow", () => {
    expect(servicesReleasedBy(config, run(".github/workflows/ci.yml", "refs/heads/main", "failure"), "main")).toEqual([]);
    expect(servicesReleasedBy(config, run(".github/workflows/ci.yml", "refs/heads/feature"), "main")).toEqual([]);
    expect(servicesReleasedBy(config, run(".github/workflows/ci.yml", "refs/tags/v1"), "main")).toEqual([]);
    expect(servicesReleasedBy(config, run(".github/workflows/lint.yml", "refs/heads/main"), "main")).toEqual([]);
  });
});
