// `slipway sbom [DIR] [--output FILE]`: the CycloneDX 1.6 SBOM of a folder's
// lockfiles (package-lock.json, pnpm-lock.yaml, yarn.lock), validated before
// it is printed or written. A folder without a lockfile at its root is read
// as a folder of projects (e.g. `examples/`): the lockfiles of its sub-folders.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { SbomError, generateSbom } from "../supply-chain/index.js";
import { EXIT, UsageError, workDir, type GlobalOptions } from "./common.js";

export interface SbomOptions extends GlobalOptions {
  output?: string;
}

export async function sbomCommand(dir: string | undefined, opts: SbomOptions): Promise<number> {
  const root = resolve(workDir(opts), dir ?? ".");
  let result;
  try {
    result = await generateSbom(root, { nested: true });
  } catch (err) {
    if (err instanceof SbomError) throw new UsageError(err.message);
    throw err;
  }
  const from = result.lockfiles.length > 0 ? result.lockfiles.join(", ") : "no lockfile (add package-lock.json, pnpm-lock.yaml or yarn.lock)";
  if (opts.output !== undefined) {
    const out = resolve(workDir(opts), opts.output);
    try {
      writeFileSync(out, result.text);
    } catch (err) {
      throw new UsageError(`cannot write ${out}: ${(err as Error).message}; choose another --output`);
    }
    process.stderr.write(`wrote ${out}: CycloneDX 1.6, ${result.components} components from ${from} (validated)\n`);
  } else {
    process.stdout.write(result.text);
    process.stderr.write(`CycloneDX 1.6, ${result.components} components from ${from} (validated)\n`);
  }
  return EXIT.ok;
}
