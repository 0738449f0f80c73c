// A service as it runs in one environment: the service's run settings with
// the environment's overrides, and the hash of that configuration that the
// state repository records (`configHash`), so a configuration change is a
// deploy and a configuration changed out of band is drift.
import { createHash } from "node:crypto";
import type { DeliveryConfig, HealthCheck, ValueSource } from "../delivery/index.js";

export interface EffectiveService {
  env: string;
  service: string;
  command: string | string[];
  cwd: string;
  instances: number;
  health: HealthCheck;
  stopTimeout: number;
  /** The router's stable port, when slipway.yml names one. */
  port: number | undefined;
  variables: Record<string, ValueSource>;
}

export function effectiveService(config: DeliveryConfig, env: string, service: string): EffectiveService {
  const spec = config.services[service];
  const environment = config.environments[env];
  if (!spec) throw new Error(`service '${service}' is not in ${config.file}`);
  if (!environment) throw new Error(`environment '${env}' is not in ${config.file}`);
  const override = environment.services[service];
  return {
    env,
    service,
    command: spec.run.command,
    cwd: spec.run.cwd,
    instances: override?.instances ?? spec.run.instances,
    health: spec.run.health,
    stopTimeout: spec.run.stopTimeout,
    port: override?.port,
    variables: { ...spec.env, ...(override?.env ?? {}) },
  };
}

/**
 * `sha256:…` of what decides how the service runs. Secret and environment
 * references are hashed as written (`secret:DB_URL`), not their values: a
 * rotated secret reaches new instances at their next start, it is not a
 * configuration change.
 */
export function configHash(e: EffectiveService): string {
  const canonical = JSON.stringify({
    command: e.command,
    cwd: e.cwd,
    instances: e.instances,
    health: e.health,
    stopTimeout: e.stopTimeout,
    port: e.port ?? null,
    variables: Object.keys(e.variables)
      .sort()
      .map((k) => [k, e.variables[k]]),
  });
  return `sha256:${createHash("sha256").update(canonical).digest("hex")}`;
}
