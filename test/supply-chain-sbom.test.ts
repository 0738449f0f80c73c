// SBOM: each lockfile format read from a small fixture (test/fixtures/sbom/),
// the CycloneDX 1.6 document validated by the CycloneDX library's strict
// validator, and every package of a real lockfile listed with its hash (the
// lockfile read here independently and the sets compared).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { SbomError, generateSbom, parseLockfile, validateSbom } from "../src/supply-chain/index.js";
import { describeResult, runCli } from "./helpers/cli.js";

const FIXTURES = resolve(import.meta.dirname, "fixtures/sbom");
const ROOT = resolve(import.meta.dirname, "..");
const read = (dir: string, file: string) => readFileSync(join(FIXTURES, dir, file), "utf8");
const hex = (sri: string) => Buffer.from(sri.slice(sri.indexOf("-") + 1), "base64").toString("hex");

interface Component {
  name: string;
  version: string;
  purl: string;
  "bom-ref": string;
  hashes?: { alg: string; content: string }[];
  properties?: { name: string; value: string }[];
}
interface Bom {
  specVersion: string;
  components: Component[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

describe("lockfiles", () => {
  it("npm v3: every installed package (nested ones too), integrity → hex, dependencies by Node's lookup, links skipped", () => {
    const text = read("npm-v3", "package-lock.json");
    const lock = parseLockfile("package-lock.json", text);
    expect(lock.format).toBe("npm");
    expect(lock.packages.map((p) => `${p.name}@${p.version}`).sort()).toEqual(["@scope/util@2.1.0", "is-odd@3.0.1", "left-pad@1.1.0", "left-pad@1.3.0", "tiny-test@0.1.2"]);
    const raw = JSON.parse(text) as { packages: Record<string, { integrity?: string }> };
    const leftPad = lock.packages.find((p) => p.purl === "pkg:npm/left-pad@1.3.0");
    const [sha512, sha1] = (raw.packages["node_modules/left-pad"]?.integrity ?? "").split(" ");
    expect(leftPad?.hashes).toEqual([
      { alg: "SHA-512", content: hex(sha512 ?? "") },
      { alg: "SHA-1", content: hex(sha1 ?? "") },
    ]);
    expect(lock.packages.find((p) => p.name === "is-odd")?.hashes).toEqual([{ alg: "SHA-1", content: hex(raw.packages["node_modules/is-odd"]?.integrity ?? "") }]);
    // @scope/util finds its own nested left-pad 1.1.0, not the top-level 1.3.0.
    const util = lock.packages.find((p) => p.name === "@scope/util");
    expect(util?.purl).toBe("pkg:npm/%40scope/util@2.1.0");
    expect(util?.dependsOn.sort()).toEqual(["pkg:npm/is-odd@3.0.1", "pkg:npm/left-pad@1.1.0"]);
    expect(lock.packages.find((p) => p.name === "tiny-test")?.properties).toContainEqual({ name: "cdx:npm:package:development", value: "true" });
    expect(lock.roots).toEqual(["pkg:npm/%40scope/util@2.1.0", "pkg:npm/is-odd@3.0.1", "pkg:npm/left-pad@1.3.0", "pkg:npm/tiny-test@0.1.2"]);
  });

  it("npm v2", () => {
    const lock = parseLockfile("package-lock.json", read("npm-v2", "package-lock.json"));
    expect(lock.packages.map((p) => p.purl)).toEqual(["pkg:npm/ms@2.1.3"]);
    expect(lock.packages[0]?.hashes[0]?.alg).toBe("SHA-512");
  });

  it("pnpm v6: /name@version keys, peer suffixes stripped, dependencies from packages", () => {
    const lock = parseLockfile("pnpm-lock.yaml", read("pnpm-v6", "pnpm-lock.yaml"));
    expect(lock.format).toBe("pnpm");
    expect(lock.packages.map((p) => p.purl)).toEqual(["pkg:npm/%40types/node@20.11.5", "pkg:npm/chalk@5.3.0", "pkg:npm/react-dom@18.2.0", "pkg:npm/react@18.2.0", "pkg:npm/undici-types@5.26.5"]);
    expect(lock.packages.every((p) => p.hashes.length === 1 && p.hashes[0]?.alg === "SHA-512" && p.hashes[0].content.length === 128)).toBe(true);
    expect(lock.packages.find((p) => p.name === "react-dom")?.dependsOn).toEqual(["pkg:npm/react@18.2.0"]);
    expect(lock.roots).toEqual(["pkg:npm/%40types/node@20.11.5", "pkg:npm/chalk@5.3.0", "pkg:npm/react-dom@18.2.0"]);
  });

  it("pnpm v9: packages + snapshots, importers, an npm: alias, workspace links skipped", () => {
    const lock = parseLockfile("pnpm-lock.yaml", read("pnpm-v9", "pnpm-lock.yaml"));
    expect(lock.packages.map((p) => p.purl)).toEqual(["pkg:npm/%40babel/code-frame@7.23.5", "pkg:npm/js-tokens@4.0.0", "pkg:npm/string-width@4.2.3"]);
    expect(lock.packages.find((p) => p.name === "@babel/code-frame")?.dependsOn).toEqual(["pkg:npm/js-tokens@4.0.0"]);
    expect(lock.roots).toEqual(["pkg:npm/%40babel/code-frame@7.23.5", "pkg:npm/string-width@4.2.3"]);
  });

  it("yarn classic: integrity, the SHA-1 of `resolved` when there is no integrity, aliases, dependencies by descriptor", () => {
    const lock = parseLockfile("yarn.lock", read("yarn-classic", "yarn.lock"));
    expect(lock.format).toBe("yarn-classic");
    expect(lock.packages.map((p) => p.purl)).toEqual(["pkg:npm/%40babel/highlight@7.10.4", "pkg:npm/chalk@2.4.2", "pkg:npm/js-tokens@4.0.0", "pkg:npm/wrap-ansi@7.0.0"]);
    expect(lock.packages.find((p) => p.name === "js-tokens")?.hashes).toEqual([{ alg: "SHA-1", content: "19203fb59991df98e3a287050d4647cdeaf32499" }]);
    const highlight = lock.packages.find((p) => p.name === "@babel/highlight");
    expect(highlight?.hashes.map((h) => h.alg)).toEqual(["SHA-512", "SHA-1"]);
    expect(highlight?.dependsOn).toEqual(["pkg:npm/chalk@2.4.2", "pkg:npm/js-tokens@4.0.0"]);
  });

  it("yarn berry: workspaces skipped, its checksum kept as a property and not as a hash", () => {
    const lock = parseLockfile("yarn.lock", read("yarn-berry", "yarn.lock"));
    expect(lock.format).toBe("yarn-berry");
    expect(lock.packages.map((p) => p.purl)).toEqual(["pkg:npm/%40types/lodash@4.14.202", "pkg:npm/lodash@4.17.21"]);
    const lodash = lock.packages.find((p) => p.name === "lodash");
    expect(lodash?.hashes).toEqual([]);
    expect(lodash?.properties).toContainEqual({ name: "slipway:yarn-berry-checksum", value: expect.stringMatching(/^10c0\/[0-9a-f]{128}$/) as unknown as string });
  });

  it("a bad lockfile is an error naming the file, the line and the fix", () => {
    expect(() => parseLockfile("bad-npm/package-lock.json", read("bad-npm", "package-lock.json"))).toThrow(/^bad-npm\/package-lock\.json:4:\d+: is not valid JSON .*; regenerate it with `npm install --package-lock-only`$/);
    expect(() => parseLockfile("yarn.lock", read("bad-yarn", "yarn.lock"))).toThrow(/^yarn\.lock:5:1: expected a package header ending in ':'.*; regenerate it with `yarn install`$/);
    expect(() => parseLockfile("pnpm-lock.yaml", read("bad-pnpm", "pnpm-lock.yaml"))).toThrow(/^pnpm-lock\.yaml:\d+:\d+: is not valid YAML .*; regenerate it with `pnpm install --lockfile-only`$/);
    expect(() => parseLockfile("package-lock.json", JSON.stringify({ lockfileVersion: 1, dependencies: {} }))).toThrow(/lockfileVersion 1; Slipway reads versions 2 and 3 .*--lockfile-version 3/);
  });
});

describe("CycloneDX SBOM", () => {
  it("each fixture's SBOM is valid CycloneDX 1.6 with a dependency graph", async () => {
    for (const dir of ["npm-v3", "npm-v2", "pnpm-v6", "pnpm-v9", "yarn-classic", "yarn-berry"]) {
      const sbom = await generateSbom(join(FIXTURES, dir), { subject: { name: "web", digest: `sha256:${"a".repeat(64)}` } });
      await validateSbom(sbom.text, dir);
      const bom = sbom.bom as unknown as Bom;
      expect(bom.specVersion).toBe("1.6");
      const refs = new Set(bom.components.map((c) => c["bom-ref"]));
      for (const d of bom.dependencies) for (const on of d.dependsOn) expect(refs.has(on), `${dir}: ${d.ref} → ${on}`).toBe(true);
    }
  });

  it("the validator rejects what is not CycloneDX 1.6", async () => {
    const sbom = await generateSbom(join(FIXTURES, "npm-v2"));
    const broken = JSON.parse(sbom.text) as Bom;
    (broken.components[0]?.hashes ?? [])[0]!.content = "not hex";
    await expect(validateSbom(JSON.stringify(broken))).rejects.toThrow(/not valid CycloneDX 1\.6: \/components\/0\/hashes\/0\/content must match pattern/);
  });

  it("a bad lockfile stops the SBOM with the file and line", async () => {
    await expect(generateSbom(join(FIXTURES, "bad-yarn"))).rejects.toThrow(SbomError);
    await expect(generateSbom(join(FIXTURES, "bad-yarn"))).rejects.toThrow(/^yarn\.lock:5:1:/);
  });

  it("lists every package of Slipway's own package-lock.json with its hash (read here independently)", async () => {
    const sbom = await generateSbom(ROOT);
    expect(sbom.lockfiles).toEqual(["package-lock.json"]);
    const raw = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string; integrity?: string; link?: boolean; name?: string }> };
    const expected = new Map<string, string>();
    for (const [path, entry] of Object.entries(raw.packages)) {
      if (!path.includes("node_modules/") || entry.link) continue;
      const name = entry.name ?? path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
      const sha512 = (entry.integrity ?? "").split(" ").find((s) => s.startsWith("sha512-"));
      expected.set(`${name}@${entry.version}`, sha512 ? hex(sha512) : "");
    }
    const bom = sbom.bom as unknown as Bom;
    const listed = new Map(bom.components.map((c) => [`${c.name}@${c.version}`, c.hashes?.find((h) => h.alg === "SHA-512")?.content ?? ""]));
    expect([...listed.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, hash] of expected) expect(listed.get(key), key).toBe(hash);
    expect([...expected.values()].filter((h) => h !== "").length).toBeGreaterThan(100);
  });

  it("`slipway sbom examples` is valid and lists every package of every lockfile there", async () => {
    const res = await runCli(["sbom", "examples"], { cwd: ROOT });
    expect(res.code, describeResult(res)).toBe(0);
    expect(res.stderr).toMatch(/CycloneDX 1\.6, \d+ components from .*\(validated\)/);
    await validateSbom(res.stdout, "slipway sbom examples");
    // The lockfiles under examples/, found and read here independently.
    const lockfiles: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        if (name === "node_modules" || name === ".git") continue;
        if (statSync(full).isDirectory()) walk(full);
        else if (["package-lock.json", "pnpm-lock.yaml", "yarn.lock"].includes(name)) lockfiles.push(full);
      }
    };
    walk(join(ROOT, "examples"));
    const expected = new Set(lockfiles.flatMap((f) => parseLockfile(f, readFileSync(f, "utf8")).packages.map((p) => `${p.purl} ${p.hashes.map((h) => h.content).join(",")}`)));
    const bom = JSON.parse(res.stdout) as Bom;
    expect(new Set(bom.components.map((c) => `${c.purl} ${(c.hashes ?? []).map((h) => h.content).join(",")}`))).toEqual(expected);
    // examples/monorepo has a package-lock.json with a registry package (prettier) and its integrity.
    expect(lockfiles.map((f) => relative(ROOT, f))).toContain("examples/monorepo/package-lock.json");
    expect(bom.components.find((c) => c.purl.startsWith("pkg:npm/prettier@"))?.hashes?.[0]?.alg).toBe("SHA-512");
  });

  it("`slipway sbom DIR --output FILE` writes it; a bad lockfile exits 2 naming it", async () => {
    const bad = await runCli(["sbom", join(FIXTURES, "bad-npm")], { cwd: ROOT });
    expect(bad.code, describeResult(bad)).toBe(2);
    expect(bad.stderr).toMatch(/slipway: package-lock\.json:4:\d+: is not valid JSON/);
  });
});
