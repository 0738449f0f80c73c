// "Secrets never leave": after a full `slipway run` (the built CLI, a real Git
// repository) of a workflow that uses secrets every way a workflow can — a
// multi-line secret, echoed, on stderr, in an env dump, in a step name, an
// annotation, the step summary, GITHUB_ENV, step and job outputs (raw,
// multi-line, base64), a value derived from one and masked with
// `::add-mask::`, written to a workspace file, uploaded as an artifact, saved
// in a cache, refused as an artifact name and a cache key; plus the job's OIDC
// request token — every file of the data directory (recursively, as bytes: the
// SQLite database with its WAL and shared memory, logs, blobs, manifests,
// cache entries; zstd and gzip blobs also decompressed) is searched for each
// value and its base64 and JSON-escaped forms, and each line of the
// multi-line one.
//
// What Slipway guarantees, and so what this checks: nothing it writes by
// itself holds a secret. The only exception is content the workflow itself
// chose to store — the file it uploaded as an artifact and the folder it
// saved in a cache are kept byte for byte, as on GitHub (which masks logs and
// outputs, not artifact or cache contents). The test finds exactly those
// blobs by digest (the artifact's file, the cache entry's archive), checks
// that they do hold the secret (so the search would have found a leak), and
// that nothing else does.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { FileBlobStore } from "../src/blobs/index.js";
import { describeResult, makeRepo, runCli, runsOf } from "./helpers/cli.js";
import { filesUnder } from "./helpers/files.js";

const TOKEN = "tok-Zq8vX3pL-7f2e9c41b6a0d5e8";
const MULTI = ["-----BEGIN SLIPWAY TEST KEY-----", "MIIEvQIBADANBgkqhkiG9w0BAQEF-line1", "AASCBKcwggSjAgEAAoIBAQC7-line2", "-----END SLIPWAY TEST KEY-----"].join("\n");
const PROD_PW = "prod-pw-Hk29fLq0vW";
/** What the workflow derives from TOKEN and masks with ::add-mask::. */
const DERIVED = `derived-${TOKEN.toUpperCase()}`;

const workflow = (outside: string) => `name: Leak
on: push
jobs:
  use:
    runs-on: ubuntu-latest
    environment: prod
    permissions:
      id-token: write
    outputs:
      leaked: \${{ steps.out.outputs.leaked }}
      multi: \${{ steps.out.outputs.multi }}
      b64: \${{ steps.out.outputs.b64 }}
      plain: \${{ steps.out.outputs.plain }}
    env:
      TOKEN: \${{ secrets.TOKEN }}
      MULTI: \${{ secrets.MULTI }}
      MULTI_JSON: \${{ toJSON(secrets.MULTI) }}
    steps:
      - name: Use \${{ secrets.TOKEN }}
        run: |
          echo "token $TOKEN"
          echo "multi $MULTI"
          echo "json $MULTI_JSON"
          echo "prod \${{ secrets.PROD_PW }}"
          echo "stderr $TOKEN" >&2
          printf '%s' "$TOKEN" | base64
          printf '%s' "$MULTI" | base64 -w0; echo
          env | sort
          echo "::warning title=t $TOKEN::warn $TOKEN"
          echo "summary $TOKEN $MULTI" >> "$GITHUB_STEP_SUMMARY"
          echo "NEXT=$TOKEN" >> "$GITHUB_ENV"
          printf %s "$ACTIONS_ID_TOKEN_REQUEST_TOKEN" > ${outside}/request-token
      - name: derived
        run: |
          DERIVED="derived-$(printf %s "$TOKEN" | tr a-z A-Z)"
          echo "::add-mask::$DERIVED"
          echo "derived $DERIVED"
          echo "derived again $DERIVED" >> "$GITHUB_STEP_SUMMARY"
          echo "::notice::derived $DERIVED"
      - id: out
        run: |
          echo "leaked=$TOKEN" >> "$GITHUB_OUTPUT"
          { echo "multi<<EOF"; echo "$MULTI"; echo "EOF"; } >> "$GITHUB_OUTPUT"
          echo "b64=$(printf %s "$TOKEN" | base64)" >> "$GITHUB_OUTPUT"
          echo "plain=not a secret" >> "$GITHUB_OUTPUT"
      - run: |
          mkdir -p out cached
          printf %s "$TOKEN" > out/secret.txt
          printf %s "$MULTI" > cached/multi.txt
          echo "next $NEXT"
      - uses: actions/upload-artifact@v4
        with:
          name: secret-file
          path: out/secret.txt
      - uses: actions/cache@v4
        with:
          path: cached
          key: leak-cache-\${{ github.sha }}
  # Names a built-in would store as given: refused rather than written unmasked.
  refused:
    runs-on: ubuntu-latest
    continue-on-error: true
    steps:
      - run: echo hi > f.txt
      - uses: actions/upload-artifact@v4
        continue-on-error: true
        with:
          name: art-\${{ secrets.TOKEN }}
          path: f.txt
      - uses: actions/cache@v4
        with:
          path: f.txt
          key: key-\${{ secrets.PROD_PW }}-\${{ secrets.TOKEN }}
  report:
    needs: use
    runs-on: ubuntu-latest
    steps:
      - run: echo "got \${{ needs.use.outputs.leaked }} / \${{ needs.use.outputs.b64 }} / \${{ needs.use.outputs.plain }}"
`;

/** The forms a leak could take: the value, base64 (padded or not, and base64url), JSON-escaped, and each line of a multi-line value. */
function forms(value: string): string[] {
  const b64 = Buffer.from(value).toString("base64");
  const out = new Set([value, b64, b64.replace(/=+$/, ""), Buffer.from(value).toString("base64url"), JSON.stringify(value).slice(1, -1)]);
  if (value.includes("\n")) for (const line of value.split("\n")) out.add(line);
  return [...out];
}

/** The bytes of a file, and its decompressed bytes when it is zstd or gzip. */
function contents(file: string): Array<{ what: string; bytes: Buffer }> {
  const bytes = readFileSync(file);
  const out = [{ what: "raw", bytes }];
  if (bytes.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) {
    const r = spawnSync("zstd", ["-dc"], { input: bytes, maxBuffer: 1 << 30 });
    expect(r.status, `zstd -dc ${file}`).toBe(0);
    out.push({ what: "zstd-decompressed", bytes: r.stdout });
  } else if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    out.push({ what: "gzip-decompressed", bytes: gunzipSync(bytes) });
  }
  return out;
}

const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

describe("secrets never leave", () => {
  it("no secret, in any form, in any file of the data directory after a full run — but what the workflow itself stored as artifact and cache", async () => {
    const outside = mkdtempSync(join(tmpdir(), "slipway-leak-outside-"));
    cleanup.push(outside);
    const repo = makeRepo({ ".github/workflows/leak.yml": workflow(outside) });
    cleanup.push(repo);
    const dataDir = mkdtempSync(join(tmpdir(), "slipway-leak-data-"));
    cleanup.push(dataDir);
    for (const [name, value, env] of [
      ["TOKEN", TOKEN, undefined],
      ["MULTI", MULTI, undefined],
      ["PROD_PW", PROD_PW, "prod"],
    ] as const) {
      const set = await runCli(["secrets", "set", name, "--data-dir", dataDir, ...(env ? ["--env", env] : [])], { cwd: repo, input: value });
      expect(set.code, describeResult(set)).toBe(0);
    }
    const res = await runCli(["run", "--data-dir", dataDir, "--json"], { cwd: repo, timeoutMs: 120_000 });
    expect(res.code, describeResult(res)).toBe(0);
    const run = runsOf(res.stdout)[0];
    expect(run.conclusion).toBe("success");
    const use = run.jobs.find((j: { key: string }) => j.key === "use");
    // Outputs holding a secret (in any masked form) are dropped; the others kept.
    expect(use.outputs).toEqual({ plain: "not a secret" });

    const refused = run.jobs.find((j: { key: string }) => j.key === "refused");
    expect(refused.conclusion).toBe("failure");
    expect(refused.steps.map((s: { conclusion: string }) => s.conclusion)).toEqual(["success", "success", "failure"]);
    expect(refused.reason).toContain("input 'key' of actions/cache contains a secret");
    const refusedLog = filesUnder(join(dataDir, "logs", String(run.id))).map((f) => readFileSync(f, "utf8")).join("\n");
    expect(refusedLog).toContain("input 'name' of actions/upload-artifact contains a secret");

    // The workflow did run with the real values: its artifact and cache hold them.
    const artifactBlob = blobPath(dataDir, `sha256:${createHash("sha256").update(TOKEN).digest("hex")}`);
    const cacheEntries = filesUnder(join(dataDir, "cache")).filter((f) => f.endsWith(".json"));
    expect(cacheEntries).toHaveLength(1);
    const cacheBlob = blobPath(dataDir, (JSON.parse(readFileSync(cacheEntries[0] as string, "utf8")) as { digest: string }).digest);
    const deliberate = new Set([artifactBlob, cacheBlob]);

    const needles = [
      ...forms(TOKEN).map((f) => ({ secret: "TOKEN", form: f })),
      ...forms(MULTI).map((f) => ({ secret: "MULTI", form: f })),
      ...forms(PROD_PW).map((f) => ({ secret: "PROD_PW", form: f })),
      ...forms(DERIVED).map((f) => ({ secret: "::add-mask:: value", form: f })),
      // The job's OIDC request token (env dump) is a secret too.
      ...forms(readFileSync(join(outside, "request-token"), "utf8")).map((f) => ({ secret: "ACTIONS_ID_TOKEN_REQUEST_TOKEN", form: f })),
    ];
    expect(readFileSync(join(outside, "request-token"), "utf8").length).toBeGreaterThan(100);
    const files = filesUnder(dataDir);
    // Everything Slipway keeps is there to be searched.
    const rel = files.map((f) => relative(dataDir, f));
    expect(rel).toEqual(expect.arrayContaining(["slipway.db", "keys/master.key"]));
    expect(rel.some((f) => f.startsWith("logs/") && f.endsWith(".log"))).toBe(true);
    expect(rel.some((f) => f.endsWith("summary.md"))).toBe(true);
    expect(rel.some((f) => f.startsWith("artifacts/"))).toBe(true);
    expect(files).toEqual(expect.arrayContaining([artifactBlob, cacheBlob]));

    const leaks: string[] = [];
    const foundInDeliberate = new Set<string>();
    for (const file of files) {
      for (const n of needles) if (relative(dataDir, file).includes(n.form)) leaks.push(`a file name holds ${n.secret}: ${relative(dataDir, file)}`);
      for (const { what, bytes } of contents(file)) {
        for (const n of needles) {
          if (!bytes.includes(Buffer.from(n.form))) continue;
          if (deliberate.has(file)) foundInDeliberate.add(`${relative(dataDir, file)}:${n.secret}`);
          else leaks.push(`${relative(dataDir, file)} (${what}) holds ${n.secret} as ${JSON.stringify(n.form.slice(0, 24))}`);
        }
      }
    }
    expect(leaks).toEqual([]);
    // The search does find secrets where the workflow put them.
    expect([...foundInDeliberate].sort()).toEqual([`${relative(dataDir, artifactBlob)}:TOKEN`, `${relative(dataDir, cacheBlob)}:MULTI`].sort());
    // Nor did the console output carry any.
    for (const n of needles) expect(res.stdout + res.stderr, `${n.secret} on the console`).not.toContain(n.form);
    // And the values were really used and masked, not absent.
    const log = filesUnder(join(dataDir, "logs")).map((f) => readFileSync(f, "utf8")).join("\n");
    expect(log).toContain("token ***");
    expect(log).toContain("derived ***");
    expect(log).toContain("next ***");
    expect(log).toContain("prod ***");
  });
});

function blobPath(dataDir: string, digest: string): string {
  return new FileBlobStore(dataDir).path(digest);
}
