// The hello service that slipway.yml delivers: listens on PORT, answers
// /healthz for health checks, and stops cleanly on SIGTERM.
import { createServer } from "node:http";
import { greet } from "./greet.js";

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
  } else if (url.pathname === "/") {
    res.writeHead(200, { "content-type": "text/plain" }).end(greet(url.searchParams.get("name") ?? process.env.GREETING_NAME ?? "world") + "\n");
  } else {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
