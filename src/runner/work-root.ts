// The folder under the system temp directory that holds a `slipway run`'s
// job workspaces: `slipway-work-<pid>-XXXXXX`, and its twin on tmpfs for the
// small files every step creates and deletes. The run deletes both when it
// ends (an agent when it stops); one that was killed (SIGKILL, power loss)
// cannot, so each run as it ends and each agent as it starts deletes, in the
// background, the folders of processes that no longer exist.

import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTree } from "./remove-tree.js";

const PREFIX = "slipway-work-";

export function createWorkRoot(base = tmpdir()): string {
  return mkdtempSync(join(base, `${PREFIX}${process.pid}-`));
}

/** Linux's tmpfs for every user. */
const STEP_FILES_BASE = "/dev/shm";

/**
 * A folder on tmpfs for each step's script and file-command files (six files
 * created and deleted per step: ~10 µs each on tmpfs, 0.2–0.9 ms on the ext4
 * disk of a 2-vCPU VM), named like a work root so that the same sweep deletes
 * it after a crash. Undefined where no folder can be made in `base` (macOS,
 * a container without /dev/shm): the files then go to the job's temp folder.
 */
export function createStepFilesRoot(base = STEP_FILES_BASE): string | undefined {
  try {
    return createWorkRoot(base);
  } catch {
    return undefined;
  }
}

/**
 * Deletes the work folders (and step-file folders) left by runs and agents
 * whose process is gone, in each of `bases`; resolves with them when they are
 * deleted. Folders of live processes, of other users (not ours to delete) and
 * without a process id in their name are left alone.
 */
export async function removeAbandonedWorkRoots(bases = [tmpdir(), STEP_FILES_BASE], isAlive: (pid: number) => boolean = processAlive): Promise<string[]> {
  const abandoned: string[] = [];
  for (const base of bases) {
    let names: string[];
    try {
      names = readdirSync(base);
    } catch {
      continue;
    }
    for (const name of names) {
      const match = /^slipway-work-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
      if (!match) continue;
      const pid = Number(match[1]);
      if (pid === process.pid || isAlive(pid)) continue;
      abandoned.push(join(base, name));
    }
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
