// Master key rotation with real files and a real SQLite store: processes that
// started before a rotation keep reading and writing, nothing is lost, and
// the retired key goes away only once nothing needs it.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../store/index.js";
import { envelopeKeyId, loadMasterKey, MASTER_KEY_ENV, masterKeyId, masterKeyPath, SecretsError } from "./crypto.js";
import { deleteRetiredKeys, MASTER_KEY_PREVIOUS_ENV, MasterKeyring, retiredKeyIds, retiredKeysDir, rotateMasterKey, withRotationLock } from "./master-keys.js";
import { OidcKeyStore } from "./oidc-keys.js";
import { SecretStore } from "./secret-store.js";

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.close()));
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "slipway-master-keys-"));
  dirs.push(d);
  return d;
}

function open(dir: string): Store {
  const s = openStore(dir);
  stores.push(s);
  return s;
}

describe("master key rotation", () => {
  it("re-encrypts under a new key while a store opened before the rotation keeps reading and writing", () => {
    const dir = dataDir();
    const store = open(dir);
    const before = new SecretStore(store, dir, { env: {} });
    before.set("TOKEN", "repo-value");
    before.set("TOKEN", "prod-value", "prod");
    const oldId = masterKeyId(loadMasterKey(dir, {}));

    const rotation = rotateMasterKey(dir, {});
    expect(rotation).toEqual({ previous: oldId, current: expect.not.stringMatching(oldId), generated: true });
    expect(masterKeyId(loadMasterKey(dir, {}))).toBe(rotation.current);
    expect(retiredKeyIds(dir, {})).toEqual([oldId]);
    expect((fs.statSync(path.join(retiredKeysDir(dir), `${oldId}.key`)).mode & 0o777).toString(8)).toBe("600");

    expect(new SecretStore(store, dir, { env: {} }).reencrypt()).toBe(2);
    for (const env of ["", "prod"]) expect(envelopeKeyId(store.getSecret("TOKEN", env)!.ciphertext)).toBe(rotation.current);
    // The store opened before: its cached key is the old one; it meets the new key's envelopes and reads the keys again.
    expect(before.get("TOKEN")).toBe("repo-value");
    expect(before.get("TOKEN", "prod")).toBe("prod-value");
    // And from then on it writes with the new key.
    before.set("LATER", "x");
    expect(envelopeKeyId(store.getSecret("LATER", "")!.ciphertext)).toBe(rotation.current);
    // Nothing left to do.
    expect(new SecretStore(store, dir, { env: {} }).reencrypt()).toBe(0);
  });

  it("a value a stale process wrote with the retired key stays readable, and --prune re-encrypts it before deleting the key", () => {
    const dir = dataDir();
    const store = open(dir);
    const stale = new MasterKeyring(dir, {});
    const oldId = masterKeyId(stale.current());
    const { current } = rotateMasterKey(dir, {});
    // A process that started before the rotation and has not met a new envelope yet still encrypts with the old key.
    store.putSecret("STALE", "", stale.encrypt("stale-value", "slipway secret\0\0STALE"));
    expect(envelopeKeyId(store.getSecret("STALE", "")!.ciphertext)).toBe(oldId);
    const secrets = new SecretStore(store, dir, { env: {} });
    expect(secrets.get("STALE")).toBe("stale-value");

    expect(secrets.reencrypt()).toBe(1);
    expect(deleteRetiredKeys(dir)).toEqual([oldId]);
    expect(retiredKeyIds(dir, {})).toEqual([]);
    expect(envelopeKeyId(store.getSecret("STALE", "")!.ciphertext)).toBe(current);
    expect(new SecretStore(store, dir, { env: {} }).get("STALE")).toBe("stale-value");
  });

  it("without the retired key, a value under it cannot be read, and the error says where the key goes", () => {
    const dir = dataDir();
    const store = open(dir);
    new SecretStore(store, dir, { env: {} }).set("TOKEN", "v");
    rotateMasterKey(dir, {});
    deleteRetiredKeys(dir);
    const err = (() => {
      try {
        new SecretStore(store, dir, { env: {} }).get("TOKEN");
      } catch (e) {
        return e as SecretsError;
      }
      throw new Error("expected a SecretsError");
    })();
    expect(err).toBeInstanceOf(SecretsError);
    expect(err.message).toMatch(/encrypted with a different master key .*keys\/retired\/<id>\.key or SLIPWAY_MASTER_KEY_PREVIOUS/);
  });

  it("with SLIPWAY_MASTER_KEY, nothing is generated: the old key in SLIPWAY_MASTER_KEY_PREVIOUS decrypts, everything is re-encrypted under the new one", () => {
    const dir = dataDir();
    const store = open(dir);
    const [k1, k2] = [randomBytes(32).toString("hex"), randomBytes(32).toString("hex")];
    new SecretStore(store, dir, { env: { [MASTER_KEY_ENV]: k1 } }).set("TOKEN", "v");
    const env = { [MASTER_KEY_ENV]: k2, [MASTER_KEY_PREVIOUS_ENV]: k1 };
    const rotation = rotateMasterKey(dir, env);
    expect(rotation.generated).toBe(false);
    expect(fs.existsSync(masterKeyPath(dir))).toBe(false);
    expect(retiredKeysDir(dir)).not.toSatisfy(fs.existsSync);
    const secrets = new SecretStore(store, dir, { env });
    expect(secrets.reencrypt()).toBe(1);
    expect(new SecretStore(store, dir, { env: { [MASTER_KEY_ENV]: k2 } }).get("TOKEN")).toBe("v");
  });

  it("re-encrypts the OIDC signing keys; the key store opened before signs on", async () => {
    const dir = dataDir();
    const keys = new OidcKeyStore(dir, { env: {} });
    const first = await keys.signingKey();
    const { current } = rotateMasterKey(dir, {});
    expect(new OidcKeyStore(dir, { env: {} }).reencrypt()).toBe(1);
    const file = JSON.parse(fs.readFileSync(path.join(dir, "keys", "oidc-keys.json"), "utf8")) as { keys: Array<{ privateKey: string }> };
    expect(envelopeKeyId(Buffer.from(file.keys[0]!.privateKey, "base64"))).toBe(current);
    expect((await new OidcKeyStore(dir, { env: {} }).signingKey()).kid).toBe(first.kid);
    expect((await keys.signingKey()).kid).toBe(first.kid);
  });

  it("one rotation at a time: a live holder of the lock refuses a second, a dead one's lock is taken over", () => {
    const dir = dataDir();
    expect(() => withRotationLock(dir, () => withRotationLock(dir, () => 1))).toThrow(/another master key rotation is running \(pid \d+/);
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
    fs.writeFileSync(path.join(dir, "keys", "rotation.lock"), `${dead}\n`);
    expect(withRotationLock(dir, () => 42)).toBe(42);
    expect(fs.existsSync(path.join(dir, "keys", "rotation.lock"))).toBe(false);
  });
});
