// The hello service that slipway.yml delivers: listens on PORT, answers
// /healthz for health checks, and stops cleanly on SIGTERM. A release built
// with the workflow input `fault` carries fault.json: it then fails that
// percent of requests in that environment (the delivery demo's bad release).
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { greet } from "./greet.js";

const fault = (() => {
  try {
    return JSON.parse(readFileSync(new URL("../fault.json", import.meta.url), "utf8"));
  } catch {
    return { percent: 0 };
  }
})();
const faulty = fault.percent > 0 && (fault.env === undefined || fault.env === process.env.SLIPWAY_ENV);
let served = 0;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
  } else if (faulty && url.pathname === "/" && ++served % Math.round(100 / fault.percent) === 0) {
    res.writeHead(500, { "content-type": "text/plain" }).end("deliberate fault\n");
  } else if (url.pathname === "/") {
    res.writeHead(200, { "content-type": "text/plain" }).end(greet(url.searchParams.get("name") ?? process.env.GREETING_NAME ?? "world") + "\n");
  } else {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
