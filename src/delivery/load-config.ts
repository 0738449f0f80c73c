// Reads slipway.yml from a repository and checks the files it names: the
// workflows of releases and checks, migration directories, policy keys.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import type { DeliveryConfig, DeliveryDiagnostic, Position } from "./model.js";
import { parseDeliveryConfig, type DeliveryConfigResult } from "./parse-config.js";
import { childPath } from "./reader.js";
import { suggest } from "./suggest.js";

export const CONFIG_FILES = ["slipway.yml", "slipway.yaml"] as const;

/** The path of the repository's slipway.yml (or slipway.yaml), if it has one. */
export function findDeliveryConfig(repoRoot: string): string | undefined {
  for (const f of CONFIG_FILES) {
    const p = join(repoRoot, f);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export interface LoadOptions {
  /** The file to read (default: slipway.yml at the repository root). */
  file?: string;
  /** How the file is named in diagnostics (default: its path relative to the repository). */
  display?: string;
}

export function loadDeliveryConfig(repoRoot: string, options: LoadOptions = {}): DeliveryConfigResult {
  const root = resolve(repoRoot);
  const path = options.file ? resolve(root, options.file) : findDeliveryConfig(root);
  const display = options.display ?? (path ? displayName(root, path) : "slipway.yml");
  const fail = (message: string, fix: string): DeliveryConfigResult => ({
    diagnostics: [{ code: "no-config", severity: "error", message, file: display, line: 0, column: 0, path: "", fix }],
  });
  if (!path) return fail(`no slipway.yml in ${root}`, "create slipway.yml at the repository root (see docs/slipway-yml.md)");
  let text: string;
  try {
    if (statSync(path).isDirectory()) return fail(`${display} is a directory`, "name the slipway.yml file");
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return fail(code === "ENOENT" ? `${display} does not exist` : `cannot read ${display}: ${(err as Error).message}`, "check the path and its permissions");
  }
  const result = parseDeliveryConfig(text, display);
  if (!result.config) return result;
  const problems = checkFiles(result.config, root, text);
  const diagnostics = [...result.diagnostics, ...problems];
  return problems.some((d) => d.severity === "error") ? { diagnostics } : { config: result.config, diagnostics };
}

function displayName(root: string, path: string): string {
  const rel = relative(root, path);
  return rel.startsWith("..") ? path : rel;
}

/** The files named in a valid config, checked against the repository. */
export function checkFiles(config: DeliveryConfig, repoRoot: string, text: string): DeliveryDiagnostic[] {
  const out: DeliveryDiagnostic[] = [];
  const locate = locator(text);
  const workflowsDir = join(repoRoot, ".github", "workflows");
  const workflows = existsSync(workflowsDir) ? safeList(workflowsDir) : [];
  const report = (severity: "error" | "warning", path: string[], code: string, message: string, fix: string) => {
    const pos = locate(path);
    const p = pathText(path);
    out.push({ code, severity, message: `${p}: ${message}`, file: config.file, line: pos.line, column: pos.column, path: p, fix });
  };
  const workflow = (name: string, path: string[]) => {
    if (workflows.includes(name)) return;
    const close = suggest(name, workflows);
    report("error", path, "unknown-workflow", `no workflow .github/workflows/${name}`, close ? `did you mean '${close}'?` : workflows.length > 0 ? `name one of: ${workflows.join(", ")}` : "add the workflow under .github/workflows/");
  };
  for (const [name, s] of Object.entries(config.services)) {
    if (s.release.kind === "workflow") workflow(s.release.workflow, ["services", name, "release", "workflow"]);
    if (s.migrations && !isDirectory(join(repoRoot, s.migrations.dir))) {
      report("warning", ["services", name, "migrations", "dir"], "missing-directory", `the migrations directory '${s.migrations.dir}' does not exist`, "create it or correct the path");
    }
  }
  for (const [name, e] of Object.entries(config.environments)) {
    e.checks.forEach((c, i) => {
      if (c.kind === "workflow") workflow(c.workflow, ["environments", name, "checks", String(i), "workflow"]);
    });
    e.policy.keys.forEach((k, i) => {
      if (!existsSync(join(repoRoot, k))) report("error", ["environments", name, "policy", "keys", String(i)], "missing-file", `the key file '${k}' does not exist`, "add the public key (PEM) to the repository or correct the path");
    });
  }
  return out;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch {
    return [];
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function pathText(path: string[]): string {
  return path.reduce<string>((acc, part) => childPath(acc, /^\d+$/.test(part) ? Number(part) : part), "");
}

/** Finds the line and column of a field path in the text (the config is valid, so the path exists). */
function locator(text: string): (path: string[]) => Position {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  return (path) => {
    let node = doc.contents as Node | null;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === part);
        node = (pair?.value as Node | null) ?? null;
      } else if (isSeq(node)) {
        node = (node.items[Number(part)] as Node | null) ?? null;
      }
      // A scalar written for a one-item list (`keys: k.pem`) is its own item 0.
      if (isAlias(node)) node = (node.resolve(doc) as Node | undefined) ?? null;
    }
    const offset = node?.range?.[0];
    if (offset === undefined) return { line: 0, column: 0 };
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
}
