// The SQLite schema, as numbered migrations applied in order. Each file
// exports its SQL text (a .ts module, so the esbuild bundle embeds it).
// Never edit an applied migration: add the next number instead.
import init from "./001-init.sql.js";
import runOwner from "./002-run-owner.sql.js";
import releases from "./003-releases.sql.js";
import delivery from "./004-delivery.sql.js";
import server from "./005-server.sql.js";
import launches from "./006-launches.sql.js";
import concurrency from "./007-concurrency.sql.js";
import changeRequests from "./008-change-requests.sql.js";
import tokenGroups from "./009-token-groups.sql.js";
import releaseAttestations from "./010-release-attestations.sql.js";
import jobQueue from "./011-job-queue.sql.js";
import secretReads from "./012-secret-reads.sql.js";
import annotations from "./013-annotations.sql.js";
import postgresBaseline from "./postgres-baseline.sql.js";

export interface Migration {
  /** 1, 2, 3, … with no gaps; recorded in schema_migrations.version. */
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  { version: 1, name: "init", sql: init },
  { version: 2, name: "run-owner", sql: runOwner },
  { version: 3, name: "releases", sql: releases },
  { version: 4, name: "delivery", sql: delivery },
  { version: 5, name: "server", sql: server },
  { version: 6, name: "launches", sql: launches },
  { version: 7, name: "concurrency", sql: concurrency },
  { version: 8, name: "change-requests", sql: changeRequests },
  { version: 9, name: "token-groups", sql: tokenGroups },
  { version: 10, name: "release-attestations", sql: releaseAttestations },
  { version: 11, name: "job-queue", sql: jobQueue },
  { version: 12, name: "secret-reads", sql: secretReads },
  { version: 13, name: "annotations", sql: annotations },
];

/**
 * The PostgreSQL schema (postgres-store.ts): the SQLite schema at version 13
 * as one baseline, then a PostgreSQL twin of every later SQLite migration,
 * with the same version number.
 */
export const postgresMigrations: readonly Migration[] = [{ version: 13, name: "baseline", sql: postgresBaseline }];
