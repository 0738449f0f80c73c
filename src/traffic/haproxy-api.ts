// HAProxy's runtime API (the stats socket at level admin): one command per
// connection, and parsers for what Slipway reads back — `show stat` (CSV),
// `show servers state`, `show map` and `show info`.
import net from "node:net";

/** Sends `command` (several may be joined with `;`) and resolves with HAProxy's whole answer. */
export function runtimeCommand(socketPath: string, command: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let out = "";
    let settled = false;
    const settle = (err: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(out);
    };
    const timer = setTimeout(() => settle(new Error(`HAProxy's runtime API at ${socketPath} did not answer '${command.slice(0, 60)}' within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding("utf8");
    // Half-close after the command: the master CLI answers only then (the stats socket either way).
    socket.on("connect", () => socket.end(`${command}\n`));
    socket.on("data", (d: string) => {
      out += d;
    });
    socket.on("end", () => settle(undefined));
    socket.on("close", () => settle(undefined));
    socket.on("error", (err: NodeJS.ErrnoException) => settle(new Error(`HAProxy's runtime API at ${socketPath}: ${err.code === "ENOENT" || err.code === "ECONNREFUSED" ? "HAProxy is not running (no socket)" : err.message}`)));
  });
}

/** `show stat` CSV → one record per line, keyed by column name. */
export function parseStat(csv: string): Record<string, string>[] {
  const lines = csv.split("\n").filter((l) => l !== "");
  const header = lines.find((l) => l.startsWith("# "));
  if (!header) return [];
  const names = header.slice(2).split(",");
  return lines
    .filter((l) => !l.startsWith("#"))
    .map((l) => {
      const cells = l.split(",");
      const row: Record<string, string> = {};
      names.forEach((n, i) => {
        if (n !== "") row[n] = cells[i] ?? "";
      });
      return row;
    });
}

export interface ServerState {
  name: string;
  addr: string;
  port: number;
  /** 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  /** Bit field: 0x01 forced maintenance, 0x02 inherited, 0x04 from the config, 0x08/0x10 drain, 0x20 resolution. */
  adminState: number;
  weight: number;
}

const MAINT_OR_DRAIN = 0x01 | 0x02 | 0x08 | 0x10 | 0x20;

/** A server that takes new requests: running, not in maintenance or drain. */
export function serving(s: ServerState): boolean {
  return s.opState === 2 && (s.adminState & MAINT_OR_DRAIN) === 0;
}

/** `show servers state <backend>` → its servers. */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  const out: ServerState[] = [];
  for (const line of lines) {
    const f = line.split(" ");
    if (f.length < 19) continue; // the version line
    out.push({ name: f[3]!, addr: f[4]!, opState: Number(f[5]), adminState: Number(f[6]), weight: Number(f[7]), port: Number(f[18]) });
  }
  return out;
}

/** `show map <file>` → key → value (lines are `<ref> <key> <value>`). */
export function parseMap(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^0x[0-9a-f]+ (\S+) (.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** `show info` → field → value. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const at = line.indexOf(": ");
    if (at > 0) out.set(line.slice(0, at), line.slice(at + 2));
  }
  return out;
}
