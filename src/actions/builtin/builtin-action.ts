// A built-in action: an offline, in-process equivalent of a popular
// marketplace action (actions/checkout, actions/cache, ...).
import type { CacheEntry, CacheLookup } from "./cache.js";

export interface BuiltinRepo {
  /** Git top-level directory of the repository being run. */
  root: string;
  /** Path of the workflow repository inside `root` ("" when it is the top level). */
  prefix: string;
  /** Commit of the event. */
  sha: string;
  /** Full ref of the event, e.g. refs/heads/main. */
  ref: string;
  /** Branch of the event, when there is one. */
  branch?: string;
  defaultBranch: string;
  /** The repository's owner and name, when known: caches are kept per repository. */
  owner?: string;
  name?: string;
}

export interface BuiltinContext {
  /** Inputs after `with:` evaluation and action defaults (all strings, as INPUT_* are). */
  inputs: Record<string, string>;
  /** GITHUB_WORKSPACE. */
  workspace: string;
  /** The step's full environment. */
  env: Record<string, string>;
  repo: BuiltinRepo;
  run: { id: number; attempt: number; jobKey: string };
  /** Slipway's data directory (database, blobs, logs). */
  dataDir: string;
  /** Writes a line to the step log (masked by the caller). */
  log(line: string): void;
  /** Raises a warning annotation for the step (masked by the caller); when absent, built-ins log `Warning: <message>`. */
  warning?(message: string): void;
  setOutput(name: string, value: string): void;
  saveState(name: string, value: string): void;
  /** State saved by this step's `main` (for `post`). */
  state: Record<string, string>;
  /** Cancellation of the job. */
  signal: AbortSignal;
  /**
   * Puts `dir` first on PATH for the following steps of the job, like a line
   * in GITHUB_PATH or `core.addPath` (a later call comes before an earlier
   * one). Used by actions/setup-node; optional for runners of other builtins.
   */
  addPath?(dir: string): void;
  /**
   * Sets an environment variable for the following steps of the job, like a
   * line in GITHUB_ENV or `core.exportVariable`. Used by actions/setup-node
   * (`registry-url`); optional for runners of other builtins.
   */
  exportVariable?(name: string, value: string): void;
  /**
   * The job: its store id, display name and log directory (where the job
   * summary and stored reports are kept). Used by slipway/test-report;
   * optional for runners of other builtins.
   */
  job?: { id: number; name: string; logDir: string };
  /** Appends Markdown to the job summary, as a line in GITHUB_STEP_SUMMARY does (masked by the caller). */
  appendSummary?(markdown: string): void;
  /**
   * A cache shared by several hosts beside the one in `dataDir` (a runner
   * agent's server): actions/cache looks there when its own misses and
   * hands it what it saves. Absent: the local cache only.
   */
  sharedCache?: SharedCache;
  /** Raises an annotation, as a `::error file=…,line=…::message` workflow command does (masked by the caller). */
  annotate?(annotation: BuiltinAnnotation): void;
  /** The text with the run's secrets masked, for what a built-in stores itself. */
  mask?(text: string): string;
}

export interface BuiltinAnnotation {
  level: "error" | "warning" | "notice";
  message: string;
  /** Relative to the workspace. */
  file?: string;
  line?: number;
  col?: number;
  title?: string;
}

export interface BuiltinAction {
  /** `owner/repo` as written in `uses:` without the ref, lower case. */
  name: string;
  main(ctx: BuiltinContext): Promise<void>;
  /** Runs after all steps, like a JavaScript action's `post`, when `post-if` (default `success()`) holds. */
  post?(ctx: BuiltinContext): Promise<void>;
  postIf?: string;
}

/** A failure the user caused or can fix; the message is shown as the step's error. */
export class ActionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ActionError";
  }
}

/** A warning of a built-in action: an annotation when the runner supports it, else a log line. */
export function warn(ctx: BuiltinContext, message: string): void {
  if (ctx.warning) ctx.warning(message);
  else ctx.log(`Warning: ${message}`);
}

/** A boolean input as GitHub's getBooleanInput reads it; empty gives `fallback`. */
export function booleanInput(ctx: BuiltinContext, name: string, fallback: boolean): boolean {
  const value = (ctx.inputs[name] ?? "").trim();
  if (value === "") return fallback;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  throw new ActionError(
    `Input does not meet YAML 1.2 "Core Schema" specification: ${name}\nSupport boolean input list: \`true | True | TRUE | false | False | FALSE\``,
  );
}

/** The server side of actions/cache for a job on a runner agent (agent/cache.ts). */
export interface SharedCache {
  /** The entry a restore would use there, as findCacheEntry answers; undefined on a miss. */
  find(lookup: CacheLookup): Promise<{ entry: CacheEntry; exact: boolean } | undefined>;
  /** Fetches the entry's archive into `file`. */
  fetch(entry: CacheEntry, file: string): Promise<void>;
  /** Gives it an entry saved here, with its archive. */
  save(entry: CacheEntry, archive: string): Promise<void>;
}
