// External repositories: mirrors of a repository that lives elsewhere
// (GitHub, Gitea, GitLab, any Git URL). Slipway learns of pushes and pull
// requests from the provider's webhooks (signed with the repository's
// webhook secret) or by polling the remote, fetches, and starts the runs.
//
// The webhook secret is kept encrypted with the data directory's master key
// (as secrets are), in `<mirror>/slipway/webhook.secret`; the poll interval
// in `<mirror>/slipway/poll`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HostedRepositories, RefUpdate } from "../git/index.js";
import { MasterKeyring, writeFileAtomicSync } from "../secrets/index.js";
import type { Logger } from "./log.js";

const webhookAad = (name: string): string => `webhook:${name}`;
const webhookSecretFile = (repos: HostedRepositories, name: string): string => join(repos.path(name), "slipway", "webhook.secret");

/**
 * Re-encrypts the webhook secrets of the mirrors under the current master
 * key (a master key rotation's step 2, `slipway secrets rotate-key`); how many were.
 */
export function reencryptWebhookSecrets(repos: HostedRepositories, keys: MasterKeyring): number {
  let n = 0;
  for (const name of repos.list()) {
    const file = webhookSecretFile(repos, name);
    if (!existsSync(file)) continue;
    const next = keys.reencrypt(readFileSync(file), webhookAad(name));
    if (!next) continue;
    writeFileAtomicSync(file, next);
    n++;
  }
  return n;
}

export class ExternalRepositories {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly repos: HostedRepositories,
    private readonly dataDir: string,
    private readonly log: Logger,
    /** Called with the branches and tags a poll found moved. */
    private readonly onUpdates: (name: string, updates: RefUpdate[]) => void,
  ) {}

  private file(name: string, what: string): string {
    return join(this.repos.path(name), "slipway", what);
  }

  setWebhookSecret(name: string, secret: string): void {
    mkdirSync(join(this.repos.path(name), "slipway"), { recursive: true });
    writeFileSync(this.file(name, "webhook.secret"), new MasterKeyring(this.dataDir).encrypt(secret, webhookAad(name)), { mode: 0o600 });
  }

  webhookSecret(name: string): string | undefined {
    const f = this.file(name, "webhook.secret");
    if (!existsSync(f)) return undefined;
    return new MasterKeyring(this.dataDir).decrypt(readFileSync(f), webhookAad(name)).toString("utf8");
  }

  setPoll(name: string, seconds: number): void {
    mkdirSync(join(this.repos.path(name), "slipway"), { recursive: true });
    writeFileSync(this.file(name, "poll"), `${seconds}\n`);
    this.schedule(name, seconds);
  }

  pollSeconds(name: string): number | undefined {
    const f = this.file(name, "poll");
    if (!existsSync(f)) return undefined;
    const n = Number(readFileSync(f, "utf8").trim());
    return Number.isFinite(n) && n > 0 ? n : undefined;
  }

  /** Starts polling every mirror that has an interval (at server start). */
  async startPolling(): Promise<void> {
    for (const name of this.repos.list()) {
      const seconds = this.pollSeconds(name);
      if (seconds !== undefined && (await this.repos.isMirror(name))) this.schedule(name, seconds);
    }
  }

  stop(): void {
    for (const t of this.timers.values()) clearInterval(t);
    this.timers.clear();
  }

  /** Fetches now; the moved refs start runs (through onUpdates). */
  async poll(name: string): Promise<RefUpdate[]> {
    const updates = await this.repos.fetch(name);
    if (updates.length > 0) this.onUpdates(name, updates);
    return updates;
  }

  private schedule(name: string, seconds: number): void {
    clearInterval(this.timers.get(name));
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.poll(name)
        .catch((err: unknown) => this.log.warn("poll failed", { repository: name, error: (err as Error).message }))
        .finally(() => (busy = false));
    }, seconds * 1000);
    timer.unref();
    this.timers.set(name, timer);
  }
}
