// Runs the git command line: execFile (no shell, arguments never
// interpreted), the C locale so messages can be recognised, and errors that
// say what to do.
import { execFile } from "node:child_process";

export type GitErrorCode =
  /** The directory is not inside a git repository. */
  | "not-a-repository"
  /** The directory does not exist. */
  | "no-such-directory"
  /** The repository has no commit yet. */
  | "no-commits"
  /** A ref or revision does not resolve to a commit. */
  | "bad-ref"
  /** The `git` executable was not found. */
  | "git-not-found"
  /** A user-supplied file (e.g. an event payload) is unreadable or malformed. */
  | "bad-input"
  /** Any other failure of a git command. */
  | "git-failed";

export class GitError extends Error {
  readonly code: GitErrorCode;
  /** The git arguments that failed, when the error came from running git. */
  readonly args: readonly string[];
  readonly stderr: string;
  constructor(code: GitErrorCode, message: string, args: readonly string[] = [], stderr = "") {
    super(message);
    this.name = "GitError";
    this.code = code;
    this.args = args;
    this.stderr = stderr;
  }
}

function gitEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // English messages, so "not a git repository" can be recognised.
    LC_ALL: "C",
    LANG: "C",
    // Never wait for a password or open an editor.
    GIT_TERMINAL_PROMPT: "0",
    GIT_EDITOR: "true",
  };
}

export interface GitOptions {
  /** Added to the environment (over the caller's), e.g. GIT_INDEX_FILE or the author of a commit. */
  env?: Record<string, string>;
  /** Written to git's standard input. */
  input?: string;
}

/**
 * Runs `git args…` in `cwd` and returns its standard output (untrimmed).
 * Throws GitError; `not-a-repository` when cwd is outside any repository.
 */
export async function git(cwd: string, args: readonly string[], options: GitOptions = {}): Promise<string> {
  return (await gitBytes(cwd, args, options)).toString("utf8");
}

/** Like {@link git}, with standard output as bytes (for `cat-file --batch`, whose sizes count bytes). */
export function gitBytes(cwd: string, args: readonly string[], options: GitOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "git",
      [...args],
      { cwd, env: { ...gitEnv(), ...options.env }, maxBuffer: 256 * 1024 * 1024, encoding: "buffer" },
      (err, stdout, stderrBytes) => {
        if (!err) {
          resolve(stdout);
          return;
        }
        const e = err as NodeJS.ErrnoException & { code?: unknown };
        const stderr = stderrBytes.toString("utf8");
        if (e.code === "ENOENT" && stderr === "") {
          reject(new GitError("git-not-found", "git is not installed or not on PATH; install git to run workflows from a checkout", args));
          return;
        }
        const text = stderr.trim();
        if (/not a git repository/i.test(text)) {
          reject(
            new GitError(
              "not-a-repository",
              `'${cwd}' is not inside a git repository; run 'git init' there and commit your files (git add -A && git commit -m init)`,
              args,
              text,
            ),
          );
          return;
        }
        reject(new GitError("git-failed", `git ${args.join(" ")} failed in '${cwd}': ${text || e.message}`, args, text));
      },
    );
    // git may exit before reading its input (or never read it): EPIPE is not an error here.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(options.input ?? "");
  });
}

/** Like git(), but returns undefined when the command fails (for probes such as `rev-parse --verify`). */
export async function tryGit(cwd: string, args: readonly string[]): Promise<string | undefined> {
  try {
    return await git(cwd, args);
  } catch (err) {
    if (err instanceof GitError && err.code === "git-failed") return undefined;
    throw err;
  }
}
