// The OIDC issuer of `slipway server` (secrets/oidc.ts), at the server's
// public URL: `/.well-known/openid-configuration`, `/.well-known/jwks` and
// the token endpoint `/oidc/token`, served without an API token (the token
// endpoint takes a job's request token). The runs the server starts (child
// `slipway run`s) find it through SLIPWAY_SERVER_URL, which the launcher
// puts in their environment (launcher.ts), and give their jobs request tokens
// for it; the server checks them with the data directory's master key and the
// store (the job must still be running).
import { OidcIssuer } from "../secrets/index.js";
import type { Store } from "../store/index.js";

export interface ServerIssuerOptions {
  dataDir: string;
  store: Store;
  /** The server's public URL: the issuer (`iss`). */
  issuer: () => string;
}

/** The server's issuer: a request token is good while the store says its job is in progress. */
export function serverIssuer(o: ServerIssuerOptions): OidcIssuer {
  return new OidcIssuer({
    dataDir: o.dataDir,
    issuer: o.issuer,
    jobActive: (jobId) => o.store.getJob(jobId)?.status === "in_progress",
  });
}
