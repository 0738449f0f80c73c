// `slipway verify RELEASE|FILE`: verifies a release's signature and SLSA
// provenance offline with @sigstore/verify (public keys only; no
// transparency log, no network) against the artifact's bytes as they are now,
// and checks the provenance's predicate type, builder and source against a
// policy: the flags, else an environment's `policy` (`--env prod`).
//
//   slipway verify web#3                                  a release in the data directory
//   slipway verify dist/ --bundle web.sigstore.json       a file or folder, with its signature bundle
//   slipway verify web#3 --key slipway.pub --source acme/web --branch main
//
// Exit codes: 0 verified, 1 verification failed, 2 bad input.
import { readFileSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { resolve } from "node:path";
import {
  evaluateSignaturePolicy,
  findDeliveryConfig,
  loadDeliveryConfig,
  type AttestationEvidence,
  type ReleasePolicy,
} from "../delivery/index.js";
import { manifestOfPath, readAttestations, releaseEvidence } from "../release/index.js";
import { openDataStore, type ReleaseRecord, type Store } from "../store/index.js";
import { gatherEvidence, keyTrustMaterial, keysById, knownPublicKeys, readPublicKeyFile, sha256Digest, SigningKeyError, type Statement } from "../supply-chain/index.js";
import { dataDirFor, EXIT, UsageError, workDir, type GlobalOptions } from "./common.js";
import { paint } from "./style.js";

export interface VerifyOptions extends GlobalOptions {
  key?: string[];
  bundle?: string;
  provenance?: string;
  source?: string;
  branch?: string;
  builder?: string;
  env?: string;
  json?: boolean;
}

const RELEASE_REF = /^(?:([a-z0-9-]+)#)?([1-9][0-9]*)$/;

export async function verifyCommand(target: string, opts: VerifyOptions): Promise<number> {
  const repoDir = workDir(opts);
  const dataDir = dataDirFor(opts, repoDir);
  const policy = policyFor(repoDir, opts);
  const keys = opts.key?.length ? readKeys(opts.key) : undefined;
  const store = openDataStore(dataDir);
  try {
    let evidence: AttestationEvidence & { statement?: Statement; problems?: string[] };
    let subject: string;
    const ref = RELEASE_REF.exec(target);
    if (ref && opts.bundle === undefined) {
      const release = findRelease(store, repoDir, ref[1], Number(ref[2]));
      subject = `${release.service}#${release.number}`;
      evidence = releaseEvidence(store, dataDir, release, keys);
    } else {
      const { manifest, name } = await manifestOfPath(resolve(repoDir, target));
      const digest = sha256Digest(manifest);
      subject = `${name} (${digest.slice(0, 19)}…)`;
      // The bundles given, else those of a release with this content.
      const known = store.listReleases().find((r) => r.digest === digest);
      const stored = known ? readAttestations(store, dataDir, known) : undefined;
      const signatureBundle = opts.bundle !== undefined ? readJson(resolve(repoDir, opts.bundle), "--bundle") : stored?.signature;
      const provenanceBundle = opts.provenance !== undefined ? readJson(resolve(repoDir, opts.provenance), "--provenance") : stored?.provenance;
      if (signatureBundle === undefined) {
        throw new UsageError(`no release here has the content of ${target} (${digest.slice(0, 19)}…), and no --bundle was given: give its signature bundle with --bundle FILE, or check that it is the released file or folder`);
      }
      // Compared with what the provenance (or the signature) says: the digest of what was signed.
      const recorded = recordedDigest(provenanceBundle) ?? digest;
      evidence = gatherEvidence({
        recordedDigest: recorded,
        manifest,
        signatureBundle,
        ...(provenanceBundle !== undefined ? { provenanceBundle } : {}),
        sbom: stored?.sbom !== undefined,
        trust: keyTrustMaterial(keys ?? knownPublicKeys(dataDir), { anyKey: keys !== undefined }),
      });
      if (provenanceBundle === undefined && policy.provenance === "required" && !opts.source && !opts.env) policy.provenance = "off";
    }
    const verdict = evaluateSignaturePolicy(policy, evidence);
    if (opts.json) {
      const { statement, ...facts } = evidence;
      process.stdout.write(JSON.stringify({ verified: verdict.open, subject, policy, ...facts, ...(statement ? { statement } : {}), failures: verdict.failures, warnings: verdict.warnings }, null, 2) + "\n");
    } else {
      print(subject, evidence, verdict);
    }
    return verdict.open ? EXIT.ok : EXIT.failed;
  } finally {
    store.close();
  }
}

function print(subject: string, e: AttestationEvidence & { problems?: string[] }, verdict: ReturnType<typeof evaluateSignaturePolicy>): void {
  const p = paint(process.stdout);
  const mark = (ok: boolean) => (ok ? p.green("✓") : p.red("✗"));
  const lines = [`${subject}`];
  const same = e.actualDigest !== undefined && e.actualDigest === e.recordedDigest;
  lines.push(`  ${mark(same)} artifact    ${e.actualDigest ?? e.artifactProblem ?? "?"}${same ? "" : ` (signed: ${e.recordedDigest})`}`);
  lines.push(`  ${mark(e.signature.present && e.signature.valid)} signature   ${e.signature.present ? e.signature.reason : "none"}`);
  const c = e.provenance.claims;
  const prov = e.provenance.present ? (c && e.provenance.valid ? `${e.provenance.reason}: ${c.builderId}, ${c.repository ?? "?"} ${c.ref ?? "?"} @ ${(c.commit ?? "?").slice(0, 12)}` : e.provenance.reason) : "none";
  lines.push(`  ${mark(e.provenance.present && e.provenance.valid)} provenance  ${prov}`);
  lines.push(`  ${e.sbom ? mark(true) : "-"} sbom        ${e.sbom ? "CycloneDX 1.6" : "none"}`);
  for (const problem of e.problems ?? []) lines.push(`  ${p.red("!")} ${problem}`);
  lines.push(verdict.open ? p.green(`verified: ${verdict.reason}`) : p.red(`NOT verified: ${verdict.reason}`));
  process.stdout.write(lines.join("\n") + "\n");
}

/** The policy to check: the environment's (`--env`), then the flags over it; a release is expected signed with provenance. */
function policyFor(repoDir: string, opts: VerifyOptions): ReleasePolicy {
  let policy: ReleasePolicy = { signature: "required", provenance: "required", sbom: "off", keys: [], identities: [] };
  if (opts.env !== undefined) {
    if (findDeliveryConfig(repoDir) === undefined) throw new UsageError(`--env ${opts.env} needs a slipway.yml in ${repoDir}`);
    const { config, diagnostics } = loadDeliveryConfig(repoDir);
    const first = diagnostics.find((d) => d.severity === "error");
    if (!config) throw new UsageError(`slipway.yml has errors (${first ? `${first.file}:${first.line}:${first.column}: ${first.message}` : "see slipway lint"}); fix them first`);
    const env = config.environments[opts.env];
    if (!env) throw new UsageError(`slipway.yml has no environment '${opts.env}'; its environments: ${config.environmentOrder.join(", ")}`);
    policy = { ...env.policy, keys: env.policy.keys.map((k) => resolve(repoDir, k)) };
    if (opts.key === undefined && policy.keys.length > 0) opts.key = policy.keys;
  }
  if (opts.source !== undefined) policy.source = { repository: opts.source, ...(opts.branch !== undefined ? { branch: opts.branch } : {}) };
  else if (opts.branch !== undefined) throw new UsageError("--branch goes with --source: the branch of which repository (e.g. --source acme/web --branch main)");
  if (opts.builder !== undefined) policy.builder = opts.builder;
  return policy;
}

function readKeys(files: string[]): Map<string, KeyObject> {
  try {
    return keysById(files.map((f) => readPublicKeyFile(f)));
  } catch (err) {
    if (err instanceof SigningKeyError) throw new UsageError(err.message);
    throw err;
  }
}

function findRelease(store: Store, repoDir: string, service: string | undefined, number: number): ReleaseRecord {
  let name = service;
  if (name === undefined) {
    const services = [...new Set(store.listReleases().map((r) => r.service))];
    if (services.length !== 1) throw new UsageError(`name the service: SERVICE#${number} (releases here are of ${services.join(", ") || "no service"})`);
    name = services[0] as string;
  }
  const release = store.getRelease(name, number);
  if (!release) throw new UsageError(`there is no release ${name}#${number} in this data directory (${repoDir}); \`slipway releases ${name}\` lists them`);
  return release;
}

function readJson(file: string, option: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`${option}: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${option}: ${file} is not JSON (${(err as Error).message}); give a Sigstore bundle (.sigstore.json)`);
  }
}

/** The first subject's digest of a provenance bundle's statement, read without trusting it (it is verified afterwards). */
function recordedDigest(bundle: unknown): string | undefined {
  try {
    const payload = (bundle as { dsseEnvelope?: { payload?: string } }).dsseEnvelope?.payload;
    if (!payload) return undefined;
    const statement = JSON.parse(Buffer.from(payload, "base64").toString("utf8")) as Statement;
    const hex = statement.subject[0]?.digest.sha256;
    return hex ? `sha256:${hex}` : undefined;
  } catch {
    return undefined;
  }
}
