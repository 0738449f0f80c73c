// Signed releases end to end, through the built CLI in a real Git repository:
// `release create` signs each release (Sigstore bundle v0.3 over the release
// manifest) and attests its SLSA v1 provenance (DSSE), which verify here with
// @sigstore/verify configured independently of Slipway's helpers; a flipped
// byte in the artifact, a wrong key and a provenance from another branch each
// fail `slipway verify` with a clear reason, and prod's policy
// (`signed: true`, `provenance: { source, branch: main }`) refuses to promote them.
import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { chmodSync, cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { ControlLoop, deliveryStatus } from "../src/control/index.js";
import { parseDeliveryConfig } from "../src/delivery/index.js";
import { openStateRepository } from "../src/gitops/index.js";
import { createRelease } from "../src/release/index.js";
import { openStore } from "../src/store/index.js";
import { describeResult, git, makeRepo, removeDir, runCli } from "./helpers/cli.js";

const SLIPWAY_YML = `
services:
  web:
    release: { file: build }
    run: { command: node server.js }
environments:
  prod:
    policy:
      signed: true
      provenance: { source: acme/web, branch: main }
`;

/** A Verifier built here from a PEM public key alone: no transparency log, no timestamps (offline, key-based). */
function independentVerifier(publicKeyPem: string): Verifier {
  const key = createPublicKey(publicKeyPem);
  const trust = toTrustMaterial(
    { mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1", tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] },
    () => ({ publicKey: key, validFor: () => true }),
  );
  return new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
}

/** The release manifest of a folder, computed here: sorted [{path, digest, size, mode}] as JSON. */
function manifestOf(dir: string, names: string[]): Buffer {
  const files = [...names].sort().map((name) => {
    const bytes = readFileSync(join(dir, name));
    return { path: name, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, size: bytes.length, mode: statSync(join(dir, name)).mode & 0o777 };
  });
  return Buffer.from(JSON.stringify(files));
}

describe("signed releases, verify and the policy gate", () => {
  const repo = makeRepo({ "slipway.yml": SLIPWAY_YML, "server.js": "console.log('hi')\n" });
  git(repo, "remote", "add", "origin", "https://github.com/acme/web.git");
  const dataDir = join(repo, ".slipway");
  const env = { SLIPWAY_ACTOR: "alice" };
  afterAll(() => removeDir(repo));

  /** The blob store's layout: blobs/sha256/<first two hex>/<the rest>. */
  const blobPath = (digest: string) => join(dataDir, "blobs", "sha256", digest.slice(7, 9), digest.slice(9));
  const release = async (version: string): Promise<{ number: number; digest: string }> => {
    mkdirSync(join(repo, "build"), { recursive: true });
    writeFileSync(join(repo, "build", "server.js"), "console.log('hi')\n");
    writeFileSync(join(repo, "build", "VERSION"), `${version}\n`);
    const res = await runCli(["release", "create", "--service", "web", "--file", "build", "--json"], { cwd: repo, env });
    expect(res.code, describeResult(res)).toBe(0);
    return (JSON.parse(res.stdout) as { release: { number: number; digest: string } }).release;
  };
  const attestations = (number: number) => {
    const store = openStore(dataDir);
    try {
      const r = store.getRelease("web", number);
      const list = store.listReleaseAttestations(r?.id ?? 0);
      const blob = (kind: string) => {
        const a = list.find((x) => x.kind === kind);
        return readFileSync(blobPath(a?.digest ?? ""), "utf8");
      };
      return { list, blob, files: r?.files ?? [] };
    } finally {
      store.close();
    }
  };

  let publicKeyPem = "";

  it("a release carries an SBOM, a signature and a provenance that @sigstore/verify accepts on its own", async () => {
    const r1 = await release("1");
    expect(r1.number).toBe(1);
    const keys = await runCli(["keys", "export-public"], { cwd: repo });
    expect(keys.code, describeResult(keys)).toBe(0);
    publicKeyPem = keys.stdout;
    expect(publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);

    const { list, blob } = attestations(1);
    expect(list.map((a) => [a.kind, a.mediaType])).toEqual([
      ["sbom", "application/vnd.cyclonedx+json"],
      ["signature", "application/vnd.dev.sigstore.bundle.v0.3+json"],
      ["provenance", "application/vnd.dev.sigstore.bundle.v0.3+json"],
    ]);
    const sbom = JSON.parse(blob("sbom")) as { specVersion: string; metadata: { component: { name: string; hashes: { content: string }[] } } };
    expect(sbom.specVersion).toBe("1.6");
    expect(sbom.metadata.component.hashes[0]?.content).toBe(r1.digest.slice(7));

    // The signature: a messageSignature over the release manifest, whose sha256 is the release digest.
    const manifest = manifestOf(join(repo, "build"), ["VERSION", "server.js"]);
    expect(`sha256:${createHash("sha256").update(manifest).digest("hex")}`).toBe(r1.digest);
    const signature = JSON.parse(blob("signature")) as Record<string, unknown>;
    expect(signature.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
    expect((signature.verificationMaterial as { publicKey: { hint: string } }).publicKey.hint).toMatch(/^[0-9a-f]{64}$/);
    const verifier = independentVerifier(publicKeyPem);
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(signature), manifest))).not.toThrow();

    // The provenance: DSSE over an in-toto Statement v1 with a SLSA v1 predicate.
    const provenance = JSON.parse(blob("provenance")) as { dsseEnvelope: { payloadType: string; payload: string } };
    expect(provenance.dsseEnvelope.payloadType).toBe("application/vnd.in-toto+json");
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(provenance)))).not.toThrow();
    const statement = JSON.parse(Buffer.from(provenance.dsseEnvelope.payload, "base64").toString("utf8")) as {
      _type: string;
      predicateType: string;
      subject: { name: string; digest: { sha256: string } }[];
      predicate: { buildDefinition: { buildType: string; externalParameters: { source: Record<string, string> }; resolvedDependencies: { uri: string; digest: { gitCommit: string } }[] }; runDetails: { builder: { id: string } } };
    };
    expect(statement._type).toBe("https://in-toto.io/Statement/v1");
    expect(statement.predicateType).toBe("https://slsa.dev/provenance/v1");
    expect(statement.subject[0]).toEqual({ name: "build", digest: { sha256: r1.digest.slice(7) } });
    expect(statement.predicate.runDetails.builder.id).toBe("https://slipway.dev/builder/v1");
    const head = git(repo, "rev-parse", "HEAD");
    expect(statement.predicate.buildDefinition.externalParameters.source).toEqual({ repository: "acme/web", ref: "refs/heads/main", commit: head });
    expect(statement.predicate.buildDefinition.resolvedDependencies[0]).toEqual({ uri: "git+acme/web@refs/heads/main", digest: { gitCommit: head } });

    // Slipway's own verify agrees, and prod promotes it.
    const ok = await runCli(["verify", "web#1", "--source", "acme/web", "--branch", "main"], { cwd: repo });
    expect(ok.code, describeResult(ok)).toBe(0);
    expect(ok.stdout).toMatch(/verified: policy: signature verified; provenance verified \(acme\/web main@/);
    const promoted = await runCli(["promote", "prod", "web#1"], { cwd: repo, env });
    expect(promoted.code, describeResult(promoted)).toBe(0);
  });

  it("a flipped byte in the artifact fails verify and prod refuses it", async () => {
    const r2 = await release("2");
    const { files } = attestations(r2.number);
    const version = files.find((f) => f.path === "VERSION");
    const blobFile = blobPath(version?.digest ?? "");
    chmodSync(blobFile, 0o644);
    const bytes = readFileSync(blobFile);
    bytes[0] = (bytes[0] ?? 0) ^ 0x01;
    writeFileSync(blobFile, bytes);

    // Independently: the manifest of the tampered bytes does not verify.
    const { blob } = attestations(r2.number);
    const tampered = Buffer.from(
      JSON.stringify(
        [...files]
          .sort((a, b) => (a.path < b.path ? -1 : 1))
          .map((f) => {
            const b = f.path === "VERSION" ? bytes : readFileSync(join(repo, "build", f.path));
            return { path: f.path, digest: `sha256:${createHash("sha256").update(b).digest("hex")}`, size: b.length, mode: f.mode };
          }),
      ),
    );
    expect(() => independentVerifier(publicKeyPem).verify(toSignedEntity(bundleFromJSON(JSON.parse(blob("signature"))), tampered))).toThrow(/signature verification failed/);

    const res = await runCli(["verify", `web#${r2.number}`], { cwd: repo });
    expect(res.code, describeResult(res)).toBe(1);
    expect(res.stdout).toMatch(/NOT verified: policy refuses the release: the artifact was modified after the release was made/);
    expect(res.stdout).toMatch(/signature: the signature does not match/);

    const promote = await runCli(["promote", "prod", `web#${r2.number}`], { cwd: repo, env });
    expect(promote.code, describeResult(promote)).toBe(1);
    expect(promote.stderr).toMatch(new RegExp(`web#${r2.number} cannot go to prod yet: policy refuses the release: the artifact was modified after the release was made`));
  });

  it("a wrong key fails verify, independently and in Slipway, and a policy trusting only that key refuses the release", async () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
    writeFileSync(join(repo, "other.pub"), other);
    const { blob } = attestations(1);
    expect(() => independentVerifier(other).verify(toSignedEntity(bundleFromJSON(JSON.parse(blob("signature"))), manifestOf(join(repo, "build"), ["VERSION", "server.js"])))).toThrow(/signature verification failed/);

    const res = await runCli(["verify", "web#1", "--key", "other.pub"], { cwd: repo });
    expect(res.code, describeResult(res)).toBe(1);
    expect(res.stdout).toMatch(/signature: it was signed with key [0-9a-f]{12}…, which is not a trusted key/);

    writeFileSync(join(repo, "slipway.yml"), SLIPWAY_YML.replace("signed: true", "signed: true\n      keys: other.pub"));
    const promote = await runCli(["promote", "prod", "web#1"], { cwd: repo, env });
    // From another folder, with the data directory outside the repository: policy.keys are read in the repository.
    const outside = mkdtempSync(join(tmpdir(), "slipway-data-"));
    cpSync(join(repo, ".slipway"), outside, { recursive: true });
    const elsewhere = await runCli(["promote", "prod", "web#1", "-C", repo, "--data-dir", outside], { cwd: tmpdir(), env });
    rmSync(outside, { recursive: true, force: true });
    writeFileSync(join(repo, "slipway.yml"), SLIPWAY_YML);
    for (const r of [promote, elsewhere]) {
      expect(r.code, describeResult(r)).toBe(1);
      expect(r.stderr).toMatch(/policy refuses the release: signature: it was signed with key .* not a trusted key/);
    }
  });

  it("a provenance from another branch fails verify and prod refuses it", async () => {
    git(repo, "checkout", "-q", "-b", "feature");
    const r3 = await release("3");
    const res = await runCli(["verify", `web#${r3.number}`, "--source", "acme/web", "--branch", "main"], { cwd: repo });
    expect(res.code, describeResult(res)).toBe(1);
    expect(res.stdout).toMatch(/provenance: it was built from branch feature, not branch main/);
    // Without a branch to check, the same release verifies: signature and provenance are sound.
    expect((await runCli(["verify", `web#${r3.number}`], { cwd: repo })).code).toBe(0);

    const promote = await runCli(["promote", "prod", `web#${r3.number}`], { cwd: repo, env });
    expect(promote.code, describeResult(promote)).toBe(1);
    expect(promote.stderr).toMatch(/policy refuses the release: provenance: it was built from branch feature, not branch main/);
    git(repo, "checkout", "-q", "main");
  });

  it("verifies a released file or folder on disk against its bundle, and says when the bytes differ", async () => {
    const folder = join(repo, "v1");
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "server.js"), "console.log('hi')\n");
    writeFileSync(join(folder, "VERSION"), "1\n");
    const ok = await runCli(["verify", "v1", "--json"], { cwd: repo });
    expect(ok.code, describeResult(ok)).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ verified: true, signature: { present: true, valid: true } });

    const { blob } = attestations(1);
    writeFileSync(join(repo, "sig.json"), blob("signature"));
    writeFileSync(join(repo, "prov.json"), blob("provenance"));
    writeFileSync(join(folder, "VERSION"), "1!\n");
    const bad = await runCli(["verify", "v1", "--bundle", "sig.json", "--provenance", "prov.json"], { cwd: repo });
    expect(bad.code, describeResult(bad)).toBe(1);
    expect(bad.stdout).toMatch(/the artifact was modified after the release was made/);
  });
});

describe("provenance of a release built by a run", () => {
  const WORKFLOW = `name: CI
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: mkdir -p out && cp app.js out/
      - uses: actions/upload-artifact@v4
        with: { name: web, path: out }
`;
  const repo = makeRepo({ ".github/workflows/ci.yml": WORKFLOW, "app.js": "console.log(1)\n" });
  git(repo, "remote", "add", "origin", "https://github.com/acme/web.git");
  afterAll(() => removeDir(repo));

  it("names the workflow, the run, the commit and the actions it used", async () => {
    const run = await runCli(["run", "push"], { cwd: repo });
    expect(run.code, describeResult(run)).toBe(0);
    const made = await runCli(["release", "create", "--service", "web", "--from-run", "1"], { cwd: repo });
    expect(made.code, describeResult(made)).toBe(0);
    const res = await runCli(["verify", "web#1", "--json", "--source", "acme/web", "--branch", "main"], { cwd: repo });
    expect(res.code, describeResult(res)).toBe(0);
    const out = JSON.parse(res.stdout) as { verified: boolean; statement: { predicate: { buildDefinition: Record<string, any>; runDetails: Record<string, any> } } };
    const def = out.statement.predicate.buildDefinition;
    expect(def.buildType).toBe("https://slipway.dev/buildtypes/workflow/v1");
    expect(def.externalParameters).toEqual({ source: { repository: "acme/web", ref: "refs/heads/main", commit: git(repo, "rev-parse", "HEAD") }, workflow: { path: ".github/workflows/ci.yml", run: 1 } });
    expect(def.internalParameters).toEqual({ event: "push" });
    expect(def.resolvedDependencies.map((d: { uri: string }) => d.uri)).toEqual(["git+acme/web@refs/heads/main", "slipway:builtin/actions/checkout@v4", "slipway:builtin/actions/upload-artifact@v4"]);
    expect(out.statement.predicate.runDetails.metadata).toMatchObject({ invocationId: "1", startedOn: expect.any(String), finishedOn: expect.any(String) });
  });
});

describe("the control loop does not promote a release its policy refuses", () => {
  it("a tampered release and one from another branch wait at prod's gate, with the reason in status", async () => {
    const root = mkdtempSync(join(tmpdir(), "slipway-policy-loop-"));
    const dataDir = join(root, "data");
    const { config } = parseDeliveryConfig(SLIPWAY_YML.replace("  prod:\n", "  prod:\n    auto: true\n"), "slipway.yml");
    if (!config) throw new Error("slipway.yml should parse");
    const store = openStore(dataDir);
    const stateRepo = await openStateRepository({ dataDir });
    const events: string[] = [];
    const loop = new ControlLoop({ dataDir, store, stateRepo, config, intervalMs: 60_000, onEvent: (e) => events.push(`${e.kind} ${e.message}`) });
    const make = async (version: string, ref: string) => {
      const dir = join(root, `build-${version}`);
      mkdirSync(dir);
      writeFileSync(join(dir, "server.js"), "console.log('hi')\n");
      writeFileSync(join(dir, "VERSION"), version);
      return (await createRelease({ store, dataDir, service: "web", source: { kind: "path", path: dir }, createdBy: "ci", checkout: { sha: "a".repeat(40), ref, repository: "acme/web" } })).release;
    };
    try {
      // From another branch: signed, but its provenance names feature.
      await make("1", "refs/heads/feature");
      await loop.tick();
      expect(events.find((e) => e.startsWith("waiting"))).toMatch(/^waiting web#1 waits for prod: policy refuses the release: provenance: it was built from branch feature, not branch main$/);
      // From main, then tampered in the blob store.
      const r2 = await make("2", "refs/heads/main");
      const blob = join(dataDir, "blobs", "sha256", (r2.files.find((f) => f.path === "VERSION")?.digest ?? "").slice(7, 9), (r2.files.find((f) => f.path === "VERSION")?.digest ?? "").slice(9));
      chmodSync(blob, 0o644);
      writeFileSync(blob, "3");
      await loop.tick();
      expect(events.at(-1)).toMatch(/^waiting web#2 waits for prod: policy refuses the release: the artifact was modified after the release was made/);
      const status = await deliveryStatus(store, stateRepo, config);
      expect(status.services.find((s) => s.env === "prod")?.waiting).toMatch(/policy refuses the release: the artifact was modified/);
      expect((await stateRepo.readDesired()).states).toEqual([]);
      expect(events.some((e) => e.startsWith("promoted"))).toBe(false);
    } finally {
      await loop.shutdown();
      store.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
