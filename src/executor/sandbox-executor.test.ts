import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSandboxExecutor, sandboxAvailable, type SandboxOptions } from "./index.js";
import { TEST_PATH, capture, findProcesses, runExecutorCases, uniqueSleep, waitForProcess } from "./executor.case.js";

const availability = await sandboxAvailable();
const skipReason = availability.ok ? "" : ` (skipped: ${availability.reason})`;

describe.skipIf(!availability.ok)(`sandbox executor${skipReason}`, () => {
  runExecutorCases("sandbox", ({ workspace, killGraceMs }) =>
    createSandboxExecutor({ workspace, writable: [], network: false, killGraceMs }),
  );

  let root = "";
  let workspace = "";
  let extra = "";
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "slipway-sandbox-"));
    workspace = join(root, "workspace");
    extra = join(root, "tool-cache");
    mkdirSync(workspace);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function sandbox(options: Partial<SandboxOptions> = {}) {
    return createSandboxExecutor({ workspace, writable: [extra], network: false, ...options });
  }
  const sh = (script: string) => ({ command: "bash", args: ["-c", script], cwd: workspace });

  it("is named sandbox", () => {
    expect(sandbox().name).toBe("sandbox");
  });

  it("writes to the workspace and the writable directories", async () => {
    const { result } = await capture(sandbox(), sh(`echo inside > out.txt && echo cached > '${extra}/tool'`));
    expect(result.exitCode).toBe(0);
    expect(readFileSync(join(workspace, "out.txt"), "utf8")).toBe("inside\n");
    expect(readFileSync(join(extra, "tool"), "utf8")).toBe("cached\n");
  });

  it("cannot write anywhere else on the host", async () => {
    const name = `slipway-sandbox-probe-${process.pid}-${Date.now()}`;
    for (const dir of ["/work", "/root", "/usr/local", process.cwd()]) {
      const target = join(dir, name);
      const { result, stderr } = await capture(sandbox(), sh(`echo escaped > '${target}'`));
      expect(result.exitCode, target).not.toBe(0);
      // A directory under the host's /tmp (a checkout there) is not even visible: /tmp is private.
      expect(stderr).toMatch(dir.startsWith("/tmp/") ? /Read-only file system|Permission denied|No such file or directory/ : /Read-only file system|Permission denied/);
      expect(existsSync(target), target).toBe(false);
    }
    // Next to the workspace (under the host's /tmp) a write lands in the sandbox's own /tmp, never on the host.
    const beside = join(root, name);
    await capture(sandbox(), sh(`echo escaped > '${beside}'`));
    expect(existsSync(beside)).toBe(false);
  });

  it("has a private /tmp", async () => {
    const name = `slipway-sandbox-tmp-${process.pid}-${Date.now()}`;
    const { result, stdout } = await capture(sandbox(), sh(`echo private > /tmp/${name} && cat /tmp/${name} && stat -c %a /tmp`));
    expect(result.exitCode).toBe(0);
    expect(stdout).toBe("private\n1777\n");
    expect(existsSync(join("/tmp", name))).toBe(false);
  });

  it("cannot read hidden host paths, while the workspace inside them stays usable", async () => {
    const secrets = join(root, "data");
    mkdirSync(join(secrets, "work"), { recursive: true });
    writeFileSync(join(secrets, "secrets.db"), "top secret");
    writeFileSync(join(root, "key.pem"), "private key");
    const executor = createSandboxExecutor({
      workspace: join(secrets, "work"),
      writable: [],
      network: false,
      hidden: [secrets, join(root, "key.pem"), join(root, "does-not-exist")],
    });
    const { result, stdout } = await capture(executor, {
      command: "bash",
      args: ["-c", `cat '${secrets}/secrets.db'; echo "[$(cat '${root}/key.pem')]"; echo ok > mine.txt; ls '${secrets}'`],
      cwd: join(secrets, "work"),
    });
    expect(result.exitCode).toBe(0);
    expect(stdout).toBe("[]\nwork\n");
    expect(readFileSync(join(secrets, "work", "mine.txt"), "utf8")).toBe("ok\n");
  });

  describe("network", () => {
    let server: Server;
    let port = 0;
    let connections = 0;
    beforeEach(async () => {
      connections = 0;
      server = createServer((socket) => {
        connections++;
        socket.end("hello from the host\n");
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      port = (server.address() as { port: number }).port;
    });
    afterEach(async () => {
      await new Promise<void>((r) => server.close(() => r()));
    });

    const connect = () => ({
      command: process.execPath,
      args: [
        "-e",
        `const s = require("net").connect(${port}, "127.0.0.1");
         s.on("data", (d) => process.stdout.write(d));
         s.on("end", () => process.exit(0));
         s.on("error", (e) => { console.error(e.code); process.exit(1); });`,
      ],
      cwd: workspace,
    });

    it("is blocked when network is false", async () => {
      const { result, stderr } = await capture(sandbox({ network: false }), connect());
      expect(result.exitCode).toBe(1);
      expect(stderr).toMatch(/ECONNREFUSED|ENETUNREACH/);
      expect(connections).toBe(0);
    });

    it("reaches the host when network is true", async () => {
      const { result, stdout } = await capture(sandbox({ network: true }), connect());
      expect(result.exitCode).toBe(0);
      expect(stdout).toBe("hello from the host\n");
      expect(connections).toBe(1);
    });
  });

  it("keeps the environment off the command line of bwrap", async () => {
    const secret = `s3cret-${Date.now()}`;
    const child = uniqueSleep();
    const controller = new AbortController();
    const running = capture(sandbox(), {
      command: "sleep",
      args: [child.arg],
      cwd: workspace,
      env: { PATH: TEST_PATH, TOKEN: secret },
      signal: controller.signal,
    });
    try {
      expect(await waitForProcess(child.marker)).toBe(true);
      expect(findProcesses(secret)).toEqual([]);
      const [pid] = findProcesses(child.marker);
      expect(readFileSync(`/proc/${pid}/environ`, "utf8")).toContain(`TOKEN=${secret}`);
    } finally {
      controller.abort();
    }
    const { result } = await running;
    expect(result.cancelled).toBe(true);
  });

  it("runs the step in its own PID namespace", async () => {
    const { stdout } = await capture(sandbox(), sh("ls /proc | grep -E '^[0-9]+$' | wc -l"));
    // bwrap's init, bash, ls, grep, wc and perhaps a subshell: nothing of the host.
    expect(Number(stdout.trim())).toBeLessThan(10);
  });
});

describe("sandboxAvailable", () => {
  it("answers with a reason when it is not available", async () => {
    const answer = await sandboxAvailable();
    if (answer.ok) expect(answer.reason).toBeUndefined();
    else expect(answer.reason).toMatch(/bwrap|bubblewrap/);
  });
});
