// The release signing key: ECDSA P-256, generated on first use and kept
// encrypted at rest with the secrets' envelope encryption (a fresh data key
// wrapped by the master key, see secrets/crypto.ts), or supplied.
//
//   <dataDir>/keys/signing/<key id>.key   PKCS#8 PEM, encrypted (envelope format of secrets), 0600
//   <dataDir>/keys/signing/<key id>.pub   SPKI PEM, plain: every key ever used, so old releases still verify
//   <dataDir>/keys/signing/active         the id of the key new releases are signed with
//
// The key id is the hex SHA-256 of the public key's DER (SPKI); it is the
// `verificationMaterial.publicKey.hint` of every bundle the key signs.
// `SLIPWAY_SIGNING_KEY=FILE` (a PKCS#8 PEM) signs with a key kept elsewhere
// instead; its public key is recorded beside the others.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { MasterKeyring, writeFileAtomicSync } from "../secrets/index.js";

const SIGNING_KEY_ENV = "SLIPWAY_SIGNING_KEY";

/** A key problem; the message names the file and the fix. */
export class SigningKeyError extends Error {
  override readonly name = "SigningKeyError";
}

export interface SigningKey {
  /** Hex SHA-256 of the public key's DER: the bundles' key hint. */
  id: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM. */
  publicKeyPem: string;
}

/** Where the signing keys live. */
export function signingKeyDir(dataDir: string): string {
  return path.join(dataDir, "keys", "signing");
}

/** The key id of a public key: hex SHA-256 of its SPKI DER. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex");
}

const aadFor = (id: string): string => `slipway signing key\0${id}`;

function checkP256(key: KeyObject, source: string): void {
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new SigningKeyError(`${source} is not an ECDSA P-256 key (it is ${key.asymmetricKeyType ?? "unknown"}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ""}); make one with: openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out signing.pem`);
  }
}

function fromPrivate(privateKey: KeyObject): SigningKey {
  const publicKey = createPublicKey(privateKey);
  return { id: keyIdOf(publicKey), privateKey, publicKey, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/** Reads a private key PEM (PKCS#8 or SEC1, unencrypted). */
function readPrivateKeyFile(file: string): SigningKey {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new SigningKeyError(`cannot read the signing key ${file}: ${(err as Error).message}; give the path of a PEM private key`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (err) {
    throw new SigningKeyError(`${file} is not a PEM private key (${(err as Error).message}); give an unencrypted PKCS#8 PEM, e.g. from openssl pkcs8 -topk8 -nocrypt`);
  }
  checkP256(key, file);
  return fromPrivate(key);
}

/** Reads a public key PEM (SPKI), checking it is P-256. */
export function readPublicKeyFile(file: string): KeyObject {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new SigningKeyError(`cannot read the public key ${file}: ${(err as Error).message}; give the path of a PEM public key (slipway keys export-public prints Slipway's)`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch (err) {
    throw new SigningKeyError(`${file} is not a PEM public key (${(err as Error).message}); export one with \`slipway keys export-public > ${path.basename(file)}\``);
  }
  checkP256(key, file);
  return key;
}

/**
 * The key releases are signed with: `SLIPWAY_SIGNING_KEY` when set, else the
 * active key of the data directory, generated (and encrypted) on first use.
 */
export function loadSigningKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): SigningKey {
  const supplied = env[SIGNING_KEY_ENV];
  if (supplied) {
    const key = readPrivateKeyFile(supplied);
    recordPublicKey(dataDir, key);
    return key;
  }
  const active = activeKeyId(dataDir);
  if (active) return readStoredKey(dataDir, active, env);
  return storeKey(dataDir, fromPrivate(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey), env, { onlyIfNone: true });
}

/**
 * The public key PEM of the key releases are signed with (what
 * loadSigningKey's key would give), read from the active key's `.pub` when
 * there is one: no private key is decrypted, so no master key is needed. A
 * key is generated only when there is none yet.
 */
export function activePublicKeyPem(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!env[SIGNING_KEY_ENV]) {
    const active = activeKeyId(dataDir);
    if (active) {
      try {
        const key = createPublicKey(fs.readFileSync(path.join(signingKeyDir(dataDir), `${active}.pub`), "utf8"));
        if (keyIdOf(key) === active) return key.export({ type: "spki", format: "pem" }).toString();
      } catch {
        // no (readable) public key file: read it from the private key below
      }
    }
  }
  return loadSigningKey(dataDir, env).publicKeyPem;
}

/** Generates a new key and makes it the active one; the old public keys stay, so old releases still verify. */
export function rotateSigningKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): SigningKey {
  return storeKey(dataDir, fromPrivate(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey), env, { onlyIfNone: false });
}

/** Stores a supplied private key (PEM file), encrypted, as the active key. */
export function importSigningKey(dataDir: string, file: string, env: NodeJS.ProcessEnv = process.env): SigningKey {
  return storeKey(dataDir, readPrivateKeyFile(file), env, { onlyIfNone: false });
}

/** The id of the active key, if there is one. */
export function activeKeyId(dataDir: string): string | undefined {
  try {
    const id = fs.readFileSync(path.join(signingKeyDir(dataDir), "active"), "utf8").trim();
    return /^[0-9a-f]{64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Every public key Slipway has signed with, by key id (the bundles' hint). */
export function knownPublicKeys(dataDir: string): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(signingKeyDir(dataDir));
  } catch {
    return keys;
  }
  for (const name of names.filter((n) => /^[0-9a-f]{64}\.pub$/.test(n))) {
    try {
      const key = createPublicKey(fs.readFileSync(path.join(signingKeyDir(dataDir), name), "utf8"));
      keys.set(keyIdOf(key), key);
    } catch {
      // an unreadable public key file: that key's releases will not verify, and say so
    }
  }
  return keys;
}

function readStoredKey(dataDir: string, id: string, env: NodeJS.ProcessEnv): SigningKey {
  const file = path.join(signingKeyDir(dataDir), `${id}.key`);
  let envelope: Buffer;
  try {
    envelope = fs.readFileSync(file);
  } catch (err) {
    throw new SigningKeyError(`cannot read the signing key ${file}: ${(err as Error).message}; restore it from a backup, or make a new one with \`slipway keys rotate\``);
  }
  const pem = new MasterKeyring(dataDir, env).decrypt(envelope, aadFor(id));
  try {
    const key = fromPrivate(createPrivateKey(pem.toString("utf8")));
    if (key.id !== id) throw new Error(`it holds key ${key.id}`);
    return key;
  } finally {
    pem.fill(0);
  }
}

/**
 * Re-encrypts the stored private keys under the current master key (a
 * master key rotation's step 2, `slipway secrets rotate-key`); how many were.
 */
export function reencryptSigningKeys(dataDir: string, keys: MasterKeyring): number {
  const dir = signingKeyDir(dataDir);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith(".key"));
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    const file = path.join(dir, name);
    const next = keys.reencrypt(fs.readFileSync(file), aadFor(name.slice(0, -".key".length)));
    if (!next) continue;
    writeFileAtomicSync(file, next);
    n++;
  }
  return n;
}

function recordPublicKey(dataDir: string, key: SigningKey): void {
  const dir = signingKeyDir(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${key.id}.pub`);
  if (!fs.existsSync(file)) writeFileAtomicSync(file, key.publicKeyPem, { mode: 0o644 });
}

function storeKey(dataDir: string, key: SigningKey, env: NodeJS.ProcessEnv, options: { onlyIfNone: boolean }): SigningKey {
  const dir = signingKeyDir(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pem = Buffer.from(key.privateKey.export({ type: "pkcs8", format: "pem" }));
  try {
    writeFileAtomicSync(path.join(dir, `${key.id}.key`), new MasterKeyring(dataDir, env).encrypt(pem, aadFor(key.id)));
  } finally {
    pem.fill(0);
  }
  recordPublicKey(dataDir, key);
  const active = path.join(dir, "active");
  if (options.onlyIfNone) {
    // Two processes generating at once: the first `active` wins, and both use it.
    if (!writeFileAtomicSync(active, `${key.id}\n`, { exclusive: true })) {
      const winner = activeKeyId(dataDir);
      if (winner && winner !== key.id) return readStoredKey(dataDir, winner, env);
    }
    return key;
  }
  writeFileAtomicSync(active, `${key.id}\n`);
  return key;
}

