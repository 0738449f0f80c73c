// Parsing of GitHub's file commands: the files a step writes through
// GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STATE and GITHUB_PATH. Pure functions;
// the runner reads the files after the step and applies the result.
//
// Semantics follow actions/runner (src/Runner.Worker/FileCommandManager.cs):
//
// - `NAME=value`: the name is everything before the first `=`, the value
//   everything after it (it may itself contain `=`).
// - `NAME<<DELIMITER`: the value is every following line up to a line that is
//   exactly DELIMITER (ordinal comparison, no trimming); the line break before
//   the delimiter is not part of the value, inner line breaks are kept as
//   written. Whichever of `=` and `<<` comes first decides the form, so
//   `A=b<<c` sets A to `b<<c`.
// - Empty lines between entries are skipped; a later entry for the same name
//   wins (the caller applies `values` in order).
// - Both LF and CRLF end a line (the runner does CRLF on Windows only; here a
//   file written on any system reads the same).
// - Like the runner, parsing stops at the first malformed entry: the values
//   before it are kept and `errors` holds one message naming the file and the
//   line. The runner then fails the step.

export interface FileCommandValue {
  name: string;
  value: string;
}

export interface KeyValueFileResult {
  /** Assignments in file order. */
  values: FileCommandValue[];
  /** At most one message, `<fileLabel>:<line>: <what is wrong>`; the step must fail when present. */
  errors: string[];
}

export interface EnvFileResult extends KeyValueFileResult {
  /** Assignments that were ignored, with the reason (see `protectedEnvWarning`). */
  warnings: string[];
}

interface Line {
  text: string;
  /** Index just after the line break, or text end. */
  next: number;
  /** Length of the line break that ended the line (0 at the end of the text). */
  breakLength: number;
}

function readLine(content: string, index: number): Line | null {
  if (index >= content.length) return null;
  const lf = content.indexOf("\n", index);
  if (lf < 0) return { text: content.slice(index), next: content.length, breakLength: 0 };
  const crlf = lf > index && content[lf - 1] === "\r";
  return {
    text: content.slice(index, crlf ? lf - 1 : lf),
    next: lf + 1,
    breakLength: crlf ? 2 : 1,
  };
}

/**
 * Parses the content of a GITHUB_ENV, GITHUB_OUTPUT or GITHUB_STATE file.
 * `fileLabel` names the file in error messages (e.g. "GITHUB_OUTPUT").
 */
export function parseKeyValueFile(content: string, fileLabel: string): KeyValueFileResult {
  const values: FileCommandValue[] = [];
  let index = 0;
  let lineNumber = 0;
  let line = readLine(content, index);
  while (line !== null) {
    lineNumber++;
    index = line.next;
    const text = line.text;
    if (text !== "") {
      const equals = text.indexOf("=");
      const heredoc = text.indexOf("<<");
      if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
        const name = text.slice(0, equals);
        if (name === "") {
          return { values, errors: [`${fileLabel}:${lineNumber}: Invalid format '${text}'. Name must not be empty`] };
        }
        values.push({ name, value: text.slice(equals + 1) });
      } else if (heredoc >= 0) {
        const name = text.slice(0, heredoc);
        const delimiter = text.slice(heredoc + 2);
        if (name === "" || delimiter === "") {
          return {
            values,
            errors: [`${fileLabel}:${lineNumber}: Invalid format '${text}'. Name must not be empty and delimiter must not be empty`],
          };
        }
        const startLine = lineNumber;
        const start = index;
        let end = index;
        let inner = readLine(content, index);
        while (inner === null || inner.text !== delimiter) {
          if (inner === null) {
            return {
              values,
              errors: [
                `${fileLabel}:${startLine}: Invalid value for '${name}'. Matching delimiter not found '${delimiter}': ` +
                  `end the value with a line that is exactly '${delimiter}'`,
              ],
            };
          }
          lineNumber++;
          index = inner.next;
          end = inner.next - inner.breakLength;
          inner = readLine(content, index);
        }
        lineNumber++;
        index = inner.next;
        values.push({ name, value: end > start ? content.slice(start, end) : "" });
      } else {
        return { values, errors: [`${fileLabel}:${lineNumber}: Invalid format '${text}'. Expected NAME=value or NAME<<DELIMITER`] };
      }
    }
    line = readLine(content, index);
  }
  return { values, errors: [] };
}

/**
 * Default variables the runner sets for every step. GitHub documents that they
 * cannot be overwritten ("You can't overwrite the value of the default
 * environment variables named GITHUB_* and RUNNER_*"): the runner sets them
 * again for each step, after the values from GITHUB_ENV. Other GITHUB_* and
 * RUNNER_* names are ordinary variables, as on GitHub. `CI` may be
 * overwritten (documented as currently possible).
 */
export const PROTECTED_ENV_NAMES: ReadonlySet<string> = new Set([
  "GITHUB_ACTION",
  "GITHUB_ACTION_PATH",
  "GITHUB_ACTION_REF",
  "GITHUB_ACTION_REPOSITORY",
  "GITHUB_ACTIONS",
  "GITHUB_ACTOR",
  "GITHUB_ACTOR_ID",
  "GITHUB_API_URL",
  "GITHUB_BASE_REF",
  "GITHUB_ENV",
  "GITHUB_EVENT_NAME",
  "GITHUB_EVENT_PATH",
  "GITHUB_GRAPHQL_URL",
  "GITHUB_HEAD_REF",
  "GITHUB_JOB",
  "GITHUB_OUTPUT",
  "GITHUB_PATH",
  "GITHUB_REF",
  "GITHUB_REF_NAME",
  "GITHUB_REF_PROTECTED",
  "GITHUB_REF_TYPE",
  "GITHUB_REPOSITORY",
  "GITHUB_REPOSITORY_ID",
  "GITHUB_REPOSITORY_OWNER",
  "GITHUB_REPOSITORY_OWNER_ID",
  "GITHUB_RETENTION_DAYS",
  "GITHUB_RUN_ATTEMPT",
  "GITHUB_RUN_ID",
  "GITHUB_RUN_NUMBER",
  "GITHUB_SERVER_URL",
  "GITHUB_SHA",
  "GITHUB_STATE",
  "GITHUB_STEP_SUMMARY",
  "GITHUB_TRIGGERING_ACTOR",
  "GITHUB_WORKFLOW",
  "GITHUB_WORKFLOW_REF",
  "GITHUB_WORKFLOW_SHA",
  "GITHUB_WORKSPACE",
  "RUNNER_ARCH",
  "RUNNER_DEBUG",
  "RUNNER_ENVIRONMENT",
  "RUNNER_NAME",
  "RUNNER_OS",
  "RUNNER_TEMP",
  "RUNNER_TOOL_CACHE",
  "RUNNER_WORKSPACE",
]);

/**
 * The warning for an assignment to a default variable through GITHUB_ENV, or
 * undefined when the name may be set. Names are case-sensitive (as on Linux):
 * `github_sha` is an ordinary variable. NODE_OPTIONS may be set through
 * GITHUB_ENV (only the old `::set-env` command refused it).
 */
export function protectedEnvWarning(name: string, fileLabel = "GITHUB_ENV"): string | undefined {
  if (!PROTECTED_ENV_NAMES.has(name)) return undefined;
  return `${fileLabel}: '${name}' is a default variable set by the runner for every step and cannot be overwritten; the assignment is ignored`;
}

/**
 * Parses a GITHUB_ENV file: `parseKeyValueFile`, then assignments to default
 * variables (PROTECTED_ENV_NAMES) are dropped with a warning each instead of
 * silently losing to the runner's value.
 */
export function parseEnvFile(content: string, fileLabel = "GITHUB_ENV"): EnvFileResult {
  const parsed = parseKeyValueFile(content, fileLabel);
  const values: FileCommandValue[] = [];
  const warnings: string[] = [];
  for (const v of parsed.values) {
    const warning = protectedEnvWarning(v.name, fileLabel);
    if (warning === undefined) values.push(v);
    else warnings.push(warning);
  }
  return { values, errors: parsed.errors, warnings };
}

/**
 * Parses a GITHUB_PATH file: every non-empty line is a directory, returned in
 * file order and not trimmed (LF, CRLF and lone CR end a line, as .NET's
 * ReadAllLines does).
 *
 * The runner prepends each line, in file order, to its job-wide list of added
 * directories, so a later line ends up before an earlier one: after a file
 * `/a` then `/b`, PATH is `/b:/a:<previous additions>:<original PATH>`. A
 * directory added again moves to the front instead of appearing twice.
 * `prependPathEntries` applies exactly that.
 */
export function parsePathFile(content: string): string[] {
  return content.split(/\r\n|\n|\r/).filter((line) => line !== "");
}

/**
 * Applies added directories (from GITHUB_PATH or `core.addPath`, in the order
 * they were added) to the list of directories already added in the job,
 * which is kept in PATH order (first = searched first). Returns the new list.
 */
export function prependPathEntries(current: readonly string[], added: readonly string[]): string[] {
  let result = [...current];
  for (const dir of added) {
    result = [dir, ...result.filter((d) => d !== dir)];
  }
  return result;
}
