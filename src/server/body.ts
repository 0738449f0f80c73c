// Request bodies read whole into memory, up to a limit: the JSON API's bodies
// (server.ts) and the remote cache's batch queries and events (remote-cache.ts).
import type { IncomingMessage } from "node:http";

/**
 * The request's body; past `max` bytes the error `tooLarge` makes is thrown
 * (each caller answers in its own protocol's shape).
 */
export async function readBody(req: IncomingMessage, max: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw tooLarge();
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
