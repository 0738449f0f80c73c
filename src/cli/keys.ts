// `slipway keys`: the release signing key (ECDSA P-256, encrypted at rest
// with the master key; see docs/supply-chain.md).
//
//   slipway keys export-public [--all]   the public key PEM (to give `slipway verify --key` or policy.keys)
//   slipway keys list [--json]           every key that signed releases here; which one is active
//   slipway keys rotate                  a new active key; the old public keys stay, so old releases verify
//   slipway keys import FILE             use a key made elsewhere (PKCS#8 PEM), stored encrypted
import { activeKeyId, activePublicKeyPem, importSigningKey, knownPublicKeys, rotateSigningKey, SigningKeyError } from "../supply-chain/index.js";
import { dataDirFor, EXIT, UsageError, workDir, type GlobalOptions } from "./common.js";

export interface KeysOptions extends GlobalOptions {
  all?: boolean;
  json?: boolean;
}

export async function keysCommand(action: string, file: string | undefined, opts: KeysOptions): Promise<number> {
  const dataDir = dataDirFor(opts, workDir(opts));
  try {
    switch (action) {
      case "export-public": {
        if (opts.all) {
          for (const key of knownPublicKeys(dataDir).values()) process.stdout.write(key.export({ type: "spki", format: "pem" }).toString());
        } else {
          // The active key's .pub: the master key is needed only to make the first key.
          process.stdout.write(activePublicKeyPem(dataDir));
        }
        return EXIT.ok;
      }
      case "list": {
        const active = activeKeyId(dataDir);
        const ids = [...knownPublicKeys(dataDir).keys()];
        if (opts.json) process.stdout.write(JSON.stringify({ active: active ?? null, keys: ids }, null, 2) + "\n");
        else if (ids.length === 0) process.stdout.write("no signing key yet: one is made with the first release (or `slipway keys export-public`)\n");
        else for (const id of ids) process.stdout.write(`${id}${id === active ? "  (active)" : ""}\n`);
        return EXIT.ok;
      }
      case "rotate": {
        const key = rotateSigningKey(dataDir);
        process.stdout.write(`new signing key ${key.id}; releases made from now on are signed with it, older ones still verify with their key\n`);
        return EXIT.ok;
      }
      case "import": {
        if (file === undefined) throw new UsageError("keys import needs the private key file: slipway keys import signing.pem");
        const key = importSigningKey(dataDir, file);
        process.stdout.write(`imported signing key ${key.id} (stored encrypted); it signs releases from now on\n`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(`unknown keys action '${action}': use export-public, list, rotate or import`);
    }
  } catch (err) {
    if (err instanceof SigningKeyError) throw new UsageError(err.message);
    throw err;
  }
}
