// Small JSON index files beside the blobs: the built-in actions' cache entries
// and artifact manifests, the remote cache's entries.
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Whether an error is ENOENT (no such file). */
export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

/**
 * Writes JSON to a temp file in the same directory, then moves it into place.
 * With `exclusive`, an existing file is kept and false is returned (link(2)
 * fails on an existing name, atomically); otherwise the file is replaced.
 */
export async function writeJsonAtomic(
  path: string,
  value: unknown,
  options: { exclusive?: boolean; durable?: boolean } = {},
): Promise<boolean> {
  const dir = dirname(path);
  await fsp.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
  const handle = await fsp.open(tmp, "wx", 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    if (options.durable) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (!options.exclusive) {
      await fsp.rename(tmp, path);
      return true;
    }
    try {
      await fsp.link(tmp, path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}
