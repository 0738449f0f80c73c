import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ActionError } from "./builtin-action.js";
import { testStep, type TestStep } from "./test-step.js";
import {
  deleteArtifact,
  downloadArtifactAction,
  findFilesToUpload,
  listArtifacts,
  readArtifact,
  uploadArtifactAction,
} from "./artifacts.js";
import { leastCommonAncestor } from "./paths.js";

let root: string;
let dataDir: string;
let home: string;
let jobs = 0;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "slipway-artifacts-"));
  dataDir = join(root, "data");
  home = join(root, "home");
  mkdirSync(home);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

type Step = TestStep;

/** One step of a job of run `runId`, with its own workspace (each job has one). */
function step(inputs: Record<string, string>, options: { runId?: number; workspace?: string } = {}): Step {
  const job = ++jobs;
  const workspace = options.workspace ?? join(root, `job-${job}`);
  return testStep(inputs, { workspace, dataDir, home, runId: options.runId ?? 1, jobKey: `job${job}` });
}

function write(file: string, content: string, mode?: number): void {
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, content);
  if (mode !== undefined) chmodSync(file, mode);
}

/** Relative paths of the files under a directory, sorted. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? d.path, d.name).slice(dir.length + 1))
    .sort();
}

async function upload(inputs: Record<string, string>, fill: (ws: string) => void, runId = 1): Promise<Step> {
  const s = step(inputs, { runId });
  fill(s.workspace);
  await uploadArtifactAction.main(s.ctx);
  return s;
}

const buildOutput = (ws: string) => {
  write(join(ws, "dist", "app.js"), "console.log('app')");
  write(join(ws, "dist", "lib", "util.js"), "export {}");
  write(join(ws, "dist", "bin", "run"), "#!/bin/sh\n", 0o755);
};

describe("actions/upload-artifact and actions/download-artifact", () => {
  it("uploads in one job and downloads in another job of the same run", async () => {
    const up = await upload({ name: "build", path: "dist" }, buildOutput);
    expect(up.outputs["artifact-id"]).toMatch(/^\d+$/);
    expect(up.outputs["artifact-digest"]).toMatch(/^[0-9a-f]{64}$/);
    const manifestFile = fileURLToPath(up.outputs["artifact-url"]!);
    expect(manifestFile).toBe(join(dataDir, "artifacts", "1", "build.json"));
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
    expect(manifest).toMatchObject({ name: "build", runId: 1, id: Number(up.outputs["artifact-id"]) });
    expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(["app.js", "bin/run", "lib/util.js"]);
    expect(Date.parse(manifest.expiresAt) - Date.parse(manifest.createdAt)).toBe(90 * 24 * 3600_000);

    const down = step({ name: "build", path: "out" });
    await downloadArtifactAction.main(down.ctx);
    const out = join(down.workspace, "out");
    expect(down.outputs["download-path"]).toBe(out);
    expect(tree(out)).toEqual(["app.js", "bin/run", "lib/util.js"]);
    expect(readFileSync(join(out, "lib", "util.js"), "utf8")).toBe("export {}");
    expect(statSync(join(out, "bin", "run")).mode & 0o777).toBe(0o755);
    expect(statSync(join(out, "app.js")).mode & 0o777).toBe(0o644);

    // Downloading again replaces the files.
    await downloadArtifactAction.main(step({ name: "build", path: "out" }, { workspace: down.workspace }).ctx);
    expect(readFileSync(join(out, "app.js"), "utf8")).toBe("console.log('app')");
  });

  it("downloads into the workspace by default", async () => {
    await upload({ name: "build", path: "dist" }, buildOutput);
    const down = step({ name: "build" });
    await downloadArtifactAction.main(down.ctx);
    expect(down.outputs["download-path"]).toBe(down.workspace);
    expect(tree(down.workspace)).toEqual(["app.js", "bin/run", "lib/util.js"]);
  });

  it("selects files with globs and ! exclusions", async () => {
    const fill = (ws: string) => {
      buildOutput(ws);
      write(join(ws, "dist", "app.test.js"), "test");
      write(join(ws, "dist", "lib", "util.test.js"), "test");
      write(join(ws, "dist", "readme.md"), "doc");
    };
    await upload({ name: "js", path: "dist/**/*.js\n!dist/**/*.test.js" }, fill);
    const manifest = await readArtifact(dataDir, 1, "js");
    expect(manifest?.files.map((f) => f.path)).toEqual(["app.js", "lib/util.js"]);
  });

  it("roots the artifact at the least common ancestor of the search paths", async () => {
    const fill = (ws: string) => {
      write(join(ws, "a", "b", "c", "one.txt"), "1");
      write(join(ws, "a", "d", "two.txt"), "2");
      write(join(ws, "a", "b", "other.txt"), "not selected");
    };
    await upload({ name: "lca", path: "a/b/c/one.txt\na/d/" }, fill);
    expect((await readArtifact(dataDir, 1, "lca"))?.files.map((f) => f.path)).toEqual(["b/c/one.txt", "d/two.txt"]);

    // A single file is stored without its directories; a directory is the root of its files.
    await upload({ name: "single", path: "a/b/c/one.txt" }, fill);
    expect((await readArtifact(dataDir, 1, "single"))?.files.map((f) => f.path)).toEqual(["one.txt"]);
    await upload({ name: "dir", path: "a/b" }, fill);
    expect((await readArtifact(dataDir, 1, "dir"))?.files.map((f) => f.path)).toEqual(["c/one.txt", "other.txt"]);
    // A wildcard's search path is its literal prefix.
    await upload({ name: "wild", path: "a/*/c/*.txt" }, fill);
    expect((await readArtifact(dataDir, 1, "wild"))?.files.map((f) => f.path)).toEqual(["b/c/one.txt"]);

    expect(leastCommonAncestor(["/x/y/z", "/x/y/w/v", "/x/y"])).toBe("/x/y");
    expect(leastCommonAncestor(["/x", "/y"])).toBe("/");
  });

  it("refuses a second artifact of the same name in a run unless overwrite is set", async () => {
    const first = await upload({ name: "dup", path: "dist" }, buildOutput);
    const again = step({ name: "dup", path: "dist" });
    buildOutput(again.workspace);
    await expect(uploadArtifactAction.main(again.ctx)).rejects.toThrow(/an artifact with this name already exists in run 1/);

    // Another run may use the name.
    await upload({ name: "dup", path: "dist" }, buildOutput, 2);

    const replaced = await upload({ name: "dup", path: "dist", overwrite: "true" }, (ws) => write(join(ws, "dist", "new.txt"), "new"));
    expect(replaced.outputs["artifact-id"]).not.toBe(first.outputs["artifact-id"]);
    expect((await readArtifact(dataDir, 1, "dup"))?.files.map((f) => f.path)).toEqual(["new.txt"]);
    expect((await readArtifact(dataDir, 2, "dup"))?.files).toHaveLength(3);
  });

  it("lets one of two concurrent uploads of a name win", async () => {
    const a = step({ name: "same", path: "dist" });
    const b = step({ name: "same", path: "dist" });
    buildOutput(a.workspace);
    buildOutput(b.workspace);
    const results = await Promise.allSettled([uploadArtifactAction.main(a.ctx), uploadArtifactAction.main(b.ctx)]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(await listArtifacts(dataDir, 1)).toHaveLength(1);
  });

  it("refuses to write outside the download path", async () => {
    await upload({ name: "evil", path: "dist" }, buildOutput);
    const file = join(dataDir, "artifacts", "1", "evil.json");
    const manifest = JSON.parse(readFileSync(file, "utf8"));
    manifest.files[0].path = "../../escaped.txt";
    writeFileSync(file, JSON.stringify(manifest));
    const s = step({ name: "evil", path: "in" });
    await expect(downloadArtifactAction.main(s.ctx)).rejects.toThrow(/holds a path outside its root: \.\.\/\.\.\/escaped\.txt/);
    expect(existsSync(join(s.workspace, "..", "escaped.txt"))).toBe(false);
  });

  it("handles if-no-files-found: warn, error, ignore", async () => {
    const warned = await upload({ name: "none", path: "missing/**" }, () => {});
    expect(warned.warnings).toEqual(["No files were found with the provided path: missing/**. No artifacts will be uploaded."]);
    expect(await listArtifacts(dataDir, 1)).toEqual([]);

    await expect(upload({ name: "none", path: "missing", "if-no-files-found": "error" }, () => {})).rejects.toThrow(
      new ActionError("No files were found with the provided path: missing. No artifacts will be uploaded."),
    );

    const ignored = await upload({ name: "none", path: "missing", "if-no-files-found": "ignore" }, () => {});
    expect(ignored.warnings).toEqual([]);
    expect(ignored.logs.some((l) => l.startsWith("No files were found"))).toBe(true);
    expect(ignored.outputs).toEqual({});

    await expect(upload({ name: "none", path: "missing", "if-no-files-found": "fail" }, () => {})).rejects.toThrow(
      "Unrecognized if-no-files-found input. Provided: fail. Available options: warn, error, ignore",
    );
  });

  it("downloads all artifacts of a run, each in its own folder, merged, or by pattern", async () => {
    await upload({ name: "linux", path: "out" }, (ws) => write(join(ws, "out", "linux.bin"), "L"));
    await upload({ name: "mac", path: "out" }, (ws) => write(join(ws, "out", "mac.bin"), "M"));
    await upload({ name: "logs", path: "log.txt" }, (ws) => write(join(ws, "log.txt"), "log"));

    const all = step({ path: "all" });
    await downloadArtifactAction.main(all.ctx);
    expect(tree(join(all.workspace, "all"))).toEqual(["linux/linux.bin", "logs/log.txt", "mac/mac.bin"]);
    expect(all.logs).toContain("Total of 3 artifact(s) downloaded");

    const merged = step({ path: "bins", pattern: "{linux,mac}", "merge-multiple": "true" });
    await downloadArtifactAction.main(merged.ctx);
    expect(tree(join(merged.workspace, "bins"))).toEqual(["linux.bin", "mac.bin"]);

    const byPattern = step({ pattern: "l*" });
    await downloadArtifactAction.main(byPattern.ctx);
    expect(tree(byPattern.workspace)).toEqual(["linux/linux.bin", "logs/log.txt"]);

    const byId = step({ "artifact-ids": String((await readArtifact(dataDir, 1, "mac"))!.id) });
    await downloadArtifactAction.main(byId.ctx);
    expect(tree(byId.workspace)).toEqual(["mac/mac.bin"]);
  });

  it("names the missing artifact and lists the available ones", async () => {
    await upload({ name: "build", path: "dist" }, buildOutput);
    await upload({ name: "docs", path: "dist" }, buildOutput);
    const s = step({ name: "biuld" });
    await expect(downloadArtifactAction.main(s.ctx)).rejects.toThrow(
      new ActionError("Unable to download artifact(s): Artifact not found for name: biuld in run 1. Available artifacts: build, docs"),
    );
    await expect(downloadArtifactAction.main(step({ name: "x" }, { runId: 7 }).ctx)).rejects.toThrow(/run 7\. The run has no artifacts\./);
  });

  it("downloads from another run with run-id", async () => {
    await upload({ name: "build", path: "dist" }, buildOutput, 41);
    const s = step({ name: "build", "run-id": "41", path: "prev" }, { runId: 42 });
    await downloadArtifactAction.main(s.ctx);
    expect(tree(join(s.workspace, "prev"))).toEqual(["app.js", "bin/run", "lib/util.js"]);
  });

  it("leaves hidden files out unless include-hidden-files is set", async () => {
    const fill = (ws: string) => {
      write(join(ws, "site", "index.html"), "<p>");
      write(join(ws, "site", ".env"), "SECRET=1");
      write(join(ws, "site", ".git", "config"), "[core]");
    };
    await upload({ name: "site", path: "site" }, fill);
    expect((await readArtifact(dataDir, 1, "site"))?.files.map((f) => f.path)).toEqual(["index.html"]);
    await upload({ name: "site-all", path: "site", "include-hidden-files": "true" }, fill);
    expect((await readArtifact(dataDir, 1, "site-all"))?.files.map((f) => f.path)).toEqual([".env", ".git/config", "index.html"]);
  });

  it("stores equal files once and gives equal content an equal digest", async () => {
    const fill = (ws: string) => {
      write(join(ws, "same", "a.txt"), "same bytes");
      write(join(ws, "same", "b.txt"), "same bytes");
    };
    const one = await upload({ name: "one", path: "same" }, fill);
    const two = await upload({ name: "two", path: "same" }, fill, 2);
    expect(one.outputs["artifact-digest"]).toBe(two.outputs["artifact-digest"]);
    const blobs = readdirSync(join(dataDir, "blobs", "sha256"), { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    expect(blobs).toHaveLength(1);
  });

  it("validates names, retention and compression inputs", async () => {
    await expect(upload({ name: "a/b", path: "dist" }, buildOutput)).rejects.toThrow(/The artifact name is not valid: a\/b\. Contains the following character:  Forward slash \//);
    await expect(upload({ name: "x", path: "dist", "compression-level": "12" }, buildOutput)).rejects.toThrow(/compression-level/);
    await expect(upload({ name: "x", path: "" }, buildOutput)).rejects.toThrow("Input required and not supplied: path");
    const s = await upload({ name: "short", path: "dist", "retention-days": "3" }, buildOutput);
    const manifest = await readArtifact(dataDir, 1, "short");
    expect(Date.parse(manifest!.expiresAt) - Date.parse(manifest!.createdAt)).toBe(3 * 24 * 3600_000);
    expect(s.warnings).toEqual([]);
    const long = await upload({ name: "long", path: "dist", "retention-days": "400" }, buildOutput);
    expect(long.warnings[0]).toMatch(/Using 90 instead/);
    // Expired artifacts are gone for downloads and listings.
    expect(await readArtifact(dataDir, 1, "short", { now: new Date(Date.now() + 4 * 24 * 3600_000) })).toBeUndefined();
    expect((await listArtifacts(dataDir, 1, { now: new Date(Date.now() + 4 * 24 * 3600_000) })).map((a) => a.name)).toEqual(["long"]);
    expect(await deleteArtifact(dataDir, 1, "long")).toBe(true);
    expect(await readArtifact(dataDir, 1, "long")).toBeUndefined();
  });

  it("finds files as upload-artifact does: ~, directories, symlinked files", async () => {
    write(join(home, "reports", "r.xml"), "<r/>");
    const ws = join(root, "ws");
    write(join(ws, "x.txt"), "x");
    const found = await findFilesToUpload("~/reports\n# a comment\n", { cwd: ws, home });
    expect(found).toEqual({ files: [join(home, "reports", "r.xml")], rootDirectory: join(home, "reports") });
    expect(existsSync(join(ws, "x.txt"))).toBe(true);
  });
});
