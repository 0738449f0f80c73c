import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ActionError, type BuiltinContext } from "./builtin-action.js";
import { parseNodeVersionRequest, parseVersion, readNodeVersionFile, satisfiesRange, setupNodeAction } from "./setup-node.js";

const hostVersion = process.versions.node;
const hostMajor = Number(hostVersion.split(".")[0]);
/** A major version the host surely is not. */
const otherMajor = hostMajor === 14 ? 12 : 14;

let tmp: string;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "slipway-setup-node-"));
});

afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface Harness {
  ctx: BuiltinContext;
  outputs: Record<string, string>;
  paths: string[];
  exported: Record<string, string>;
  logs: string[];
}

function makeCtx(inputs: Record<string, string>, env: Record<string, string> = {}): Harness {
  const workspace = join(tmp, "workspace");
  mkdirSync(workspace, { recursive: true });
  const emptyBin = join(tmp, "empty-bin");
  mkdirSync(emptyBin, { recursive: true });
  const h: Harness = { ctx: undefined as unknown as BuiltinContext, outputs: {}, paths: [], exported: {}, logs: [] };
  h.ctx = {
    inputs,
    workspace,
    env: { PATH: emptyBin, RUNNER_TEMP: join(tmp, "runner-temp"), ...env },
    repo: { root: workspace, prefix: "", sha: "0".repeat(40), ref: "refs/heads/main", defaultBranch: "main" },
    run: { id: 1, attempt: 1, jobKey: "build" },
    dataDir: join(tmp, "data"),
    log: (line) => h.logs.push(line),
    setOutput: (name, value) => {
      h.outputs[name] = value;
    },
    saveState: () => {},
    state: {},
    signal: new AbortController().signal,
    addPath: (dir) => h.paths.push(dir),
    exportVariable: (name, value) => {
      h.exported[name] = value;
    },
  };
  mkdirSync(join(tmp, "runner-temp"), { recursive: true });
  return h;
}

describe("satisfiesRange", () => {
  const cases: Array<[string, string, boolean]> = [
    ["20.20.2", "20", true],
    ["20.20.2", "20.x", true],
    ["20.20.2", "20.20", true],
    ["20.20.2", "20.19", false],
    ["20.20.2", "v20.20.2", true],
    ["20.20.2", "=20.20.2", true],
    ["20.20.2", "20.20.1", false],
    ["20.20.2", ">=18", true],
    ["20.20.2", ">= 18 <21", true],
    ["20.20.2", ">20", false],
    ["20.20.2", ">19", true],
    ["20.20.2", "<=20", true],
    ["20.20.2", "<20", false],
    ["20.20.2", "^20.1.0", true],
    ["20.20.2", "^18", false],
    ["20.20.2", "~20.20.0", true],
    ["20.20.2", "~20.19.0", false],
    ["20.20.2", "18 || 20", true],
    ["20.20.2", "16 || 18", false],
    ["20.20.2", "18.0.0 - 20", true],
    ["20.20.2", "18 - 20.1", false],
    ["20.20.2", "*", true],
    ["20.20.2", "", true],
    ["0.2.5", "^0.2.3", true],
    ["0.3.0", "^0.2.3", false],
    ["21.0.0-rc.1", "21", false],
    ["21.0.0-rc.1", ">=21.0.0-rc.0", true],
    ["21.0.0", ">21.0.0-rc.0", true],
  ];
  it.each(cases)("%s satisfies '%s': %s", (version, range, expected) => {
    expect(satisfiesRange(version, range)).toBe(expected);
  });

  it("throws for invalid ranges", () => {
    expect(() => satisfiesRange("20.0.0", "twenty")).toThrow(RangeError);
    expect(() => satisfiesRange("20.0.0", ">=")).toThrow(RangeError);
  });
});

describe("node-version requests and files", () => {
  it("interprets aliases offline", () => {
    const v20 = parseVersion("20.1.0");
    const v21 = parseVersion("21.1.0");
    if (!v20 || !v21) throw new Error("bad test versions");
    expect(parseNodeVersionRequest("lts/*").matches(v20)).toBe(true);
    expect(parseNodeVersionRequest("lts/*").matches(v21)).toBe(false);
    expect(parseNodeVersionRequest("lts/iron").matches(v20)).toBe(true);
    expect(parseNodeVersionRequest("lts/hydrogen").matches(v20)).toBe(false);
    expect(parseNodeVersionRequest("latest").matches(v21)).toBe(true);
    expect(parseNodeVersionRequest("node").note).toMatch(/offline/);
    expect(() => parseNodeVersionRequest("lts/-1")).toThrow(ActionError);
    expect(() => parseNodeVersionRequest("lts/nope")).toThrow(/unknown LTS code name/);
    expect(() => parseNodeVersionRequest("20-nightly")).toThrow(/nightly/);
    expect(() => parseNodeVersionRequest("banana")).toThrow(/not a valid version or range/);
  });

  it("reads .nvmrc, .tool-versions, package.json engines and volta", () => {
    const write = (name: string, content: string) => {
      const file = join(tmp, name);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      return file;
    };
    expect(readNodeVersionFile(write(".nvmrc", "v20.11.1\n"))).toBe("20.11.1");
    expect(readNodeVersionFile(write(".nvmrc2", "lts/iron\n"))).toBe("lts/iron");
    expect(readNodeVersionFile(write(".tool-versions", "python 3.12.0\nnodejs 18.19.0\n"))).toBe("18.19.0");
    expect(readNodeVersionFile(write("a/package.json", JSON.stringify({ engines: { node: ">=20" } })))).toBe(">=20");
    expect(readNodeVersionFile(write("b/package.json", JSON.stringify({ volta: { node: "20.1.0" }, engines: { node: ">=18" } })))).toBe("20.1.0");
    write("c/base.json", JSON.stringify({ volta: { node: "18.2.0" } }));
    expect(readNodeVersionFile(write("c/package.json", JSON.stringify({ volta: { extends: "./base.json" } })))).toBe("18.2.0");
    expect(readNodeVersionFile(write("d/package.json", JSON.stringify({ name: "x" })))).toBeUndefined();
  });
});

describe("actions/setup-node (offline)", () => {
  it.each([`${hostMajor}`, `${hostMajor}.x`, `>=${hostMajor - 2}`, hostVersion])("uses the host Node for '%s'", async (spec) => {
    const h = makeCtx({ "node-version": spec });
    await setupNodeAction.main(h.ctx);
    expect(h.paths).toEqual([dirname(process.execPath)]);
    expect(h.outputs["node-version"]).toBe(`v${hostVersion}`);
  });

  it.runIf(hostMajor % 2 === 0)("uses the host Node for 'lts/*' and logs the offline interpretation", async () => {
    const h = makeCtx({ "node-version": "lts/*" });
    await setupNodeAction.main(h.ctx);
    expect(h.outputs["node-version"]).toBe(`v${hostVersion}`);
    expect(h.logs.join("\n")).toMatch(/cannot be looked up offline/);
  });

  it("fails clearly when no installed Node satisfies the request", async () => {
    const h = makeCtx({ "node-version": `${otherMajor}` });
    const run = setupNodeAction.main(h.ctx);
    await expect(run).rejects.toThrow(ActionError);
    await expect(setupNodeAction.main(h.ctx)).rejects.toThrow(
      `node-version '${otherMajor}' is not available offline: the host has Node v${hostVersion} at ${process.execPath}; ` +
        "install the wanted version and put it on PATH, or change node-version",
    );
    expect(h.paths).toEqual([]);
    expect(h.outputs).toEqual({});
  });

  it("finds another Node on PATH when the host does not satisfy the request", async () => {
    const bin = join(tmp, "node14", "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "node"), `#!/bin/sh\necho v${otherMajor}.21.3\n`);
    chmodSync(join(bin, "node"), 0o755);
    const h = makeCtx({ "node-version": `${otherMajor}` }, { PATH: `${join(tmp, "empty-bin")}:${bin}` });
    await setupNodeAction.main(h.ctx);
    expect(h.paths).toEqual([bin]);
    expect(h.outputs["node-version"]).toBe(`v${otherMajor}.21.3`);

    const wrong = makeCtx({ "node-version": "8" }, { PATH: bin });
    await expect(setupNodeAction.main(wrong.ctx)).rejects.toThrow(`also found: v${otherMajor}.21.3 at ${join(bin, "node")}`);
  });

  it("reads node-version-file relative to the workspace", async () => {
    const h = makeCtx({ "node-version-file": ".nvmrc" });
    writeFileSync(join(h.ctx.workspace, ".nvmrc"), `v${hostVersion}\n`);
    await setupNodeAction.main(h.ctx);
    expect(h.outputs["node-version"]).toBe(`v${hostVersion}`);

    const pkg = makeCtx({ "node-version-file": "package.json" });
    writeFileSync(join(pkg.ctx.workspace, "package.json"), JSON.stringify({ engines: { node: `${otherMajor}` } }));
    await expect(setupNodeAction.main(pkg.ctx)).rejects.toThrow(`node-version '${otherMajor}' (from package.json) is not available offline`);

    const missing = makeCtx({ "node-version-file": "nope/.nvmrc" });
    await expect(setupNodeAction.main(missing.ctx)).rejects.toThrow(/node version file at: .*nope\/\.nvmrc does not exist/);
  });

  it("writes an .npmrc for registry-url and exports it", async () => {
    const h = makeCtx({ "node-version": `${hostMajor}`, "registry-url": "https://npm.example.com", scope: "acme" }, { GITHUB_REPOSITORY: "octo/project" });
    await setupNodeAction.main(h.ctx);
    const npmrc = join(tmp, "runner-temp", ".npmrc");
    expect(h.exported.NPM_CONFIG_USERCONFIG).toBe(npmrc);
    expect(h.exported.NODE_AUTH_TOKEN).toBe("XXXXX-XXXXX-XXXXX-XXXXX");
    expect(readFileSync(npmrc, "utf8").split("\n")).toEqual(["//npm.example.com/:_authToken=${NODE_AUTH_TOKEN}", "@acme:registry=https://npm.example.com/"]);
  });

  it("explains that dependency caching is done with actions/cache", async () => {
    const h = makeCtx({ "node-version": `${hostMajor}`, cache: "npm" });
    await setupNodeAction.main(h.ctx);
    expect(h.logs.some((l) => l.startsWith("##[notice]") && l.includes("actions/cache"))).toBe(true);
    expect(h.outputs["cache-hit"]).toBe("false");
    await expect(setupNodeAction.main(makeCtx({ cache: "bun" }).ctx)).rejects.toThrow(/Caching for 'bun' is not supported/);
  });

  it("uses the host Node when no version is requested", async () => {
    const h = makeCtx({});
    await setupNodeAction.main(h.ctx);
    expect(h.outputs["node-version"]).toBe(`v${hostVersion}`);
  });
});
