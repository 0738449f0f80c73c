// The state repository against real git: bare repositories in temp
// directories, hand-made commits from real clones, a local bare "remote".
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStateRepository, serializeDesiredState, StateRepositoryError, type DesiredState } from "./index.js";
import { updateMain } from "./state-repository.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "slipway-gitops-"));
  dirs.push(d);
  return d;
}

/** git as a person at a terminal would run it (not through Slipway). */
function sh(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, GIT_AUTHOR_NAME: "Dana", GIT_AUTHOR_EMAIL: "dana@example.com", GIT_COMMITTER_NAME: "Dana", GIT_COMMITTER_EMAIL: "dana@example.com" },
  }).trim();
}

function digest(n: number): string {
  return `sha256:${n.toString(16).padStart(64, "0")}`;
}

function state(service: string, number: number, strategy: DesiredState["strategy"] = "canary"): DesiredState {
  return { release: `${service}#${number}`, digest: digest(number), configHash: digest(1000 + number), strategy };
}

/** A working clone of a bare repository, for commits made by hand. */
function handClone(bare: string): string {
  const dir = join(tempDir(), "clone");
  sh(tempDir(), "clone", "-q", bare, dir);
  return dir;
}

function handCommit(clone: string, files: Record<string, string>, message: string): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(clone, path)), { recursive: true });
    writeFileSync(join(clone, path), text);
  }
  sh(clone, "add", "-A");
  sh(clone, "commit", "-q", "-m", message);
  sh(clone, "push", "-q", "origin", "HEAD:main");
  return sh(clone, "rev-parse", "HEAD");
}

async function errorOf(p: Promise<unknown>): Promise<StateRepositoryError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StateRepositoryError);
  return e as StateRepositoryError;
}

describe("state repository", () => {
  it("creates <dataDir>/state.git, commits desired state as the actor and reads it back", async () => {
    const dataDir = tempDir();
    const repo = await openStateRepository({ dataDir });
    expect(repo.gitDir).toBe(join(dataDir, "state.git"));
    expect(sh(repo.gitDir, "rev-parse", "--is-bare-repository")).toBe("true");
    expect(sh(repo.gitDir, "symbolic-ref", "HEAD")).toBe("refs/heads/main");
    expect((await repo.readDesired()).states).toEqual([]);

    const first = await repo.commitDesired({
      env: "staging",
      service: "web",
      state: state("web", 3),
      action: "promote",
      actor: "alice",
      reason: "canary analysis passed",
      run: 12,
      approvals: ["bob", "carol"],
    });
    expect(first.created).toBe(true);
    expect(sh(repo.gitDir, "rev-parse", "main")).toBe(first.commit);
    expect(sh(repo.gitDir, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "main")).toBe("alice <alice@slipway.local>|alice <alice@slipway.local>");
    expect(sh(repo.gitDir, "log", "-1", "--format=%B", "main")).toBe(
      [
        "promote web#3 to staging",
        "",
        "canary analysis passed",
        "",
        "Slipway-Action: promote",
        "Slipway-Run: 12",
        "Approved-By: bob",
        "Approved-By: carol",
        "Slipway-Release: web#3",
        `Slipway-Digest: ${digest(3)}`,
      ].join("\n"),
    );
    // git itself reads the trailers.
    expect(sh(repo.gitDir, "log", "-1", "--format=%(trailers:key=Approved-By,valueonly,separator=%x2C)", "main")).toBe("bob,carol");
    expect(sh(repo.gitDir, "show", "main:environments/staging/web.yaml")).toBe(serializeDesiredState("staging", "web", state("web", 3)).trim());

    await repo.commitDesired({ env: "prod", service: "web", state: state("web", 2, "rolling"), action: "promote", actor: { name: "Eve Ops", email: "eve@example.com" }, reason: "first deploy" });
    expect(sh(repo.gitDir, "log", "-1", "--format=%an <%ae>", "main")).toBe("Eve Ops <eve@example.com>");

    const all = await repo.readDesired();
    expect(all.diagnostics).toEqual([]);
    expect(all.commit).toBe(sh(repo.gitDir, "rev-parse", "main"));
    expect(all.states).toEqual([
      { env: "prod", service: "web", file: "environments/prod/web.yaml", state: state("web", 2, "rolling") },
      { env: "staging", service: "web", file: "environments/staging/web.yaml", state: state("web", 3) },
    ]);
    expect((await repo.readDesired("staging")).states.map((s) => s.state.release)).toEqual(["web#3"]);

    // The same state again makes no commit.
    const again = await repo.commitDesired({ env: "prod", service: "web", state: state("web", 2, "rolling"), action: "promote", actor: "alice", reason: "again" });
    expect(again).toEqual({ commit: all.commit, created: false });
    expect(sh(repo.gitDir, "rev-list", "--count", "main")).toBe("2");
  });

  it("history lists promotions and rollbacks newest first, with run, approvals and reason", async () => {
    const repo = await openStateRepository({ dataDir: tempDir() });
    await repo.commitDesired({ env: "staging", service: "web", state: state("web", 1), action: "promote", actor: "alice", reason: "first", run: 3 });
    await repo.commitDesired({ env: "prod", service: "api", state: state("api", 1), action: "promote", actor: "bob", reason: "api ok", approvals: ["carol"] });
    await repo.commitDesired({ env: "staging", service: "web", state: state("web", 2), action: "promote", actor: "alice", reason: "second", run: 4 });
    await repo.commitDesired({ env: "staging", service: "web", state: state("web", 1), action: "rollback", actor: "slipway", reason: "error rate 4% > 1%", run: 4 });

    const history = await repo.history();
    expect(history.map((h) => [h.action, h.env, h.service, h.release, h.author, h.reason, h.run])).toEqual([
      ["rollback", "staging", "web", "web#1", "slipway", "error rate 4% > 1%", 4],
      ["promote", "staging", "web", "web#2", "alice", "second", 4],
      ["promote", "prod", "api", "api#1", "bob", "api ok", null],
      ["promote", "staging", "web", "web#1", "alice", "first", 3],
    ]);
    expect(history[2]?.approvals).toEqual(["carol"]);
    expect(history[1]?.digest).toBe(digest(2));
    expect(sh(repo.gitDir, "log", "-1", "--format=%s", "main")).toBe("roll back web in staging to web#1");
    expect(new Date(history[0]?.date ?? "").getTime()).not.toBeNaN();
    expect((await repo.history("prod")).map((h) => h.service)).toEqual(["api"]);
    expect(await repo.history("dev")).toEqual([]);
  });

  it("two writers from the same parent: the loser re-reads main and both commits survive, in order", async () => {
    const dataDir = tempDir();
    const a = await openStateRepository({ dataDir });
    const b = await openStateRepository({ dataDir });
    const base = await a.commitDesired({ env: "dev", service: "web", state: state("web", 1), action: "promote", actor: "alice", reason: "base" });

    // Writer A builds its commit on `base`; before it swaps main, writer B commits on the same parent.
    const parents: Array<string | undefined> = [];
    let loserCommit = "";
    const result = await updateMain(a.gitDir, async (parent) => {
      parents.push(parent);
      if (parents.length === 1) await b.commitDesired({ env: "dev", service: "api", state: state("api", 1), action: "promote", actor: "bob", reason: "b wins" });
      const tree = sh(a.gitDir, "rev-parse", `${parent ?? ""}^{tree}`);
      loserCommit = sh(a.gitDir, "commit-tree", tree, "-p", parent ?? "", "-m", `a on ${parent ?? ""}`);
      return loserCommit;
    });
    const bCommit = sh(a.gitDir, "rev-parse", "main~1");
    expect(parents).toEqual([base.commit, bCommit]);
    expect(result).toEqual({ commit: loserCommit, created: true });
    expect(sh(a.gitDir, "log", "--format=%s", "main")).toBe([`a on ${bCommit}`, "promote api#1 to dev", "promote web#1 to dev"].join("\n"));

    // Many writers at once: every commit lands, the history stays linear.
    await Promise.all(
      ["one", "two", "three", "four"].map(async (service, i) => {
        const repo = await openStateRepository({ dataDir });
        return repo.commitDesired({ env: "dev", service, state: state(service, i + 1), action: "promote", actor: service, reason: `writer ${service}` });
      }),
    );
    const desired = await a.readDesired("dev");
    expect(desired.states.map((s) => s.service).sort()).toEqual(["api", "four", "one", "three", "two", "web"]);
    expect(sh(a.gitDir, "rev-list", "--count", "--merges", "main")).toBe("0");
    expect(sh(a.gitDir, "rev-list", "--count", "main")).toBe("7");
  });

  it("revert restores what the commit changed (and removes a file it added); a later change is a conflict", async () => {
    const repo = await openStateRepository({ dataDir: tempDir() });
    await repo.commitDesired({ env: "prod", service: "web", state: state("web", 1), action: "promote", actor: "alice", reason: "one" });
    const addApi = await repo.commitDesired({ env: "prod", service: "api", state: state("api", 1), action: "promote", actor: "alice", reason: "api" });
    const two = await repo.commitDesired({ env: "prod", service: "web", state: state("web", 2), action: "promote", actor: "alice", reason: "two", run: 8 });

    const reverted = await repo.revertCommit(two.commit, "slipway", "p99 620ms > 500ms", { run: 8 });
    expect(reverted.created).toBe(true);
    expect(sh(repo.gitDir, "show", "main:environments/prod/web.yaml")).toBe(serializeDesiredState("prod", "web", state("web", 1)).trim());
    const message = sh(repo.gitDir, "log", "-1", "--format=%B", "main");
    expect(message).toBe(
      ["roll back web in prod to web#1", "", "p99 620ms > 500ms", "", "Slipway-Action: rollback", "Slipway-Run: 8", `Slipway-Reverts: ${two.commit}`, "Slipway-Release: web#1", `Slipway-Digest: ${digest(1)}`].join(
        "\n",
      ),
    );
    const [latest] = await repo.history("prod");
    expect(latest).toMatchObject({ commit: reverted.commit, action: "rollback", service: "web", release: "web#1", author: "slipway", reason: "p99 620ms > 500ms", run: 8 });

    // The commit that added api's file: reverting it removes the file.
    const removed = await repo.revertCommit(addApi.commit.slice(0, 10), "alice", "api was never meant for prod");
    expect(sh(repo.gitDir, "log", "-1", "--format=%s", "main")).toBe("roll back api in prod: remove its desired state");
    expect(sh(repo.gitDir, "ls-tree", "-r", "--name-only", removed.commit)).toBe("environments/prod/web.yaml");
    expect((await repo.readDesired()).states.map((s) => s.state.release)).toEqual(["web#1"]);
    expect((await repo.history("prod"))[0]).toMatchObject({ action: "rollback", service: "api", release: null });

    // Reverting `two` again: web's file no longer holds what `two` wrote.
    const conflict = await errorOf(repo.revertCommit(two.commit, "alice", "again"));
    expect(conflict.code).toBe("conflict");
    expect(conflict.message).toContain("environments/prod/web.yaml changed again after");
    const unknown = await errorOf(repo.revertCommit("deadbeef", "alice", "no such"));
    expect(unknown.code).toBe("unknown-commit");
    expect(unknown.message).toContain("slipway history");
    expect(sh(repo.gitDir, "rev-parse", "main")).toBe(removed.commit);
  });

  it("honours a commit made by hand in a clone and pushed: readDesired reads it, history shows it as manual", async () => {
    const repo = await openStateRepository({ dataDir: tempDir() });
    await repo.commitDesired({ env: "prod", service: "web", state: state("web", 1), action: "promote", actor: "alice", reason: "one" });
    const clone = handClone(repo.gitDir);
    const commit = handCommit(clone, { "environments/prod/web.yaml": serializeDesiredState("prod", "web", state("web", 5)) }, "hotfix: pin web#5\n\nweb#1 leaks memory");

    expect((await repo.readDesired("prod")).states).toEqual([{ env: "prod", service: "web", file: "environments/prod/web.yaml", state: state("web", 5) }]);
    const [entry] = await repo.history();
    expect(entry).toEqual({
      commit,
      author: "Dana",
      date: sh(clone, "log", "-1", "--format=%aI"),
      action: "manual",
      env: "prod",
      service: "web",
      release: "web#5",
      digest: digest(5),
      reason: "hotfix: pin web#5\n\nweb#1 leaks memory",
      run: null,
      approvals: [],
    });
    // A hand-made promotion is reverted like any other.
    await repo.revertCommit(commit, "alice", "back to web#1");
    expect((await repo.readDesired("prod")).states[0]?.state.release).toBe("web#1");
  });

  it("a malformed file pushed by hand gives diagnostics with file and line; the other files are still read", async () => {
    const repo = await openStateRepository({ dataDir: tempDir() });
    await repo.commitDesired({ env: "prod", service: "web", state: state("web", 1), action: "promote", actor: "alice", reason: "one" });
    const clone = handClone(repo.gitDir);
    handCommit(
      clone,
      {
        "environments/prod/api.yaml": `release: api#2\ndigest: sha256: ${digest(2).slice(7)}\nstrategy: canary\n`,
        "environments/prod/db.yaml": `release: web#2\ndigest: ${digest(2)}\nconfig_hash: ${digest(3)}\nstrategy: big-bang\n`,
        "environments/Prod/web.yaml": "release: web#1\n",
      },
      "edit by hand",
    );
    const read = await repo.readDesired();
    expect(read.states.map((s) => s.file)).toEqual(["environments/prod/web.yaml"]);
    const where = read.diagnostics.map((d) => `${d.file}:${d.line} ${d.severity} ${d.code}`);
    expect(where).toContain("environments/prod/api.yaml:2 error state-yaml");
    expect(where).toContain("environments/prod/db.yaml:1 error state-value");
    expect(where).toContain("environments/prod/db.yaml:4 error state-value");
    expect(where).toContain("environments/Prod/web.yaml:0 warning state-path");
    expect(read.diagnostics.find((d) => d.file === "environments/prod/api.yaml")).toMatchObject({ line: 2, column: 9, message: expect.stringContaining("YAML syntax error") as unknown });
    const db = read.diagnostics.find((d) => d.file === "environments/prod/db.yaml" && d.line === 1);
    expect(db?.message).toBe("release 'web#2' is not a release of 'db'");
    expect(db?.fix).toContain("db#NUMBER");
    // History still reads the commit; the malformed files have no release.
    const history = await repo.history("prod");
    expect(history.filter((h) => h.action === "manual").map((h) => [h.service, h.release])).toEqual([
      ["api", null],
      ["db", null],
    ]);
  });

  it("refuses bad input with the field and the fix, and commits nothing", async () => {
    const repo = await openStateRepository({ dataDir: tempDir() });
    const ok = { env: "prod", service: "web", state: state("web", 1), action: "promote" as const, actor: "alice", reason: "why" };
    const cases: Array<[Promise<unknown>, RegExp]> = [
      [repo.commitDesired({ ...ok, env: "Prod!" }), /invalid environment name 'Prod!' \(env\): use lower-case letters/],
      [repo.commitDesired({ ...ok, service: "../web" }), /invalid service name '\.\.\/web' \(service\)/],
      [repo.commitDesired({ ...ok, state: { ...state("web", 1), release: "api#1" } }), /release 'api#1' \(state.release\) is not a release of 'web': write web#NUMBER/],
      [repo.commitDesired({ ...ok, state: { ...state("web", 1), digest: "md5:x" } }), /invalid digest 'md5:x' \(state.digest\): write sha256:/],
      [repo.commitDesired({ ...ok, reason: "  " }), /the reason is empty \(reason\)/],
      [repo.commitDesired({ ...ok, actor: "" }), /invalid actor name '' \(actor\)/],
      [repo.commitDesired({ ...ok, run: 0 }), /invalid run '0' \(run\)/],
      [repo.readDesired("PROD"), /invalid environment name 'PROD' \(env\)/],
      [repo.history("a b"), /invalid environment name 'a b' \(env\)/],
      [repo.revertCommit("main; rm -rf /", "alice", "x"), /is not a commit id/],
    ];
    for (const [p, message] of cases) expect((await errorOf(p)).message).toMatch(message);
    expect(sh(repo.gitDir, "rev-list", "--all", "--count")).toBe("0");
  });
});

describe("state repository with a remote", () => {
  it("keeps a bare mirror in the data directory, fetches before reading and pushes after committing", async () => {
    const remote = join(tempDir(), "state.git");
    sh(tempDir(), "init", "-q", "--bare", "--initial-branch=main", remote);
    const dataDir = tempDir();
    const repo = await openStateRepository({ dataDir, url: remote });
    expect(repo.gitDir.startsWith(join(dataDir, "state-remotes"))).toBe(true);
    expect(existsSync(join(dataDir, "state.git"))).toBe(false);
    expect((await repo.readDesired()).states).toEqual([]); // an empty remote

    const first = await repo.commitDesired({ env: "prod", service: "web", state: state("web", 1), action: "promote", actor: "alice", reason: "one" });
    expect(sh(remote, "rev-parse", "main")).toBe(first.commit);

    // Someone pushes to the remote directly; the next read sees it.
    const clone = handClone(remote);
    handCommit(clone, { "environments/prod/web.yaml": serializeDesiredState("prod", "web", state("web", 2)) }, "by hand");
    expect((await repo.readDesired("prod")).states[0]?.state.release).toBe("web#2");
    expect((await repo.history())[0]).toMatchObject({ action: "manual", release: "web#2", author: "Dana" });

    // A second Slipway (another data directory) on the same remote.
    const other = await openStateRepository({ dataDir: tempDir(), url: remote });
    await other.commitDesired({ env: "prod", service: "api", state: state("api", 1), action: "promote", actor: "bob", reason: "api" });
    const third = await repo.commitDesired({ env: "prod", service: "web", state: state("web", 3), action: "promote", actor: "alice", reason: "three" });
    expect(sh(remote, "log", "--format=%s", "main")).toBe(["promote web#3 to prod", "promote api#1 to prod", "by hand", "promote web#1 to prod"].join("\n"));
    expect(sh(remote, "rev-parse", "main")).toBe(third.commit);
  });

  it("a push rejected because the remote moved is fetched, rebuilt on the new main and pushed again", async () => {
    const remote = join(tempDir(), "state.git");
    sh(tempDir(), "init", "-q", "--bare", "--initial-branch=main", remote);
    const repo = await openStateRepository({ dataDir: tempDir(), url: remote });
    await repo.commitDesired({ env: "prod", service: "web", state: state("web", 1), action: "promote", actor: "alice", reason: "one" });
    const clone = handClone(remote);

    // When the mirror's main moves to our new commit (before the push), someone else pushes first, once.
    const flag = join(tempDir(), "fired");
    const hook = join(repo.gitDir, "hooks", "reference-transaction");
    mkdirSync(dirname(hook), { recursive: true });
    writeFileSync(
      hook,
      [
        "#!/bin/sh",
        '[ "$1" = committed ] || exit 0',
        "grep -q ' refs/heads/main$' || exit 0",
        `[ -e '${flag}' ] && exit 0`,
        `touch '${flag}'`,
        "unset GIT_DIR GIT_INDEX_FILE GIT_WORK_TREE",
        `cd '${clone}' || exit 1`,
        "mkdir -p environments/prod && echo 'release: api#9' > environments/prod/api.yaml",
        "git add -A && git -c user.name=Dana -c user.email=dana@example.com commit -q -m 'concurrent hand edit' && git push -q origin HEAD:main",
        "",
      ].join("\n"),
    );
    chmodSync(hook, 0o755);

    const result = await repo.commitDesired({ env: "prod", service: "web", state: state("web", 2), action: "promote", actor: "alice", reason: "two" });
    expect(existsSync(flag)).toBe(true);
    expect(sh(remote, "log", "--format=%s", "main")).toBe(["promote web#2 to prod", "concurrent hand edit", "promote web#1 to prod"].join("\n"));
    expect(sh(remote, "rev-parse", "main")).toBe(result.commit);
    expect(sh(remote, "show", "main:environments/prod/api.yaml")).toBe("release: api#9");
  });
});
