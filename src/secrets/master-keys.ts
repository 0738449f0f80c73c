// The master keys of a data directory, and their rotation
// (`slipway secrets rotate-key`, docs/secrets.md#rotating-the-master-key).
//
// One key is current: it encrypts (keys/master.key, or SLIPWAY_MASTER_KEY).
// Keys retired by a rotation still decrypt what was written under them
// (keys/retired/<id>.key, or SLIPWAY_MASTER_KEY_PREVIOUS), so that no process
// ever meets a value it cannot read while a rotation goes on:
//
//   1. the current key is copied to keys/retired/<id>.key, then a new key
//      replaces keys/master.key (atomically): new processes encrypt with it;
//   2. every stored envelope (secrets, signing keys, OIDC keys, webhook
//      secrets, queued jobs' secrets) is re-encrypted under the new key;
//   3. a process that started before the rotation keeps its old key until it
//      meets an envelope of a key it does not know: it then reads the keys
//      again (MasterKeyring.decrypt), so it reads the new values at once;
//   4. `--prune`, once those processes have ended, re-encrypts what they
//      wrote meanwhile and deletes the retired keys.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { decryptSecret, encryptSecret, envelopeKeyId, loadMasterKey, MASTER_KEY_ENV, masterKeyId, masterKeyPath, parseMasterKey, readKeyFile, SecretsError } from "./crypto.js";
import { writeFileAtomicSync } from "./key-file.js";

/** Keys retired by a rotation, for an operator who sets the current key in SLIPWAY_MASTER_KEY (comma-separated). */
export const MASTER_KEY_PREVIOUS_ENV = "SLIPWAY_MASTER_KEY_PREVIOUS";

/** Where the keys retired by a rotation are kept (one `<id>.key` each). */
export function retiredKeysDir(dataDir: string): string {
  return path.join(dataDir, "keys", "retired");
}

/** The key files of keys/retired/ by the id of the key each holds. */
function retiredKeyFiles(dir: string): Map<string, { file: string; key: Buffer }> {
  const out = new Map<string, { file: string; key: Buffer }>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith(".key"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new SecretsError("master_key", `cannot read ${dir}: ${(err as Error).message}`);
  }
  for (const n of names) {
    const file = path.join(dir, n);
    const key = readKeyFile(file);
    if (key) out.set(masterKeyId(key), { file, key });
  }
  return out;
}

/** The retired keys by id: the files of keys/retired/ and SLIPWAY_MASTER_KEY_PREVIOUS. */
function readRetiredKeys(dataDir: string, env: NodeJS.ProcessEnv): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [id, { key }] of retiredKeyFiles(retiredKeysDir(dataDir))) out.set(id, key);
  const previous = env[MASTER_KEY_PREVIOUS_ENV];
  if (previous) {
    previous
      .split(/[\s,]+/)
      .filter((t) => t !== "")
      .forEach((t, i) => {
        const key = parseMasterKey(t, `key ${i + 1} of ${MASTER_KEY_PREVIOUS_ENV}`);
        out.set(masterKeyId(key), key);
      });
  }
  return out;
}

/**
 * The master keys as one process sees them: the current key encrypts, any
 * known key decrypts. Meeting an envelope of an unknown key reads the keys
 * again (a rotation happened since): a long-running process follows a
 * rotation without a restart.
 */
export class MasterKeyring {
  private currentKey: Buffer | undefined;
  private retired: Map<string, Buffer> | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The current key (made on first use, as loadMasterKey does). */
  current(): Buffer {
    this.currentKey ??= loadMasterKey(this.dataDir, this.env);
    return this.currentKey;
  }

  encrypt(plaintext: string | Uint8Array, aad?: string | Uint8Array): Buffer {
    return encryptSecret(plaintext, this.current(), aad);
  }

  /** Decrypts with the key the envelope names; throws SecretsError("decrypt") as decryptSecret does. */
  decrypt(envelope: Uint8Array, aad?: string | Uint8Array): Buffer {
    const id = envelopeKeyId(envelope);
    let key = this.find(id);
    if (!key && id !== undefined) {
      this.currentKey = undefined;
      this.retired = undefined;
      key = this.find(id);
    }
    return decryptSecret(envelope, key ?? this.current(), aad);
  }

  /** The envelope again under the current key, or undefined when it is under it already. */
  reencrypt(envelope: Uint8Array, aad?: string | Uint8Array): Buffer | undefined {
    if (envelopeKeyId(envelope) === masterKeyId(this.current())) return undefined;
    const plain = this.decrypt(envelope, aad);
    try {
      return this.encrypt(plain, aad);
    } finally {
      plain.fill(0);
    }
  }

  private find(id: string | undefined): Buffer | undefined {
    if (id === undefined) return undefined;
    const current = this.current();
    if (masterKeyId(current) === id) return current;
    this.retired ??= readRetiredKeys(this.dataDir, this.env);
    return this.retired.get(id);
  }
}

export interface MasterKeyRotation {
  /** The id of the key in use before. */
  previous: string;
  /** The id of the key in use now. */
  current: string;
  /** False when the key comes from SLIPWAY_MASTER_KEY: the operator changes it there. */
  generated: boolean;
}

/**
 * Step 1 of a rotation: the current key is retired (kept in keys/retired/)
 * and a new one made current. With SLIPWAY_MASTER_KEY set nothing is
 * generated: the operator has set the new key there (and the old one in
 * SLIPWAY_MASTER_KEY_PREVIOUS). Re-encrypting is the caller's next step.
 */
export function rotateMasterKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): MasterKeyRotation {
  const old = loadMasterKey(dataDir, env);
  const previous = masterKeyId(old);
  if (env[MASTER_KEY_ENV] !== undefined) return { previous, current: previous, generated: false };
  const dir = retiredKeysDir(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Retired first: a process that meets the new key's envelopes must still find the old key.
  writeFileAtomicSync(path.join(dir, `${previous}.key`), `${old.toString("hex")}\n`, { mode: 0o600, exclusive: true });
  const fresh = randomBytes(32);
  writeFileAtomicSync(masterKeyPath(dataDir), `${fresh.toString("hex")}\n`, { mode: 0o600 });
  return { previous, current: masterKeyId(fresh), generated: true };
}

/** The ids of the retired keys there are (files and SLIPWAY_MASTER_KEY_PREVIOUS). */
export function retiredKeyIds(dataDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return [...readRetiredKeys(dataDir, env).keys()].sort();
}

/** Deletes the retired key files (the last step, once nothing needs them); the ids of their keys. */
export function deleteRetiredKeys(dataDir: string): string[] {
  const dir = retiredKeysDir(dataDir);
  const deleted: string[] = [];
  for (const [id, { file }] of retiredKeyFiles(dir)) {
    fs.rmSync(file, { force: true });
    deleted.push(id);
  }
  return deleted.sort();
}

/**
 * Runs `fn` holding the data directory's rotation lock (keys/rotation.lock,
 * created exclusively, with this process's pid): two rotations at once
 * would each re-encrypt under a key the other then replaces. A lock left by
 * a process that no longer exists is taken over.
 */
export function withRotationLock<T>(dataDir: string, fn: () => T): T {
  const dir = path.join(dataDir, "keys");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = path.join(dir, "rotation.lock");
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw err;
      const pid = Number(fs.readFileSync(lock, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new SecretsError("master_key", `another master key rotation is running (pid ${pid}, ${lock}); wait for it to finish`);
      }
      fs.rmSync(lock, { force: true });
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
