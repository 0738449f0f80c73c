// What the delivery commands (status, promote, abort, approve, reject,
// rollback, up) share: slipway.yml loaded and valid, the store, the state
// repository, and who is acting.
import { userInfo } from "node:os";
import { loadDeliveryConfig, NAME, NAME_FIX, type DeliveryConfig } from "../delivery/index.js";
import { openStateRepository, type StateRepository } from "../gitops/index.js";
import { openDataStore, type ReleaseRecord, type Store } from "../store/index.js";
import { dataDirFor, UsageError, workDir, type GlobalOptions } from "./common.js";

export interface DeliveryOptions extends GlobalOptions {
  stateRepo?: string;
  json?: boolean;
}

export interface DeliveryContext {
  repoDir: string;
  dataDir: string;
  config: DeliveryConfig;
  store: Store;
  repo: StateRepository;
  close(): void;
}

/** Loads slipway.yml (its errors are a usage error naming the first), opens the store and the state repository. */
export async function openDelivery(opts: DeliveryOptions, options: { create?: boolean } = {}): Promise<DeliveryContext> {
  const repoDir = workDir(opts);
  const config = loadConfig(repoDir);
  const dataDir = dataDirFor(opts, repoDir);
  const url = opts.stateRepo ?? (process.env.SLIPWAY_STATE_REPO || undefined);
  const repo = await openStateRepository({ dataDir, ...(url !== undefined ? { url } : {}), create: options.create ?? true });
  const store = openDataStore(dataDir);
  return { repoDir, dataDir, config, store, repo, close: () => store.close() };
}

export function loadConfig(repoDir: string): DeliveryConfig {
  const { config, diagnostics } = loadDeliveryConfig(repoDir);
  if (!config) {
    const first = diagnostics.find((d) => d.severity === "error");
    const where = first ? `${first.file}:${first.line}:${first.column}: ${first.message}` : `no slipway.yml in ${repoDir}`;
    throw new UsageError(`${where}${first ? "; `slipway lint` lists every problem" : "; delivery needs one (docs/slipway-yml.md)"}`);
  }
  return config;
}

/** $SLIPWAY_ACTOR, else the login name. */
export function actorName(as?: string): string {
  if (as) return as;
  try {
    return process.env.SLIPWAY_ACTOR || userInfo().username;
  } catch {
    return "unknown";
  }
}

/** $SLIPWAY_GROUPS (comma-separated) plus --group options. */
export function actorGroups(groups: string[] | undefined): string[] {
  const fromEnv = (process.env.SLIPWAY_GROUPS ?? "").split(",").map((g) => g.trim()).filter(Boolean);
  return [...new Set([...fromEnv, ...(groups ?? [])])];
}

export function requireEnvironment(config: DeliveryConfig, env: string): void {
  if (!NAME.test(env)) throw new UsageError(`'${env}' is not a valid environment name: ${NAME_FIX}`);
  if (!config.environments[env]) {
    throw new UsageError(`${config.file} has no environment '${env}'; its environments: ${config.environmentOrder.join(", ") || "none"}`);
  }
}

/** The service named, or the only service of slipway.yml. */
export function pickService(config: DeliveryConfig, service: string | undefined): string {
  const names = Object.keys(config.services);
  if (service !== undefined) {
    if (!config.services[service]) throw new UsageError(`${config.file} has no service '${service}'; its services: ${names.join(", ") || "none"}`);
    return service;
  }
  if (names.length === 1 && names[0] !== undefined) return names[0];
  throw new UsageError(`${config.file} has ${names.length} services: name one (${names.join(", ")})`);
}

/** `web#3` (or `3` with the service known) → the release, or a usage error saying what exists. */
export function findRelease(store: Store, config: DeliveryConfig, ref: string, service?: string): ReleaseRecord {
  const m = /^(?:([a-z0-9-]+)#)?([1-9][0-9]*)$/.exec(ref);
  if (!m) throw new UsageError(`'${ref}' is not a release: write SERVICE#NUMBER, e.g. web#3 (\`slipway releases\` lists them)`);
  const name = pickService(config, m[1] ?? service);
  const release = store.getRelease(name, Number(m[2]));
  if (!release) throw new UsageError(`there is no release ${name}#${m[2]}; \`slipway releases ${name}\` lists them`);
  return release;
}
