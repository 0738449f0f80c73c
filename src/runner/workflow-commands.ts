// Workflow commands: lines a step prints to stdout/stderr such as
// `::error file=app.js,line=1::Missing semicolon`. A small stateful processor
// (stop-commands and echo are state) turns each output line into an optional
// command for the runner to apply and the text to show in the log.
//
// Semantics follow actions/runner (ActionCommand.TryParseV2 and
// ActionCommandManager):
//
// - A command line is, after leading whitespace, `::name props::data`;
//   `props` is `key=value` pairs separated by `,` (empty pairs and pairs
//   without a value are ignored). Names and property keys are
//   case-insensitive. Unknown names are not commands: the line is shown as is.
// - Escaping (what @actions/core writes): data `%25 %0D %0A` for `% \r \n`;
//   property values also `%3A %2C` for `: ,`.
// - `::stop-commands::TOKEN` stops all processing until a line `::TOKEN::`;
//   lines in between are shown unprocessed. The token must not be empty,
//   `pause-logging` or a command name, else the command fails the step and
//   processing goes on.
// - `set-env` and `add-path` are disabled unless ACTIONS_ALLOW_UNSECURE_COMMANDS
//   is true; using them fails the step with a message naming GITHUB_ENV and
//   GITHUB_PATH.
// - `set-output` and `save-state` still work, with a deprecation warning.
// - `echo on|off` shows or hides the command lines themselves (default: off,
//   on when step debug logging is on). add-mask, debug and the annotation
//   commands are never echoed; add-mask echoes as `::add-mask::***`.
//
// The legacy `##[command]` syntax and problem matchers are not implemented:
// `add-matcher`/`remove-matcher` are recognised and reported as commands (so
// their lines do not clutter the log) but nothing matches output.

export type AnnotationLevel = "error" | "warning" | "notice";

export interface AnnotationCommand {
  kind: AnnotationLevel;
  message: string;
  /** Relative to the workspace when it was an absolute path inside it. */
  file?: string;
  line?: number;
  col?: number;
  endLine?: number;
  endColumn?: number;
  title?: string;
}

export type WorkflowCommand =
  | AnnotationCommand
  /** The caller registers the value with the secret masker (empty values are refused with an `invalid` command instead). */
  | { kind: "add-mask"; value: string }
  | { kind: "group"; title: string }
  | { kind: "endgroup" }
  | { kind: "debug"; message: string }
  | { kind: "stop-commands"; token: string }
  | { kind: "resume-commands"; token: string }
  /** Deprecated; `deprecation` is the warning GitHub shows (already part of `display`). */
  | { kind: "set-output"; name: string; value: string; deprecation: string }
  | { kind: "save-state"; name: string; value: string; deprecation: string }
  /** Only with `allowUnsecureCommands`. */
  | { kind: "set-env"; name: string; value: string }
  /** Only with `allowUnsecureCommands`. */
  | { kind: "add-path"; path: string }
  | { kind: "echo"; enabled: boolean }
  | { kind: "add-matcher"; file: string }
  | { kind: "remove-matcher"; owner?: string; file?: string }
  /**
   * A command the runner refuses. `failsStep`: the runner marks the step
   * failed (as actions/runner does when a command throws); otherwise it is a
   * warning or error annotation only. `message` is already in `display`.
   */
  | { kind: "invalid"; command: string; message: string; level: "error" | "warning"; failsStep: boolean };

export interface ProcessedLine {
  command?: WorkflowCommand;
  /**
   * What to show in the step log (before masking), or null for nothing. May
   * hold several lines separated by "\n" (an echoed command followed by its
   * effect; a multi-line annotation message). Formatted lines use GitHub's
   * log markers: `##[group]`, `##[endgroup]`, `##[error]`, `##[warning]`,
   * `##[notice]`, `##[debug]`.
   */
  display: string | null;
}

export interface CommandProcessorOptions {
  /** Step debug logging (ACTIONS_STEP_DEBUG): show `::debug::` lines. Default false. */
  debug?: boolean;
  /** Initial echo state. Default: the value of `debug`, as in the runner. */
  echo?: boolean;
  /** ACTIONS_ALLOW_UNSECURE_COMMANDS=true: honour `set-env` and `add-path`. */
  allowUnsecureCommands?: boolean;
  /** ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS: accept weak stop-commands tokens. */
  allowUnsecureStopCommandTokens?: boolean;
  /** GITHUB_WORKSPACE: absolute annotation `file` paths inside it are made relative. */
  workspace?: string;
}

export interface ParsedCommand {
  /** As written (compare case-insensitively). */
  name: string;
  /** Keys lower-cased, values unescaped. */
  properties: Map<string, string>;
  /** Unescaped. */
  data: string;
}

const COMMAND_KEY = "::";

const REGISTERED = new Set([
  "add-mask",
  "add-matcher",
  "add-path",
  "debug",
  "echo",
  "endgroup",
  "error",
  "group",
  "notice",
  "remove-matcher",
  "save-state",
  "set-env",
  "set-output",
  "stop-commands",
  "warning",
]);

/**
 * Commands whose own line is not echoed (actions/runner `OmitEcho`); the
 * stop-commands line is instead always shown, whatever the echo state.
 */
const OMIT_ECHO = new Set(["add-mask", "debug", "error", "warning", "notice", "stop-commands"]);

const SET_OUTPUT_DEPRECATION =
  "The `set-output` command is deprecated and will be disabled soon. Please upgrade to using Environment Files: " +
  'echo "{name}={value}" >> "$GITHUB_OUTPUT". For more information see: ' +
  "https://github.blog/changelog/2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/";

const SAVE_STATE_DEPRECATION =
  "The `save-state` command is deprecated and will be disabled soon. Please upgrade to using Environment Files: " +
  'echo "{name}={value}" >> "$GITHUB_STATE". For more information see: ' +
  "https://github.blog/changelog/2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/";

function disabledMessage(command: "set-env" | "add-path"): string {
  const instead =
    command === "set-env" ? 'write NAME=value lines to the file in $GITHUB_ENV (echo "NAME=value" >> "$GITHUB_ENV")' : 'write the directory to the file in $GITHUB_PATH (echo "/some/dir" >> "$GITHUB_PATH")';
  return (
    `The \`${command}\` command is disabled. Please upgrade to using Environment Files: ${instead}. ` +
    "Alternatively opt into unsecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment variable to `true`. " +
    "For more information see: https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/"
  );
}

const STOP_TOKEN_MESSAGE =
  "You cannot use an endToken that is an empty string, the string 'pause-logging', or another workflow command. " +
  'Use a random token, e.g. token="$(openssl rand -hex 16)"; echo "::stop-commands::$token"; ...; echo "::$token::". ' +
  "Alternatively opt into unsecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS` environment variable to `true`.";

/** Escapes a command's data as @actions/core does. */
export function escapeData(value: string): string {
  return value.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** Escapes a property value as @actions/core does. */
export function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/** Reverses `escapeData` exactly as the runner does (sequential replacements, `%25` last). */
export function unescapeData(value: string): string {
  return value.replace(/%0D/g, "\r").replace(/%0A/g, "\n").replace(/%25/g, "%");
}

/** Reverses `escapeProperty` exactly as the runner does. */
export function unescapeProperty(value: string): string {
  return value.replace(/%0D/g, "\r").replace(/%0A/g, "\n").replace(/%3A/g, ":").replace(/%2C/g, ",").replace(/%25/g, "%");
}

/** Formats a workflow command line as @actions/core does (empty property values are left out). */
export function formatCommand(name: string, properties: Record<string, string | number | undefined>, message: string): string {
  const props = Object.entries(properties)
    .filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== "")
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`);
  return `${COMMAND_KEY}${name}${props.length > 0 ? ` ${props.join(",")}` : ""}${COMMAND_KEY}${escapeData(message)}`;
}

/**
 * Parses `::name props::data` (leading whitespace allowed) without checking
 * the name; null when the line does not have that shape.
 */
export function parseCommandLine(line: string): ParsedCommand | null {
  const message = line.trimStart();
  if (!message.startsWith(COMMAND_KEY)) return null;
  const end = message.indexOf(COMMAND_KEY, COMMAND_KEY.length);
  if (end < 0) return null;
  const info = message.slice(COMMAND_KEY.length, end);
  const space = info.indexOf(" ");
  const name = space < 0 ? info : info.slice(0, space);
  if (name === "") return null;
  const properties = new Map<string, string>();
  if (space > 0) {
    for (const part of info.slice(space + 1).trim().split(",")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      // The runner splits on the first '=' dropping empty pieces: `k=` and `=v` carry nothing.
      if (eq <= 0 || eq === part.length - 1) continue;
      properties.set(part.slice(0, eq).toLowerCase(), unescapeProperty(part.slice(eq + 1)));
    }
  }
  return { name, properties, data: unescapeData(message.slice(end + COMMAND_KEY.length)) };
}

function parseInteger(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*[+-]?\d+\s*$/.test(value)) return undefined;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The runner's ValidateLinesAndColumns: drops inconsistent positions rather than failing. */
function annotationPosition(props: Map<string, string>): Pick<AnnotationCommand, "line" | "col" | "endLine" | "endColumn"> {
  let line = parseInteger(props.get("line"));
  const endLine = parseInteger(props.get("endline"));
  let col = parseInteger(props.get("col"));
  let endColumn = parseInteger(props.get("endcolumn"));
  let keepLines = true;
  if (endLine !== undefined && line === undefined) line = endLine;
  if (endColumn !== undefined && col === undefined) col = endColumn;
  const hasColumn = col !== undefined || endColumn !== undefined;
  if (line === undefined && hasColumn) {
    col = undefined;
    endColumn = undefined;
  }
  if (endLine !== undefined && line !== endLine && hasColumn) {
    col = undefined;
    endColumn = undefined;
  }
  if (line !== undefined && endLine !== undefined && endLine < line) keepLines = false;
  if (col !== undefined && endColumn !== undefined && endColumn < col) {
    col = undefined;
    endColumn = undefined;
  }
  return {
    ...(keepLines && line !== undefined ? { line } : {}),
    ...(keepLines && endLine !== undefined ? { endLine } : {}),
    ...(col !== undefined ? { col } : {}),
    ...(endColumn !== undefined ? { endColumn } : {}),
  };
}

function relativeToWorkspace(file: string, workspace: string | undefined): string {
  if (!workspace || !file.startsWith("/")) return file;
  const root = workspace.endsWith("/") ? workspace : `${workspace}/`;
  return file.startsWith(root) && file.length > root.length ? file.slice(root.length) : file;
}

/** How an annotation is shown in the step log: `##[error]file:line:col: title: message`. */
export function formatAnnotation(a: AnnotationCommand): string {
  let location = "";
  if (a.file) {
    location = a.file;
    if (a.line !== undefined) location += `:${a.line}`;
    if (a.line !== undefined && a.col !== undefined) location += `:${a.col}`;
    location += ": ";
  }
  const title = a.title ? `${a.title}: ` : "";
  return `##[${a.kind}]${location}${title}${a.message}`;
}

export class CommandProcessor {
  private stopToken: string | null = null;
  private echo: boolean;
  private readonly debug: boolean;

  constructor(private readonly options: CommandProcessorOptions = {}) {
    this.debug = options.debug ?? false;
    this.echo = options.echo ?? this.debug;
  }

  /** True while `::stop-commands::` is in effect. */
  get stopped(): boolean {
    return this.stopToken !== null;
  }

  /** Processes one output line (without its line break; a trailing CR is ignored). */
  process(rawLine: string): ProcessedLine {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    const parsed = parseCommandLine(line);

    if (this.stopToken !== null) {
      if (parsed && this.stopToken !== "" && parsed.name.toLowerCase() === this.stopToken.toLowerCase()) {
        const token = this.stopToken;
        this.stopToken = null;
        return { command: { kind: "resume-commands", token }, display: line };
      }
      return { display: line };
    }

    if (!parsed) return { display: line };
    const name = parsed.name.toLowerCase();
    if (!REGISTERED.has(name)) return { display: line };

    const echoed = this.echo && !OMIT_ECHO.has(name) ? [line] : [];
    const result = this.handle(name, parsed, line);
    const shown = [...echoed, ...(result.display !== null ? [result.display] : [])];
    return { ...(result.command ? { command: result.command } : {}), display: shown.length > 0 ? shown.join("\n") : null };
  }

  private invalid(line: string, name: string, message: string, failsStep: boolean): ProcessedLine {
    const level = failsStep ? "error" : "warning";
    // Like the runner, name only the command (not the line) for add-mask: its line holds a secret.
    const shownCommand = name === "add-mask" ? name : line.trim();
    const display = failsStep ? `##[error]Unable to process command '${shownCommand}' successfully.\n##[error]${message}` : `##[warning]${message}`;
    return { command: { kind: "invalid", command: shownCommand, message, level, failsStep }, display };
  }

  private handle(name: string, cmd: ParsedCommand, line: string): ProcessedLine {
    const props = cmd.properties;
    switch (name) {
      case "stop-commands": {
        const token = cmd.data;
        const weak = token === "" || token.toLowerCase() === "pause-logging" || REGISTERED.has(token.toLowerCase());
        if (weak && !this.options.allowUnsecureStopCommandTokens) return this.invalid(line, name, STOP_TOKEN_MESSAGE, true);
        this.stopToken = token;
        return { command: { kind: "stop-commands", token }, display: line };
      }
      case "add-mask": {
        if (cmd.data.trim() === "") return this.invalid(line, name, "Can't add secret mask for empty string in ##[add-mask] command.", false);
        return { command: { kind: "add-mask", value: cmd.data }, display: this.echo ? "::add-mask::***" : null };
      }
      case "error":
      case "warning":
      case "notice": {
        const file = props.get("file");
        const title = props.get("title");
        const annotation: AnnotationCommand = {
          kind: name,
          message: cmd.data,
          ...(file ? { file: relativeToWorkspace(file, this.options.workspace) } : {}),
          ...annotationPosition(props),
          ...(title ? { title } : {}),
        };
        return { command: annotation, display: formatAnnotation(annotation) };
      }
      case "group":
        return { command: { kind: "group", title: cmd.data }, display: `##[group]${cmd.data}` };
      case "endgroup":
        return { command: { kind: "endgroup" }, display: "##[endgroup]" };
      case "debug":
        return { command: { kind: "debug", message: cmd.data }, display: this.debug ? `##[debug]${cmd.data}` : null };
      case "set-output":
      case "save-state": {
        const key = props.get("name");
        if (!key) return this.invalid(line, name, `Required field 'name' is missing in ##[${name}] command.`, true);
        const deprecation = (name === "set-output" ? SET_OUTPUT_DEPRECATION : SAVE_STATE_DEPRECATION).replace("{name}", key);
        return { command: { kind: name, name: key, value: cmd.data, deprecation }, display: `##[warning]${deprecation}` };
      }
      case "set-env": {
        if (!this.options.allowUnsecureCommands) return this.invalid(line, name, disabledMessage("set-env"), true);
        const key = props.get("name");
        if (!key) return this.invalid(line, name, "Required field 'name' is missing in ##[set-env] command.", true);
        if (key.toUpperCase() === "NODE_OPTIONS") {
          return this.invalid(line, name, "Can't update NODE_OPTIONS environment variable using ::set-env:: command.", false);
        }
        return { command: { kind: "set-env", name: key, value: cmd.data }, display: null };
      }
      case "add-path": {
        if (!this.options.allowUnsecureCommands) return this.invalid(line, name, disabledMessage("add-path"), true);
        if (cmd.data === "") return this.invalid(line, name, "Required field 'path' is missing in ##[add-path] command.", true);
        return { command: { kind: "add-path", path: cmd.data }, display: null };
      }
      case "echo": {
        const value = cmd.data.trim().toLowerCase();
        if (value !== "on" && value !== "off") {
          return this.invalid(line, name, `Invalid echo command value. Possible values can be: 'on', 'off'. Current value is: '${cmd.data}'.`, true);
        }
        this.echo = value === "on";
        return { command: { kind: "echo", enabled: this.echo }, display: null };
      }
      case "add-matcher":
        return { command: { kind: "add-matcher", file: cmd.data }, display: this.debug ? `##[debug]Problem matchers are not supported; ignoring '${cmd.data}'` : null };
      case "remove-matcher": {
        const owner = props.get("owner");
        return {
          command: { kind: "remove-matcher", ...(owner ? { owner } : {}), ...(cmd.data ? { file: cmd.data } : {}) },
          display: null,
        };
      }
      default:
        return { display: line };
    }
  }
}
