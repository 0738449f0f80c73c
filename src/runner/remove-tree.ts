// Deleting a job's folder when the job ends.
//
// fs.promises.rm walks the tree in JavaScript with an lstat per entry and a
// thread-pool round trip per call: for the small folder of a typical job that
// costs more of Slipway's event loop than the job's own bookkeeping. A small
// tree is removed here synchronously with one readdir per folder (the entry
// types come with it); a tree with more than `budget` entries is left to
// fs.promises.rm, in the background.

import { readdirSync, rmdirSync, unlinkSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";

/** Removes `root` and everything in it; resolves when it is gone. Never rejects. */
export function removeTree(root: string, budget = 256): Promise<void> {
  const left = { entries: budget };
  try {
    if (removeSmall(root, left)) return Promise.resolve();
  } catch {
    // Permissions, a mount point, a race with another remover: let rm sort it out.
  }
  return rm(root, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
}

/** True when `dir` was removed; false when it holds more than the budget allows (it is then left partly removed). */
function removeSmall(dir: string, left: { entries: number }): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw error;
  }
  left.entries -= entries.length;
  if (left.entries < 0) return false;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!removeSmall(path, left)) return false;
    } else {
      unlinkSync(path);
    }
  }
  rmdirSync(dir);
  return true;
}
