// The OIDC issuer of `slipway server` (secrets/oidc.ts), at the server's
// public URL: `/.well-known/openid-configuration`, `/.well-known/jwks` and
// the token endpoint `/oidc/token`. The runs the server starts (child
// `slipway run`s, launcher.ts) find it through SLIPWAY_OIDC_ISSUER and give
// their jobs request tokens for it; the server checks them with the data
// directory's master key and the store (the job must still be running).
import type { IncomingMessage, ServerResponse } from "node:http";
import { OIDC_ISSUER_ENV, OIDC_PATHS, OidcIssuer } from "../secrets/index.js";
import type { Store } from "../store/index.js";

export interface OidcRoutesOptions {
  dataDir: string;
  store: Store;
  /** The server's public URL: the issuer (`iss`). */
  issuer: () => string;
}

const PATHS: ReadonlySet<string> = new Set(Object.values(OIDC_PATHS));

/** Whether a request path is one of the issuer's. */
export function isOidcPath(path: string): boolean {
  return PATHS.has(path);
}

/** The issuer's routes, served without an API token (the token endpoint takes a job's request token). */
export class OidcRoutes {
  private readonly issuer: OidcIssuer;

  constructor(private readonly o: OidcRoutesOptions) {
    this.issuer = new OidcIssuer({
      dataDir: o.dataDir,
      issuer: o.issuer,
      jobActive: (jobId) => o.store.getJob(jobId)?.status === "in_progress",
    });
  }

  /** The route label for metrics and logs. */
  static label(path: string): string {
    return path === OIDC_PATHS.token ? "/oidc/token" : path;
  }

  /** Tells the child `slipway run`s (which inherit the environment) to use this issuer. */
  announce(): void {
    process.env[OIDC_ISSUER_ENV] = this.o.issuer();
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await this.issuer.handle(req, res);
  }
}
