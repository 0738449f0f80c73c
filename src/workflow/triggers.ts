// Decides whether a workflow runs for an event, by GitHub's rules for `on:`
// and its branch, tag, path and activity-type filters. Pure: the event comes
// from src/git (buildEvent) or a webhook.
import type { EventInfo } from "../git/index.js";
import { FilterPatternError, matchesFilters } from "./filter-pattern.js";
import type { Workflow } from "./model.js";

export type TriggerMatch = { matched: true } | { matched: false; reason: string };

/** The filters an event may carry under `on.<event>` (EventsConfig, flattened). */
interface FilterConfig {
  branches?: string[];
  "branches-ignore"?: string[];
  tags?: string[];
  "tags-ignore"?: string[];
  paths?: string[];
  "paths-ignore"?: string[];
  types?: string[];
}

/** pull_request and pull_request_target run for these activity types when `types` is not given. */
export const DEFAULT_PULL_REQUEST_TYPES: readonly string[] = ["opened", "synchronize", "reopened"];

const MATCHED: TriggerMatch = { matched: true };
const fail = (reason: string): TriggerMatch => ({ matched: false, reason });

/** Raised inside this module when a filter pattern is invalid; becomes the reason. */
class InvalidFilter extends Error {}

/** Decides whether `workflow` runs for `event`; when not, says why in words. */
export function matchTrigger(workflow: Workflow, event: EventInfo): TriggerMatch {
  const events = workflow.events as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(events, event.name)) {
    const listed = Object.keys(events);
    return fail(
      listed.length === 0
        ? `event '${event.name}' does not run the workflow: it has no 'on:' events`
        : `event '${event.name}' is not in the workflow's on: [${listed.join(", ")}]`,
    );
  }
  const config = (events[event.name] ?? {}) as FilterConfig;
  try {
    switch (event.name) {
      case "push":
        return all(() => matchRefFilters(config, event), () => (event.refType === "tag" ? MATCHED : matchPaths("push", config, event.changedFiles)));
      case "pull_request":
      case "pull_request_target":
        return all(
          () => matchTypes(event.name, config, event, DEFAULT_PULL_REQUEST_TYPES),
          () => matchBaseBranch(event.name, config, event),
          () => matchPaths(event.name, config, event.changedFiles),
        );
      case "workflow_dispatch":
      case "schedule":
      case "workflow_call":
        // No filters: listed means it runs.
        return MATCHED;
      default:
        // Other events (issues, release, …) filter only on activity types.
        // workflow_run's branches/workflows filters are not evaluated here.
        return matchTypes(event.name, config, event, undefined);
    }
  } catch (err) {
    if (err instanceof InvalidFilter) return fail(err.message);
    throw err;
  }
}

/** The first failing check, or MATCHED when all pass. */
function all(...checks: (() => TriggerMatch)[]): TriggerMatch {
  for (const check of checks) {
    const result = check();
    if (!result.matched) return result;
  }
  return MATCHED;
}

// Shown as YAML would need it: plain when safe, single-quoted otherwise
// (`[main, 'releases/**-alpha', '*.md']`).
const PLAIN = /^[A-Za-z0-9_./][^,[\]{}#'"\s]*$/;
function formatList(patterns: readonly string[]): string {
  return `[${patterns.map((p) => (PLAIN.test(p) && !p.includes(": ") ? p : `'${p.replace(/'/g, "''")}'`)).join(", ")}]`;
}

function test(where: string, patterns: readonly string[], value: string): boolean {
  try {
    return matchesFilters(patterns, value);
  } catch (err) {
    if (err instanceof FilterPatternError) throw new InvalidFilter(`${where} has an ${err.message}`);
    throw err;
  }
}

/** Checks a name against `<key>` (must match) and `<key>-ignore` (must not). */
function matchNames(what: string, value: string, event: string, key: "branches" | "tags", config: FilterConfig): TriggerMatch {
  const include = config[key];
  const ignore = config[`${key}-ignore`];
  if (include && !test(`${event}.${key}`, include, value)) {
    return fail(`${what} '${value}' does not match ${event}.${key} ${formatList(include)}`);
  }
  if (ignore && test(`${event}.${key}-ignore`, ignore, value)) {
    return fail(`${what} '${value}' is excluded by ${event}.${key}-ignore ${formatList(ignore)}`);
  }
  return MATCHED;
}

function describeFilters(event: string, config: FilterConfig, keys: (keyof FilterConfig)[]): string {
  return keys
    .filter((k) => config[k] !== undefined)
    .map((k) => `${event}.${k} ${formatList(config[k] ?? [])}`)
    .join(" and ");
}

/**
 * push: a branch push is filtered by branches/branches-ignore, a tag push by
 * tags/tags-ignore. When only one kind of filter is given, pushes of the
 * other kind of ref do not run the workflow; with neither, every push does.
 */
function matchRefFilters(config: FilterConfig, event: EventInfo): TriggerMatch {
  const hasBranchFilters = config.branches !== undefined || config["branches-ignore"] !== undefined;
  const hasTagFilters = config.tags !== undefined || config["tags-ignore"] !== undefined;
  if (event.refType === "tag") {
    const tag = event.tag ?? event.refName;
    if (hasTagFilters) return matchNames("tag", tag, "push", "tags", config);
    if (hasBranchFilters) {
      return fail(`tag '${tag}' does not run the workflow: push has only branch filters (${describeFilters("push", config, ["branches", "branches-ignore"])})`);
    }
    return MATCHED;
  }
  const branch = event.branch;
  if (hasBranchFilters) {
    if (branch === undefined) {
      return fail(
        `HEAD is detached at ${event.sha.slice(0, 7)}, so no branch can match ${describeFilters("push", config, ["branches", "branches-ignore"])}; check out a branch or name one as the ref`,
      );
    }
    return matchNames("branch", branch, "push", "branches", config);
  }
  if (hasTagFilters) {
    const which = branch === undefined ? `the detached commit ${event.sha.slice(0, 7)}` : `branch '${branch}'`;
    return fail(`a push of ${which} does not run the workflow: push has only tag filters (${describeFilters("push", config, ["tags", "tags-ignore"])})`);
  }
  return MATCHED;
}

/** pull_request: branches/branches-ignore apply to the base branch (the one the pull request merges into). */
function matchBaseBranch(eventName: string, config: FilterConfig, event: EventInfo): TriggerMatch {
  if (config.branches === undefined && config["branches-ignore"] === undefined) return MATCHED;
  if (event.baseRef === undefined) {
    return fail(`the ${eventName} event has no base branch to match ${describeFilters(eventName, config, ["branches", "branches-ignore"])}`);
  }
  return matchNames("base branch", event.baseRef, eventName, "branches", config);
}

/**
 * Activity types (`github.event.action`). `defaults` applies when `types` is
 * not given (pull_request); an event without an action is not filtered,
 * except pull requests, whose action is taken as "opened".
 */
function matchTypes(eventName: string, config: FilterConfig, event: EventInfo, defaults: readonly string[] | undefined): TriggerMatch {
  const types = config.types ?? defaults;
  if (types === undefined) return MATCHED;
  const raw = event.payload.action;
  const action = typeof raw === "string" ? raw : defaults ? "opened" : undefined;
  if (action === undefined || types.includes(action)) return MATCHED;
  return config.types
    ? fail(`activity type '${action}' is not in ${eventName}.types ${formatList(types)}`)
    : fail(`activity type '${action}' is not one of ${eventName}'s default types ${formatList(types)}; list it in ${eventName}.types`);
}

function sample(files: readonly string[]): string {
  const shown = files.slice(0, 3).join(", ");
  return files.length > 3 ? `${shown} and ${files.length - 3} more` : shown;
}

/**
 * paths: the workflow runs when at least one changed file matches.
 * paths-ignore: it runs unless every changed file is ignored.
 * Both (GitHub forbids that, but be definite): a file must match paths and
 * not be ignored. No changed file at all (an empty commit) runs nothing.
 *
 * An unknown list of changed files (undefined: the event has no diff) counts
 * as a match, as GitHub runs the workflow when it cannot compute a diff (for
 * example a first push, whose `before` sha is all zeros).
 */
function matchPaths(eventName: string, config: FilterConfig, files: readonly string[] | undefined): TriggerMatch {
  const include = config.paths;
  const ignore = config["paths-ignore"];
  if (include === undefined && ignore === undefined) return MATCHED;
  if (files === undefined) return MATCHED;
  const included = include ? files.filter((f) => test(`${eventName}.paths`, include, f)) : files;
  const kept = ignore ? included.filter((f) => !test(`${eventName}.paths-ignore`, ignore, f)) : included;
  if (kept.length > 0) return MATCHED;
  const filters = describeFilters(eventName, config, ["paths", "paths-ignore"]);
  if (files.length === 0) return fail(`no files changed, so nothing matches ${filters}`);
  if (include && included.length === 0) return fail(`no changed file matches ${eventName}.paths ${formatList(include)} (changed: ${sample(files)})`);
  if (include) return fail(`every changed file that matches ${eventName}.paths ${formatList(include)} is ignored by ${eventName}.paths-ignore ${formatList(ignore ?? [])} (changed: ${sample(files)})`);
  return fail(`all changed files are ignored by ${eventName}.paths-ignore ${formatList(ignore ?? [])} (changed: ${sample(files)})`);
}
