// Test runners name source files relative to where they ran (Vitest and
// Jest: their project root; Go: the package folder; Java: the package path
// from the stack frame). This finds each relative file of a report in the
// workspace, so that annotations and `file:line` point at real files.
import { promises as fsp } from "node:fs";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import type { TestReport } from "./model.js";

/** Folders not searched for sources. */
const SKIP = new Set(["node_modules", ".git", "target", "build", "dist", "vendor", "__pycache__", ".venv", "venv"]);
const MAX_FILES = 50_000;

interface Located {
  file?: string;
  classname: string;
  report?: string;
}

/**
 * Rewrites the relative `file` of failures and cases to a path relative to
 * the workspace when the file is found: under the workspace as it is, beside
 * the report file (or in one of the report's parent folders), or as the only
 * file of the workspace ending with that path (several: the one whose folder
 * the test's class name points at). Files not found are left as they are.
 */
export async function resolveSourceFiles(report: TestReport, workspace: string): Promise<TestReport> {
  const cache = new Map<string, string>();
  let index: string[] | undefined;
  const resolveOne = async (item: Located, reportFile: string | undefined): Promise<string | undefined> => {
    const file = item.file;
    if (!file || isAbsolute(file)) return file;
    const key = `${reportFile ?? ""}\u0000${file}\u0000${item.classname}`;
    const known = cache.get(key);
    if (known !== undefined) return known;
    let found: string | undefined;
    if (await isFile(join(workspace, file))) found = file;
    for (let dir = reportFile ? dirname(reportFile) : "."; found === undefined && dir !== "." && dir !== "/" && dir !== ""; dir = dirname(dir)) {
      if (await isFile(join(workspace, dir, file))) found = join(dir, file).split(sep).join("/");
    }
    if (found === undefined) {
      index ??= await listFiles(workspace);
      const matches = index.filter((f) => f === file || f.endsWith(`/${file}`));
      if (matches.length === 1) found = matches[0];
      else if (matches.length > 1) {
        const hint = item.classname.replace(/\./g, "/");
        found = matches.find((m) => hint !== "" && dirname(m) !== "." && (hint.endsWith(dirname(m)) || hint.endsWith(`/${dirname(m).split("/").pop()}`)));
      }
    }
    const result = found ?? file;
    cache.set(key, result);
    return result;
  };
  const failures = [];
  for (const f of report.failures) {
    const file = await resolveOne(f, f.report);
    failures.push(file !== undefined ? { ...f, file } : f);
  }
  // Cases have no report file of their own: the first report file that held a failure with the same file is used.
  const reportOf = new Map(report.failures.map((f) => [f.file, f.report] as const));
  const cases = [];
  for (const c of report.cases) {
    const file = c.file ? await resolveOne(c, reportOf.get(c.file) ?? report.files[0]) : undefined;
    cases.push(file !== undefined ? { ...c, file } : c);
  }
  return { ...report, failures, cases };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await fsp.stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Files of the workspace, relative, `/`-separated; hidden and build folders skipped, at most MAX_FILES. */
async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const stack = [root];
  while (stack.length > 0 && out.length < MAX_FILES) {
    const dir = stack.pop() as string;
    let entries;
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.name.startsWith(".") || SKIP.has(e.name)) continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) stack.push(path);
      else if (e.isFile()) out.push(relative(root, path).split(sep).join("/"));
    }
  }
  return out;
}
