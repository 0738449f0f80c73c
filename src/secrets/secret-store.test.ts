import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../store/index.js";
import { MASTER_KEY_ENV, SecretsError, masterKeyPath } from "./crypto.js";
import { MAX_SECRET_BYTES, SecretStore, normalizeSecretName } from "./secret-store.js";

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slipway-secrets-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

/** A store and SecretStore on a fresh data directory; env is explicit so tests never see a real key. */
function setup(env: NodeJS.ProcessEnv = {}, dir = tempDir()): { dir: string; store: Store; secrets: SecretStore } {
  const store = openStore(dir);
  stores.push(store);
  return { dir, store, secrets: new SecretStore(store, dir, { env }) };
}

function catchError(fn: () => unknown): SecretsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SecretsError);
    return err as SecretsError;
  }
  throw new Error("expected a SecretsError");
}

describe("secret names", () => {
  it("accepts GitHub-style names, case-insensitively, as upper-case", () => {
    expect(normalizeSecretName("npm_token")).toBe("NPM_TOKEN");
    expect(normalizeSecretName("_private")).toBe("_PRIVATE");
    expect(normalizeSecretName("A1")).toBe("A1");
    expect(normalizeSecretName("MY_GITHUB_TOKEN")).toBe("MY_GITHUB_TOKEN");
  });

  it.each([
    ["", /must not be empty/],
    ["FOO-BAR", /only letters, digits and underscores/],
    ["has space", /only letters, digits and underscores/],
    ["ÜBER", /only letters, digits and underscores/],
    ["1PASSWORD", /must not start with a digit/],
    ["GITHUB_TOKEN", /GITHUB_ are reserved/],
    ["github_anything", /GITHUB_ are reserved/],
  ])("rejects %j with a clear message", (name, message) => {
    const err = catchError(() => normalizeSecretName(name));
    expect(err.code).toBe("invalid_name");
    expect(err.message).toMatch(message);
  });
});

describe("SecretStore", () => {
  it("sets and gets a secret; names are case-insensitive and listed upper-case", () => {
    const { secrets } = setup();
    secrets.set("npm_token", "s3cr3t ✓");
    expect(secrets.get("NPM_TOKEN")).toBe("s3cr3t ✓");
    expect(secrets.get("Npm_Token")).toBe("s3cr3t ✓");
    expect(secrets.list().map((s) => [s.environment, s.name])).toEqual([["", "NPM_TOKEN"]]);
    expect(secrets.get("MISSING")).toBeUndefined();
  });

  it("replaces a value on set", () => {
    const { secrets } = setup();
    secrets.set("TOKEN", "one");
    secrets.set("token", "two");
    expect(secrets.get("TOKEN")).toBe("two");
    expect(secrets.list()).toHaveLength(1);
  });

  it("falls back from environment level to repository level, as GitHub does", () => {
    const { secrets } = setup();
    secrets.set("TOKEN", "repo-value");
    secrets.set("DEPLOY_KEY", "repo-deploy");
    secrets.set("DEPLOY_KEY", "prod-deploy", "production");
    secrets.set("ONLY_PROD", "prod-only", "production");

    expect(secrets.get("TOKEN", "production")).toBe("repo-value");
    expect(secrets.get("DEPLOY_KEY", "production")).toBe("prod-deploy");
    expect(secrets.get("DEPLOY_KEY")).toBe("repo-deploy");
    expect(secrets.get("DEPLOY_KEY", "staging")).toBe("repo-deploy");
    expect(secrets.get("ONLY_PROD")).toBeUndefined();
    expect(secrets.get("ONLY_PROD", "production")).toBe("prod-only");

    expect(secrets.getAll("production")).toEqual({ TOKEN: "repo-value", DEPLOY_KEY: "prod-deploy", ONLY_PROD: "prod-only" });
    expect(secrets.getAll()).toEqual({ TOKEN: "repo-value", DEPLOY_KEY: "repo-deploy" });

    expect(secrets.list("production").map((s) => s.name)).toEqual(["DEPLOY_KEY", "ONLY_PROD"]);
    expect(secrets.list().map((s) => `${s.environment}/${s.name}`)).toEqual([
      "/DEPLOY_KEY",
      "/TOKEN",
      "production/DEPLOY_KEY",
      "production/ONLY_PROD",
    ]);

    expect(secrets.remove("deploy_key", "production")).toBe(true);
    expect(secrets.remove("DEPLOY_KEY", "production")).toBe(false);
    expect(secrets.get("DEPLOY_KEY", "production")).toBe("repo-deploy");
    expect(secrets.remove("DEPLOY_KEY")).toBe(true);
    expect(secrets.get("DEPLOY_KEY", "production")).toBeUndefined();
  });

  it("rejects invalid names on set; get and remove treat them as absent", () => {
    const { secrets } = setup();
    expect(catchError(() => secrets.set("GITHUB_TOKEN", "x")).message).toMatch(/reserved/);
    expect(catchError(() => secrets.set("bad-name", "x")).code).toBe("invalid_name");
    expect(secrets.get("GITHUB_TOKEN")).toBeUndefined();
    expect(secrets.get("bad-name")).toBeUndefined();
    expect(secrets.remove("bad-name")).toBe(false);
    expect(secrets.list()).toEqual([]);
  });

  it("rejects empty values and values over 48 KB", () => {
    const { secrets } = setup();
    expect(catchError(() => secrets.set("EMPTY", "")).code).toBe("invalid_value");
    const tooBig = "x".repeat(MAX_SECRET_BYTES + 1);
    const err = catchError(() => secrets.set("BIG", tooBig));
    expect(err.message).toMatch(/limited to 49152 bytes/);
    expect(err.message).not.toContain("xxxx");
    const atLimit = "é".repeat(MAX_SECRET_BYTES / 2);
    secrets.set("BIG", atLimit);
    expect(secrets.get("BIG")).toBe(atLimit);
  });

  it("keeps no plaintext in the SQLite database or its WAL", () => {
    const { dir, secrets, store } = setup();
    const value = `plaintext-canary-${randomBytes(12).toString("hex")}`;
    secrets.set("CANARY", value);
    secrets.set("CANARY", value, "production");
    const needles = [Buffer.from(value, "utf8"), Buffer.from(value, "utf16le"), Buffer.from(value.slice(0, 24), "utf8")];
    const files = () =>
      fs
        .readdirSync(dir)
        .filter((f) => f.startsWith("slipway.db"))
        .map((f) => path.join(dir, f));

    const open = files();
    expect(open.map((f) => path.basename(f))).toContain("slipway.db-wal");
    for (const f of open) {
      const bytes = fs.readFileSync(f);
      for (const needle of needles) expect(bytes.includes(needle), `${path.basename(f)} contains the secret`).toBe(false);
    }
    expect(secrets.get("CANARY")).toBe(value);

    store.close(); // checkpoints the WAL into the database file
    for (const f of files()) {
      const bytes = fs.readFileSync(f);
      for (const needle of needles) expect(bytes.includes(needle)).toBe(false);
    }
  });

  it("reads secrets written by an earlier process with the generated key file", () => {
    const dir = tempDir();
    const first = setup({}, dir);
    first.secrets.set("TOKEN", "persisted");
    first.store.close();
    expect(fs.existsSync(masterKeyPath(dir))).toBe(true);
    const second = setup({}, dir);
    expect(second.secrets.get("TOKEN")).toBe("persisted");
  });

  it("uses SLIPWAY_MASTER_KEY when set and reports a changed key clearly", () => {
    const dir = tempDir();
    const key = randomBytes(32);
    const a = setup({ [MASTER_KEY_ENV]: key.toString("base64") }, dir);
    a.secrets.set("TOKEN", "with env key", "production");
    expect(fs.existsSync(masterKeyPath(dir))).toBe(false);
    expect(new SecretStore(a.store, dir, { env: { [MASTER_KEY_ENV]: key.toString("hex") } }).get("TOKEN", "production")).toBe(
      "with env key",
    );

    const wrong = new SecretStore(a.store, dir, { env: { [MASTER_KEY_ENV]: randomBytes(32).toString("hex") } });
    const err = catchError(() => wrong.get("TOKEN", "production"));
    expect(err.code).toBe("decrypt");
    expect(err.message).toMatch(/^cannot decrypt secret TOKEN \(environment "production"\): the secret was encrypted with a different master key/);
  });

  it("lists without needing the master key", () => {
    const { store, dir } = setup();
    new SecretStore(store, dir, {}).set("TOKEN", "v");
    const noKey = new SecretStore(store, dir, { env: { [MASTER_KEY_ENV]: "invalid" } });
    expect(noKey.list().map((s) => s.name)).toEqual(["TOKEN"]);
    expect(catchError(() => noKey.get("TOKEN")).code).toBe("master_key");
  });

  it("fails clearly on tampered ciphertext and on ciphertext moved to another secret", () => {
    const { store, secrets } = setup();
    secrets.set("A", "value-of-a");
    secrets.set("B", "value-of-b");

    const a = store.getSecret("A", "")!;
    store.putSecret("B", "", a.ciphertext); // swap a's ciphertext into b
    const moved = catchError(() => secrets.get("B"));
    expect(moved.code).toBe("decrypt");
    expect(moved.message).toMatch(/^cannot decrypt secret B \(repository level\): .*failed authentication/);
    expect(moved.message).not.toContain("value-of");

    store.putSecret("A", "production", a.ciphertext); // same name, other environment
    expect(catchError(() => secrets.get("A", "production")).code).toBe("decrypt");

    const tampered = Buffer.from(a.ciphertext);
    tampered[tampered.length - 1]! ^= 0x01;
    store.putSecret("A", "", tampered);
    expect(catchError(() => secrets.get("A")).message).toMatch(/failed authentication/);
  });
});
