import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { removeTree, SYNC_BUDGET } from "./remove-tree.js";

describe("removeTree", () => {
  let base = "";
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), "slipway-remove-"));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  function tree(root: string, files: number): void {
    mkdirSync(join(root, "a", "b"), { recursive: true });
    mkdirSync(join(root, "empty"));
    for (let i = 0; i < files; i++) writeFileSync(join(root, "a", i % 2 ? "b" : "", `f${i}`), "x");
    symlinkSync("/etc", join(root, "link-to-outside"));
  }

  it("removes a small tree, and a symbolic link without following it", async () => {
    const root = join(base, "small");
    tree(root, 10);
    await removeTree(root);
    expect(existsSync(root)).toBe(false);
    expect(existsSync("/etc/hostname") || existsSync("/etc/passwd")).toBe(true);
  });

  it("removes a tree of a few thousand files", async () => {
    const root = join(base, "large");
    tree(root, 3000);
    await removeTree(root);
    expect(existsSync(root)).toBe(false);
  });

  it("removes a tree whose entries run past the synchronous budget inside a subfolder", async () => {
    const root = join(base, "boundary");
    for (const d of ["a", "a/deep", "b"]) mkdirSync(join(root, d), { recursive: true });
    for (let i = 0; i < SYNC_BUDGET / 2; i++) {
      writeFileSync(join(root, `r${i}`), "x");
      writeFileSync(join(root, "a", `a${i}`), "x");
      writeFileSync(join(root, "a", "deep", `d${i}`), "x");
      writeFileSync(join(root, "b", `b${i}`), "x");
    }
    await removeTree(root);
    expect(existsSync(root)).toBe(false);
  });

  it("lets the event loop run while it deletes a big tree", async () => {
    const root = join(base, "big");
    tree(root, 3000);
    let turns = 0;
    let done = false;
    const tick = () => {
      turns++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    await removeTree(root);
    done = true;
    expect(existsSync(root)).toBe(false);
    // Deleted synchronously, the tree would leave the loop one or two turns.
    expect(turns).toBeGreaterThan(10);
  });

  it("is fine with a folder that does not exist", async () => {
    await expect(removeTree(join(base, "missing"))).resolves.toBeUndefined();
  });
});
