// The README's main command: examples/hello/journey.sh, run on a copy of the
// example in its own Git repository (so the checkout's example data is left
// alone), through the built CLI. It takes about a minute and uses the
// example's router ports 8081-8083.
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { git, removeDir, runCli } from "./helpers/cli.js";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "slipway.js");

describe("examples/hello/journey.sh", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "slipway-journey-"));
  cpSync(join(ROOT, "examples", "hello"), dir, { recursive: true, filter: (src) => !src.includes(".slipway") });
  git(dir, "init", "-q", "-b", "main");
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "hello example");
  afterAll(async () => {
    await runCli(["down"], { cwd: dir });
    removeDir(dir);
  });

  it("takes a release from CI to prod, and rolls a faulty one back in prod with a revert commit", async () => {
    const out = await new Promise<{ code: number | null; text: string }>((done) => {
      const child = spawn("bash", [join(dir, "journey.sh")], { env: { ...process.env, SLIPWAY: BIN, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      child.stdout.on("data", (c: Buffer) => (text += c.toString()));
      child.stderr.on("data", (c: Buffer) => (text += c.toString()));
      child.on("close", (code) => done({ code, text }));
    });
    const lines = out.text.split("\n").filter((l) => !l.startsWith("["));
    expect(out.code, lines.slice(-60).join("\n")).toBe(0);
    expect(out.text).toMatch(/⬢ released hello#1/);
    expect(out.text).toMatch(/hello#1 is stable in dev/);
    expect(out.text).toMatch(/staging\/hello check load: passed/);
    expect(out.text).toMatch(/approved hello#1 for prod \(slipway up --approve prod\)/);
    expect(out.text).toMatch(/hello#1 is stable in prod/);
    expect(out.text).toMatch(/hello#2 rolled back in prod: analysis failed: error rate (1[5-9]|2\d)\.\d% ≥ 1%/);  // the fault fails about 20% of requests
    expect(out.text).toMatch(/state repository: reverted [0-9a-f]{12}/);
    expect(out.text).toMatch(/prod\s+hello\s+hello#1\s+hello#1\s+canary rolled-back\s+hello#1 100%\s+fail: error rate .*Synced/);
    // Git says what runs: prod's last commit is the rollback to hello#1.
    const log = execFileSync("git", ["--git-dir", join(dir, ".slipway", "state.git"), "log", "-1", "--format=%s", "main"], { encoding: "utf8" });
    expect(log.trim()).toBe("roll back hello in prod to hello#1");
  });
});
