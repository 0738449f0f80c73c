// Reads a YAML document node by node, keeping positions: every problem
// becomes a diagnostic at its line and column with the field path and a fix.
// Nothing here throws on user input.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type { Parsed } from "./duration.js";
import type { DeliveryDiagnostic, Position } from "./model.js";
import { suggest } from "./suggest.js";

/** A place in the document: the value (absent or null when nothing is written), its field path, and its key for positions. */
export interface Slot {
  node: Node | null;
  path: string;
  key?: Node;
}

export interface Fields {
  slot: Slot;
  /** The entries in file order. */
  entries: (Slot & { name: string })[];
  get(name: string): Slot | undefined;
}

const SIMPLE_KEY = /^[A-Za-z0-9_-]+$/;

export function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  const part = SIMPLE_KEY.test(key) ? key : JSON.stringify(key);
  if (path === "") return part;
  return SIMPLE_KEY.test(key) ? `${path}.${part}` : `${path}[${part}]`;
}

/** How a value reads in a message: `a mapping`, `the number 5`, `the string 'x'`. */
export function describe(node: Node | null): string {
  if (node === null || (isScalar(node) && node.value === null)) return "nothing";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === "string") return `the string '${v.length > 40 ? v.slice(0, 40) + "…" : v}'`;
    if (typeof v === "number") return `the number ${v}`;
    if (typeof v === "boolean") return String(v);
    return `the value ${String(v)}`;
  }
  return "a value";
}

export class Reader {
  readonly diagnostics: DeliveryDiagnostic[] = [];
  readonly root: Slot | undefined;
  private readonly lines = new LineCounter();
  private readonly doc: Document.Parsed;
  private readonly reportedAliases = new Set<Node>();

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: false, prettyErrors: true });
    const first = this.doc.errors[0];
    if (first) {
      // One syntax error: the ones after it are usually its echoes.
      const pos = first.linePos?.[0] ?? { line: 0, col: 0 };
      const message = first.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      this.diagnostics.push({
        code: "yaml-syntax",
        severity: "error",
        message,
        file,
        line: pos.line,
        column: pos.col,
        path: "",
        fix: first.code === "MULTIPLE_DOCS" ? "keep one YAML document: remove the `---` separator" : "fix the YAML syntax at this position (indentation, quotes, brackets); quote values that start with > or contain ': '",
      });
      return;
    }
    this.root = { node: (this.doc.contents as Node | null) ?? null, path: "" };
  }

  position(node: Node | null | undefined): Position {
    const offset = node?.range?.[0];
    if (offset === undefined) return { line: 0, column: 0 };
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /** Where a slot's problem is shown: its value, or its key when no value is written. */
  private where(slot: Slot): Position {
    const n = slot.node;
    const written = n !== null && !(isScalar(n) && n.value === null && n.range && n.range[0] === n.range[1]);
    return this.position(written ? n : (slot.key ?? n));
  }

  report(severity: "error" | "warning", at: Slot | Node, code: string, message: string, fix?: string, path?: string): void {
    const isSlot = (x: Slot | Node): x is Slot => "path" in x && !("range" in x);
    const pos = isSlot(at) ? this.where(at) : this.position(at);
    const p = path ?? (isSlot(at) ? at.path : "");
    this.diagnostics.push({ code, severity, message: p ? `${p}: ${message}` : message, file: this.file, line: pos.line, column: pos.column, path: p, ...(fix ? { fix } : {}) });
  }

  error(at: Slot, code: string, message: string, fix?: string): void {
    // An alias to no anchor is reported once, not again as a missing value.
    if (code !== "yaml-alias" && at.node && isAlias(at.node) && !at.node.resolve(this.doc)) return;
    this.report("error", at, code, message, fix);
  }

  warn(at: Slot, code: string, message: string, fix?: string): void {
    this.report("warning", at, code, message, fix);
  }

  get hasErrors(): boolean {
    return this.diagnostics.some((d) => d.severity === "error");
  }

  /** The node a slot holds with aliases resolved; null when nothing (or `null`) is written. */
  value(slot: Slot): Node | null {
    let node = slot.node;
    if (node && isAlias(node)) {
      const target = node.resolve(this.doc);
      if (!target) {
        if (this.reportedAliases.has(node)) return null;
        this.reportedAliases.add(node);
        this.error(slot, "yaml-alias", `the alias *${node.source} refers to no anchor`, `define &${node.source} before it, or write the value out`);
        return null;
      }
      node = target as Node;
    }
    if (node === null || (isScalar(node) && node.value === null)) return null;
    return node;
  }

  isEmpty(slot: Slot): boolean {
    const n = slot.node && isAlias(slot.node) ? slot.node.resolve(this.doc) : slot.node;
    return !n || (isScalar(n) && n.value === null);
  }

  private typeError(slot: Slot, expected: string, fix?: string): undefined {
    this.error(slot, "wrong-type", `expected ${expected}, got ${describe(this.value(slot))}`, fix ?? `write ${expected}`);
    return undefined;
  }

  /**
   * A mapping with the given keys: unknown keys are reported (with the
   * closest known key), duplicates too, and missing required keys at the
   * mapping's key.
   */
  map(slot: Slot, known: readonly string[], options: { required?: readonly string[]; what?: string } = {}): Fields | undefined {
    const node = this.value(slot);
    if (!node || !isMap(node)) return this.typeError(slot, options.what ?? "a mapping", known.length > 0 ? `write a mapping with the keys ${known.join(", ")}` : undefined);
    const entries: Fields["entries"] = [];
    const seen = new Map<string, Node>();
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      if (!key || !isScalar(key) || (typeof key.value !== "string" && typeof key.value !== "number")) {
        this.report("error", key ?? node, "bad-key", "a key must be a plain name", "use a plain string as the key", slot.path);
        continue;
      }
      const name = String(key.value);
      const path = childPath(slot.path, name);
      if (seen.has(name)) {
        const first = this.position(seen.get(name));
        this.report("error", key, "duplicate-key", `'${name}' is given twice (first at line ${first.line})`, "remove one of them", path);
        continue;
      }
      seen.set(name, key);
      if (known.length > 0 && !known.includes(name)) {
        const close = name === "<<" ? undefined : suggest(name, known);
        const fix = name === "<<" ? "merge keys are not supported: write the keys out" : close ? `did you mean '${close}'?` : `known keys: ${known.join(", ")}`;
        this.report("error", key, "unknown-key", `unknown key '${name}'`, fix, path);
        continue;
      }
      entries.push({ name, node: (pair.value as Node | null) ?? null, path, key });
    }
    for (const r of options.required ?? []) {
      if (!seen.has(r)) this.error(slot, "missing-key", `'${r}' is required`, `add '${r}:'`);
    }
    const byName = new Map(entries.map((e) => [e.name, e]));
    return { slot, entries, get: (name) => byName.get(name) };
  }

  /** A mapping whose keys are names chosen by the user (services, environments, env variables). */
  named(slot: Slot, what: string): Fields | undefined {
    return this.map(slot, [], { what });
  }

  /** The items of a list; `single` also accepts one item written without a list. */
  list(slot: Slot, options: { single?: boolean; what?: string } = {}): Slot[] | undefined {
    const node = this.value(slot);
    if (node && isSeq(node)) return node.items.map((item, i) => ({ node: (item as Node | null) ?? null, path: childPath(slot.path, i), ...(slot.key ? { key: slot.key } : {}) }));
    if (node && options.single) return [{ ...slot, node }];
    return this.typeError(slot, options.what ?? "a list");
  }

  private scalar(slot: Slot): unknown {
    const node = this.value(slot);
    return node && isScalar(node) ? node.value : undefined;
  }

  string(slot: Slot, options: { what?: string; allowEmpty?: boolean; pattern?: RegExp; fix?: string } = {}): string | undefined {
    const v = this.scalar(slot);
    if (typeof v !== "string") return this.typeError(slot, options.what ?? "a string", options.fix);
    if (!options.allowEmpty && v.trim() === "") {
      this.error(slot, "empty-value", "must not be empty", options.fix ?? `write ${options.what ?? "a value"}`);
      return undefined;
    }
    if (options.pattern && !options.pattern.test(v)) {
      this.error(slot, "bad-value", `'${v}' is not ${options.what ?? "valid here"}`, options.fix);
      return undefined;
    }
    return v;
  }

  /** A string, or a number or boolean read as its text (environment variable values). */
  text(slot: Slot, what = "a string"): string | undefined {
    const v = this.scalar(slot);
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v);
    return this.typeError(slot, what, "write a string, number or boolean");
  }

  bool(slot: Slot): boolean | undefined {
    const v = this.scalar(slot);
    if (typeof v === "boolean") return v;
    const hint = typeof v === "string" && /^(yes|no|on|off|y|n)$/i.test(v) ? ` ('${v}' is a string in YAML 1.2)` : "";
    this.error(slot, "wrong-type", `expected true or false, got ${describe(this.value(slot))}${hint}`, "write true or false");
    return undefined;
  }

  int(slot: Slot, min: number, max = Number.MAX_SAFE_INTEGER, what = "a whole number"): number | undefined {
    const v = this.scalar(slot);
    if (typeof v !== "number" || !Number.isInteger(v)) {
      const fix = typeof v === "string" && /^\d+$/.test(v) ? `write ${v} without quotes` : `write a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? "" : ` to ${max}`}`;
      return this.typeError(slot, what, fix);
    }
    if (v < min || v > max) {
      this.error(slot, "out-of-range", `${v} is out of range: ${what} from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}`, `write a number from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}`);
      return undefined;
    }
    return v;
  }

  /** One of a few words, with the closest one suggested. */
  oneOf<T extends string>(slot: Slot, values: readonly T[], fixes: Partial<Record<string, string>> = {}): T | undefined {
    const v = this.scalar(slot);
    if (typeof v === "string" && (values as readonly string[]).includes(v)) return v as T;
    const close = typeof v === "string" ? suggest(v, values) : undefined;
    const special = typeof v === "string" || typeof v === "boolean" ? fixes[String(v)] : undefined;
    const fix = special ?? (close ? `did you mean '${close}'?` : `write one of: ${values.join(", ")}`);
    this.error(slot, "bad-value", `expected one of ${values.join(", ")}, got ${describe(this.value(slot))}`, fix);
    return undefined;
  }

  /** A value read by one of the small parsers (duration, threshold, cron, time zone). */
  parse<T>(slot: Slot, parser: (input: unknown) => Parsed<T>, code: string): T | undefined {
    const node = this.value(slot);
    if (!node || !isScalar(node)) {
      const r = parser(undefined);
      this.error(slot, code, r.ok ? "expected a value" : `${r.message}, got ${describe(node)}`, r.ok ? undefined : r.fix);
      return undefined;
    }
    const r = parser(node.value);
    if (r.ok) return r.value;
    this.error(slot, code, r.message, r.fix);
    return undefined;
  }
}
