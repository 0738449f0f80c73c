import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHostExecutor } from "./index.js";
import { capture } from "./executor.case.js";
import { spawnStep } from "./spawner.js";

const hasPerl = (() => {
  try {
    execFileSync("perl", ["-e", "1"]);
    return true;
  } catch {
    return false;
  }
})();

function parentPid(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

describe.runIf(hasPerl)("the Perl spawner", () => {
  let workspace = "";
  beforeEach(() => {
    workspace = mkdtempSync(join(tmpdir(), "slipway-spawner-"));
  });
  afterEach(() => rmSync(workspace, { recursive: true, force: true }));

  it("starts step processes as its children, and Node's spawn when asked", async () => {
    const parent = await capture(createHostExecutor(), { command: "bash", args: ["-c", "cat /proc/$PPID/cmdline | tr '\\0' ' '"], cwd: workspace });
    expect(parent.result.exitCode).toBe(0);
    expect(parent.stdout).toContain("slipway-spawner");
    const viaNode = await capture(createHostExecutor({ spawner: "node" }), { command: "bash", args: ["-c", "cat /proc/$PPID/cmdline | tr '\\0' ' '"], cwd: workspace });
    expect(viaNode.stdout).not.toContain("slipway-spawner");
    expect(viaNode.stdout).toContain("node");
  });

  it("starts each step as the leader of a new session, with stdin from /dev/null", async () => {
    const { stdout } = await capture(createHostExecutor(), {
      command: "bash",
      args: ["-c", "echo $$ $(ps -o sid= -p $$) $(readlink /proc/$$/fd/0)"],
      cwd: workspace,
    });
    const [pid, sid, stdin] = stdout.trim().split(/\s+/);
    expect(sid).toBe(pid);
    expect(stdin).toBe("/dev/null");
  });

  it("gives steps the CPUs Slipway may use, though the spawner keeps to one", async () => {
    const allowed = (status: string) => /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1];
    const { stdout } = await capture(createHostExecutor(), { command: "cat", args: ["/proc/self/status"], cwd: workspace });
    expect(allowed(stdout)).toBe(allowed(readFileSync("/proc/self/status", "utf8")));
  });

  it("keeps the output of concurrent steps apart", async () => {
    const runs = Array.from({ length: 12 }, (_, i) =>
      capture(createHostExecutor(), {
        command: "bash",
        args: ["-c", `for n in $(seq 1 300); do echo "step ${i} line $n"; echo "err ${i} $n" >&2; done; exit ${i % 3}`],
        cwd: workspace,
      }),
    );
    const results = await Promise.all(runs);
    results.forEach(({ result, stdout, stderr }, i) => {
      expect(result.exitCode).toBe(i % 3);
      const lines = stdout.trimEnd().split("\n");
      expect(lines).toHaveLength(300);
      expect(lines.every((line, n) => line === `step ${i} line ${n + 1}`)).toBe(true);
      expect(stderr.trimEnd().split("\n")).toHaveLength(300);
      expect(stderr).not.toContain(`step ${i}`);
    });
  });

  it("passes bytes, arguments and environment names that a shell could not hold", async () => {
    const env = { "INPUT_MY-INPUT": "a=b\nsecond line", EMPTY: "", UNICODE: "ünïcødé ✓", PATH: process.env.PATH ?? "/usr/bin:/bin" };
    const { stdout, result } = await capture(createHostExecutor(), {
      command: "node",
      args: ["-e", "process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), env: process.env }))", "", " spaced ", "new\nline"],
      cwd: workspace,
      env,
    });
    expect(result.exitCode).toBe(0);
    const seen = JSON.parse(stdout) as { argv: string[]; env: Record<string, string> };
    expect(seen.argv).toEqual(["", " spaced ", "new\nline"]);
    expect(seen.env).toEqual(env);
  });

  it("reports a script whose interpreter is missing as 127 with the reason", async () => {
    const script = join(workspace, "script");
    writeFileSync(script, "#!/no/such/interpreter\necho hi\n");
    chmodSync(script, 0o755);
    const { result, stderr } = await capture(createHostExecutor(), { command: "./script", args: [], cwd: workspace });
    expect(result.exitCode).toBe(127);
    expect(stderr).toContain("its interpreter (#! line) was not found");
  });

  it("refuses a NUL byte in an argument or the environment", () => {
    expect(() => spawnStep({ command: "true", args: ["a\0b"], cwd: workspace, env: {} })).toThrow(/NUL byte/);
    expect(() => spawnStep({ command: "true", args: [], cwd: workspace, env: { A: "x\0" } })).toThrow(/environment variable "A" contains a NUL byte/);
  });

  it("ends a running step and falls back to Node's spawn when the spawner dies", async () => {
    const running = capture(createHostExecutor(), { command: "bash", args: ["-c", "sleep 5"], cwd: workspace });
    const pids = execFileSync("pgrep", ["-f", "slipway-spawner"], { encoding: "utf8" }).trim().split("\n").map(Number);
    const mine = pids.filter((pid) => parentPid(pid) === process.pid);
    expect(mine).toHaveLength(1);
    process.kill(mine[0] ?? 0, "SIGKILL");
    const { result, stderr } = await running;
    expect(result.exitCode).toBeNull();
    expect(stderr).toContain("Slipway's process spawner (perl) exited unexpectedly");
    const after = await capture(createHostExecutor(), { command: "bash", args: ["-c", "cat /proc/$PPID/cmdline"], cwd: workspace });
    expect(after.result.exitCode).toBe(0);
    expect(after.stdout).not.toContain("slipway-spawner");
  });
});
