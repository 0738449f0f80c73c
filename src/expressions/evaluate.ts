// Evaluates GitHub Actions `${{ }}` expressions with @actions/expressions.
// Values cross this boundary as plain JSON-like JS values; the library's
// ExpressionData types stay inside this module.
import { Evaluator, Lexer, Parser, data } from "@actions/expressions";
import { parse as parseYaml } from "yaml";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";
import {
  isBasicExpression,
  isBoolean,
  isLiteral,
  isMapping,
  isNumber,
  isSequence,
  isString,
} from "@actions/workflow-parser";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Named contexts: github, env, vars, secrets, job, steps, runner, strategy, matrix, needs, inputs. */
export type Contexts = Record<string, Json | undefined>;

/** Functions supplied by the caller, synchronously: status functions and hashFiles. */
export interface HostFunctions {
  success?: () => boolean;
  failure?: () => boolean;
  always?: () => boolean;
  cancelled?: () => boolean;
  hashFiles?: (patterns: string[]) => string;
}

export class ExpressionFailure extends Error {
  constructor(
    message: string,
    readonly expression: string,
  ) {
    super(message);
    this.name = "ExpressionFailure";
  }
}

export function toData(value: Json | undefined): data.ExpressionData {
  if (value === null || value === undefined) return new data.Null();
  if (typeof value === "string") return new data.StringData(value);
  if (typeof value === "number") return new data.NumberData(value);
  if (typeof value === "boolean") return new data.BooleanData(value);
  if (Array.isArray(value)) return new data.Array(...value.map(toData));
  const dict = new data.Dictionary();
  for (const [k, v] of Object.entries(value)) dict.add(k, toData(v));
  return dict;
}

export function fromData(value: data.ExpressionData | undefined): Json {
  if (value === undefined) return null;
  switch (value.kind) {
    case data.Kind.Null:
      return null;
    case data.Kind.String:
      return (value as data.StringData).value;
    case data.Kind.Number:
      return (value as data.NumberData).value;
    case data.Kind.Boolean:
      return (value as data.BooleanData).value;
    case data.Kind.Array:
      return (value as data.Array).values().map(fromData);
    default: {
      const out: Record<string, Json> = {};
      for (const p of (value as data.Dictionary).pairs()) out[p.key] = fromData(p.value);
      return out;
    }
  }
}

/** String conversion as GitHub does when an expression result is interpolated. */
export function coerceToString(value: Json): string {
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return toData(value).coerceString();
  return JSON.stringify(value, null, 2);
}

/** Truthiness as in GitHub's expression language. */
export function isTruthy(value: Json): boolean {
  if (value === null) return false;
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0 && !Number.isNaN(value);
  if (typeof value === "string") return value.length > 0;
  return true;
}

const hostFunctionInfo = [
  { name: "success", minArgs: 0, maxArgs: 0 },
  { name: "failure", minArgs: 0, maxArgs: 0 },
  { name: "always", minArgs: 0, maxArgs: 0 },
  { name: "cancelled", minArgs: 0, maxArgs: 0 },
  { name: "hashFiles", minArgs: 1, maxArgs: 255 },
];

export const KNOWN_CONTEXTS = [
  "github",
  "env",
  "vars",
  "secrets",
  "job",
  "jobs",
  "steps",
  "runner",
  "strategy",
  "matrix",
  "needs",
  "inputs",
];

/** Parses an expression; throws ExpressionFailure with the library's message on syntax errors. */
export function parseExpression(expression: string) {
  return compile(expression).ast;
}

interface Compiled {
  ast: ReturnType<Parser["parse"]>;
  /** The contexts the expression may read (names that appear in it): only these are converted for the evaluator. */
  contexts: string[];
}

/** Parsed expressions by text: a workflow evaluates the same few (`success()`, `github.ref == ...`) for every step and job. */
const compiled = new Map<string, Compiled>();
const COMPILED_MAX = 2_000;

function compile(expression: string): Compiled {
  const cached = compiled.get(expression);
  if (cached !== undefined) return cached;
  let result: Compiled;
  try {
    const lexed = new Lexer(expression).lex();
    const contexts = new Set<string>();
    // @actions/expressions 0.3.61 un-escapes only the first '' of a string
    // literal (value.replace("''", "'")); a run: script becomes one format()
    // literal, so every later quote would stay doubled. Un-escape them all.
    for (const t of lexed.tokens as Array<{ lexeme: string; value?: unknown }>) {
      if (typeof t.value === "string" && t.lexeme.startsWith("'") && t.lexeme.endsWith("'") && t.lexeme.length >= 2) {
        t.value = t.lexeme.slice(1, -1).replaceAll("''", "'");
      }
      const name = t.lexeme.toLowerCase();
      if (KNOWN_CONTEXTS.includes(name)) contexts.add(name);
    }
    result = { ast: new Parser(lexed.tokens, KNOWN_CONTEXTS, hostFunctionInfo).parse(), contexts: [...contexts] };
  } catch (err) {
    throw new ExpressionFailure(`invalid expression \`${expression}\`: ${(err as Error).message}`, expression);
  }
  if (compiled.size >= COMPILED_MAX) compiled.clear();
  compiled.set(expression, result);
  return result;
}

function hostFunctionMap(fns: HostFunctions) {
  const map = new Map<string, { name: string; minArgs: number; maxArgs: number; call: (...a: data.ExpressionData[]) => data.ExpressionData }>();
  const status = (name: keyof HostFunctions) => {
    const fn = fns[name] as (() => boolean) | undefined;
    map.set(name, {
      name,
      minArgs: 0,
      maxArgs: 0,
      call: () => {
        if (!fn) throw new Error(`${name}() is not available here`);
        return new data.BooleanData(fn());
      },
    });
  };
  status("success");
  status("failure");
  status("always");
  status("cancelled");
  map.set("hashfiles", {
    name: "hashFiles",
    minArgs: 1,
    maxArgs: 255,
    call: (...args) => {
      if (!fns.hashFiles) throw new Error("hashFiles() is not available here");
      return new data.StringData(fns.hashFiles(args.map((a) => a.coerceString())));
    },
  });
  return map;
}

const ON_SECRET_READ = Symbol("slipway.onSecretRead");

/**
 * The `secrets` context with a reader: `onRead` is called with the name (as
 * stored) of each secret an expression reads, by name (`secrets.X`,
 * `secrets['X']`) or whole (`toJSON(secrets)`, `secrets.*`). For the audit
 * of which job read which secrets; the callback never sees a value.
 */
export function trackSecretReads(secrets: Record<string, string>, onRead: (name: string) => void): Record<string, string> {
  const tracked = { ...secrets };
  Object.defineProperty(tracked, ON_SECRET_READ, { value: onRead, enumerable: false });
  return tracked;
}

/** A dictionary that reports the keys read from it (see trackSecretReads). */
class ReadReportingDictionary extends data.Dictionary {
  private readonly names = new Map<string, string>();

  constructor(
    values: Record<string, string>,
    private readonly onRead: (name: string) => void,
  ) {
    super();
    for (const [k, v] of Object.entries(values)) {
      this.add(k, new data.StringData(v));
      this.names.set(k.toLowerCase(), k);
    }
  }

  override get(key: string): data.ExpressionData | undefined {
    const name = this.names.get(key.toLowerCase());
    if (name !== undefined) this.onRead(name);
    return super.get(key);
  }

  override values(): data.ExpressionData[] {
    for (const name of this.names.values()) this.onRead(name);
    return super.values();
  }

  override pairs(): ReturnType<data.Dictionary["pairs"]> {
    for (const name of this.names.values()) this.onRead(name);
    return super.pairs();
  }
}

function contextData(name: string, value: Json | undefined): data.ExpressionData {
  const onRead = name === "secrets" && value && typeof value === "object" ? (value as { [ON_SECRET_READ]?: (n: string) => void })[ON_SECRET_READ] : undefined;
  return onRead ? new ReadReportingDictionary(value as Record<string, string>, onRead) : toData(value ?? {});
}

/** Evaluates one expression (without the `${{ }}` wrapper). */
export function evaluateExpression(expression: string, contexts: Contexts, fns: HostFunctions = {}): Json {
  const { ast, contexts: used } = compile(expression);
  const dict = new data.Dictionary();
  for (const name of used) dict.add(name, contextData(name, contexts[name]));
  try {
    return fromData(new Evaluator(ast, dict, hostFunctionMap(fns) as never).evaluate());
  } catch (err) {
    throw new ExpressionFailure(`error evaluating \`${expression}\`: ${(err as Error).message}`, expression);
  }
}

/** Evaluates a template token tree (strings with `${{ }}`, mappings, sequences) to a JS value. */
export function evaluateToken(token: TemplateToken | undefined, contexts: Contexts, fns: HostFunctions = {}): Json {
  if (token === undefined) return null;
  if (isBasicExpression(token)) {
    const recovered = recoveredTemplateString(token, contexts, fns);
    return recovered !== undefined ? recovered : evaluateExpression(token.expression, contexts, fns);
  }
  if (isString(token)) return token.value;
  if (isNumber(token)) return token.value;
  if (isBoolean(token)) return token.value;
  if (isLiteral(token)) return null; // the only other literal is null
  if (isSequence(token)) {
    const out: Json[] = [];
    for (let i = 0; i < token.count; i++) out.push(evaluateToken(token.get(i), contexts, fns));
    return out;
  }
  if (isMapping(token)) {
    const out: Record<string, Json> = {};
    for (let i = 0; i < token.count; i++) {
      const pair = token.get(i);
      const key = coerceToString(evaluateToken(pair.key, contexts, fns));
      out[key] = evaluateToken(pair.value, contexts, fns);
    }
    return out;
  }
  throw new ExpressionFailure(`unsupported template token ${token.typeName()}`, "");
}

/**
 * Works around @actions/workflow-parser 0.3.61: a string with `${{ }}`
 * becomes `format('<text>', args)`, but for a multi-line scalar <text> is the
 * raw YAML source — a block scalar keeps its indentation (a heredoc
 * terminator or a Python script breaks), a quoted scalar keeps its quotes and
 * escapes, a folded one its line breaks. For such generated tokens the
 * scalar's value is recovered from its source and each `${{ }}` in it is
 * evaluated on its own. A user's own `${{ format(...) }}` is left alone.
 */
function recoveredTemplateString(token: TemplateToken, ctx: Contexts, fns: HostFunctions): string | undefined {
  const t = token as unknown as {
    originalExpressions?: unknown;
    source?: unknown;
    blockScalarHeader?: unknown;
    range?: { start: { line: number }; end: { line: number } };
  };
  if (!Array.isArray(t.originalExpressions) || typeof t.source !== "string") return undefined;
  const multiLine = t.range ? t.range.start.line !== t.range.end.line : t.source.includes("\n");
  if (!multiLine) return undefined;
  let text: unknown;
  try {
    text = parseYaml(typeof t.blockScalarHeader === "string" ? `${t.blockScalarHeader}\n${t.source}` : t.source);
  } catch {
    return undefined;
  }
  return typeof text === "string" ? interpolate(text, ctx, fns) : undefined;
}

/** Evaluates a token and converts the result to a string (for run scripts, env values, inputs). */
export function evaluateString(token: TemplateToken | undefined, contexts: Contexts, fns: HostFunctions = {}): string {
  return coerceToString(evaluateToken(token, contexts, fns));
}

/** Replaces `${{ expr }}` in a plain string (used for action.yml files and other non-template strings). */
export function interpolate(text: string, contexts: Contexts, fns: HostFunctions = {}): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf("${{", i);
    if (start < 0) break;
    const end = findClose(text, start + 3);
    if (end < 0) throw new ExpressionFailure(`unclosed \${{ in "${text}"`, text);
    out += text.slice(i, start) + coerceToString(evaluateExpression(text.slice(start + 3, end).trim(), contexts, fns));
    i = end + 2;
  }
  return out + text.slice(i);
}

function findClose(text: string, from: number): number {
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "'") inString = !inString;
    else if (!inString && c === "}" && text[i + 1] === "}") return i;
  }
  return -1;
}
