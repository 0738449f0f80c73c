// slipway.yml: `services.<name>.migrations.lint.disable`, the project-wide switch of `slipway migrations lint`.
import { describe, expect, it } from "vitest";
import { parseDeliveryConfig } from "../src/delivery/index.js";

const yml = (lint: string) =>
  `services:\n  api:\n    release: { file: api.tgz }\n    run: { command: node server.js }\n    migrations:\n      dir: db/migrations\n      database: env:DATABASE_URL\n${lint}`;

describe("migrations.lint in slipway.yml", () => {
  it("reads a list (or one id) of rule ids", () => {
    const list = parseDeliveryConfig(yml("      lint: { disable: [ban-drop-column, prefer-robust-stmts] }\n"));
    expect(list.diagnostics).toEqual([]);
    expect(list.config?.services.api?.migrations?.lint).toEqual({ disable: ["ban-drop-column", "prefer-robust-stmts"] });
    expect(parseDeliveryConfig(yml("      lint: { disable: ban-drop-column }\n")).config?.services.api?.migrations?.lint).toEqual({ disable: ["ban-drop-column"] });
    expect(parseDeliveryConfig(yml("")).config?.services.api?.migrations?.lint).toBeUndefined();
  });

  it("an unknown key or a wrong type is a diagnostic with line, column and fix", () => {
    const typo = parseDeliveryConfig(yml("      lint: { disabled: [ban-drop-column] }\n"));
    expect(typo.config).toBeUndefined();
    expect(typo.diagnostics[0]).toMatchObject({ severity: "error", line: 8, file: "slipway.yml" });
    expect(typo.diagnostics[0]!.fix).toContain("disable");
    const wrong = parseDeliveryConfig(yml("      lint: { disable: { a: 1 } }\n"));
    expect(wrong.config).toBeUndefined();
    expect(wrong.diagnostics[0]).toMatchObject({ severity: "error", line: 8 });
  });
});
