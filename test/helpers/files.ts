// Files of a directory tree, for tests that search what Slipway wrote.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Every regular file under dir, recursively (none when dir does not exist). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
  });
}
