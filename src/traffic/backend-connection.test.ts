// The router's own HTTP/1.1 client connection to a backend, against a raw TCP backend.
import net from "node:net";
import { afterEach, expect, it } from "vitest";
import { BackendConnection, type ConnectionUser } from "./backend-connection.js";

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A backend that answers each request (one per line received) with a chunked response written in one piece. */
async function chunkedBackend(): Promise<number> {
  const server = net.createServer((socket) => {
    let seen = "";
    socket.on("data", (d) => {
      seen += d.toString("latin1");
      while (seen.includes("\r\n\r\n")) {
        const path = /^GET (\S+)/.exec(seen)?.[1] ?? "?";
        seen = seen.slice(seen.indexOf("\r\n\r\n") + 4);
        socket.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${path.length.toString(16)}\r\n${path}\r\n0\r\n\r\n`);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return (server.address() as net.AddressInfo).port;
}

it("reads again after a response during which the user paused it: the next exchange on the pooled connection gets its answer", async () => {
  const port = await chunkedBackend();
  let pooled: BackendConnection | undefined;
  const conn = new BackendConnection("127.0.0.1", port, 1000, 2000, 5000, (c) => (pooled = c), () => undefined);
  const exchange = (path: string, pause: boolean) =>
    new Promise<string>((resolve, reject) => {
      let body = "";
      const user: ConnectionUser = {
        onHead: () => true,
        // A slow client: the first piece pauses reading, and nothing resumes it before the response ends.
        onBody: (chunk, last) => {
          body += chunk.toString();
          if (last) resolve(body);
          return !pause;
        },
        onFailure: (err) => reject(err),
        onDrain: () => undefined,
      };
      conn.begin(user, `GET ${path} HTTP/1.1\r\nHost: backend\r\n\r\n`, false);
    });
  expect(await exchange("/first", true)).toBe("/first");
  expect(pooled).toBe(conn);
  expect(await exchange("/second", false)).toBe("/second");
  conn.destroy();
});
