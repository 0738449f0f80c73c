// Values of slipway.yml written as `env:NAME` or `secret:NAME` are read when
// they are used: from Slipway's own environment, or from its secret store
// (the environment's secret first, then the repository-wide one).
import type { ValueSource } from "../delivery/index.js";
import type { SecretStore } from "../secrets/index.js";

export type Resolve = (value: ValueSource) => string;

/** A value that cannot be read; the message names it and says how to provide it. */
export class MissingValueError extends Error {
  override readonly name = "MissingValueError";
}

export function makeResolver(options: { secrets?: SecretStore; env?: NodeJS.ProcessEnv; environment?: string }): Resolve {
  const env = options.env ?? process.env;
  return (value) => {
    switch (value.from) {
      case "literal":
        return value.value;
      case "env": {
        const v = env[value.name];
        if (v === undefined) throw new MissingValueError(`env:${value.name} is not set in Slipway's environment: export ${value.name} before starting Slipway`);
        return v;
      }
      case "secret": {
        const scoped = options.environment !== undefined ? options.secrets?.get(value.name, options.environment) : undefined;
        const v = scoped ?? options.secrets?.get(value.name);
        if (v === undefined) {
          const scope = options.environment !== undefined ? ` --env ${options.environment}` : "";
          throw new MissingValueError(`secret:${value.name} is not in the secret store: set it with \`slipway secrets set ${value.name}${scope}\``);
        }
        return v;
      }
    }
  };
}
