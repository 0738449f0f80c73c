// `slipway pin`: rewrites every remote `uses: owner/repo[/path]@ref` of a
// workflow or action file to the full commit SHA the ref names, keeping the
// ref as a comment (`uses: actions/checkout@<sha> # v4`), the form Dependabot
// and Renovate keep up to date. With `update`, a pin moves to the newest tag
// of the same major (the tag in its comment says which major).
//
// Only the scalar and the comment after it change: the file keeps its
// formatting, quotes and other comments. Local (`./`), `docker://` and
// built-in actions are left alone. Pure over a resolver, so tests need no
// network; the CLI resolves through the action source with `git ls-remote`.
import { isPair, isScalar, parseDocument, visit, type Scalar } from "yaml";
import type { Diagnostic } from "../diagnostics/index.js";
import type { RemoteRef } from "../actions/index.js";
import { parseRemoteUses } from "../actions/index.js";

const FULL_SHA = /^[0-9a-f]{40}$/i;
/** v4, 4, v4.2, v4.2.1 (what a tag comment or a version ref looks like). */
const VERSION = /^(v?)(\d+)(?:\.(\d+))?(?:\.(\d+))?$/;

/** The refs of owner/repo (tags and branches), or an Error saying why not. */
export type RefResolver = (owner: string, repo: string) => Promise<RemoteRef[]>;

export interface PinChange {
  file: string;
  line: number;
  column: number;
  /** The value before, e.g. `actions/checkout@v4`. */
  from: string;
  /** The value after, e.g. `actions/checkout@<sha>`. */
  to: string;
  /** The ref written as the comment. */
  tag: string;
}

export interface PinResult {
  text: string;
  changes: PinChange[];
  /** Pins left as they are, and why (already pinned without a tag comment, say). */
  notes: Diagnostic[];
  errors: Diagnostic[];
}

export interface PinOptions {
  /** Move pins to the newest tag of the same major. */
  update?: boolean;
  /** Action names (`owner/repo`) not to touch: Slipway's built-in actions. */
  builtins?: ReadonlySet<string>;
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** Line and column (1-based) of an offset. */
function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    last = i;
  }
  return { line, column: offset - last };
}

function versionParts(name: string): { prefix: string; parts: number[] } | undefined {
  const m = VERSION.exec(name);
  if (!m) return undefined;
  const parts = [m[2], m[3], m[4]].filter((p): p is string => p !== undefined).map(Number);
  return { prefix: m[1] ?? "", parts };
}

/**
 * The tag a pin should move to: for a major-only tag (`v4`), that tag itself
 * (maintainers move it to each release of the major); otherwise the highest
 * tag of the same major with as many parts (`v4.1.0` → the newest `v4.x.y`).
 */
export function newestOfMajor(current: string, refs: readonly RemoteRef[]): RemoteRef | undefined {
  const want = versionParts(current);
  if (!want) return undefined;
  const major = want.parts[0];
  let best: { ref: RemoteRef; parts: number[] } | undefined;
  for (const ref of refs) {
    if (ref.kind !== "tag") continue;
    const v = versionParts(ref.name);
    if (!v || v.prefix !== want.prefix || v.parts[0] !== major || v.parts.length !== want.parts.length) continue;
    if (!best || compareParts(v.parts, best.parts) > 0) best = { ref, parts: v.parts };
  }
  return best?.ref;
}

function compareParts(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A tag wins over a branch of the same name, as in git and on GitHub. */
function findRef(name: string, refs: readonly RemoteRef[]): RemoteRef | undefined {
  return refs.find((r) => r.kind === "tag" && r.name === name) ?? refs.find((r) => r.kind === "branch" && r.name === name);
}

/**
 * A resolver that asks `resolve` once per repository (owner/repo, any case):
 * create it once for all the files pinned, so an action used in N files costs
 * one `git ls-remote`.
 */
export function memoizeRefResolver(resolve: RefResolver): RefResolver {
  const cache = new Map<string, Promise<RemoteRef[]>>();
  return (owner, repo) => {
    const key = `${owner}/${repo}`.toLowerCase();
    let p = cache.get(key);
    if (!p) {
      p = resolve(owner, repo);
      cache.set(key, p);
    }
    return p;
  };
}

/** Pins the remote actions of one workflow or action file; `file` is the name used in messages. */
export async function pinActions(text: string, file: string, resolve: RefResolver, options: PinOptions = {}): Promise<PinResult> {
  const doc = parseDocument(text);
  const errors: Diagnostic[] = [];
  const notes: Diagnostic[] = [];
  const at = (offset: number) => ({ file, ...position(text, offset) });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const offset = e?.pos[0] ?? 0;
    errors.push({ code: "pin/yaml", severity: "error", message: `not valid YAML: ${e?.message.split("\n")[0] ?? "parse error"}`, ...at(offset), fix: "fix the YAML first (`slipway lint` shows every problem)" });
    return { text, changes: [], notes, errors };
  }
  const found: { node: Scalar<string>; value: string }[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (isPair(pair) && isScalar(pair.key) && pair.key.value === "uses" && isScalar(pair.value) && typeof pair.value.value === "string") {
        found.push({ node: pair.value as Scalar<string>, value: pair.value.value });
      }
    },
  });

  const refsOf = memoizeRefResolver(resolve);
  const edits: Edit[] = [];
  const changes: PinChange[] = [];
  for (const { node, value } of found) {
    if (value.startsWith("./") || value.startsWith("docker://")) continue;
    const uses = parseRemoteUses(value);
    const range = node.range;
    if (!uses || !range) continue;
    if (options.builtins?.has(`${uses.owner}/${uses.repo}`.toLowerCase())) continue;
    const [start, valueEnd] = range;
    const where = at(start);
    const lineEnd = text.indexOf("\n", valueEnd) === -1 ? text.length : text.indexOf("\n", valueEnd);
    const rest = text.slice(valueEnd, lineEnd);
    const comment = /^[ \t]*#[ \t]*(\S*)/.exec(rest);
    const commentTag = comment?.[1] ?? "";
    const name = value.slice(0, value.lastIndexOf("@"));
    const isSha = FULL_SHA.test(uses.ref);
    // The ref the pin stands for: the ref itself, or the tag in the comment of an existing pin.
    const tagName = isSha ? commentTag : uses.ref;
    if (isSha && !(options.update && tagName !== "")) {
      if (options.update) {
        notes.push({ code: "pin/no-tag", severity: "notice", message: `${value} is pinned without a tag comment; nothing says which major to update to`, ...where, fix: `add the tag as a comment (\`uses: ${name}@${uses.ref} # v1\`) and run \`slipway pin --update\` again` });
      }
      continue;
    }
    let refs: RemoteRef[];
    try {
      refs = await refsOf(uses.owner, uses.repo);
    } catch (err) {
      errors.push({ code: "pin/unreachable", severity: "error", message: `cannot list the tags of ${uses.owner}/${uses.repo}: ${(err as Error).message}`, ...where, fix: "check the action name, or point --action-source at a source that has it" });
      continue;
    }
    let target = options.update ? newestOfMajor(tagName, refs) : undefined;
    target ??= findRef(tagName, refs);
    if (!target) {
      errors.push({
        code: "pin/unknown-ref",
        severity: "error",
        message: `'${tagName}' is not a tag or branch of ${uses.owner}/${uses.repo}`,
        ...where,
        fix: `use an existing tag of ${uses.owner}/${uses.repo} (\`git ls-remote --tags\` lists them)`,
      });
      continue;
    }
    const to = `${name}@${target.sha}`;
    if (to === value && target.name === commentTag) continue;
    const source = text.slice(start, valueEnd);
    const quote = source.startsWith('"') || source.startsWith("'") ? source.charAt(0) : "";
    edits.push({ start, end: valueEnd, text: `${quote}${to}${quote}` });
    // The tag as the line's comment (replacing one that was there); not inside a flow mapping's line.
    if (comment || rest.trim() === "") edits.push({ start: valueEnd, end: lineEnd, text: ` # ${target.name}` });
    changes.push({ ...where, from: value, to, tag: target.name });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return { text: out, changes, notes, errors };
}
