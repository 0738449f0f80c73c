// Deleting a job's folder when the job ends, in the background.
//
// fs.promises.rm walks the tree in JavaScript with an lstat per entry before
// each unlink: for the small folder of a typical job that costs more of
// Slipway's event loop than the job's own bookkeeping. Here one readdir per
// folder gives the entry types, and every system call (rmdir is slow on ext4)
// runs on libuv's thread pool, off the event loop.

import { readdir, rm, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";

/** Removes `root` and everything in it; resolves when it is gone. Never rejects. */
export async function removeTree(root: string): Promise<void> {
  try {
    await removeDir(root);
  } catch {
    // Permissions, a mount point, a race with another remover: let rm sort it out.
    await rm(root, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
  }
}

async function removeDir(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  await Promise.all(entries.map((entry) => (entry.isDirectory() ? removeDir(join(dir, entry.name)) : unlink(join(dir, entry.name)))));
  await rmdir(dir);
}
