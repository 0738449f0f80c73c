// `slipway oidc rotate`: a new OIDC signing key signs from now on; the old
// one stays in the JWKS for OIDC_KEY_RETENTION_MS (docs/secrets.md).
import { OidcKeyStore } from "../secrets/index.js";
import { dataDirFor, EXIT, workDir, type GlobalOptions } from "./common.js";

export interface OidcOptions extends GlobalOptions {
  json?: boolean;
}

/** The only action is `rotate` (commander checks the choice). */
export async function oidcCommand(_action: string, opts: OidcOptions): Promise<number> {
  const r = await new OidcKeyStore(dataDirFor(opts, workDir(opts))).rotate();
  if (opts.json) process.stdout.write(JSON.stringify(r, null, 2) + "\n");
  else process.stdout.write(`new OIDC signing key ${r.kid}\n${r.retained.map((k) => `  ${k.kid} stays in the JWKS until ${k.until}\n`).join("")}`);
  return EXIT.ok;
}
