// `slipway server`: the API, hosted Git and the runs of pushes, in one
// process; and `slipway tokens`, which manages API tokens straight in a data
// directory (whoever can read the data directory is its administrator, so
// this is also how a lost admin token is replaced).
import { resolve } from "node:path";
import { parseDuration } from "../delivery/index.js";
import { Authenticator, isRole, jsonLogger, startServer } from "../server/index.js";
import { COLLECT_EVERY_MS, gcLogFields, PeriodicCollector } from "../retention/index.js";
import { checkDatabaseUrl, openDataStore, openPostgresStore, rememberDatabase, ROLES, StoreError, type Role } from "../store/index.js";
import { EXIT, retentionPolicy, UsageError, withStore, type GlobalOptions } from "./common.js";
import { paint } from "./style.js";

export interface ServerCommandOptions {
  port?: string;
  host?: string;
  dataDir?: string;
  publicUrl?: string;
  parallelEvents?: string;
  deliver?: string;
  interval?: string;
  database?: string;
}

/** The server's data directory: --data-dir, else $SLIPWAY_DATA_DIR, else ./slipway-data. */
function serverDataDir(opts: { dataDir?: string }): string {
  return resolve(opts.dataDir ?? process.env.SLIPWAY_DATA_DIR ?? "slipway-data");
}

export async function serverCommand(opts: ServerCommandOptions, version: string): Promise<number> {
  const port = opts.port === undefined ? 8080 : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port expects a port number 0–65535, got '${opts.port}'`);
  const parallel = opts.parallelEvents === undefined ? 4 : Number(opts.parallelEvents);
  if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError(`--parallel-events expects a positive integer, got '${opts.parallelEvents}'`);
  if (opts.deliver !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*\/[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(opts.deliver)) throw new UsageError(`--deliver expects a repository as OWNER/NAME, got '${opts.deliver}'`);
  if (opts.publicUrl !== undefined && !/^https?:\/\/[^/]+/.test(opts.publicUrl)) throw new UsageError(`--public-url expects http(s)://host[:port], got '${opts.publicUrl}'`);
  let intervalMs: number | undefined;
  if (opts.interval !== undefined) {
    const d = parseDuration(opts.interval);
    if (!d.ok || d.value < 100) throw new UsageError(`--interval expects a duration such as 10s or 500ms, got '${opts.interval}'`);
    intervalMs = d.value;
  }
  const retention = retentionPolicy();
  const dataDir = serverDataDir(opts);
  let store;
  try {
    if (opts.database !== undefined && opts.database !== "sqlite") {
      checkDatabaseUrl(opts.database);
      store = openPostgresStore(opts.database, dataDir);
      // Kept with the data directory once it opened: the runs this server starts, Git's hooks and `slipway tokens` open the same database.
      rememberDatabase(dataDir, opts.database);
    } else {
      if (opts.database === "sqlite") rememberDatabase(dataDir, "sqlite");
      store = openDataStore(dataDir);
    }
  } catch (err) {
    if (err instanceof StoreError) throw new UsageError(err.message);
    throw err;
  }
  const log = jsonLogger();
  const auth = new Authenticator(store);
  // The first start makes the first admin token and shows it once, on the
  // terminal (standard error), not in the JSON log.
  if (store.countTokens() === 0) {
    const { token } = auth.create("admin", "admin", null);
    const p = paint(process.stderr);
    process.stderr.write(
      `${p.bold("Slipway admin token")} (shown once; it is stored hashed): ${token}\n` + p.dim(`Lost it? \`slipway tokens create --role admin --data-dir ${dataDir}\` makes another.\n`),
    );
  }
  let server;
  try {
    server = await startServer({
      dataDir,
      store,
      port,
      host: opts.host ?? "127.0.0.1",
      version,
      log,
      parallelEvents: parallel,
      ...(opts.deliver !== undefined ? { deliver: opts.deliver } : {}),
      ...(intervalMs !== undefined ? { deliveryIntervalMs: intervalMs } : {}),
      ...(opts.publicUrl !== undefined ? { publicUrl: opts.publicUrl } : {}),
    });
  } catch (err) {
    store.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") throw new UsageError(`port ${port} is in use; choose another with --port`);
    if (e.code === "EACCES") throw new UsageError(`no permission to listen on port ${port}; choose one above 1023 with --port`);
    throw err;
  }
  log.info("listening", { url: server.url, dataDir, version });
  // Every hour: expired artifacts, idle cache entries and the blobs nothing refers to any more go (retention/).
  const collector = new PeriodicCollector({
    dataDir,
    store,
    policy: retention,
    everyMs: COLLECT_EVERY_MS,
    onReport: (r) => (r.problems.length > 0 ? log.warn : log.info)("garbage collected", gcLogFields(r)),
    onError: (err) => log.error("garbage collection failed", { error: (err as Error).message }),
  });
  collector.start();
  const running = server;
  await new Promise<void>((done) => {
    let stopping = false;
    const stop = (sig: NodeJS.Signals) => {
      if (stopping) {
        log.warn("stopping now: cancelling the runs in progress", { signal: sig });
        running.launcher.cancelAll();
        return;
      }
      stopping = true;
      const { running: r, waiting: w } = running.launcher.stats();
      log.info("stopping: no new requests; runs in progress finish (send the signal again to cancel them)", { signal: sig, running: r, waiting: w });
      void running
        .close()
        .then(() => collector.stop())
        .then(() => running.launcher.whenIdle())
        .then(() => done());
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  store.close();
  log.info("stopped");
  return EXIT.ok;
}

export interface TokensOptions extends GlobalOptions {
  role?: string;
  name?: string;
  group?: string[];
  json?: boolean;
}

export async function tokensCommand(action: string, idArg: string | undefined, opts: TokensOptions): Promise<number> {
  const dataDir = serverDataDir(opts);
  return withStore(dataDir, (store) => {
    const p = paint(process.stdout);
    if (action === "create") {
      const role = opts.role ?? "developer";
      if (!isRole(role)) throw new UsageError(`--role must be one of ${ROLES.join(", ")}, got '${role}'`);
      const name = opts.name ?? idArg ?? role;
      const groups = opts.group ?? [];
      const bad = groups.find((g) => !/^[a-z0-9][a-z0-9-]{0,62}$/.test(g));
      if (bad !== undefined) throw new UsageError(`--group '${bad}' is not a group name: lowercase letters, digits and '-', up to 63`);
      const { token, record } = new Authenticator(store).create(name, role as Role, "slipway tokens", groups);
      if (opts.json) process.stdout.write(JSON.stringify({ ...record, token }, null, 2) + "\n");
      else process.stdout.write(`${p.green("✓")} token ${record.id} '${record.name}' (${record.role}), shown once:\n${token}\n`);
      return EXIT.ok;
    }
    if (action === "list") {
      const tokens = store.listTokens();
      if (opts.json) {
        process.stdout.write(JSON.stringify({ tokens }, null, 2) + "\n");
        return EXIT.ok;
      }
      if (tokens.length === 0) process.stdout.write(`no tokens in ${dataDir}\n`);
      for (const t of tokens) {
        const state = t.revokedAt ? p.dim(`revoked ${t.revokedAt}`) : t.lastUsedAt ? `last used ${t.lastUsedAt}` : p.dim("never used");
        process.stdout.write(`${String(t.id).padStart(4)}  ${t.name.padEnd(20)} ${t.role.padEnd(16)} ${(t.groups.join(",") || "-").padEnd(20)} ${state}\n`);
      }
      return EXIT.ok;
    }
    // revoke
    const id = Number(idArg);
    if (!Number.isInteger(id) || id < 1) throw new UsageError(`tokens revoke expects a token id (see \`slipway tokens list\`), got '${idArg ?? ""}'`);
    const known = store.listTokens().find((t) => t.id === id);
    if (!known) throw new UsageError(`no token ${id} in ${dataDir} (see \`slipway tokens list\`)`);
    if (known.revokedAt) throw new UsageError(`token ${id} is already revoked`);
    store.revokeToken(id);
    if (opts.json) process.stdout.write(JSON.stringify({ revoked: id }) + "\n");
    else process.stdout.write(`${p.green("✓")} token ${id} '${known.name}' revoked\n`);
    return EXIT.ok;
  });
}
