// Dependency review: what changed in the lockfiles between two commits
// (added, removed, upgraded, downgraded packages, with their licences where
// the lockfile has them), checked against a policy that denies licences or
// packages. The policy file uses the keys of GitHub's
// actions/dependency-review-action (`allow-licenses`, `deny-licenses`,
// `deny-packages`), so a team's existing configuration works unchanged.
import { posix } from "node:path";
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from "yaml";
import type { Diagnostic } from "../diagnostics/index.js";
import { GitError } from "../git/index.js";
import { commitTree, resolveRefs, satisfies } from "../monorepo/index.js";
import { LOCKFILE_NAMES, parseLockfile, type Lockfile, type LockPackage } from "./lockfiles.js";

export type ChangeKind = "added" | "removed" | "upgraded" | "downgraded";

export interface DependencyChange {
  lockfile: string;
  name: string;
  change: ChangeKind;
  /** The version before (removed, upgraded, downgraded). */
  from?: string;
  /** The version after (added, upgraded, downgraded). */
  to?: string;
  /** SPDX licence expression of the version after (or before, for a removal), when the lockfile has it. */
  license?: string;
  /** purl of the version after (or before, for a removal). */
  purl: string;
}

export interface DeniedPackage {
  name: string;
  /** A version or range; every version when absent. */
  version?: string;
}

export interface ReviewPolicy {
  file: string;
  /** When set, only these licences pass. */
  allowLicenses?: string[];
  denyLicenses: string[];
  denyPackages: DeniedPackage[];
}

export interface ReviewViolation {
  rule: "deny-licenses" | "allow-licenses" | "deny-packages";
  change: DependencyChange;
  message: string;
}

export interface DependencyReview {
  base: string;
  head: string;
  /** Lockfiles read (at either commit). */
  lockfiles: string[];
  changes: DependencyChange[];
  violations: ReviewViolation[];
  /** Added or changed packages whose licence the lockfile does not give (not a failure). */
  unknownLicenses: DependencyChange[];
}

/** The changes between two parsed versions of one lockfile (either may be absent: added or deleted lockfile). */
export function diffLockfiles(file: string, base: Lockfile | undefined, head: Lockfile | undefined): DependencyChange[] {
  const index = (l: Lockfile | undefined) => {
    const m = new Map<string, Map<string, LockPackage>>();
    for (const p of l?.packages ?? []) {
      let versions = m.get(p.name);
      if (!versions) m.set(p.name, (versions = new Map()));
      versions.set(p.version, p);
    }
    return m;
  };
  const before = index(base);
  const after = index(head);
  const changes: DependencyChange[] = [];
  const entry = (name: string, change: ChangeKind, p: LockPackage, from?: string, to?: string): DependencyChange => ({
    lockfile: file,
    name,
    change,
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(p.license !== undefined ? { license: p.license } : {}),
    purl: p.purl,
  });
  for (const name of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(name) ?? new Map<string, LockPackage>();
    const a = after.get(name) ?? new Map<string, LockPackage>();
    const removed = [...b.keys()].filter((v) => !a.has(v));
    const added = [...a.keys()].filter((v) => !b.has(v));
    const [oldVersion] = removed;
    const [newVersion] = added;
    if (removed.length === 1 && added.length === 1 && oldVersion !== undefined && newVersion !== undefined) {
      const newer = satisfies(newVersion, `>${oldVersion}`);
      changes.push(entry(name, newer === false ? "downgraded" : "upgraded", a.get(newVersion) as LockPackage, oldVersion, newVersion));
      continue;
    }
    for (const v of removed) changes.push(entry(name, "removed", b.get(v) as LockPackage, v));
    for (const v of added) changes.push(entry(name, "added", a.get(v) as LockPackage, undefined, v));
  }
  return changes;
}

/**
 * Whether an SPDX expression passes: `A OR B` passes when one side does,
 * `A AND B` when both do; `WITH` exceptions go with their licence.
 * Parentheses are read as grouping of AND inside OR (the common case).
 */
export function licensePasses(expression: string, allowed: (id: string) => boolean): boolean {
  const alternatives = expression.replace(/[()]/g, " ").split(/\s+OR\s+/i);
  return alternatives.some((alt) =>
    alt
      .split(/\s+AND\s+/i)
      .map((id) => id.trim().split(/\s+WITH\s+/i)[0]?.trim() ?? "")
      .filter((id) => id !== "")
      .every(allowed),
  );
}

/** The policy's verdicts on the added, upgraded and downgraded packages (removals never fail). */
export function checkPolicy(changes: readonly DependencyChange[], policy: ReviewPolicy): ReviewViolation[] {
  const out: ReviewViolation[] = [];
  const lower = (s: string) => s.toLowerCase();
  const deny = new Set(policy.denyLicenses.map(lower));
  const allow = policy.allowLicenses ? new Set(policy.allowLicenses.map(lower)) : undefined;
  for (const c of changes) {
    if (c.change === "removed" || c.to === undefined) continue;
    const version = c.to;
    const denied = policy.denyPackages.find((d) => d.name === c.name && (d.version === undefined || satisfies(version, d.version) === true));
    if (denied) {
      out.push({ rule: "deny-packages", change: c, message: `${c.name}@${version} is denied by ${policy.file} (${denied.name}${denied.version ? `@${denied.version}` : ""})` });
    }
    if (c.license === undefined) continue;
    if (deny.size > 0 && !licensePasses(c.license, (id) => !deny.has(lower(id)))) {
      out.push({ rule: "deny-licenses", change: c, message: `${c.name}@${version} is licensed ${c.license}, which ${policy.file} denies` });
    }
    if (allow && !licensePasses(c.license, (id) => allow.has(lower(id)))) {
      out.push({ rule: "allow-licenses", change: c, message: `${c.name}@${version} is licensed ${c.license}, not among the licences ${policy.file} allows` });
    }
  }
  return out;
}

const POLICY_KEYS = ["allow-licenses", "deny-licenses", "deny-packages"] as const;
/** Keys (and inputs) of actions/dependency-review-action that need GitHub's advisory database: accepted and ignored. */
export const ADVISORY_POLICY_KEYS: readonly string[] = ["fail-on-severity", "fail-on-scopes", "allow-ghsas", "vulnerability-check"];
/** Keys of actions/dependency-review-action that need data Slipway does not have offline; accepted and ignored. */
const IGNORED_KEYS: readonly string[] = [...ADVISORY_POLICY_KEYS, "license-check", "comment-summary-in-pr", "allow-dependencies-licenses", "warn-only", "show-openssf-scorecard", "warn-on-openssf-scorecard-level"];

/** Parses a policy file (YAML, the keys of actions/dependency-review-action); problems as diagnostics with line and column. */
export function parseReviewPolicy(text: string, file: string): { policy: ReviewPolicy; diagnostics: Diagnostic[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const diagnostics: Diagnostic[] = [];
  const at = (node: YamlNode | null | undefined) => {
    const pos = lines.linePos(node?.range?.[0] ?? 0);
    return { file, line: pos.line, column: pos.col };
  };
  const policy: ReviewPolicy = { file, denyLicenses: [], denyPackages: [] };
  for (const e of doc.errors) {
    const pos = lines.linePos(e.pos[0]);
    diagnostics.push({ code: "deps-policy", severity: "error", message: e.message.split("\n")[0] ?? "invalid YAML", file, line: pos.line, column: pos.col, fix: "fix the YAML syntax" });
  }
  if (diagnostics.length > 0) return { policy, diagnostics };
  const root = doc.contents;
  if (root === null) return { policy, diagnostics };
  if (!isMap(root)) {
    diagnostics.push({ code: "deps-policy", severity: "error", message: "the policy must be a mapping", ...at(root), fix: "write `deny-licenses: [GPL-3.0-only]` and the like" });
    return { policy, diagnostics };
  }
  const list = (node: unknown, key: string): string[] | undefined => {
    // A list, or a comma-separated string (as the action's inputs are written).
    if (isScalar(node) && typeof node.value === "string") return node.value.split(",").map((s) => s.trim()).filter(Boolean);
    if (isSeq(node) && node.items.every((i) => isScalar(i) && typeof i.value === "string")) return node.items.map((i) => String((i as { value: string }).value).trim());
    diagnostics.push({ code: "deps-policy", severity: "error", message: `\`${key}\` must be a list of strings`, ...at(node as YamlNode), fix: `write \`${key}: [MIT, Apache-2.0]\`` });
    return undefined;
  };
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if (IGNORED_KEYS.includes(key)) continue;
    if (!(POLICY_KEYS as readonly string[]).includes(key)) {
      diagnostics.push({ code: "deps-policy", severity: "error", message: `unknown key \`${key}\``, ...at(pair.key as YamlNode), fix: `use ${POLICY_KEYS.map((k) => `\`${k}\``).join(", ")}` });
      continue;
    }
    const values = list(pair.value, key);
    if (!values) continue;
    if (key === "allow-licenses") policy.allowLicenses = values;
    if (key === "deny-licenses") policy.denyLicenses = values;
    if (key === "deny-packages") {
      for (const v of values) {
        // pkg:npm/%40scope/name@version, or name@version, or name.
        const bare = v.startsWith("pkg:npm/") ? decodeURIComponent(v.slice("pkg:npm/".length)) : v;
        const at2 = bare.indexOf("@", bare.startsWith("@") ? 1 : 0);
        policy.denyPackages.push(at2 > 0 ? { name: bare.slice(0, at2), version: bare.slice(at2 + 1) } : { name: bare });
      }
    }
  }
  if (policy.allowLicenses && policy.denyLicenses.length > 0) {
    diagnostics.push({ code: "deps-policy", severity: "error", message: "`allow-licenses` and `deny-licenses` cannot both be set", file, line: 1, column: 1, fix: "keep one of them, as actions/dependency-review-action requires" });
  }
  return { policy, diagnostics };
}

/** Lockfiles among a commit's files (any folder but node_modules). */
function lockfilesAmong(files: readonly string[]): string[] {
  return files.filter((p) => (LOCKFILE_NAMES as readonly string[]).includes(posix.basename(p)) && !p.split("/").includes("node_modules"));
}

/** The dependency changes between two commits of the repository at `dir`, and the policy's verdicts. */
export async function reviewDependencies(dir: string, baseRef: string, headRef: string, policy?: ReviewPolicy): Promise<DependencyReview> {
  let base: string;
  let head: string;
  try {
    ({ base, head } = await resolveRefs(dir, baseRef, headRef));
  } catch (err) {
    // The ref that is not a commit, with the fix in this command's terms.
    if (err instanceof GitError && err.code === "bad-ref") {
      throw new GitError("bad-ref", err.message.replace(/; pass an existing branch, tag or commit$/, "; pass BASE..HEAD with existing branches, tags or commits"), err.args);
    }
    throw err;
  }
  // Every lockfile of the repository (`--full-tree`: prefix ""), paths from its root.
  const [baseTree, headTree] = await Promise.all([commitTree(dir, base, ""), commitTree(dir, head, "")]);
  const atBase = lockfilesAmong(baseTree.files);
  const atHead = lockfilesAmong(headTree.files);
  const files = [...new Set([...atBase, ...atHead])].sort();
  const [baseTexts, headTexts] = await Promise.all([baseTree.read(atBase), headTree.read(atHead)]);
  const parsed = (present: string[], texts: (string | undefined)[]) => {
    const out = new Map<string, Lockfile>();
    present.forEach((file, i) => {
      const text = texts[i];
      if (text !== undefined) out.set(file, parseLockfile(file, text));
    });
    return out;
  };
  const before = parsed(atBase, baseTexts);
  const after = parsed(atHead, headTexts);
  const changes: DependencyChange[] = [];
  for (const file of files) changes.push(...diffLockfiles(file, before.get(file), after.get(file)));
  return {
    base,
    head,
    lockfiles: files,
    changes,
    violations: policy ? checkPolicy(changes, policy) : [],
    unknownLicenses: changes.filter((c) => c.change !== "removed" && c.license === undefined),
  };
}
