// A synchronous PostgreSQL connection, for a Store on PostgreSQL behind the
// same synchronous interface as the embedded SQLite one (store.ts). The
// connection lives in a worker thread running node-postgres; a query posts
// the SQL to it and waits (Atomics.wait on a shared flag) until the worker
// has answered on a MessagePort, which is then read with
// receiveMessageOnPort. The calling thread blocks for the round trip, as it
// does for SQLite's disk I/O: fine for a database on the same host or LAN
// (a fraction of a millisecond), and the reason the Store stays synchronous.
//
// Statements are written in SQLite's parameter styles (`@name`, `?`) and
// turned into PostgreSQL's (`$1`…) by `pgParameters`; `prepare` gives
// better-sqlite3's statement methods (`get`, `all`, `run` → `{ changes }`),
// so the SQL of sql-store.ts can run here. int8 and numeric come back as
// numbers (every Slipway id and count fits), bytea as Buffer.
import { createRequire } from "node:module";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { StoreStatement } from "./sql-store.js";

/** How long one query may take before the connection is given up. */
export const PG_QUERY_TIMEOUT_MS = 60_000;

/** A PostgreSQL error, with its SQLSTATE (`23505` unique violation, …). */
export class PgSyncError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly constraint: string | undefined,
  ) {
    super(message);
  }
}

// The worker: CommonJS (eval), node-postgres from Slipway's own node_modules.
const WORKER = `
const { workerData } = require("node:worker_threads");
const pg = require(workerData.pgPath);
const types = new pg.TypeOverrides();
types.setTypeParser(20, (v) => Number(v));
types.setTypeParser(1700, (v) => Number(v));
const client = new pg.Client({ connectionString: workerData.url, types });
client.on("error", () => undefined);
const flag = new Int32Array(workerData.flag);
const port = workerData.port;
const connected = client.connect();
const wake = (reply) => {
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
};
port.on("message", async (m) => {
  if (m.close) {
    await client.end().catch(() => undefined);
    wake({ rows: [], rowCount: 0 });
    port.close();
    return;
  }
  try {
    await connected;
    const params = (m.params || []).map((p) => (p instanceof Uint8Array ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p));
    const r = await client.query(m.sql, params);
    wake({ rows: r.rows, rowCount: r.rowCount || 0 });
  } catch (e) {
    wake({ error: { message: String((e && e.message) || e), code: e && e.code, constraint: e && e.constraint } });
  }
});
`;

interface Reply {
  rows?: Record<string, unknown>[];
  rowCount?: number;
  error?: { message: string; code?: string; constraint?: string };
}

/** One PostgreSQL connection, queried synchronously. */
export class PgSyncClient {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag: Int32Array;
  private closed = false;

  constructor(
    readonly url: string,
    private readonly timeoutMs = PG_QUERY_TIMEOUT_MS,
  ) {
    const { port1, port2 } = new MessageChannel();
    const shared = new SharedArrayBuffer(4);
    this.flag = new Int32Array(shared);
    this.port = port1;
    const pgPath = createRequire(import.meta.url).resolve("pg");
    this.worker = new Worker(WORKER, { eval: true, workerData: { url, pgPath, flag: shared, port: port2 }, transferList: [port2] });
    // The process may exit with the connection open: close() is for tidiness, not required.
    this.worker.unref();
    this.port.unref();
    // Connects now: a bad URL fails here, with the server's words.
    this.query("SELECT 1");
  }

  /** Runs one statement with `$1…` parameters. */
  query(sql: string, params: readonly unknown[] = []): { rows: Record<string, unknown>[]; rowCount: number } {
    if (this.closed) throw new PgSyncError("the PostgreSQL connection is closed", undefined, undefined);
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ sql, params });
    if (Atomics.wait(this.flag, 0, 0, this.timeoutMs) === "timed-out") {
      this.close();
      throw new PgSyncError(`PostgreSQL did not answer within ${this.timeoutMs / 1000} s (${redactUrl(this.url)}); the connection is closed`, undefined, undefined);
    }
    const reply = receiveMessageOnPort(this.port)?.message as Reply | undefined;
    if (!reply) throw new PgSyncError("the PostgreSQL worker answered nothing", undefined, undefined);
    if (reply.error) throw new PgSyncError(reply.error.message, reply.error.code, reply.error.constraint);
    return { rows: (reply.rows ?? []).map(buffers), rowCount: reply.rowCount ?? 0 };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ close: true });
    Atomics.wait(this.flag, 0, 0, 5_000);
    this.port.close();
    void this.worker.terminate();
  }
}

/** bytea values arrive as Uint8Array (structured clone): Buffers again, as node-postgres gives them. */
function buffers(row: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(row)) if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return row;
}

/** The URL with its password hidden, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(an invalid URL)";
  }
}

/** SQL cut at its parameters: `parts[i]`, then parameter `slots[i]` (0-based), …, then the last part. */
interface Compiled {
  parts: string[];
  slots: number[];
  /** Named parameters in binding order (empty for `?`). */
  names: string[];
  positional: number;
}

/** Cuts SQLite-style SQL at its parameters (`@name`, `?`); quoted strings, quoted identifiers and comments are left alone. */
function compile(sql: string): Compiled {
  const parts: string[] = [];
  const slots: number[] = [];
  const names: string[] = [];
  let positional = 0;
  let part = "";
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i] as string;
    if (c === "'" || c === '"') {
      const end = closing(sql, i, c);
      part += sql.slice(i, end + 1);
      i = end;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      const stop = end < 0 ? sql.length : end;
      part += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === "?") {
      parts.push(part);
      part = "";
      slots.push(positional++);
    } else if (c === "@" && /[A-Za-z_]/.test(sql[i + 1] ?? "")) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))?.[0] ?? "";
      let n = names.indexOf(name);
      if (n < 0) n = names.push(name) - 1;
      parts.push(part);
      part = "";
      slots.push(n);
      i += name.length;
    } else part += c;
  }
  parts.push(part);
  if (positional > 0 && names.length > 0) throw new Error(`a statement mixes ? and @name parameters: ${sql.slice(0, 80)}`);
  return { parts, slots, names, positional };
}

/** SQLite-style parameters (`@name`, `?`) as PostgreSQL's (`$1`…), untyped: the text, and the order named ones bind in. */
export function pgParameters(sql: string): { text: string; names: string[]; positional: number } {
  const c = compile(sql);
  return { text: c.parts.map((p, i) => (i < c.slots.length ? `${p}$${(c.slots[i] ?? 0) + 1}` : p)).join(""), names: c.names, positional: c.positional };
}

/**
 * The statement for these values, typed by them — an integer is a bigint, a
 * fraction a float8, a string text, a Buffer bytea — and a null written as
 * NULL, as SQLite takes any value anywhere; PostgreSQL would otherwise have
 * to guess the type of `@status IS NULL OR status = @status`.
 */
function bindTyped(c: Compiled, values: readonly unknown[]): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const placed = new Map<number, string>();
  const placeholder = (slot: number): string => {
    const known = placed.get(slot);
    if (known !== undefined) return known;
    const v = values[slot];
    let text: string;
    if (v === null || v === undefined) text = "NULL";
    else {
      params.push(v);
      const type = typeof v === "number" ? (Number.isInteger(v) ? "bigint" : "float8") : typeof v === "bigint" ? "bigint" : Buffer.isBuffer(v) || v instanceof Uint8Array ? "bytea" : "text";
      text = `$${params.length}::${type}`;
    }
    placed.set(slot, text);
    return text;
  };
  let text = "";
  c.parts.forEach((p, i) => {
    text += p;
    if (i < c.slots.length) text += placeholder(c.slots[i] ?? 0);
  });
  return { text, params };
}

/** The index of the quote that closes the one at `start` (a doubled quote is an escaped one). */
function closing(sql: string, start: number, quote: string): number {
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] !== quote) continue;
    if (sql[i + 1] === quote) {
      i++;
      continue;
    }
    return i;
  }
  return sql.length - 1;
}

/** A statement of SQLite-style SQL on a PgSyncClient, with better-sqlite3's methods: named parameters as one object, or positional ones. */
export function prepare(client: PgSyncClient, sql: string): StoreStatement {
  const c = compile(sql);
  const bind = (params: unknown[]): unknown[] => {
    if (c.names.length === 0) return params;
    const values = (params[0] ?? {}) as Record<string, unknown>;
    return c.names.map((n) => {
      if (!(n in values)) throw new Error(`missing parameter @${n} for: ${sql.trim().slice(0, 80)}`);
      return values[n];
    });
  };
  const query = (params: unknown[]) => {
    const typed = bindTyped(c, bind(params));
    return client.query(typed.text, typed.params);
  };
  return {
    get: (...params) => query(params).rows[0],
    all: (...params) => query(params).rows,
    run: (...params) => ({ changes: query(params).rowCount }),
  };
}

/** The advisory lock an exclusive transaction takes: one at a time per database, as SQLite's write lock. */
export const EXCLUSIVE_LOCK = 7_342_615_002;

/**
 * better-sqlite3's `transaction(fn)` on PostgreSQL: BEGIN … COMMIT around
 * `fn`, ROLLBACK when it throws; inside another, a savepoint. `exclusive`
 * (SQLite's BEGIN IMMEDIATE) first takes a transaction-level advisory lock,
 * so such transactions run one at a time across every connection — every
 * server replica — as they do on SQLite.
 */
export function transaction<A extends unknown[], T>(client: PgSyncClient, fn: (...args: A) => T, options: { exclusive?: boolean } = {}): (...args: A) => T {
  return (...args: A): T => {
    const nested = inTransaction.get(client) ?? 0;
    const name = `sp${nested}`;
    client.query(nested > 0 ? `SAVEPOINT ${name}` : "BEGIN");
    if (nested === 0 && options.exclusive) client.query(`SELECT pg_advisory_xact_lock(${EXCLUSIVE_LOCK})`);
    inTransaction.set(client, nested + 1);
    try {
      const result = fn(...args);
      client.query(nested > 0 ? `RELEASE SAVEPOINT ${name}` : "COMMIT");
      return result;
    } catch (err) {
      try {
        client.query(nested > 0 ? `ROLLBACK TO SAVEPOINT ${name}` : "ROLLBACK");
      } catch {
        // The error that made us roll back is the one to report.
      }
      throw err;
    } finally {
      inTransaction.set(client, nested);
    }
  };
}

/** How deep in transactions each connection is. */
const inTransaction = new WeakMap<PgSyncClient, number>();
