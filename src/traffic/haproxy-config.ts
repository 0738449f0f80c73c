// haproxy.cfg for one environment's service, written by Slipway: a frontend
// on the stable port, one backend `app` of server slots (`slot1`…`slotN`)
// whose addresses, weights and states change through the runtime API, and
// the map file that labels each slot with its backend id and release. The
// config always describes the current state, so a reload or a restart of
// HAProxy comes back with the same table. Its first line holds the settings
// Slipway needs to re-attach (JSON after `# slipway-router `).

export const FRONTEND = "slipway";
export const BACKEND = "app";
export const META_PREFIX = "# slipway-router ";
/** Map key of the route table's own facts (release names, the canary weight). */
export const TABLE_KEY = "@table";

export interface ConfigMeta {
  version: 1;
  env: string;
  service: string;
  host: string;
  port: number;
  /** UDP port on 127.0.0.1 where HAProxy sends one log line per request (latency samples). */
  logPort: number;
  socket: string;
  /** The master's CLI (`-S`): answers once the master runs its loop, and takes `reload`. */
  masterSocket: string;
  mapFile: string;
  slots: number;
  sticky?: { header?: string; cookie?: string };
  threads?: number;
  retries: number;
  connectTimeoutMs: number;
  backendTimeoutMs: number;
}

export interface SlotConfig {
  addr: string;
  port: number;
  weight: number;
  enabled: boolean;
}

/** A placeholder address for an unused slot: it is in maintenance and never used. */
export const UNUSED_ADDR = "127.0.0.1";
export const UNUSED_PORT = 9;

export function slotName(index: number): string {
  return `slot${index + 1}`;
}

/** The slot index of `slotN`, or -1. */
export function slotIndex(name: string): number {
  const m = /^slot(\d+)$/.exec(name);
  return m ? Number(m[1]) - 1 : -1;
}

function formatAddr(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** The whole haproxy.cfg. Inputs are checked by the caller (names are tokens, addresses IPs). */
export function renderConfig(meta: ConfigMeta, slots: SlotConfig[], errorFile: string): string {
  const balance = meta.sticky?.header
    ? [`  balance hash req.hdr(${meta.sticky.header})`, "  hash-type consistent"]
    : meta.sticky?.cookie
      ? [`  balance hash req.cook(${meta.sticky.cookie})`, "  hash-type consistent"]
      : ["  balance roundrobin"];
  const lines = [
    `${META_PREFIX}${JSON.stringify(meta)}`,
    `# Written by Slipway for ${meta.env}/${meta.service}. Do not edit: Slipway changes servers through the`,
    `# runtime API (${meta.socket}) and rewrites this file after every change.`,
    "global",
    `  stats socket ${meta.socket} mode 600 level admin expose-fd listeners`,
    "  stats timeout 30s",
    `  log 127.0.0.1:${meta.logPort} len 1024 format raw local0 info`,
    "  hard-stop-after 10s",
    ...(meta.threads ? [`  nbthread ${meta.threads}`] : []),
    "",
    "defaults",
    "  mode http",
    "  log global",
    "  option dontlognull",
    `  timeout connect ${meta.connectTimeoutMs}ms`,
    "  timeout client 60s",
    `  timeout server ${meta.backendTimeoutMs}ms`,
    "  timeout http-request 30s",
    "  timeout http-keep-alive 10s",
    "  timeout queue 5s",
    `  retries ${meta.retries}`,
    "  option redispatch 1",
    "  retry-on conn-failure empty-response",
    "",
    `frontend ${FRONTEND}`,
    `  bind ${formatAddr(meta.host, meta.port)}`,
    '  log-format "slipway %s %ST %Ta"',
    "  option forwardfor",
    "  http-request set-header X-Forwarded-Proto http if !{ req.hdr(x-forwarded-proto) -m found }",
    // Never true: it only makes HAProxy load the map, so the runtime API can read and change the slot labels.
    `  http-request set-var(txn.slipway_table) str(${TABLE_KEY}),map(${meta.mapFile}) if FALSE`,
    `  default_backend ${BACKEND}`,
    "",
    `backend ${BACKEND}`,
    ...balance,
    "  acl slipway_idempotent method GET HEAD OPTIONS PUT DELETE TRACE",
    // Only a failed connect is retried for other methods (the backend never saw the request).
    "  http-request disable-l7-retry if !slipway_idempotent",
    `  errorfile 503 ${errorFile}`,
    ...slots.map((s, i) => `  server ${slotName(i)} ${formatAddr(s.addr, s.port)} weight ${s.weight}${s.enabled ? "" : " disabled"}`),
    "",
  ];
  return lines.join("\n");
}

/** The settings on the first line of a haproxy.cfg Slipway wrote, or undefined. */
export function readMeta(text: string): ConfigMeta | undefined {
  const first = text.split("\n", 1)[0] ?? "";
  if (!first.startsWith(META_PREFIX)) return undefined;
  try {
    const meta = JSON.parse(first.slice(META_PREFIX.length)) as ConfigMeta;
    return meta.version === 1 && Number.isInteger(meta.port) && typeof meta.socket === "string" && typeof meta.masterSocket === "string" && Number.isInteger(meta.slots) ? meta : undefined;
  } catch {
    return undefined;
  }
}

/** The response HAProxy sends when no server can take a request. */
export function noBackendResponse(env: string, service: string): string {
  const body = `503 Service Unavailable: ${service} in ${env} has no backend to send this request to (the route table lists no instance). Slipway's HAProxy router is running; deploy a release or check \`slipway status\`.\n`;
  return ["HTTP/1.1 503 Service Unavailable", "content-type: text/plain; charset=utf-8", "cache-control: no-cache", "retry-after: 1", `content-length: ${Buffer.byteLength(body)}`, "connection: close", "", body].join("\r\n");
}

/** One map file line per slot (`-` when never used) and the table's facts. */
export function renderMap(labels: (string | undefined)[], table: string): string {
  return [`${TABLE_KEY} ${table}`, ...labels.map((l, i) => `${slotName(i)} ${l ?? "-"}`), ""].join("\n");
}
