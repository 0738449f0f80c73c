// Where a repository's migrations are: the folders slipway.yml's services
// declare (services.*.migrations), for lint, verify, apply and capture.
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { findDeliveryConfig, parseDeliveryConfig } from "../delivery/index.js";
import { UsageError } from "./common.js";

/** A service's `migrations` in slipway.yml: its folder (absolute, and as written), its `lint.disable`, and that field's path for messages. */
export interface ConfiguredMigrationsDir {
  service: string;
  /** Absolute. */
  dir: string;
  /** As written in slipway.yml (relative to the repository). */
  configured: string;
  disable: string[];
  field: string;
}

/** The directories of `services.*.migrations` in slipway.yml (none when it is absent; a warning when it has errors). */
export function configuredDirs(dir: string): ConfiguredMigrationsDir[] {
  const file = findDeliveryConfig(dir);
  if (!file) return [];
  // The schema only: files the config names elsewhere (workflows, …) do not matter here.
  const loaded = parseDeliveryConfig(readFileSync(file, "utf8"), relative(dir, file));
  if (!loaded.config) {
    process.stderr.write(`slipway: ${relative(dir, file)} has errors (see \`slipway lint ${relative(dir, file)}\`); its migrations settings are not used\n`);
    return [];
  }
  return Object.values(loaded.config.services).flatMap((s) =>
    s.migrations
      ? [{ service: s.name, dir: resolve(dir, s.migrations.dir), configured: s.migrations.dir, disable: s.migrations.lint?.disable ?? [], field: `services.${s.name}.migrations.lint.disable` }]
      : [],
  );
}

/** The migrations folder: --dir, else the one service's `migrations.dir` in slipway.yml, else `migrations`. */
export function migrationsDir(repoDir: string, dir: string | undefined): string {
  if (dir !== undefined) return dir;
  const dirs = configuredDirs(repoDir);
  if (dirs.length > 1) {
    throw new UsageError(`several services have migrations in slipway.yml (${dirs.map((d) => `${d.service}: ${d.configured}`).join(", ")}); choose one with --dir`);
  }
  return dirs[0]?.configured ?? "migrations";
}
