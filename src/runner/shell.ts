// Turns a `run:` step's shell into a command line, as GitHub's runner does
// on Linux (https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#jobsjob_idstepsshell).
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface ShellCommand {
  command: string;
  args: string[];
}

const whichCache = new Map<string, string | undefined>();
/** The executable `name` on `path`, found without starting a process. */
function which(name: string, path: string): string | undefined {
  const key = `${name}\0${path}`;
  if (!whichCache.has(key)) {
    let found: string | undefined;
    for (const dir of path.split(delimiter)) {
      if (!dir) continue;
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile()) {
          found = candidate;
          break;
        }
      } catch {
        // not here
      }
    }
    whichCache.set(key, found);
  }
  return whichCache.get(key);
}

function split(template: string): string[] {
  // Custom shells are split on whitespace, as the runner does; `{0}` is the script path.
  return template.trim().split(/\s+/);
}

/**
 * `shell` unset: `bash -e {0}` (sh when bash is missing). `bash`: `bash --noprofile --norc -eo pipefail {0}`.
 * `sh`: `sh -e {0}`. `python`: `python {0}` (python3 when `python` is missing). `pwsh`: `pwsh -command ". '{0}'"`.
 * Anything else must contain `{0}`.
 */
export function shellCommand(shell: string | undefined, scriptPath: string, path: string): ShellCommand {
  let template: string;
  switch (shell ?? "") {
    case "":
      template = which("bash", path) ? "bash -e {0}" : "sh -e {0}";
      break;
    case "bash":
      template = "bash --noprofile --norc -eo pipefail {0}";
      break;
    case "sh":
      template = "sh -e {0}";
      break;
    case "python":
      template = which("python", path) ? "python {0}" : "python3 {0}";
      break;
    case "pwsh":
      return { command: "pwsh", args: ["-command", `. '${scriptPath}'`] };
    case "powershell":
      throw new Error("shell 'powershell' (Windows PowerShell) is not available on Linux; use 'pwsh'");
    case "cmd":
      throw new Error("shell 'cmd' is Windows-only; use bash or sh");
    default: {
      const s = shell as string;
      if (!s.includes("{0}")) {
        throw new Error(`custom shell '${s}' must contain {0} where the script path goes, e.g. 'perl {0}'`);
      }
      template = s;
    }
  }
  const parts = split(template).map((p) => p.replace("{0}", scriptPath));
  const [command, ...args] = parts;
  return { command: command ?? "sh", args };
}

/** The extension a script file needs for its shell (python wants .py). */
export function scriptExtension(shell: string | undefined): string {
  if (shell === "python" || (shell && /^python3?\b/.test(shell))) return ".py";
  if (shell === "pwsh") return ".ps1";
  return ".sh";
}
