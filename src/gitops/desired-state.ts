// The desired state of one service in one environment, as the file
// `environments/<env>/<service>.yaml` of the state repository holds it.
// Pure: text in, typed value and diagnostics out (and back).
import { isMap, isScalar, LineCounter, parseDocument, stringify, type Node } from "yaml";
import { NAME, NAME_FIX, STRATEGIES } from "../delivery/index.js";
import type { Diagnostic } from "../diagnostics/index.js";

export type StrategyName = (typeof STRATEGIES)[number];
export const STRATEGY_NAMES: readonly StrategyName[] = STRATEGIES;

export interface DesiredState {
  /** `web#3`: the service's release number. */
  release: string;
  /** `sha256:…`: the release's content digest. */
  digest: string;
  /** `sha256:…` of the service's configuration for the environment. */
  configHash: string;
  strategy: StrategyName;
}

/** Environment and service names: what slipway.yml accepts. */
const RELEASE = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)#([1-9][0-9]*)$/;
const SHA256 = /^sha256:[0-9a-f]{64}$/;

export type StateRepositoryErrorCode =
  /** A name, value or argument given by the caller is invalid. */
  | "bad-input"
  /** The commit to revert does not exist, or is not on main. */
  | "unknown-commit"
  /** A file the revert would restore was changed again since. */
  | "conflict"
  /** main moved under us more often than the retry limit, or the remote kept rejecting the push. */
  | "contention";

/** A state repository error a user can act on; the message says what to do. */
export class StateRepositoryError extends Error {
  readonly code: StateRepositoryErrorCode;
  constructor(code: StateRepositoryErrorCode, message: string) {
    super(message);
    this.name = "StateRepositoryError";
    this.code = code;
  }
}

/** Throws a bad-input error naming the field and the fix when `value` is not a valid environment or service name. */
export function validateName(field: "env" | "service", value: string): void {
  if (!NAME.test(value)) {
    const what = field === "env" ? "environment" : "service";
    throw new StateRepositoryError("bad-input", `invalid ${what} name '${value}' (${field}): ${NAME_FIX}, e.g. 'prod' or 'billing-api'`);
  }
}

/** Throws when the state's fields are malformed; `service` must match the release's service. */
export function validateDesiredState(service: string, state: DesiredState): void {
  const release = RELEASE.exec(state.release);
  if (!release) throw new StateRepositoryError("bad-input", `invalid release '${state.release}' (state.release): write SERVICE#NUMBER, e.g. '${service}#3'`);
  if (release[1] !== service) {
    throw new StateRepositoryError("bad-input", `release '${state.release}' (state.release) is not a release of '${service}': write ${service}#NUMBER`);
  }
  if (!SHA256.test(state.digest)) throw new StateRepositoryError("bad-input", `invalid digest '${state.digest}' (state.digest): write sha256: and 64 lower-case hex digits`);
  if (!SHA256.test(state.configHash)) {
    throw new StateRepositoryError("bad-input", `invalid config hash '${state.configHash}' (state.configHash): write sha256: and 64 lower-case hex digits`);
  }
  if (!STRATEGY_NAMES.includes(state.strategy)) {
    throw new StateRepositoryError("bad-input", `invalid strategy '${String(state.strategy)}' (state.strategy): use one of ${STRATEGY_NAMES.join(", ")}`);
  }
}

export function statePath(env: string, service: string): string {
  return `environments/${env}/${service}.yaml`;
}

/** `environments/<env>/<service>.yaml` → its names; undefined for any other path. */
export function parseStatePath(path: string): { env: string; service: string } | undefined {
  const m = /^environments\/([^/]+)\/([^/]+)\.yaml$/.exec(path);
  if (!m || !NAME.test(m[1] ?? "") || !NAME.test(m[2] ?? "")) return undefined;
  return { env: m[1] ?? "", service: m[2] ?? "" };
}

/** The file's text: a comment, then the four fields in a fixed order. */
export function serializeDesiredState(env: string, service: string, state: DesiredState): string {
  const body = stringify({ release: state.release, digest: state.digest, config_hash: state.configHash, strategy: state.strategy });
  return `# Desired state of ${service} in ${env}, written by Slipway. A commit that changes it is a promotion.\n${body}`;
}

const FIELDS = ["release", "digest", "config_hash", "strategy"] as const;

/**
 * Parses a desired-state file. The state is returned only when the file has
 * no error; every problem is a diagnostic with the file's line and column.
 */
export function parseDesiredState(text: string, file: string, service: string): { state?: DesiredState; diagnostics: Diagnostic[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const diagnostics: Diagnostic[] = [];
  const at = (offset: number | undefined) => {
    if (offset === undefined) return { line: 1, column: 1 };
    const pos = lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const report = (code: string, message: string, fix: string, offset?: number, severity: Diagnostic["severity"] = "error") => {
    const { line, column } = at(offset);
    diagnostics.push({ code, severity, message, file, line, column, fix });
  };
  for (const e of doc.errors) {
    report("state-yaml", `YAML syntax error: ${e.message.split("\n")[0] ?? e.message}`, "correct the YAML, or revert the commit that broke it", e.pos[0]);
  }
  if (diagnostics.length > 0) return { diagnostics };
  const root = doc.contents;
  if (!isMap(root)) {
    report("state-shape", "a desired-state file must be a mapping of release, digest, config_hash and strategy", `write e.g. 'release: ${service}#1' on its own line`, root?.range?.[0]);
    return { diagnostics };
  }
  const values: Partial<Record<(typeof FIELDS)[number], { value: string; offset: number | undefined }>> = {};
  const seen = new Set<string>();
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    const keyOffset = (pair.key as Node | null)?.range?.[0];
    if (key === undefined || !(FIELDS as readonly string[]).includes(key)) {
      report("state-unknown-key", `unknown key '${key ?? "?"}' in a desired-state file (ignored)`, `remove it; the keys are ${FIELDS.join(", ")}`, keyOffset, "warning");
      continue;
    }
    seen.add(key);
    const node = pair.value as Node | null;
    if (!isScalar(node) || typeof node.value !== "string") {
      report("state-type", `${key} must be a string`, `write ${key}: VALUE on one line`, node?.range?.[0] ?? keyOffset);
      continue;
    }
    values[key as (typeof FIELDS)[number]] = { value: node.value, offset: node.range?.[0] };
  }
  for (const key of FIELDS) {
    if (!seen.has(key)) {
      report("state-missing", `${key} is missing`, `add '${key}: …' (see docs/gitops.md)`, root.range?.[0]);
    }
  }
  const check = (key: (typeof FIELDS)[number], ok: (v: string) => boolean, message: (v: string) => string, fix: string) => {
    const v = values[key];
    if (v !== undefined && !ok(v.value)) report("state-value", message(v.value), fix, v.offset);
  };
  check(
    "release",
    (v) => RELEASE.exec(v)?.[1] === service,
    (v) => `release '${v}' is not a release of '${service}'`,
    `write ${service}#NUMBER, e.g. ${service}#3 (\`slipway releases ${service}\` lists them)`,
  );
  check("digest", (v) => SHA256.test(v), (v) => `digest '${v}' is not a sha256 digest`, "write sha256: and 64 lower-case hex digits");
  check("config_hash", (v) => SHA256.test(v), (v) => `config_hash '${v}' is not a sha256 digest`, "write sha256: and 64 lower-case hex digits");
  check("strategy", (v) => (STRATEGY_NAMES as readonly string[]).includes(v), (v) => `unknown strategy '${v}'`, `use one of ${STRATEGY_NAMES.join(", ")}`);
  if (diagnostics.some((d) => d.severity === "error")) return { diagnostics };
  return {
    state: {
      release: values.release?.value ?? "",
      digest: values.digest?.value ?? "",
      configHash: values.config_hash?.value ?? "",
      strategy: (values.strategy?.value ?? "rolling") as StrategyName,
    },
    diagnostics,
  };
}
