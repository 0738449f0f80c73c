// Queries captured while a release's tests run (`slipway migrations capture`),
// for `verify` to check against the next release's schema: a small proxy
// between the tests and PostgreSQL that forwards every byte both ways and
// reads, from what the client sends, the SQL of its simple queries (`Q`) and
// of its prepared statements (`P`, with their `$1…` parameters) — PostgreSQL's
// own wire protocol (version 3), so every client library is captured the same.
// The proxy answers a request for TLS with "no" (the tests talk to it in
// plain text on loopback) and talks plain TCP to the server.
import { createServer, connect, type Server, type Socket } from "node:net";

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

export interface CaptureProxy {
  /** The URL to give the tests: the target's, at the proxy's address. */
  url: string;
  port: number;
  /** Each distinct SQL text the clients sent, in the order first sent, with how many times it was sent (a test suite repeats a few texts many times: only the distinct ones are kept). */
  sent(): Map<string, number>;
  close(): Promise<void>;
}

/** Starts the proxy on 127.0.0.1 (a free port) in front of the PostgreSQL server of `target` (a postgres:// URL). */
export async function startCaptureProxy(target: string): Promise<CaptureProxy> {
  const url = new URL(target);
  const host = url.hostname || "127.0.0.1";
  const port = Number(url.port || 5432);
  const sent = new Map<string, number>();
  const record = (text: string) => sent.set(text, (sent.get(text) ?? 0) + 1);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    const upstream = connect(port, host);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    let buffer = Buffer.alloc(0);
    let startup = true;
    client.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (startup) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          const message = buffer.subarray(0, length);
          buffer = buffer.subarray(length);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
            client.write("N");
            continue;
          }
          upstream.write(message);
          // A cancel request is the whole conversation; anything else is the startup message.
          if (code !== CANCEL_REQUEST) startup = false;
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1);
        if (buffer.length < 1 + length) return;
        const message = buffer.subarray(0, 1 + length);
        buffer = buffer.subarray(1 + length);
        const type = String.fromCharCode(message[0] ?? 0);
        const body = message.subarray(5);
        if (type === "Q") record(cString(body, 0).text);
        else if (type === "P") record(cString(body, cString(body, 0).next).text);
        upstream.write(message);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const proxyPort = typeof address === "object" && address ? address.port : 0;
  const proxied = new URL(target);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(proxyPort);
  proxied.searchParams.set("sslmode", "disable");
  return {
    url: proxied.toString(),
    port: proxyPort,
    sent: () => new Map(sent),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A NUL-terminated UTF-8 string at `start`, and where what follows it starts. */
function cString(body: Buffer, start: number): { text: string; next: number } {
  const end = body.indexOf(0, start);
  const stop = end < 0 ? body.length : end;
  return { text: body.subarray(start, stop).toString("utf8"), next: stop + 1 };
}

