// The folder under the system temp directory that holds a `slipway run`'s
// job workspaces: `slipway-work-<pid>-XXXXXX`. The run deletes it when it
// ends; a run that was killed (SIGKILL, power loss) cannot, so each new run
// deletes, in the background, the folders of processes that no longer exist.

import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTree } from "./remove-tree.js";

const PREFIX = "slipway-work-";

export function createWorkRoot(base = tmpdir()): string {
  return mkdtempSync(join(base, `${PREFIX}${process.pid}-`));
}

/**
 * Deletes the work folders left by runs whose process is gone; resolves when
 * they are deleted. Folders of live processes, of other users (not ours to
 * delete) and without a process id in their name are left alone.
 */
export async function removeAbandonedWorkRoots(base = tmpdir(), isAlive: (pid: number) => boolean = processAlive): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  const abandoned: string[] = [];
  for (const name of names) {
    const match = /^slipway-work-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    abandoned.push(join(base, name));
  }
  await Promise.all(abandoned.map((dir) => removeTree(dir)));
  return abandoned;
}

/** Whether a process of this host exists (EPERM: it does, another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, another user's.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
