// `slipway affected --json` next to the real `turbo ls --affected --output=json`
// (npm package turbo 2.11, offline, --skip-infer, TURBO_SCM_BASE=main and
// TURBO_SCM_HEAD=HEAD) on the monorepos test/affected.test.ts generates, one
// scenario per rule. The test prints a table of where the two differ and
// asserts the differences exactly, so a change in either tool is noticed;
// docs/affected.md ("Compared with turbo") explains each one.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { CYCLE, lock, NPM, pkg, PNPM, pnpmLock, removeRepos, repo, rootJson, sh, VERSION_BUMP, write, YARN, yarnLock, type Files } from "./helpers/monorepo.js";
import { runTurbo } from "./helpers/turbo.js";

afterAll(removeRepos);

interface Scenario {
  name: string;
  base: Files;
  change: (dir: string) => void;
}

/**
 * turbo 2 needs to know the package manager: where no lockfile tells it (or two
 * do, yarn's and bun's), the root package.json says it. The field is in the
 * base and the head alike, so it changes nothing for slipway.
 */
const withPackageManager = (files: Files, manager = "npm@10.0.0"): Files => ({ ...files, "package.json": { ...(files["package.json"] as object), packageManager: manager } });

/** NPM without the root package's dependency on @acme/ui. */
const NPM_NO_ROOT_DEPENDENCY: Files = { ...NPM, "package.json": pkg("root", { private: true, workspaces: ["packages/*", "apps/*"], scripts: { build: "tsc -b" } }) };

/** NPM's lockfile with every workspace package in it, as npm writes it (NPM's own lists only some). */
function completeLock(lodash: string, looseEnvify: string): object {
  const l = lock(lodash, looseEnvify) as { packages: Record<string, object> };
  for (const [path, content] of Object.entries(NPM)) {
    if (!path.endsWith("/package.json")) continue;
    const dir = path.slice(0, -"/package.json".length);
    const manifest = content as { name: string };
    l.packages[dir] = manifest;
    l.packages[`node_modules/${manifest.name}`] = { resolved: dir, link: true };
  }
  return l;
}
const NPM_COMPLETE_LOCK: Files = { ...NPM, "package-lock.json": completeLock("4.17.20", "1.4.0") };

const SCENARIOS: Scenario[] = [
  { name: "source change", base: NPM, change: (d) => write(d, { "packages/solo/src/a.ts": "export const a = 2;\n" }) },
  { name: "transitive dependents, every kind", base: NPM, change: (d) => write(d, { "packages/lib/index.js": "export const lib = 2;\n" }) },
  { name: "lockfile: one package's dependency", base: NPM, change: (d) => write(d, { "package-lock.json": lock("4.17.21", "1.4.0") }) },
  { name: "lockfile: a transitive dependency", base: NPM, change: (d) => write(d, { "package-lock.json": lock("4.17.20", "1.4.1") }) },
  { name: "transitive dependents, no root dependency", base: NPM_NO_ROOT_DEPENDENCY, change: (d) => write(d, { "packages/lib/index.js": "export const lib = 2;\n" }) },
  { name: "complete lockfile: one package's dependency", base: NPM_COMPLETE_LOCK, change: (d) => write(d, { "package-lock.json": completeLock("4.17.21", "1.4.0") }) },
  { name: "complete lockfile: a transitive dependency", base: NPM_COMPLETE_LOCK, change: (d) => write(d, { "package-lock.json": completeLock("4.17.20", "1.4.1") }) },
  { name: "root package.json: a dependency added", base: NPM, change: (d) => write(d, { "package.json": rootJson({ devDependencies: { "@acme/ui": "*", typescript: "^5" } }) }) },
  { name: "root package.json: scripts", base: NPM, change: (d) => write(d, { "package.json": rootJson({ scripts: { build: "tsc -b", lint: "eslint ." } }) }) },
  { name: "root package.json: workspaces", base: NPM, change: (d) => write(d, { "package.json": rootJson({ workspaces: ["packages/*", "apps/*", "tools/*"] }) }) },
  { name: "root global file", base: NPM, change: (d) => write(d, { "tsconfig.base.json": '{ "compilerOptions": {} }\n' }) },
  { name: "root package's own files", base: NPM, change: (d) => write(d, { "scripts/release.sh": "echo v2\n", "README.md": "# acme 2\n" }) },
  { name: "renamed file across packages", base: NPM, change: (d) => sh(d, "mv", "packages/solo/src/a.ts", "apps/docs/a.ts") },
  { name: "deleted file", base: NPM, change: (d) => write(d, { "packages/solo/src/a.ts": null }) },
  { name: "package moved", base: NPM, change: (d) => sh(d, "mv", "packages/solo", "packages/solo2") },
  { name: "package removed", base: NPM, change: (d) => rmSync(join(d, "packages/solo"), { recursive: true }) },
  { name: "version bump out of a range", base: withPackageManager(VERSION_BUMP), change: (d) => write(d, { "packages/a/package.json": { name: "a", version: "2.0.0" } }) },
  { name: "cycle", base: withPackageManager(CYCLE), change: (d) => write(d, { "packages/c/x.js": "2\n" }) },
  { name: "pnpm: source change", base: PNPM, change: (d) => write(d, { "packages/core/x.js": "2\n" }) },
  { name: "pnpm: lockfile change", base: PNPM, change: (d) => write(d, { "pnpm-lock.yaml": pnpmLock("4.17.21") }) },
  { name: "yarn: lockfile change", base: YARN, change: (d) => write(d, { "yarn.lock": yarnLock("4.17.21") }) },
  { name: "yarn: source change", base: YARN, change: (d) => write(d, { "libs/one/x.js": "1\n" }) },
  { name: "bun.lock added", base: withPackageManager(YARN, "yarn@1.22.22"), change: (d) => write(d, { "bun.lock": "{}\n" }) },
];

/** The workspace packages of NPM (all but the root). */
const NPM_PACKAGES = ["@acme/alias", "@acme/alias-old", "@acme/docs", "@acme/lib", "@acme/linked", "@acme/opt", "@acme/peer", "@acme/registry-lib", "@acme/solo", "@acme/ui", "@acme/web"];
const without = (names: string[], name: string) => names.filter((n) => n !== name);

/**
 * Where they differ, by scenario: the packages only slipway marks, and those
 * only turbo marks. Scenarios not listed agree. Each is explained in
 * docs/affected.md, "Compared with turbo".
 */
const KNOWN_DIFFERENCES: Record<string, { onlySlipway: string[]; onlyTurbo: string[] }> = {
  // turbo: the root package.json depends on @acme/ui, which the change reaches, so every package is affected; it never lists the root package.
  "transitive dependents, every kind": { onlySlipway: ["root"], onlyTurbo: ["@acme/alias-old", "@acme/registry-lib", "@acme/solo"] },
  // turbo ignores peerDependencies, `link:` and `npm:` aliases.
  "transitive dependents, no root dependency": { onlySlipway: ["@acme/alias", "@acme/linked", "@acme/peer"], onlyTurbo: [] },
  // NPM's lockfile lacks some workspaces: turbo cannot compute closures and marks every package; slipway reads what is there.
  "lockfile: one package's dependency": { onlySlipway: [], onlyTurbo: without(NPM_PACKAGES, "@acme/solo") },
  "lockfile: a transitive dependency": { onlySlipway: [], onlyTurbo: without(NPM_PACKAGES, "@acme/web") },
  // turbo ignores changes to the root package.json (even its workspaces), to root files and to the root package.
  "root package.json: a dependency added": { onlySlipway: ["root"], onlyTurbo: [] },
  "root package.json: scripts": { onlySlipway: ["root"], onlyTurbo: [] },
  "root package.json: workspaces": { onlySlipway: [...NPM_PACKAGES, "root"].sort(), onlyTurbo: [] },
  "root global file": { onlySlipway: [...NPM_PACKAGES, "root"].sort(), onlyTurbo: [] },
  "root package's own files": { onlySlipway: ["root"], onlyTurbo: [] },
  // turbo reads the head's graph only: b's range no longer names the workspace's a, so b is not its dependent there.
  "version bump out of a range": { onlySlipway: ["b"], onlyTurbo: [] },
  // slipway cannot read this bun.lock ("{}") and marks everything; turbo (told yarn is the package manager) sees a root file.
  "bun.lock added": { onlySlipway: ["one", "root", "three", "two"], onlyTurbo: [] },
};

async function slipwayAffected(dir: string): Promise<string[]> {
  const r = await runCli(["affected", "--base", "main", "--json"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { packages: { name: string }[] }).packages.map((p) => p.name).sort();
}

async function turboAffected(dir: string): Promise<string[]> {
  const r = await runTurbo(["ls", "--affected", "--output=json", "--dangerously-disable-package-manager-check"], dir, { TURBO_SCM_BASE: "main", TURBO_SCM_HEAD: "HEAD", TURBO_ALLOW_NO_TURBO_JSON: "1" });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const items = (JSON.parse(r.stdout) as { packages: { items: { name: string; path: string }[] } }).packages.items;
  // turbo's name of the root package is `//` (its ls has not listed it in these scenarios); slipway's is the package's name, `root` here.
  return items.map((p) => (p.name === "//" ? "root" : p.name)).sort();
}

describe("slipway affected compared with turbo ls --affected", () => {
  it("records where the two differ on each generated repository", async () => {
    const compare = async (s: Scenario) => {
      const dir = repo(s.base, s.change);
      const [slipway, turbo] = await Promise.all([slipwayAffected(dir), turboAffected(dir)]);
      return { scenario: s.name, slipway, turbo, onlySlipway: slipway.filter((n) => !turbo.includes(n)), onlyTurbo: turbo.filter((n) => !slipway.includes(n)) };
    };
    // Four scenarios at a time; the rows keep the scenarios' order.
    const rows: Awaited<ReturnType<typeof compare>>[] = [];
    for (let i = 0; i < SCENARIOS.length; i += 4) rows.push(...(await Promise.all(SCENARIOS.slice(i, i + 4).map(compare))));
    const cell = (names: string[]) => (names.length === 0 ? "—" : names.join(", "));
    const table = [
      "| scenario | slipway | turbo | only slipway | only turbo |",
      "|---|---|---|---|---|",
      ...rows.map((r) => `| ${r.scenario} | ${cell(r.slipway)} | ${cell(r.turbo)} | ${cell(r.onlySlipway)} | ${cell(r.onlyTurbo)} |`),
    ].join("\n");
    console.log(`slipway affected vs turbo ls --affected (turbo 2.11):\n${table}`);
    const differences = Object.fromEntries(rows.filter((r) => r.onlySlipway.length + r.onlyTurbo.length > 0).map((r) => [r.scenario, { onlySlipway: r.onlySlipway, onlyTurbo: r.onlyTurbo }]));
    expect(differences).toEqual(KNOWN_DIFFERENCES);
  }, 180_000);
});
