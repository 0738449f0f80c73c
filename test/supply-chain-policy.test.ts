// slipway.yml's policy syntax for signed releases: `signed: true` and
// `provenance: { source, branch }` (issue 7) on an environment's `policy`,
// mapped onto ReleasePolicy; mistakes are diagnostics with line, column,
// field path and fix.
import { describe, expect, it } from "vitest";
import { parseDeliveryConfig } from "../src/delivery/index.js";

const config = (policy: string) => `
services:
  web:
    release: { file: build }
    run: { command: node server.js }
environments:
  prod:
    policy:
${policy}`;

describe("policy: signed and provenance", () => {
  it("maps `signed: true` and `provenance: { source, branch }` onto required signature and provenance", () => {
    const { config: c, diagnostics } = parseDeliveryConfig(config("      signed: true\n      provenance: { source: acme/web, branch: main }\n"));
    expect(diagnostics).toEqual([]);
    expect(c?.environments.prod?.policy).toEqual({ signature: "required", provenance: "required", sbom: "off", keys: [], identities: [], source: { repository: "acme/web", branch: "main" } });
  });

  it("takes a level and a builder in the provenance mapping, and the old scalar forms still", () => {
    const a = parseDeliveryConfig(config("      provenance: { source: https://github.com/acme/web, level: warn, builder: https://slipway.dev/builder/v1 }\n"));
    expect(a.diagnostics).toEqual([]);
    expect(a.config?.environments.prod?.policy).toMatchObject({ provenance: "warn", source: { repository: "https://github.com/acme/web" }, builder: "https://slipway.dev/builder/v1" });
    const b = parseDeliveryConfig(config("      signature: required\n      provenance: warn\n"));
    expect(b.config?.environments.prod?.policy).toMatchObject({ signature: "required", provenance: "warn" });
  });

  it("points at mistakes with line, column, field and fix", () => {
    const at = (text: string) => parseDeliveryConfig(config(text)).diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.path} | ${d.fix ?? ""}`);
    expect(at("      signed: true\n      signature: required\n")).toEqual(["9:15 conflicting-setting environments.prod.policy.signed | keep one: `signed: true` is `signature: required`"]);
    expect(at("      provenance: { branch: main }\n")).toEqual(["9:29 missing-field environments.prod.policy.provenance.branch | add source: OWNER/NAME, e.g. source: acme/web"]);
    expect(at("      provenance: { source: acme, branch: refs/heads/main }\n")[0]).toMatch(/^9:\d+ \S+ environments\.prod\.policy\.provenance\.source \| write owner\/name, e.g\. source: acme\/web$/);
    expect(at("      provenance: { source: acme/web, branch: refs/heads/main }\n")).toEqual([expect.stringMatching(/^9:\d+ \S+ environments\.prod\.policy\.provenance\.branch \| write the branch name without refs\/heads\/, e\.g\. branch: main$/)]);
    expect(at("      provenance: { source: acme/web, brnch: main }\n")[0]).toMatch(/environments\.prod\.policy\.provenance\.brnch/);
    expect(at("      signed: yes please\n")[0]).toMatch(/^9:15 \S+ environments\.prod\.policy\.signed/);
  });
});
