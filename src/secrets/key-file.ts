// Key files written atomically and durably: the master key (crypto.ts), the
// OIDC signing keys (oidc-keys.ts) and the release signing keys
// (supply-chain/keys.ts). The bytes go to a temporary file
// beside the target (created with the given mode, never through an existing
// file), are fsynced, then moved into place — renamed over the old file, or
// with `exclusive` linked, which never replaces an existing one — and the
// directory is synced, so a crash leaves the old file or the new one, whole.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export interface WriteFileAtomicOptions {
  /** The new file's mode (default 0600). */
  mode?: number;
  /** Keep an existing file: link(2) fails on an existing name, atomically. */
  exclusive?: boolean;
}

/**
 * Writes `data` to `file` (whose directory must exist) atomically; false when
 * `exclusive` found the file there already (it is kept as it is).
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, options: WriteFileAtomicOptions = {}): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const fd = fs.openSync(tmp, "wx", options.mode ?? 0o600);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    let written = true;
    if (options.exclusive) {
      try {
        fs.linkSync(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        written = false;
      }
    } else {
      fs.renameSync(tmp, file);
    }
    syncDirectory(path.dirname(file));
    return written;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Makes the new directory entry durable (best effort where unsupported). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Some platforms cannot open or fsync a directory.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
