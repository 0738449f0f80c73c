// haproxy.cfg as Slipway writes it: HAProxy itself accepts it (`haproxy -c`), and its settings line reads back.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { noBackendResponse, readMeta, renderConfig, renderMap, type ConfigMeta } from "./haproxy-config.js";
import { HAPROXY_PATH } from "./haproxy-router.js";

const meta = (dir: string, sticky?: ConfigMeta["sticky"]): ConfigMeta => ({
  version: 1,
  env: "prod",
  service: "web",
  host: "127.0.0.1",
  port: 18080,
  logPort: 15514,
  socket: join(dir, "admin.sock"),
  masterSocket: join(dir, "master.sock"),
  mapFile: join(dir, "slots.map"),
  slots: 3,
  ...(sticky ? { sticky } : {}),
  retries: 3,
  connectTimeoutMs: 5000,
  backendTimeoutMs: 60000,
});

describe("haproxy.cfg", () => {
  for (const sticky of [undefined, { header: "X-User" }, { cookie: "sid" }]) {
    it(`is valid for HAProxy ${sticky ? `(sticky by ${Object.keys(sticky)[0]})` : "(round robin)"}`, () => {
      const dir = mkdtempSync(join(tmpdir(), "slipway-cfg-"));
      try {
        const m = meta(dir, sticky);
        const slots = [
          { addr: "127.0.0.1", port: 8001, weight: 40, enabled: true },
          { addr: "::1", port: 8002, weight: 253, enabled: true },
          { addr: "127.0.0.1", port: 9, weight: 1, enabled: false },
        ];
        const text = renderConfig(m, slots, join(dir, "503.http"));
        expect(readMeta(text)).toEqual(m);
        expect(text).toContain("server slot2 [::1]:8002 weight 253\n");
        expect(text).toContain("server slot3 127.0.0.1:9 weight 1 disabled\n");
        if (sticky?.header) expect(text).toContain("balance hash req.hdr(X-User)");
        if (sticky?.cookie) expect(text).toContain("balance hash req.cook(sid)");
        if (!existsSync(HAPROXY_PATH)) return;
        writeFileSync(join(dir, "haproxy.cfg"), text);
        writeFileSync(join(dir, "503.http"), noBackendResponse("prod", "web"));
        writeFileSync(join(dir, "slots.map"), renderMap([undefined, "id=a", undefined], "stable=v1"));
        execFileSync(HAPROXY_PATH, ["-c", "-q", "-f", join(dir, "haproxy.cfg")], { stdio: "pipe" });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("reads no settings from a file Slipway did not write", () => {
    expect(readMeta("global\n  daemon\n")).toBeUndefined();
    expect(readMeta("# slipway-router {broken\n")).toBeUndefined();
  });
});
