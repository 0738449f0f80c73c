// Secrets by name, encrypted before they reach the Store. Names follow
// GitHub's rules and are stored upper-case; an environment-level secret
// overrides the repository-level one of the same name.
import type { Store } from "../store/index.js";
import { SecretsError } from "./crypto.js";
import { MasterKeyring } from "./master-keys.js";

/** GitHub's limit for one secret value. */
export const MAX_SECRET_BYTES = 48 * 1024;

export interface SecretInfo {
  name: string;
  /** Environment name, or "" for repository-level. */
  environment: string;
  updatedAt: string;
}

export interface SecretStoreOptions {
  /** Where SLIPWAY_MASTER_KEY is read from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Checks a secret name as GitHub does (letters, digits and underscores; not
 * starting with a digit or GITHUB_) and returns it upper-case.
 */
export function normalizeSecretName(name: string): string {
  if (name.length === 0) throw new SecretsError("invalid_name", "a secret name must not be empty");
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new SecretsError(
      "invalid_name",
      `secret name ${JSON.stringify(name)} is invalid: use only letters, digits and underscores (A-Z, a-z, 0-9, _)`,
    );
  }
  if (/^[0-9]/.test(name)) {
    throw new SecretsError("invalid_name", `secret name ${JSON.stringify(name)} is invalid: it must not start with a digit`);
  }
  const upper = name.toUpperCase();
  if (upper.startsWith("GITHUB_")) {
    throw new SecretsError(
      "invalid_name",
      `secret name ${JSON.stringify(name)} is invalid: names starting with GITHUB_ are reserved`,
    );
  }
  return upper;
}

function tryNormalize(name: string): string | undefined {
  try {
    return normalizeSecretName(name);
  } catch {
    return undefined;
  }
}

/** Binds a ciphertext to its name and environment. */
function aadFor(name: string, environment: string): string {
  return `slipway secret\0${environment}\0${name}`;
}

export class SecretStore {
  /** Read on first encrypt/decrypt, so listing needs no key. */
  private readonly keys: MasterKeyring;

  constructor(
    private readonly store: Store,
    dataDir: string,
    options: SecretStoreOptions = {},
  ) {
    this.keys = new MasterKeyring(dataDir, options.env ?? process.env);
  }

  set(name: string, value: string, environment = ""): void {
    const upper = normalizeSecretName(name);
    if (value.length === 0) {
      throw new SecretsError("invalid_value", `secret ${upper} has an empty value; a secret must not be empty`);
    }
    const bytes = Buffer.byteLength(value, "utf8");
    if (bytes > MAX_SECRET_BYTES) {
      throw new SecretsError(
        "invalid_value",
        `secret ${upper} is ${bytes} bytes; secrets are limited to ${MAX_SECRET_BYTES} bytes (48 KB), as on GitHub`,
      );
    }
    this.store.putSecret(upper, environment, this.keys.encrypt(value, aadFor(upper, environment)));
  }

  /**
   * The value, looking first at `environment` and then at repository level.
   * An invalid name simply has no value (as `secrets.X` in an expression).
   */
  get(name: string, environment = ""): string | undefined {
    const upper = tryNormalize(name);
    if (upper === undefined) return undefined;
    const levels = environment === "" ? [""] : [environment, ""];
    for (const env of levels) {
      const rec = this.store.getSecret(upper, env);
      if (rec) return this.decrypt(upper, env, rec.ciphertext);
    }
    return undefined;
  }

  /** Every secret a job in `environment` sees: repository-level overridden by environment-level. */
  getAll(environment = ""): Record<string, string> {
    const result: Record<string, string> = {};
    const levels = environment === "" ? [""] : ["", environment];
    for (const env of levels) {
      for (const { name } of this.store.listSecrets(env)) {
        const rec = this.store.getSecret(name, env);
        if (rec) result[name] = this.decrypt(name, env, rec.ciphertext);
      }
    }
    return result;
  }

  /** Names and times only; all environments when `environment` is undefined. */
  list(environment?: string): SecretInfo[] {
    return this.store.listSecrets(environment);
  }

  /** Removes the secret at exactly this level; false if there was none. */
  remove(name: string, environment = ""): boolean {
    const upper = tryNormalize(name);
    if (upper === undefined) return false;
    return this.store.deleteSecret(upper, environment);
  }

  /**
   * Re-encrypts every secret that is not under the current master key (a
   * rotation's step 2); how many were. A secret set again meanwhile keeps its
   * new value (compare-and-swap on the ciphertext).
   */
  reencrypt(): number {
    let n = 0;
    for (const s of this.store.listSecrets()) {
      const rec = this.store.getSecret(s.name, s.environment);
      if (!rec) continue;
      const next = this.keys.reencrypt(rec.ciphertext, aadFor(s.name, s.environment));
      if (next && this.store.replaceSecret(s.name, s.environment, rec.ciphertext, next)) n++;
    }
    return n;
  }

  private decrypt(name: string, environment: string, ciphertext: Buffer): string {
    try {
      return this.keys.decrypt(ciphertext, aadFor(name, environment)).toString("utf8");
    } catch (err) {
      if (err instanceof SecretsError) {
        const where = environment === "" ? "repository level" : `environment ${JSON.stringify(environment)}`;
        throw new SecretsError(err.code, `cannot decrypt secret ${name} (${where}): ${err.message}`);
      }
      throw err;
    }
  }
}
