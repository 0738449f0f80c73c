import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ENVELOPE_VERSION,
  MASTER_KEY_ENV,
  SecretsError,
  decryptSecret,
  encryptSecret,
  loadMasterKey,
  masterKeyId,
  masterKeyPath,
  parseMasterKey,
} from "./crypto.js";

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slipway-crypto-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function catchError(fn: () => unknown): SecretsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SecretsError);
    return err as SecretsError;
  }
  throw new Error("expected a SecretsError");
}

const posix = process.platform !== "win32";

describe("envelope encryption", () => {
  const key = randomBytes(32);

  it("round-trips text, binary and empty values", () => {
    for (const value of ["hunter2", "multi\nline ✓ 🚀", ""]) {
      expect(decryptSecret(encryptSecret(value, key), key).toString("utf8")).toBe(value);
    }
    const binary = randomBytes(1000);
    expect(decryptSecret(encryptSecret(binary, key), key).equals(binary)).toBe(true);
  });

  it("writes a versioned envelope with a fresh data key and IVs each time", () => {
    const a = encryptSecret("same value", key);
    const b = encryptSecret("same value", key);
    expect(a[0]).toBe(ENVELOPE_VERSION);
    expect(a.length).toBe(97 + Buffer.byteLength("same value"));
    expect(a.equals(b)).toBe(false);
    // Same header (version and key id); everything after differs.
    expect(a.subarray(0, 9).equals(b.subarray(0, 9))).toBe(true);
    expect(a.subarray(9, 21).equals(b.subarray(9, 21))).toBe(false);
    expect(a.subarray(21, 53).equals(b.subarray(21, 53))).toBe(false);
    expect(a.subarray(1, 9).toString("hex")).toBe(masterKeyId(key));
    expect(a.includes(Buffer.from("same value"))).toBe(false);
  });

  it("rejects every single-bit change with a clear error, never garbage", () => {
    const envelope = encryptSecret("a secret value", key, "aad");
    for (let i = 0; i < envelope.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const tampered = Buffer.from(envelope);
        tampered[i]! ^= bit;
        const err = catchError(() => decryptSecret(tampered, key, "aad"));
        expect(err.code).toBe("decrypt");
        if (i === 0) expect(err.message).toMatch(/format version/);
        else if (i < 9) expect(err.message).toMatch(/different master key/);
        else expect(err.message).toMatch(/failed authentication: it was modified, corrupted/);
      }
    }
  });

  it("rejects truncated, extended and empty envelopes", () => {
    const envelope = encryptSecret("value", key);
    expect(catchError(() => decryptSecret(envelope.subarray(0, 50), key)).message).toMatch(/truncated/);
    expect(catchError(() => decryptSecret(envelope.subarray(0, envelope.length - 1), key)).code).toBe("decrypt");
    expect(catchError(() => decryptSecret(Buffer.concat([envelope, Buffer.from([0])]), key)).code).toBe("decrypt");
    expect(catchError(() => decryptSecret(Buffer.alloc(0), key)).message).toMatch(/empty/);
  });

  it("binds the associated data: another name or environment fails", () => {
    const envelope = encryptSecret("value", key, "prod\0TOKEN");
    expect(decryptSecret(envelope, key, "prod\0TOKEN").toString()).toBe("value");
    expect(catchError(() => decryptSecret(envelope, key, "prod\0OTHER")).message).toMatch(/failed authentication/);
    expect(catchError(() => decryptSecret(envelope, key)).code).toBe("decrypt");
  });

  it("names the key mismatch when the master key changed", () => {
    const other = randomBytes(32);
    const err = catchError(() => decryptSecret(encryptSecret("value", key), other));
    expect(err.message).toContain(`different master key (id ${masterKeyId(key)}, current key id ${masterKeyId(other)})`);
    expect(err.message).toContain(MASTER_KEY_ENV);
  });

  it("refuses a master key of the wrong length", () => {
    expect(catchError(() => encryptSecret("v", randomBytes(16))).code).toBe("master_key");
  });
});

describe("parseMasterKey", () => {
  const key = randomBytes(32);

  it("accepts 64 hex characters (any case) and base64/base64url of 32 bytes, trimming whitespace", () => {
    const hex = key.toString("hex");
    for (const text of [hex, hex.toUpperCase(), ` ${hex}\n`, key.toString("base64"), key.toString("base64").replace(/=$/, ""), key.toString("base64url"), `${key.toString("base64")}\n`]) {
      expect(parseMasterKey(text, "X").equals(key)).toBe(true);
    }
  });

  it("rejects anything else, naming the source and the expected format but not the value", () => {
    const bad = [
      "",
      "   ",
      key.toString("hex").slice(1),
      `${key.toString("hex")}00`,
      "correct horse battery staple correct horse",
      randomBytes(31).toString("base64"),
      randomBytes(33).toString("base64"),
      `${key.toString("hex").slice(0, 63)}g`,
    ];
    for (const text of bad) {
      const err = catchError(() => parseMasterKey(text, `the environment variable ${MASTER_KEY_ENV}`));
      expect(err.code).toBe("master_key");
      expect(err.message).toContain(MASTER_KEY_ENV);
      expect(err.message).toContain("64 hexadecimal characters or the base64 encoding of 32 bytes");
      if (text.trim().length > 0) expect(err.message).not.toContain(text.trim());
    }
  });
});

describe("loadMasterKey", () => {
  it("prefers SLIPWAY_MASTER_KEY and then creates no key file", () => {
    const dir = tempDir();
    const key = randomBytes(32);
    expect(loadMasterKey(dir, { [MASTER_KEY_ENV]: key.toString("hex") }).equals(key)).toBe(true);
    expect(fs.existsSync(masterKeyPath(dir))).toBe(false);
  });

  it("reports an invalid or empty SLIPWAY_MASTER_KEY instead of falling back to a file", () => {
    const dir = tempDir();
    for (const value of ["", "not-a-key"]) {
      const err = catchError(() => loadMasterKey(dir, { [MASTER_KEY_ENV]: value }));
      expect(err.message).toContain(`environment variable ${MASTER_KEY_ENV} must be 64 hexadecimal characters`);
    }
    expect(fs.existsSync(masterKeyPath(dir))).toBe(false);
  });

  it("generates <dataDir>/keys/master.key once: 0600 in a 0700 directory, hex, reused afterwards", () => {
    const dir = path.join(tempDir(), "data");
    const first = loadMasterKey(dir, {});
    const file = masterKeyPath(dir);
    expect(file).toBe(path.join(dir, "keys", "master.key"));
    if (posix) {
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    }
    const text = fs.readFileSync(file, "utf8");
    expect(text).toMatch(/^[0-9a-f]{64}\n$/);
    expect(parseMasterKey(text, "file").equals(first)).toBe(true);
    expect(loadMasterKey(dir, {}).equals(first)).toBe(true);
    expect(fs.readdirSync(path.dirname(file))).toEqual(["master.key"]); // no temp files left
  });

  it.runIf(posix)("refuses a key file that group or others can access", () => {
    const dir = tempDir();
    loadMasterKey(dir, {});
    const file = masterKeyPath(dir);
    for (const mode of [0o640, 0o604, 0o660, 0o644]) {
      fs.chmodSync(file, mode);
      const err = catchError(() => loadMasterKey(dir, {}));
      expect(err.code).toBe("master_key");
      expect(err.message).toContain(`mode 0${mode.toString(8)}`);
      expect(err.message).toContain(`chmod 600 ${file}`);
    }
    fs.chmodSync(file, 0o400);
    expect(loadMasterKey(dir, {}).length).toBe(32);
  });

  it.runIf(posix)("refuses a symbolic link as the key file", () => {
    const dir = tempDir();
    const real = path.join(dir, "elsewhere.key");
    fs.writeFileSync(real, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
    fs.mkdirSync(path.join(dir, "keys"), { mode: 0o700 });
    fs.symlinkSync(real, masterKeyPath(dir));
    expect(catchError(() => loadMasterKey(dir, {})).message).toMatch(/symbolic link/);
  });

  it.runIf(posix)("refuses to create a key in a directory others can access", () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, "keys"), { mode: 0o755 });
    fs.chmodSync(path.join(dir, "keys"), 0o755);
    const err = catchError(() => loadMasterKey(dir, {}));
    expect(err.message).toContain("chmod 700");
    expect(fs.existsSync(masterKeyPath(dir))).toBe(false);
  });

  it("reports a corrupted key file with its path", () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, "keys"), { recursive: true, mode: 0o700 });
    fs.writeFileSync(masterKeyPath(dir), "garbage\n", { mode: 0o600 });
    const err = catchError(() => loadMasterKey(dir, {}));
    expect(err.message).toContain(`the master key file ${masterKeyPath(dir)} must be 64 hexadecimal characters`);
  });
});
