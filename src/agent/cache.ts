// actions/cache on a runner agent, shared through the server: the agent's
// own cache (in its data folder) comes first; a restore that finds no exact
// match there asks the server, whose cache every agent and the server's own
// runs share, and fetches the archive (checked against its digest by
// cache.ts); an entry saved on the agent is sent to the server too. The
// server keeps entries per repository and files an entry under the run's
// own ref, whatever the agent says (agent-routes.ts): a job cannot write
// into another branch's or repository's cache.
import type { SharedCache } from "../actions/index.js";
import type { AgentClient } from "./client.js";

export function serverCache(client: AgentClient, job: { id: number; attempt: number; agent: string }, signal: AbortSignal): SharedCache {
  const base = `/api/agents/jobs/${job.id}/caches`;
  const lease = { name: job.agent, attempt: String(job.attempt) };
  const refused = (what: string, a: { status: number; json: Record<string, unknown> }) => new Error(`the server refused ${what}: HTTP ${a.status}: ${String(a.json.error ?? "")}`);
  const stopping = new Error("the agent is stopping");
  return {
    async find(lookup) {
      const a = await client.postRetry(`${base}/lookup`, { name: job.agent, attempt: job.attempt, keys: lookup.keys, version: lookup.version, scopes: lookup.scopes }, { signal, what: "a cache lookup", max5xx: 3 });
      if (!a) throw stopping;
      if (a.status === 404) return undefined;
      if (a.status !== 200) throw refused("the cache lookup", a);
      return a.json as unknown as Awaited<ReturnType<SharedCache["find"]>>;
    },
    async fetch(entry, file) {
      const query = new URLSearchParams({ ...lease, key: entry.key, version: entry.version, scope: entry.scope });
      const got = await client.downloadRetry(`${base}/archive?${query.toString()}`, file, { signal, what: `cache ${entry.key}`, max5xx: 3 });
      if (!got) throw stopping;
      if (got.status !== 200) throw refused(`cache ${entry.key}`, got);
    },
    async save(entry, archive) {
      const query = new URLSearchParams({ ...lease, key: entry.key, version: entry.version, ...(entry.home !== undefined ? { home: entry.home } : {}) });
      const a = await client.putFileRetry(`${base}?${query.toString()}`, archive, { signal, what: `cache ${entry.key}`, max5xx: 3 });
      if (!a) throw stopping;
      if (a.status !== 201 && a.status !== 200) throw refused(`cache ${entry.key}`, a);
    },
  };
}
