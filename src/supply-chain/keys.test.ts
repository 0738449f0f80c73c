import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { activeKeyId, importSigningKey, knownPublicKeys, loadSigningKey, rotateSigningKey, signingKeyDir } from "./keys.js";

const env = { SLIPWAY_MASTER_KEY: "1".repeat(64) };
const dirs: string[] = [];
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), "slipway-keys-"));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("signing key", () => {
  it("is generated once (ECDSA P-256), stored encrypted (0600) and read back", () => {
    const dir = dataDir();
    const key = loadSigningKey(dir, env);
    expect(key.privateKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(loadSigningKey(dir, env).id).toBe(key.id);
    const file = join(signingKeyDir(dir), `${key.id}.key`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = readFileSync(file);
    expect(stored.includes("PRIVATE KEY")).toBe(false);
    expect(stored.includes(key.privateKey.export({ type: "pkcs8", format: "der" }).subarray(-32))).toBe(false);
    // Another master key cannot open it.
    expect(() => loadSigningKey(dir, { SLIPWAY_MASTER_KEY: "2".repeat(64) })).toThrow(/different master key/);
  });

  it("rotates: the new key signs, the old public keys stay known", () => {
    const dir = dataDir();
    const first = loadSigningKey(dir, env);
    const second = rotateSigningKey(dir, env);
    expect(second.id).not.toBe(first.id);
    expect(activeKeyId(dir)).toBe(second.id);
    expect(loadSigningKey(dir, env).id).toBe(second.id);
    expect([...knownPublicKeys(dir).keys()].sort()).toEqual([first.id, second.id].sort());
  });

  it("imports a supplied P-256 key and refuses others with the fix", () => {
    const dir = dataDir();
    const p256 = join(dir, "p256.pem");
    const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    writeFileSync(p256, pem);
    const key = importSigningKey(dir, p256, env);
    expect(activeKeyId(dir)).toBe(key.id);
    const rsa = join(dir, "rsa.pem");
    writeFileSync(rsa, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    expect(() => importSigningKey(dir, rsa, env)).toThrow(/rsa\.pem is not an ECDSA P-256 key \(it is rsa\); make one with: openssl ecparam/);
    expect(() => importSigningKey(dir, join(dir, "missing.pem"), env)).toThrow(/cannot read the signing key .*missing\.pem/);
    // SLIPWAY_SIGNING_KEY signs with a key kept elsewhere; its public key is recorded.
    const supplied = loadSigningKey(dataDir(), { ...env, SLIPWAY_SIGNING_KEY: p256 });
    expect(supplied.id).toBe(key.id);
    expect(readdirSync(signingKeyDir(dirs.at(-1) ?? ""))).toEqual([`${key.id}.pub`]);
  });
});
