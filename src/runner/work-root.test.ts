import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createStepFilesRoot, createWorkRoot, removeAbandonedWorkRoots } from "./work-root.js";

describe("work roots", () => {
  let base = "";
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), "slipway-base-"));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it("names the work root after this process", () => {
    const root = createWorkRoot(base);
    expect(basename(root)).toMatch(new RegExp(`^slipway-work-${process.pid}-[A-Za-z0-9]{6}$`));
  });

  it("deletes the work roots of processes that are gone, and only those", async () => {
    // A process id that existed and is gone now.
    const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
    const dead = join(base, `slipway-work-${gone}-abc123`);
    mkdirSync(join(dead, "1", "2", "workspace"), { recursive: true });
    writeFileSync(join(dead, "1", "2", "workspace", "file"), "x");
    const live = join(base, `slipway-work-${process.ppid}-def456`);
    mkdirSync(live);
    const mine = createWorkRoot(base);
    const unnamed = join(base, "slipway-work-Zx81kQ");
    mkdirSync(unnamed);
    const removed = await removeAbandonedWorkRoots([base], (pid) => pid !== Number(gone));
    expect(removed).toEqual([dead]);
    expect(existsSync(dead)).toBe(false);
    for (const kept of [live, mine, unnamed]) expect(existsSync(kept)).toBe(true);
  });

  it("uses the process table when no check is given", async () => {
    const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
    const dead = join(base, `slipway-work-${gone}-ghi789`);
    mkdirSync(dead);
    const live = join(base, `slipway-work-${process.ppid}-jkl012`);
    mkdirSync(live);
    await removeAbandonedWorkRoots([base]);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it("makes the step-files folder, named like a work root, where the base is a writable folder, and none elsewhere", () => {
    const root = createStepFilesRoot(base);
    expect(root).toBeDefined();
    expect(existsSync(root!)).toBe(true);
    expect(basename(root!)).toMatch(new RegExp(`^slipway-work-${process.pid}-[A-Za-z0-9]{6}$`));
    expect(createStepFilesRoot(join(base, "missing"))).toBeUndefined();
    writeFileSync(join(base, "a-file"), "");
    expect(createStepFilesRoot(join(base, "a-file"))).toBeUndefined();
  });
});
