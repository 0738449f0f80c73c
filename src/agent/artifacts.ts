// Artifacts a job made on an agent (actions/upload-artifact writes them to
// the agent's own data folder) are sent to the server, file by file, and
// stored there as artifacts of the job's run, in the server's blob store:
// the run page, releases and later jobs read them there. Before a job that
// uses actions/download-artifact, the run's artifacts the agent does not
// have are fetched from the server into its data folder (fetchArtifacts).
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { listArtifacts, manifestPath, type ArtifactManifest } from "../actions/index.js";
import { FileBlobStore, writeJsonAtomic, type Digest } from "../blobs/index.js";
import type { AgentClient } from "./client.js";

/** Whether a job's steps use actions/download-artifact (then its run's artifacts are fetched first). */
export function downloadsArtifacts(steps: readonly { uses?: string }[]): boolean {
  return steps.some((s) => s.uses?.toLowerCase().startsWith("actions/download-artifact@") === true);
}

/**
 * Fetches the artifacts of the job's run that the agent's data folder lacks
 * (by name and digest) from the server: each file's bytes once (checked
 * against their digest), then the manifest. Resolves with the names fetched;
 * throws with the reason when the server refuses.
 */
export async function fetchArtifacts(client: AgentClient, job: { id: number; attempt: number; agent: string; runId: number }, dataDir: string, signal: AbortSignal): Promise<string[]> {
  const query = new URLSearchParams({ name: job.agent, attempt: String(job.attempt) }).toString();
  const listed = await client.getRetry(`/api/agents/jobs/${job.id}/artifacts?${query}`, { signal, what: `artifacts of run ${job.runId}`, max5xx: 5 });
  if (!listed) throw new Error("the run's artifacts were not fetched: the agent is stopping");
  if (listed.status !== 200) throw new Error(`the server refused the run's artifacts: HTTP ${listed.status}: ${String(listed.json.error ?? "")}`);
  const have = await artifactDigests(dataDir, job.runId);
  const blobs = new FileBlobStore(dataDir);
  const fetched: string[] = [];
  for (const m of listed.json.artifacts as ArtifactManifest[]) {
    if (have.get(m.name) === m.digest) continue;
    for (const f of m.files) {
      if (await blobs.has(f.digest as Digest)) continue;
      const tmp = mkdtempSync(join(dataDir, ".fetch-"));
      try {
        const file = join(tmp, "blob");
        const got = await client.downloadRetry(`/api/agents/jobs/${job.id}/blobs/${f.digest}?${query}`, file, { signal, what: `artifact ${m.name}: ${f.path}`, max5xx: 5 });
        if (!got) throw new Error(`artifact ${m.name} was not fetched: the agent is stopping`);
        if (got.status !== 200) throw new Error(`the server refused artifact ${m.name} (${f.path}): HTTP ${got.status}: ${String(got.json.error ?? "")}`);
        await blobs.putFile(file, { move: true, expectedDigest: f.digest as Digest });
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
    await writeJsonAtomic(manifestPath(dataDir, job.runId, m.name), m, { durable: true });
    fetched.push(m.name);
  }
  return fetched;
}

/** The run's artifacts in the agent's data folder, by name → digest. */
export async function artifactDigests(dataDir: string, runId: number): Promise<Map<string, string>> {
  return new Map((await listArtifacts(dataDir, runId, { includeExpired: true })).map((m) => [m.name, m.digest]));
}

/**
 * Sends the artifacts made since `before` (new names or new content) to the
 * server. Resolves with the names sent; throws with the reason when the
 * server refuses one (the job then fails: an artifact is never silently lost).
 */
export async function sendArtifacts(
  client: AgentClient,
  job: { id: number; attempt: number; agent: string; runId: number },
  dataDir: string,
  before: Map<string, string>,
  signal: AbortSignal,
): Promise<string[]> {
  const made: ArtifactManifest[] = (await listArtifacts(dataDir, job.runId, { includeExpired: true })).filter((m) => before.get(m.name) !== m.digest);
  const blobs = new FileBlobStore(dataDir);
  for (const m of made) {
    const base = `/api/agents/jobs/${job.id}/artifacts/${encodeURIComponent(m.name)}`;
    for (const f of m.files) {
      const file = blobs.path(f.digest);
      const query = new URLSearchParams({ name: job.agent, attempt: String(job.attempt), path: f.path, mode: String(f.mode & 0o777) });
      const a = await client.putFileRetry(`${base}/files?${query.toString()}`, file, { signal, what: `artifact ${m.name}: ${f.path}`, max5xx: 5 });
      if (!a) throw new Error(`artifact ${m.name} was not sent: the agent is stopping`);
      if (a.status !== 200) throw new Error(`the server refused artifact ${m.name} (${f.path}): HTTP ${a.status}: ${String(a.json.error ?? "")}`);
    }
    const done = await client.postRetry(base, { name: job.agent, attempt: job.attempt }, { signal, what: `artifact ${m.name}`, max5xx: 5 });
    if (!done) throw new Error(`artifact ${m.name} was not sent: the agent is stopping`);
    if (done.status !== 201) throw new Error(`the server refused artifact ${m.name}: HTTP ${done.status}: ${String(done.json.error ?? "")}`);
    if (done.json.digest !== m.digest) throw new Error(`artifact ${m.name} arrived with digest ${String(done.json.digest)}, not ${m.digest}`);
  }
  return made.map((m) => m.name);
}
