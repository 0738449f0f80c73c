// The remote cache of `slipway server` with the real `turbo` (npm package,
// offline): a build of a generated npm-workspaces monorepo fills the cache,
// and the same build on a fresh clone (no local .turbo cache) is a full cache
// hit, its outputs restored rather than rebuilt. Artifacts are signed
// (TURBO_REMOTE_CACHE_SIGNATURE_KEY): a clone with another key rebuilds, and
// its viewer token cannot overwrite the team's entries. Nx's protocol is
// checked with plain HTTP requests following its OpenAPI description (nx
// itself cannot be installed offline).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { git, makeRepo } from "./helpers/cli.js";
import { api, startServer, type Started } from "./helpers/server.js";
import { runTurbo } from "./helpers/turbo.js";

const dirs: string[] = [];
const temp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

let s: Started;
let dataDir: string;
let developer: string;
let viewer: string;

beforeAll(async () => {
  dataDir = temp("slipway-rc-data-");
  s = await startServer(dataDir);
  const make = async (role: string) => {
    const r = await api(s, "POST", "/api/tokens", s.admin, { name: `${role}-ci`, role });
    expect(r.status, r.text).toBe(201);
    return r.json.token as string;
  };
  developer = await make("developer");
  viewer = await make("viewer");
});

afterAll(() => {
  s?.child.kill("SIGTERM");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Three npm workspaces, web → ui → util; each build writes dist/ and appends its name to $BUILD_COUNTER (outside the repository). */
function monorepo(): string {
  const build = [
    'const fs = require("node:fs");',
    'const { name } = require("./package.json");',
    'fs.mkdirSync("dist", { recursive: true });',
    'fs.writeFileSync("dist/index.js", `module.exports = ${JSON.stringify(name)};\\n`);',
    'fs.appendFileSync(process.env.BUILD_COUNTER, name + "\\n");',
    'console.log("built " + name);',
  ].join("\n");
  const pkg = (name: string, deps: Record<string, string> = {}) => JSON.stringify({ name, version: "1.0.0", private: true, scripts: { build: "node build.js" }, dependencies: deps }, null, 2);
  return makeRepo({
    "package.json": JSON.stringify({ name: "acme", private: true, packageManager: "npm@10.0.0", workspaces: ["packages/*"] }, null, 2),
    "turbo.json": JSON.stringify({ $schema: "https://turborepo.dev/schema.json", remoteCache: { signature: true }, tasks: { build: { dependsOn: ["^build"], outputs: ["dist/**"], passThroughEnv: ["BUILD_COUNTER"] } } }, null, 2),
    ".gitignore": "node_modules\n.turbo\ndist\n",
    "packages/util/package.json": pkg("@acme/util"),
    "packages/util/build.js": build,
    "packages/ui/package.json": pkg("@acme/ui", { "@acme/util": "*" }),
    "packages/ui/build.js": build,
    "packages/web/package.json": pkg("@acme/web", { "@acme/ui": "*" }),
    "packages/web/build.js": build,
  });
}

interface TaskSummary {
  taskId: string;
  cache: { status: string; source?: string; remote: boolean; local: boolean; timeSaved: number };
}

/** `turbo run build --summarize` in `dir`; the tasks of its run summary. */
async function build(dir: string, env: Record<string, string>): Promise<{ output: string; tasks: TaskSummary[] }> {
  const r = await runTurbo(["run", "build", "--summarize"], dir, env);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const runs = join(dir, ".turbo", "runs");
  const latest = readdirSync(runs)
    .map((f) => join(runs, f))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
    .pop();
  const summary = JSON.parse(readFileSync(latest ?? "", "utf8")) as { tasks: TaskSummary[] };
  return { output: r.stdout + r.stderr, tasks: summary.tasks.sort((a, b) => a.taskId.localeCompare(b.taskId)) };
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : []);

describe("turbo against slipway server's remote cache", () => {
  it("the second build, on a fresh clone, is a full cache hit: outputs restored, nothing rebuilt", async () => {
    const repo = monorepo();
    dirs.push(repo);
    const counter = join(temp("slipway-rc-counter-"), "builds");
    const env = (token: string, key = "team-signing-key") => ({ TURBO_API: s.url, TURBO_TOKEN: token, TURBO_TEAM: "acme", TURBO_REMOTE_CACHE_SIGNATURE_KEY: key, BUILD_COUNTER: counter });

    const first = await build(repo, env(developer));
    expect(first.tasks.map((t) => [t.taskId, t.cache.status])).toEqual([
      ["@acme/ui#build", "MISS"],
      ["@acme/util#build", "MISS"],
      ["@acme/web#build", "MISS"],
    ]);
    expect(lines(counter).sort()).toEqual(["@acme/ui", "@acme/util", "@acme/web"]);
    expect(first.output).toContain("Remote caching enabled");

    // A fresh clone: no .turbo, no dist. A viewer token is enough to read.
    const clone = temp("slipway-rc-clone-");
    git(clone, "clone", "-q", repo, ".");
    expect(existsSync(join(clone, "packages/web/dist"))).toBe(false);
    const second = await build(clone, env(viewer));
    expect(second.output).toContain("FULL TURBO");
    expect(second.tasks.map((t) => [t.taskId, t.cache.status, t.cache.source, t.cache.local])).toEqual([
      ["@acme/ui#build", "HIT", "REMOTE", false],
      ["@acme/util#build", "HIT", "REMOTE", false],
      ["@acme/web#build", "HIT", "REMOTE", false],
    ]);
    // The duration turbo sent with each artifact (x-artifact-duration) came back as the time saved.
    for (const t of second.tasks) expect(t.cache.timeSaved, t.taskId).toBeGreaterThan(0);
    // Restored from the cache, not rebuilt: the counter outside the repository did not move.
    expect(lines(counter)).toHaveLength(3);
    expect(readFileSync(join(clone, "packages/web/dist/index.js"), "utf8")).toBe('module.exports = "@acme/web";\n');
    expect(readFileSync(join(clone, "packages/util/dist/index.js"), "utf8")).toBe('module.exports = "@acme/util";\n');

    // Another signing key: turbo rejects the artifacts' x-artifact-tag and builds; its viewer token cannot replace the entries.
    const stranger = temp("slipway-rc-clone-");
    git(stranger, "clone", "-q", repo, ".");
    const third = await build(stranger, env(viewer, "another-key"));
    expect(third.tasks.map((t) => t.cache.status)).toEqual(["MISS", "MISS", "MISS"]);
    expect(lines(counter)).toHaveLength(6);
    expect(s.logs()).toMatch(/"method":"PUT","path":"\/v8\/artifacts\/[0-9a-f]+","route":"\/v8\/artifacts\/\{hash\}","status":403,.*"token":"viewer-ci"/);

    // So the team's entries are intact: one more fresh clone with the team's key hits again.
    const fourth = temp("slipway-rc-clone-");
    git(fourth, "clone", "-q", repo, ".");
    const again = await build(fourth, env(viewer));
    expect(again.tasks.map((t) => t.cache.status)).toEqual(["HIT", "HIT", "HIT"]);
    expect(lines(counter)).toHaveLength(6);

    // Another team shares nothing with acme.
    const otherTeam = temp("slipway-rc-clone-");
    git(otherTeam, "clone", "-q", repo, ".");
    const other = await build(otherTeam, { ...env(developer), TURBO_TEAM: "team_other" });
    expect(other.tasks.map((t) => t.cache.status)).toEqual(["MISS", "MISS", "MISS"]);

    const metrics = await fetch(`${s.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/slipway_http_requests_total\{[^}]*route="\/v8\/artifacts\/\{hash\}"[^}]*\} \d+/);
  });
});

describe("Nx's self-hosted remote cache protocol on slipway server", () => {
  it("follows Nx's OpenAPI description: PUT 202, again 409, GET the bytes or 404, 401 and 403 as text", async () => {
    const hash = "18079413459826455237";
    const url = `${s.url}/v1/cache/${hash}`;
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });
    expect((await fetch(url, { headers: auth(viewer) })).status).toBe(404);
    const tar = Buffer.from("nx task output as a tar archive");
    const put = await fetch(url, { method: "PUT", headers: { ...auth(developer), "content-type": "application/octet-stream" }, body: tar });
    expect(put.status).toBe(202);
    // A download marks the entry used (its file's time), which keeps it from eviction (slipway gc).
    const entry = join(dataDir, "remote-cache", "nx", `${hash}.json`);
    utimesSync(entry, new Date(0), new Date(0));
    const get = await fetch(url, { headers: auth(viewer) });
    expect(get.status).toBe(200);
    expect(Buffer.from(await get.arrayBuffer())).toEqual(tar);
    expect(Date.now() - statSync(entry).mtimeMs).toBeLessThan(60_000);
    const again = await fetch(url, { method: "PUT", headers: auth(developer), body: "other bytes" });
    expect(again.status).toBe(409);
    const readOnly = await fetch(`${s.url}/v1/cache/1`, { method: "PUT", headers: auth(viewer), body: "x" });
    expect([readOnly.status, readOnly.headers.get("content-type")]).toEqual([403, "text/plain; charset=utf-8"]);
    expect(await readOnly.text()).toMatch(/viewer; PUT \/v1\/cache\/1 .* needs developer/);
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).toContain("NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN");
  });
});
