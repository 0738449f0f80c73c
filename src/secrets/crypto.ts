// Envelope encryption for secrets at rest, and the master key.
//
// Each secret gets a fresh random 256-bit data key; the value is encrypted
// with it (AES-256-GCM), and the data key is encrypted with the master key
// (AES-256-GCM). The result is one Buffer:
//
//   offset size  field
//   0      1     format version (1)
//   1      8     master key id: first 8 bytes of SHA-256("slipway master key id\0" ‖ key)
//   9      12    IV for the data key
//   21     32    data key, encrypted with the master key
//   53     16    GCM tag for the data key
//   69     12    IV for the value
//   81     16    GCM tag for the value
//   97     …     value, encrypted with the data key
//
// Both encryptions authenticate bytes 0–8 (version and key id); the value's
// encryption also authenticates the caller's `aad` (the secret's name and
// environment), so a ciphertext moved to another secret fails to decrypt.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomicSync } from "./key-file.js";

export const ENVELOPE_VERSION = 1;
export const MASTER_KEY_ENV = "SLIPWAY_MASTER_KEY";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_BYTES = 8;
const HEADER_BYTES = 1 + KEY_ID_BYTES;
const OFFSET = {
  keyIv: HEADER_BYTES,
  wrappedKey: HEADER_BYTES + IV_BYTES,
  keyTag: HEADER_BYTES + IV_BYTES + KEY_BYTES,
  dataIv: HEADER_BYTES + IV_BYTES + KEY_BYTES + TAG_BYTES,
  dataTag: HEADER_BYTES + IV_BYTES + KEY_BYTES + TAG_BYTES + IV_BYTES,
  data: HEADER_BYTES + IV_BYTES + KEY_BYTES + TAG_BYTES + IV_BYTES + TAG_BYTES,
} as const;

export type SecretsErrorCode = "master_key" | "decrypt" | "invalid_name" | "invalid_value";

/** A problem with secrets; the message never contains a secret value or key. */
export class SecretsError extends Error {
  override readonly name = "SecretsError";
  constructor(
    readonly code: SecretsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The id of the master key an envelope was written with (hex), or undefined when it is not an envelope of this version. */
export function envelopeKeyId(envelope: Uint8Array): string | undefined {
  if (envelope.length < OFFSET.data || envelope[0] !== ENVELOPE_VERSION) return undefined;
  return Buffer.from(envelope.buffer, envelope.byteOffset + 1, KEY_ID_BYTES).toString("hex");
}

/** Identifies a master key without revealing it (hex, 16 characters). */
export function masterKeyId(masterKey: Buffer): string {
  return keyId(masterKey).toString("hex");
}

function keyId(masterKey: Buffer): Buffer {
  return createHash("sha256").update("slipway master key id\0").update(masterKey).digest().subarray(0, KEY_ID_BYTES);
}

function checkKey(masterKey: Buffer): void {
  if (masterKey.length !== KEY_BYTES) {
    throw new SecretsError("master_key", `the master key must be ${KEY_BYTES} bytes, got ${masterKey.length}`);
  }
}

function toAad(aad: string | Uint8Array | undefined): Buffer {
  if (aad === undefined) return Buffer.alloc(0);
  return typeof aad === "string" ? Buffer.from(aad, "utf8") : Buffer.from(aad);
}

/** Encrypts `plaintext` under a fresh data key wrapped by `masterKey`. */
export function encryptSecret(plaintext: string | Uint8Array, masterKey: Buffer, aad?: string | Uint8Array): Buffer {
  checkKey(masterKey);
  const header = Buffer.concat([Buffer.from([ENVELOPE_VERSION]), keyId(masterKey)]);
  const dataKey = randomBytes(KEY_BYTES);
  try {
    const keyIv = randomBytes(IV_BYTES);
    const keyCipher = createCipheriv("aes-256-gcm", masterKey, keyIv);
    keyCipher.setAAD(header);
    const wrappedKey = Buffer.concat([keyCipher.update(dataKey), keyCipher.final()]);
    const keyTag = keyCipher.getAuthTag();

    const dataIv = randomBytes(IV_BYTES);
    const dataCipher = createCipheriv("aes-256-gcm", dataKey, dataIv);
    dataCipher.setAAD(Buffer.concat([header, toAad(aad)]));
    const input = typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : plaintext;
    const data = Buffer.concat([dataCipher.update(input), dataCipher.final()]);
    const dataTag = dataCipher.getAuthTag();

    return Buffer.concat([header, keyIv, wrappedKey, keyTag, dataIv, dataTag, data]);
  } finally {
    dataKey.fill(0);
  }
}

/** Decrypts what encryptSecret produced; throws SecretsError("decrypt") on any mismatch. */
export function decryptSecret(envelope: Uint8Array, masterKey: Buffer, aad?: string | Uint8Array): Buffer {
  checkKey(masterKey);
  const buf = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
  if (buf.length < 1) throw new SecretsError("decrypt", "the encrypted secret is empty");
  const version = buf[0];
  if (version !== ENVELOPE_VERSION) {
    throw new SecretsError(
      "decrypt",
      `the encrypted secret has format version ${version}, but this Slipway reads only version ${ENVELOPE_VERSION}: ` +
        `upgrade Slipway, or the data is corrupted`,
    );
  }
  if (buf.length < OFFSET.data) {
    throw new SecretsError("decrypt", `the encrypted secret is truncated (${buf.length} bytes, at least ${OFFSET.data} expected)`);
  }
  const header = buf.subarray(0, HEADER_BYTES);
  const storedId = buf.subarray(1, HEADER_BYTES);
  if (!storedId.equals(keyId(masterKey))) {
    throw new SecretsError(
      "decrypt",
      `the secret was encrypted with a different master key (id ${storedId.toString("hex")}, ` +
        `current key id ${masterKeyId(masterKey)}): set ${MASTER_KEY_ENV} or restore keys/master.key to the key it was written with ` +
        `(a key retired by \`slipway secrets rotate-key\` goes in keys/retired/<id>.key or ${MASTER_KEY_ENV}_PREVIOUS)`,
    );
  }
  let dataKey: Buffer | undefined;
  try {
    const keyDecipher = createDecipheriv("aes-256-gcm", masterKey, buf.subarray(OFFSET.keyIv, OFFSET.wrappedKey));
    keyDecipher.setAAD(header);
    keyDecipher.setAuthTag(buf.subarray(OFFSET.keyTag, OFFSET.dataIv));
    dataKey = Buffer.concat([keyDecipher.update(buf.subarray(OFFSET.wrappedKey, OFFSET.keyTag)), keyDecipher.final()]);

    const dataDecipher = createDecipheriv("aes-256-gcm", dataKey, buf.subarray(OFFSET.dataIv, OFFSET.dataTag));
    dataDecipher.setAAD(Buffer.concat([header, toAad(aad)]));
    dataDecipher.setAuthTag(buf.subarray(OFFSET.dataTag, OFFSET.data));
    return Buffer.concat([dataDecipher.update(buf.subarray(OFFSET.data)), dataDecipher.final()]);
  } catch {
    throw new SecretsError(
      "decrypt",
      "the encrypted secret failed authentication: it was modified, corrupted, or belongs to another secret",
    );
  } finally {
    dataKey?.fill(0);
  }
}

// ---- master key -------------------------------------------------------------

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/;

/**
 * Parses a master key written as 64 hex characters or as base64 (or base64url)
 * of 32 bytes. `source` names where it came from, for the error message.
 */
export function parseMasterKey(text: string, source: string): Buffer {
  const t = text.trim();
  if (HEX_KEY.test(t)) return Buffer.from(t, "hex");
  if (BASE64_KEY.test(t)) {
    const std = t.replace(/-/g, "+").replace(/_/g, "/").replace(/=$/, "");
    const key = Buffer.from(std, "base64");
    // 43 characters carry 258 bits; re-encoding rejects a non-canonical tail.
    if (key.length === KEY_BYTES && key.toString("base64").replace(/=$/, "") === std) return key;
  }
  const what = t.length === 0 ? "it is empty" : `got ${t.length} characters that are neither`;
  throw new SecretsError(
    "master_key",
    `${source} must be 64 hexadecimal characters or the base64 encoding of 32 bytes (${what}); ` +
      `generate one with: openssl rand -hex 32`,
  );
}

/** Where the generated master key lives when SLIPWAY_MASTER_KEY is not set. */
export function masterKeyPath(dataDir: string): string {
  return path.join(dataDir, "keys", "master.key");
}

/**
 * The master key: from SLIPWAY_MASTER_KEY if set, else from
 * `<dataDir>/keys/master.key`, generated (mode 0600 in a 0700 directory) on
 * first use. A key file that group or others may access is refused.
 */
export function loadMasterKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined) return parseMasterKey(fromEnv, `the environment variable ${MASTER_KEY_ENV}`);
  const file = masterKeyPath(dataDir);
  const existing = readKeyFile(file);
  if (existing) return existing;
  createKeyFile(file);
  const created = readKeyFile(file);
  if (!created) throw new SecretsError("master_key", `${file} disappeared right after it was created`);
  return created;
}

const checkModes = process.platform !== "win32";

/** A master key file (hex or base64, mode 0600, not a symbolic link), or undefined when there is none. */
export function readKeyFile(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw new SecretsError("master_key", `${file} is a symbolic link; the master key must be a regular file`);
    throw new SecretsError("master_key", `cannot read the master key ${file}: ${(err as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new SecretsError("master_key", `${file} is not a regular file`);
    if (checkModes && (st.mode & 0o077) !== 0) {
      throw new SecretsError(
        "master_key",
        `${file} is accessible by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}); ` +
          `refusing to use it. Fix with: chmod 600 ${file}`,
      );
    }
    return parseMasterKey(fs.readFileSync(fd, "utf8"), `the master key file ${file}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a new random key atomically; if another process won the race, keeps theirs. */
function createKeyFile(file: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (checkModes) {
    const st = fs.statSync(dir);
    if ((st.mode & 0o077) !== 0) {
      throw new SecretsError(
        "master_key",
        `${dir} is accessible by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}); ` +
          `refusing to create the master key there. Fix with: chmod 700 ${dir}`,
      );
    }
  }
  const key = randomBytes(KEY_BYTES);
  try {
    // Exclusive: never overwrite a key.
    writeFileAtomicSync(file, `${key.toString("hex")}\n`, { mode: 0o600, exclusive: true });
  } finally {
    key.fill(0);
  }
}
