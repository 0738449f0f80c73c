// `slipway secrets|vars set|list|rm NAME [--env ENV]`. Secret values come from
// standard input, never from the command line (which ends up in shell history).
// `slipway secrets rotate-key [--prune]`: a new master key, everything
// encrypted with the old one re-encrypted (secrets/master-keys.ts).
import { join } from "node:path";
import { HostedRepositories } from "../git/index.js";
import { resealQueuedJobSecrets } from "../scheduler/index.js";
import {
  deleteRetiredKeys,
  MASTER_KEY_PREVIOUS_ENV,
  MasterKeyring,
  OidcKeyStore,
  retiredKeyIds,
  retiredKeysDir,
  rotateMasterKey,
  SecretStore,
  withRotationLock,
  type MasterKeyRotation,
} from "../secrets/index.js";
import { reencryptWebhookSecrets } from "../server/index.js";
import { reencryptSigningKeys } from "../supply-chain/index.js";
import { dataDirFor, EXIT, readStdin, UsageError, withStore, workDir, type GlobalOptions } from "./common.js";
import { paint, table } from "./style.js";

type Opts = GlobalOptions & { env?: string; json?: boolean; prune?: boolean; run?: string };

function stripNewline(v: string): string {
  return v.endsWith("\r\n") ? v.slice(0, -2) : v.endsWith("\n") ? v.slice(0, -1) : v;
}

export async function secretsCommand(action: string, name: string | undefined, opts: Opts): Promise<number> {
  const dataDir = dataDirFor(opts, workDir(opts));
  const env = opts.env ?? "";
  if (action === "rotate-key") {
    if (name !== undefined) throw new UsageError(`slipway secrets rotate-key takes no NAME (it re-encrypts every secret)`);
    return rotateKey(dataDir, opts);
  }
  if (opts.prune) throw new UsageError(`--prune is an option of \`slipway secrets rotate-key\``);
  if (action === "audit") return audit(dataDir, name, opts);
  if (opts.run !== undefined) throw new UsageError(`--run is an option of \`slipway secrets audit\``);
  if (action !== "list" && !name) throw new UsageError(`slipway secrets ${action} needs a NAME`);
  const value = action === "set" ? stripNewline(await readStdin()) : "";
  return withStore(dataDir, (store) => {
    const secrets = new SecretStore(store, dataDir);
    try {
      if (action === "set") {
        if (value === "") throw new UsageError(`no value on standard input for secret '${name}'; e.g. printf %s "$VALUE" | slipway secrets set ${name}`);
        secrets.set(name as string, value, env);
        process.stdout.write(`secret ${name!.toUpperCase()} saved${env ? ` for environment ${env}` : ""}\n`);
      } else if (action === "rm") {
        if (!secrets.remove(name as string, env)) throw new UsageError(`no secret '${name}'${env ? ` in environment ${env}` : ""}`);
        process.stdout.write(`secret ${name!.toUpperCase()} removed\n`);
      } else {
        const list = secrets.list(opts.env);
        if (opts.json) process.stdout.write(JSON.stringify(list, null, 2) + "\n");
        else if (list.length === 0) process.stdout.write("no secrets\n");
        else process.stdout.write(table(["NAME", "ENVIRONMENT", "UPDATED"], list.map((s) => [s.name, s.environment || "(repository)", s.updatedAt])));
      }
    } catch (err) {
      throw err instanceof UsageError ? err : new UsageError((err as Error).message);
    }
    return EXIT.ok;
  });
}

/** `slipway secrets audit [NAME] [--run N]`: which job read which secret (names only), newest first. */
function audit(dataDir: string, name: string | undefined, opts: Opts): number {
  let runId: number | undefined;
  if (opts.run !== undefined) {
    runId = Number(opts.run);
    if (!Number.isInteger(runId) || runId < 1) throw new UsageError(`--run ${opts.run}: give a run id (slipway runs lists them)`);
  }
  const reads = withStore(dataDir, (store) => store.listSecretReads({ ...(runId !== undefined ? { runId } : {}), ...(name !== undefined ? { name: name.toUpperCase() } : {}) }));
  if (opts.json) process.stdout.write(JSON.stringify(reads, null, 2) + "\n");
  else if (reads.length === 0) process.stdout.write("no job has read a secret" + (name || runId ? " (with these filters)" : "") + "\n");
  else process.stdout.write(table(["READ AT", "RUN", "JOB", "ENVIRONMENT", "SECRET"], reads.map((r) => [r.readAt, String(r.runId), r.job, r.environment || "(repository)", r.name])));
  return EXIT.ok;
}

/** What a rotation re-encrypted, by kind. */
interface Reencrypted {
  secrets: number;
  signingKeys: number;
  oidcKeys: number;
  webhookSecrets: number;
  queuedJobSecrets: number;
}

/**
 * `slipway secrets rotate-key`: a new master key (unless SLIPWAY_MASTER_KEY
 * holds it), then every stored envelope re-encrypted under it; the old key is
 * kept in keys/retired/ for processes that started before. `--prune`: no new
 * key; what is still under a retired key is re-encrypted, then the retired
 * keys are deleted.
 */
function rotateKey(dataDir: string, opts: Opts): number {
  const result = withRotationLock(dataDir, () => {
    const rotation: MasterKeyRotation | undefined = opts.prune ? undefined : rotateMasterKey(dataDir);
    const keys = new MasterKeyring(dataDir);
    const reencrypted: Reencrypted = withStore(dataDir, (store) => ({
      secrets: new SecretStore(store, dataDir).reencrypt(),
      signingKeys: reencryptSigningKeys(dataDir, keys),
      oidcKeys: new OidcKeyStore(dataDir).reencrypt(),
      webhookSecrets: reencryptWebhookSecrets(new HostedRepositories(join(dataDir, "repos")), keys),
      queuedJobSecrets: resealQueuedJobSecrets(store, keys),
    }));
    // Only once everything is under the current key: a failure above keeps the retired keys.
    const pruned = opts.prune ? deleteRetiredKeys(dataDir) : [];
    return { rotation, reencrypted, pruned, retired: retiredKeyIds(dataDir) };
  });
  const { rotation, reencrypted, pruned, retired } = result;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ...(rotation ? { rotation } : {}), reencrypted, pruned, retired }, null, 2) + "\n");
    return EXIT.ok;
  }
  const p = paint(process.stdout);
  const out: string[] = [];
  if (rotation?.generated) out.push(p.green(`new master key ${rotation.current}`) + ` (the previous one, ${rotation.previous}, is kept in ${retiredKeysDir(dataDir)})`);
  else if (rotation) out.push(`the master key comes from SLIPWAY_MASTER_KEY (${rotation.current}): nothing generated; what was under another key is re-encrypted under it`);
  out.push(
    table(
      ["RE-ENCRYPTED", "COUNT"],
      [
        ["secrets", String(reencrypted.secrets)],
        ["release signing keys", String(reencrypted.signingKeys)],
        ["OIDC signing keys", String(reencrypted.oidcKeys)],
        ["webhook secrets", String(reencrypted.webhookSecrets)],
        ["queued jobs' secrets", String(reencrypted.queuedJobSecrets)],
      ],
    ).trimEnd(),
  );
  if (pruned.length > 0) out.push(`deleted retired key(s) ${pruned.join(", ")}`);
  if (retired.length > 0) {
    out.push(
      opts.prune
        ? p.yellow(`still retired: ${retired.join(", ")} (from ${MASTER_KEY_PREVIOUS_ENV}: remove it there)`)
        : `processes started before the rotation still write with ${retired.join(", ")}; once they have ended, run \`slipway secrets rotate-key --prune\` to re-encrypt what they wrote and delete the retired key`,
    );
  }
  process.stdout.write(out.join("\n") + "\n");
  return EXIT.ok;
}

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export async function varsCommand(action: string, name: string | undefined, opts: Opts): Promise<number> {
  const dataDir = dataDirFor(opts, workDir(opts));
  const env = opts.env ?? "";
  if (action !== "list" && !name) throw new UsageError(`slipway vars ${action} needs a NAME`);
  if (name && (!VAR_NAME.test(name) || /^GITHUB_/i.test(name))) {
    throw new UsageError(`invalid variable name '${name}': use letters, digits and _, not starting with a digit or GITHUB_`);
  }
  const value = action === "set" ? stripNewline(await readStdin()) : "";
  return withStore(dataDir, (store) => {
    if (action === "set") {
      store.putVariable(name!.toUpperCase(), env, value);
      process.stdout.write(`variable ${name!.toUpperCase()} saved\n`);
    } else if (action === "rm") {
      if (!store.deleteVariable(name!.toUpperCase(), env)) throw new UsageError(`no variable '${name}'`);
      process.stdout.write(`variable ${name!.toUpperCase()} removed\n`);
    } else {
      const list = store.listVariables(opts.env);
      if (opts.json) process.stdout.write(JSON.stringify(list, null, 2) + "\n");
      else if (list.length === 0) process.stdout.write("no variables\n");
      else process.stdout.write(table(["NAME", "VALUE", "ENVIRONMENT"], list.map((v) => [v.name, v.value, v.environment || "(repository)"])));
    }
    return EXIT.ok;
  });
}
