// SLSA v1 provenance of a release, as an in-toto Statement v1:
//
//   _type          https://in-toto.io/Statement/v1
//   subject        [{ name: <artifact>, digest: { sha256: <release digest> } },
//                   { name: <artifact>/<path>, digest: { sha256: <file digest> } } …]
//   predicateType  https://slsa.dev/provenance/v1
//   predicate.buildDefinition
//     buildType             https://slipway.dev/buildtypes/workflow/v1 (a run's artifact)
//                           https://slipway.dev/buildtypes/file/v1     (a file or folder handed in)
//     externalParameters    { source: { repository, ref, commit }, workflow: { path, run } }
//     internalParameters    { event }
//     resolvedDependencies  the source commit (`git+<repository>@<ref>`, digest gitCommit), and the
//                           actions the workflow uses: pinned ones with their commit; tags resolved
//                           from Slipway's action cache when it holds a fetch for the run; built-in
//                           actions as part of the builder (see docs/supply-chain.md)
//   predicate.runDetails
//     builder               { id: https://slipway.dev/builder/v1, version: { slipway, host } }
//     metadata              { invocationId: <run id>, startedOn, finishedOn }
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { isPair, isScalar, parseDocument, visit } from "yaml";
import { actionCacheDir, cachedActionCommit } from "../actions/index.js";
import { tryGit } from "../git/index.js";

export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";
/** The builder id of every Slipway; the host is in `builder.version.host`. */
export const SLIPWAY_BUILDER_ID = "https://slipway.dev/builder/v1";
export const BUILD_TYPE_WORKFLOW = "https://slipway.dev/buildtypes/workflow/v1";
export const BUILD_TYPE_FILE = "https://slipway.dev/buildtypes/file/v1";

export interface ResourceDescriptor {
  uri?: string;
  name?: string;
  digest?: Record<string, string>;
  annotations?: Record<string, unknown>;
}

export interface ProvenanceInput {
  /** The release's artifact name and digest (`sha256:<hex>`). */
  artifact: string;
  digest: string;
  files: readonly { path: string; digest: string }[];
  /** `owner/name`, when known. */
  repository: string | null;
  ref: string | null;
  commit: string | null;
  /** The run that built it (absent for `--file`). */
  run?: { id: number; workflowPath: string; event: string; startedAt: string | null; finishedAt: string | null };
  /** Actions the workflow used (see collectActions). */
  actions: ResourceDescriptor[];
  /** When the release was made (the invocation of a `--file` release). */
  createdAt: string;
  slipwayVersion: string;
  host?: string;
}

export interface Statement {
  _type: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: {
    buildDefinition: { buildType: string; externalParameters: Record<string, unknown>; internalParameters?: Record<string, unknown>; resolvedDependencies: ResourceDescriptor[] };
    runDetails: { builder: { id: string; version?: Record<string, string> }; metadata: { invocationId: string; startedOn?: string; finishedOn?: string } };
  };
}

const hex = (digest: string): string => digest.replace(/^sha256:/, "");

/** The in-toto statement with the SLSA v1 predicate (pure). */
export function buildProvenance(input: ProvenanceInput): Statement {
  const resolved: ResourceDescriptor[] = [];
  if (input.commit) {
    resolved.push({
      uri: `git+${input.repository ?? "unknown"}${input.ref ? `@${input.ref}` : ""}`,
      digest: { gitCommit: input.commit },
    });
  }
  resolved.push(...input.actions);
  const run = input.run;
  return {
    _type: STATEMENT_TYPE,
    subject: [
      { name: input.artifact, digest: { sha256: hex(input.digest) } },
      ...[...input.files].sort((a, b) => (a.path < b.path ? -1 : 1)).map((f) => ({ name: `${input.artifact}/${f.path}`, digest: { sha256: hex(f.digest) } })),
    ],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: run ? BUILD_TYPE_WORKFLOW : BUILD_TYPE_FILE,
        externalParameters: {
          source: { repository: input.repository, ref: input.ref, commit: input.commit },
          ...(run ? { workflow: { path: run.workflowPath, run: run.id } } : { file: input.artifact }),
        },
        ...(run ? { internalParameters: { event: run.event } } : {}),
        resolvedDependencies: resolved,
      },
      runDetails: {
        builder: { id: SLIPWAY_BUILDER_ID, version: { slipway: input.slipwayVersion, host: input.host ?? hostname() } },
        metadata: {
          invocationId: run ? String(run.id) : `release ${input.artifact} ${input.createdAt}`,
          ...(run?.startedAt ? { startedOn: run.startedAt } : { startedOn: input.createdAt }),
          ...(run?.finishedAt ? { finishedOn: run.finishedAt } : { finishedOn: input.createdAt }),
        },
      },
    },
  };
}

const FULL_SHA = /^[0-9a-f]{40}$/i;

/** The `uses:` values of a workflow (or action) file, in document order: every `uses` key whose value is a string. */
function usesValues(workflowText: string): string[] {
  const out: string[] = [];
  visit(parseDocument(workflowText), {
    Pair(_, pair) {
      if (isPair(pair) && isScalar(pair.key) && pair.key.value === "uses" && isScalar(pair.value) && typeof pair.value.value === "string") out.push(pair.value.value.trim());
    },
  });
  return out;
}

/**
 * The actions a workflow file uses (its `uses:` keys), as resolved dependencies.
 * The store does not record which commit a tag resolved to during a run, so:
 * a ref that is a full commit SHA is that commit; a tag is looked up in the
 * action cache (actions' cachedActionCommit: the fetch a run made of it) and
 * annotated with where the SHA came from; otherwise it is listed without a
 * digest and says so. Built-in actions are part of Slipway (the builder) and
 * are annotated as such.
 */
export function collectActions(workflowText: string, options: { dataDir: string; isBuiltin: (uses: string) => boolean }): ResourceDescriptor[] {
  const seen = new Set<string>();
  const out: ResourceDescriptor[] = [];
  for (const uses of usesValues(workflowText)) {
    if (uses === "" || seen.has(uses) || uses.startsWith("./")) continue;
    seen.add(uses);
    if (uses.startsWith("docker://")) {
      out.push({ uri: uses, annotations: { note: "container image; no digest unless the reference pins one" } });
      continue;
    }
    const at = uses.lastIndexOf("@");
    const name = at > 0 ? uses.slice(0, at) : uses;
    const ref = at > 0 ? uses.slice(at + 1) : "";
    if (options.isBuiltin(uses)) {
      out.push({ uri: `slipway:builtin/${name}@${ref}`, annotations: { builtin: true, note: "run by Slipway itself: part of the builder" } });
      continue;
    }
    const uri = `git+https://github.com/${name.split("/").slice(0, 2).join("/")}@${ref}`;
    if (FULL_SHA.test(ref)) {
      out.push({ uri, digest: { gitCommit: ref.toLowerCase() } });
      continue;
    }
    const cached = cachedActionCommit(actionCacheDir(options.dataDir), uses);
    out.push(cached ? { uri, digest: { gitCommit: cached.sha }, annotations: { resolvedFrom: "action cache", fetchedAt: cached.fetchedAt } } : { uri, annotations: { note: `${ref} is not a commit SHA and no resolved commit is recorded for it; pin it to a full SHA` } });
  }
  return out;
}

/** The workflow file as it was at `commit` (git show), else as it is now; undefined when neither can be read. */
export async function readWorkflowAt(repoDir: string, workflowPath: string, commit: string | null): Promise<string | undefined> {
  if (commit) {
    // Not a git repository, or the commit is not here: try the working tree.
    const text = await tryGit(repoDir, ["show", `${commit}:${workflowPath}`]).catch(() => undefined);
    if (text !== undefined) return text;
  }
  try {
    return readFileSync(join(repoDir, workflowPath), "utf8");
  } catch {
    return undefined;
  }
}
