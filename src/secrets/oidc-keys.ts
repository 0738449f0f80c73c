// The OIDC issuer's signing keys: RSA 2048 (RS256), kept in
// `<dataDir>/keys/oidc-keys.json`, each private key encrypted at rest with
// the master key exactly as secrets are (crypto.ts envelope, bound to the
// key's id). The public half is stored as a JWK, so the JWKS needs no key.
//
// Rotation (`slipway oidc rotate`): a new key is made and signs from then on;
// the previous one is marked retired and stays in the JWKS for
// OIDC_KEY_RETENTION_MS (twice the token lifetime), so every token it signed
// verifies until it expires; after that it is left out of the JWKS and
// dropped from the file at the next rotation.
//
// The file is read again whenever it changed (size and mtime), so a server
// picks up a rotation made by another process without a restart.
import { generateKeyPair as generateKeyPairCb, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { calculateJwkThumbprint, type JWK } from "jose";
import { SecretsError } from "./crypto.js";
import { MasterKeyring } from "./master-keys.js";
import { writeFileAtomicSync } from "./key-file.js";

const generateKeyPair = promisify(generateKeyPairCb);

/** Lifetime of every ID token the issuer mints. */
export const OIDC_TOKEN_LIFETIME_MS = 5 * 60_000;
/** How long a retired key stays in the JWKS: the token lifetime, plus as much again for clock skew and JWKS caches. */
export const OIDC_KEY_RETENTION_MS = 2 * OIDC_TOKEN_LIFETIME_MS;

const FILE_VERSION = 1;

/** One key as the file holds it. */
interface StoredKey {
  kid: string;
  createdAt: string;
  /** When a newer key took over signing; null for the signing key. */
  retiredAt: string | null;
  /** The public key (RFC 7517), with kid, alg and use. */
  publicJwk: JWK;
  /** PKCS#8 PEM of the private key, envelope-encrypted with the master key (base64). */
  privateKey: string;
}

interface KeyFile {
  version: number;
  keys: StoredKey[];
}

/** The key that signs now. */
export interface OidcSigningKey {
  kid: string;
  privateKey: KeyObject;
}

/** What a rotation did. */
export interface OidcRotation {
  /** The new signing key's id. */
  kid: string;
  /** Retired keys still published, with the time each leaves the JWKS. */
  retained: Array<{ kid: string; until: string }>;
  /** Keys dropped from the file (retired longer than the retention). */
  dropped: string[];
}

export interface OidcKeyStoreOptions {
  /** Where SLIPWAY_MASTER_KEY is read from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

/** Where the OIDC keys live in a data directory. */
export function oidcKeysPath(dataDir: string): string {
  return path.join(dataDir, "keys", "oidc-keys.json");
}

function aadFor(kid: string): string {
  return `slipway oidc signing key\0${kid}`;
}

/** The OIDC issuer's signing keys in a data directory (see the file's header). */
export class OidcKeyStore {
  private readonly file: string;
  private readonly now: () => number;
  private keyring: MasterKeyring | undefined;
  private cache: { stamp: string; keys: StoredKey[] } | undefined;
  private readonly privateKeys = new Map<string, KeyObject>();

  constructor(
    private readonly dataDir: string,
    private readonly options: OidcKeyStoreOptions = {},
  ) {
    this.file = oidcKeysPath(dataDir);
    this.now = options.now ?? Date.now;
  }

  /** The signing key, generated on first use. */
  async signingKey(): Promise<OidcSigningKey> {
    let keys = this.read();
    if (keys.length === 0) {
      await this.create();
      keys = this.read();
    }
    // Never undefined: there is at least one key now.
    const active = (keys.find((k) => k.retiredAt === null) ?? keys[keys.length - 1]) as StoredKey;
    return { kid: active.kid, privateKey: this.privateKey(active) };
  }

  /** The JSON Web Key Set: the signing key and the retired keys still within their retention. */
  async jwks(): Promise<{ keys: JWK[] }> {
    // The first key is made here too; the private keys are not needed (nor decrypted) to publish the public ones.
    if (this.read().length === 0) await this.create();
    const now = this.now();
    return { keys: this.read().filter((k) => published(k, now)).map((k) => k.publicJwk) };
  }

  /** Makes a new signing key; the current one is retired and kept for OIDC_KEY_RETENTION_MS. */
  async rotate(): Promise<OidcRotation> {
    const now = this.now();
    const fresh = await this.newKey(now);
    const old = this.read();
    const dropped = old.filter((k) => !published(k, now)).map((k) => k.kid);
    const kept = old.filter((k) => published(k, now)).map((k) => (k.retiredAt === null ? { ...k, retiredAt: new Date(now).toISOString() } : k));
    this.write([...kept, fresh], false);
    return {
      kid: fresh.kid,
      retained: kept.map((k) => ({ kid: k.kid, until: new Date(Date.parse(k.retiredAt as string) + OIDC_KEY_RETENTION_MS).toISOString() })),
      dropped,
    };
  }

  /** The data directory's master keys, which encrypt the private keys (and the issuer's request tokens). */
  masterKeys(): MasterKeyring {
    this.keyring ??= new MasterKeyring(this.dataDir, this.options.env ?? process.env);
    return this.keyring;
  }

  /** Re-encrypts the private keys under the current master key (a rotation's step 2); how many were. */
  reencrypt(): number {
    let changed = 0;
    const keys = this.read().map((k) => {
      const next = this.masterKeys().reencrypt(Buffer.from(k.privateKey, "base64"), aadFor(k.kid));
      if (!next) return k;
      changed++;
      return { ...k, privateKey: next.toString("base64") };
    });
    if (changed > 0) this.write(keys, false);
    return changed;
  }

  private privateKey(k: StoredKey): KeyObject {
    let key = this.privateKeys.get(k.kid);
    if (!key) {
      let pem: string;
      try {
        pem = this.masterKeys().decrypt(Buffer.from(k.privateKey, "base64"), aadFor(k.kid)).toString("utf8");
      } catch (err) {
        if (err instanceof SecretsError) throw new SecretsError(err.code, `cannot decrypt OIDC signing key ${k.kid} in ${this.file}: ${err.message}`);
        throw err;
      }
      key = createPrivateKey(pem);
      this.privateKeys.set(k.kid, key);
    }
    return key;
  }

  private async newKey(now: number): Promise<StoredKey> {
    const { privateKey } = await generateKeyPair("rsa", { modulusLength: 2048 });
    const publicJwk = createPublicKey(privateKey).export({ format: "jwk" }) as JWK;
    const kid = await calculateJwkThumbprint(publicJwk, "sha256");
    const pem = privateKey.export({ format: "pem", type: "pkcs8" }) as string;
    this.privateKeys.set(kid, privateKey);
    return {
      kid,
      createdAt: new Date(now).toISOString(),
      retiredAt: null,
      publicJwk: { ...publicJwk, kid, alg: "RS256", use: "sig" },
      privateKey: this.masterKeys().encrypt(pem, aadFor(kid)).toString("base64"),
    };
  }

  /** The first key; if another process made one meanwhile, theirs is kept. */
  private async create(): Promise<void> {
    this.write([await this.newKey(this.now())], true);
  }

  private read(): StoredKey[] {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new SecretsError("master_key", `cannot read ${this.file}: ${(err as Error).message}`);
    }
    const stamp = `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
    if (this.cache?.stamp === stamp) return this.cache.keys;
    let parsed: KeyFile;
    try {
      parsed = JSON.parse(fs.readFileSync(this.file, "utf8")) as KeyFile;
    } catch (err) {
      throw new SecretsError("master_key", `${this.file} is not valid JSON (${(err as Error).message}); restore it from a backup or remove it to start with a new key`);
    }
    if (parsed.version !== FILE_VERSION || !Array.isArray(parsed.keys)) {
      throw new SecretsError("master_key", `${this.file} has version ${String(parsed.version)}, but this Slipway reads only version ${FILE_VERSION}: upgrade Slipway`);
    }
    this.cache = { stamp, keys: parsed.keys };
    return parsed.keys;
  }

  /** Writes the file atomically (0600 in a 0700 directory); `exclusive` never replaces an existing file. */
  private write(keys: StoredKey[], exclusive: boolean): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const body: KeyFile = { version: FILE_VERSION, keys };
    writeFileAtomicSync(this.file, JSON.stringify(body, null, 2) + "\n", { mode: 0o600, exclusive });
    this.cache = undefined;
  }
}

function published(k: StoredKey, now: number): boolean {
  return k.retiredAt === null || Date.parse(k.retiredAt) + OIDC_KEY_RETENTION_MS > now;
}
