import { describe, expect, it } from "vitest";
import { checkPolicy, diffLockfiles, licensePasses, parseReviewPolicy } from "./deps-review.js";
import { parseLockfile } from "./lockfiles.js";

const npmLock = (packages: Record<string, { version: string; license?: string }>) =>
  parseLockfile(
    "package-lock.json",
    JSON.stringify({
      name: "app",
      lockfileVersion: 3,
      packages: {
        "": { name: "app", dependencies: Object.fromEntries(Object.keys(packages).map((n) => [n, "*"])) },
        ...Object.fromEntries(Object.entries(packages).map(([n, p]) => [`node_modules/${n}`, { version: p.version, ...(p.license ? { license: p.license } : {}) }])),
      },
    }),
  );

describe("diffLockfiles", () => {
  it("finds added, removed, upgraded and downgraded packages, with licences", () => {
    const base = npmLock({ left: { version: "1.0.0", license: "MIT" }, up: { version: "1.2.3", license: "MIT" }, down: { version: "2.0.0" }, same: { version: "1.0.0" } });
    const head = npmLock({ up: { version: "1.10.0", license: "ISC" }, down: { version: "1.9.9" }, same: { version: "1.0.0" }, "@scope/new": { version: "0.1.0", license: "Apache-2.0" } });
    expect(diffLockfiles("package-lock.json", base, head).map((c) => [c.change, c.name, c.from ?? null, c.to ?? null, c.license ?? null])).toEqual([
      ["added", "@scope/new", null, "0.1.0", "Apache-2.0"],
      ["downgraded", "down", "2.0.0", "1.9.9", null],
      ["removed", "left", "1.0.0", null, "MIT"],
      ["upgraded", "up", "1.2.3", "1.10.0", "ISC"],
    ]);
  });

  it("a lockfile added or deleted adds or removes every package", () => {
    const lock = npmLock({ a: { version: "1.0.0" } });
    expect(diffLockfiles("package-lock.json", undefined, lock).map((c) => c.change)).toEqual(["added"]);
    expect(diffLockfiles("package-lock.json", lock, undefined).map((c) => c.change)).toEqual(["removed"]);
  });
});

describe("licensePasses", () => {
  const denyGpl = (id: string) => !/^GPL/i.test(id);
  it.each([
    ["MIT", true],
    ["GPL-3.0-only", false],
    ["MIT OR GPL-3.0-only", true],
    ["MIT AND GPL-3.0-only", false],
    ["(MIT AND GPL-2.0-only) OR Apache-2.0", true],
    ["GPL-2.0-only WITH Classpath-exception-2.0", false],
  ])("%s → %s", (expr, ok) => {
    expect(licensePasses(expr, denyGpl)).toBe(ok);
  });
});

describe("checkPolicy and parseReviewPolicy", () => {
  it("denies licences and packages (by name and by range) of added and changed packages only", () => {
    const { policy, diagnostics } = parseReviewPolicy("deny-licenses: [GPL-3.0-only, AGPL-3.0-only]\ndeny-packages:\n  - pkg:npm/%40evil/pkg\n  - lodash@<4.17.21\n", "policy.yml");
    expect(diagnostics).toEqual([]);
    const base = npmLock({ gone: { version: "1.0.0", license: "GPL-3.0-only" }, lodash: { version: "4.17.20" } });
    const head = npmLock({ "@evil/pkg": { version: "1.0.0", license: "MIT" }, copyleft: { version: "1.0.0", license: "AGPL-3.0-only" }, lodash: { version: "4.17.21" } });
    expect(checkPolicy(diffLockfiles("package-lock.json", base, head), policy).map((v) => [v.rule, v.change.name])).toEqual([
      ["deny-packages", "@evil/pkg"],
      ["deny-licenses", "copyleft"],
    ]);
    const old = npmLock({ lodash: { version: "4.17.19" } });
    // An upgrade still inside a denied range is denied; a denied licence newly added too.
    expect(checkPolicy(diffLockfiles("package-lock.json", old, base), policy).map((v) => [v.rule, v.change.name])).toEqual([
      ["deny-licenses", "gone"],
      ["deny-packages", "lodash"],
    ]);
  });

  it("allow-licenses lets only those through; a comma-separated string is a list too", () => {
    const { policy } = parseReviewPolicy("allow-licenses: MIT, Apache-2.0\n", "p.yml");
    const head = npmLock({ a: { version: "1.0.0", license: "MIT" }, b: { version: "1.0.0", license: "BSD-3-Clause" }, c: { version: "1.0.0" } });
    expect(checkPolicy(diffLockfiles("package-lock.json", undefined, head), policy).map((v) => [v.rule, v.change.name])).toEqual([["allow-licenses", "b"]]);
  });

  it("names line and column of bad keys and values", () => {
    const { diagnostics } = parseReviewPolicy("deny-licences: [MIT]\ndeny-packages: {a: 1}\nfail-on-severity: high\n", "p.yml");
    expect(diagnostics.map((d) => [d.line, d.column, d.message])).toEqual([
      [1, 1, "unknown key `deny-licences`"],
      [2, 16, "`deny-packages` must be a list of strings"],
    ]);
    expect(parseReviewPolicy("allow-licenses: [MIT]\ndeny-licenses: [GPL-3.0-only]\n", "p.yml").diagnostics[0]?.message).toMatch(/cannot both be set/);
    expect(parseReviewPolicy("a: [\n", "p.yml").diagnostics[0]?.line).toBeGreaterThan(0);
  });
});
