// (g) Affected packages in generated npm-workspaces monorepos of 50, 200 and
// 1,000 packages: `slipway affected` vs `turbo ls --affected` vs
// `nx show projects --affected`, the three run one after the other in each
// repetition (rotating which goes first), each under GNU time for its peak
// memory. One commit changes one source file of a package in the middle of
// the graph; the three must agree on the affected set (a disagreement is
// reported in the breakdown, not hidden).
//
// turbo comes from the project's devDependencies; nx is not a dependency of
// Slipway: it is installed once, pinned, into ~/.cache/slipway-bench (npm
// registry), and linked into each generated repository's node_modules.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ROOT, benchEnv, interleaved, makeRepo, median, slipwayEntryPath, spread, timed } from "./lib.mjs";

export const id = "g";
export const title = "affected packages";
const NX_VERSION = "24.0.6";
// turbo's native binary itself, not the npm shim in node_modules/.bin (a Node
// process that starts it): the fastest way to run turbo is the peer.
const TURBO = turboBinary();

/**
 * The native turbo of this platform (npm installs the one optional dependency
 * that fits: @turbo/linux-64, linux-arm64, darwin-64, darwin-arm64,
 * windows-64, windows-arm64), else the shim in node_modules/.bin.
 */
function turboBinary() {
  const os = process.platform === "win32" ? "windows" : process.platform;
  const arch = process.arch === "x64" ? "64" : process.arch;
  const native = join(ROOT, "node_modules", "@turbo", `${os}-${arch}`, "bin", process.platform === "win32" ? "turbo.exe" : "turbo");
  return existsSync(native) ? native : join(ROOT, "node_modules", ".bin", "turbo");
}

/** Package i's name. */
const pkg = (i) => `pkg-${String(i).padStart(4, "0")}`;

/** Files of an npm-workspaces monorepo of n packages; package i depends on i/2 and i/3 (rounded down), a graph as deep as log n. */
function monorepoFiles(n) {
  const files = {};
  const lockPackages = { "": { name: "bench-monorepo", workspaces: ["packages/*"] } };
  for (let i = 0; i < n; i++) {
    const name = pkg(i);
    const deps = {};
    for (const d of new Set([Math.floor(i / 2), Math.floor(i / 3)])) if (d < i) deps[pkg(d)] = "1.0.0";
    const manifest = { name, version: "1.0.0", scripts: { build: "node src/index.js" }, dependencies: deps };
    files[`packages/${name}/package.json`] = `${JSON.stringify(manifest, null, 2)}\n`;
    for (const f of ["index", "util", "model", "view"]) files[`packages/${name}/src/${f}.js`] = `export const ${f} = ${i};\n`;
    files[`packages/${name}/README.md`] = `# ${name}\n`;
    lockPackages[`packages/${name}`] = { name, version: "1.0.0", dependencies: deps };
    lockPackages[`node_modules/${name}`] = { resolved: `packages/${name}`, link: true };
  }
  files["package.json"] = `${JSON.stringify({ name: "bench-monorepo", private: true, packageManager: "npm@10.9.0", workspaces: ["packages/*"] }, null, 2)}\n`;
  files["package-lock.json"] = `${JSON.stringify({ name: "bench-monorepo", lockfileVersion: 3, requires: true, packages: lockPackages }, null, 2)}\n`;
  files["turbo.json"] = `${JSON.stringify({ $schema: "https://turbo.build/schema.json", tasks: { build: {} } }, null, 2)}\n`;
  files["nx.json"] = "{}\n";
  files[".gitignore"] = "node_modules\n.turbo\n.nx\n";
  return files;
}

/** nx, pinned, installed once outside the project; the path of its package folder. */
function nxPackage(log) {
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "slipway-bench", `nx-${NX_VERSION}`);
  const pkgDir = join(dir, "node_modules", "nx");
  if (!existsSync(join(pkgDir, "package.json"))) {
    log(`(g) installing nx@${NX_VERSION} into ${dir} (once)`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "slipway-bench-peers", private: true })}\n`);
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--save-exact", `nx@${NX_VERSION}`], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
  }
  return pkgDir;
}

/** A command under GNU time: wall ms, peak RSS in KB, stdout. */
async function measured(command, args, cwd, env) {
  const r = await timed("/usr/bin/time", ["-f", "%M", command, ...args], { cwd, env });
  const kb = Number(r.stderr.trim().split("\n").at(-1));
  return { ms: r.ms, kb, stdout: r.stdout };
}

const names = {
  slipway: (out) => JSON.parse(out).packages.map((p) => p.name),
  turbo: (out) => JSON.parse(out).packages.items.map((p) => p.name),
  nx: (out) => out.split("\n").map((l) => l.trim()).filter(Boolean),
};

export async function run({ tmp, sizes, reps, log }) {
  if (!existsSync("/usr/bin/time")) throw new Error("(g) needs GNU time for peak memory: apt-get install time");
  if (!existsSync(TURBO)) throw new Error(`(g) ${TURBO} is missing: run \`npm ci\` (turbo is a devDependency)`);
  const nx = nxPackage(log);
  const results = [];
  for (const n of sizes) {
    const dir = makeRepo(join(tmp, `g-${n}`), monorepoFiles(n));
    const changed = `packages/${pkg(Math.floor(n / 5))}/src/util.js`;
    writeFileSync(join(dir, changed), `${readFileSync(join(dir, changed), "utf8")}export const changed = true;\n`);
    execFileSync("git", ["commit", "-q", "-am", "change one package"], { cwd: dir, env: benchEnv({ HOME: dir }) });
    mkdirSync(join(dir, "node_modules"), { recursive: true });
    symlinkSync(nx, join(dir, "node_modules", "nx"), "dir");
    const env = benchEnv({
      HOME: dir,
      TURBO_TELEMETRY_DISABLED: "1",
      DO_NOT_TRACK: "1",
      TURBO_SCM_BASE: "HEAD~1",
      TURBO_SCM_HEAD: "HEAD",
      NX_DAEMON: "false",
      NX_NO_CLOUD: "true",
      NX_TUI: "false",
      NX_SKIP_NX_CACHE: "true",
    });
    const contenders = {
      slipway: () => measured(process.execPath, [slipwayEntryPath(), "affected", "--base", "HEAD~1", "--head", "HEAD", "--json"], dir, env),
      turbo: () => measured(TURBO, ["ls", "--affected", "--output=json", "--skip-infer"], dir, env),
      nx: () => measured(process.execPath, [join(dir, "node_modules", "nx", "dist", "bin", "nx.js"), "show", "projects", "--affected", "--base=HEAD~1", "--head=HEAD"], dir, env),
      // The floor of any Node.js program: Node starting and exiting, doing nothing.
      node: () => measured(process.execPath, ["-e", "0"], dir, env),
    };
    const keys = Object.keys(contenders);
    // One untimed round: caches of the file system, nx's project graph cache is disabled above.
    const sets = {};
    for (const k of keys) if (names[k]) sets[k] = names[k]((await contenders[k]()).stdout).sort();
    const runs = await interleaved(reps, keys.map((k) => contenders[k]), (i, ...r) => log(`(g) ${n} packages ${i + 1}/${reps}: ${keys.map((k, j) => `${k} ${r[j].ms.toFixed(0)} ms`).join(", ")}`));
    const by = Object.fromEntries(keys.map((k, j) => [k, runs[j]]));
    const ms = (k) => by[k].map((r) => r.ms);
    const peakMb = (k) => `${(median(by[k].map((r) => r.kb)) / 1024).toFixed(0)} MB`;
    const agree = (k) => (sets[k].join() === sets.slipway.join() ? "same set" : `differs: ${sets[k].length} vs slipway's ${sets.slipway.length}`);
    const slipway = median(ms("slipway"));
    for (const peer of ["turbo", "nx"]) {
      const ratio = slipway / median(ms(peer));
      results.push({
        id: `${id}-${n}-${peer}`,
        title: `affected vs ${peer}`,
        size: `${n} packages, ${sets.slipway.length} affected`,
        slipway: { label: `slipway affected --json (${n} packages)`, ...spread(ms("slipway")) },
        peer: { label: peer === "turbo" ? "turbo ls --affected --output=json" : "nx show projects --affected (no daemon)", ...spread(ms(peer)) },
        ratio,
        metric: { label: "time ratio", value: ratio, unit: "×", goal: 1, goalText: "< 1× (faster)", met: ratio < 1 },
        breakdown: {
          "peak memory, slipway": peakMb("slipway"),
          [`peak memory, ${peer}`]: peakMb(peer),
          [`${peer}'s affected set`]: agree(peer),
          "floor: Node.js starting and exiting (node -e 0, same wrapper)": median(ms("node")),
        },
      });
    }
  }
  return results;
}
