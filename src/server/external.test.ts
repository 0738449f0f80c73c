// Webhook secrets of mirrors, encrypted with the master key, through a rotation.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HostedRepositories } from "../git/index.js";
import { envelopeKeyId, MasterKeyring, rotateMasterKey } from "../secrets/index.js";
import { ExternalRepositories, reencryptWebhookSecrets } from "./external.js";
import { jsonLogger } from "./log.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("webhook secrets", () => {
  it("are re-encrypted under a new master key and still verify webhooks' signatures", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "slipway-external-"));
    dirs.push(dataDir);
    const repos = new HostedRepositories(join(dataDir, "repos"));
    for (const name of ["acme/app", "acme/lib"]) mkdirSync(repos.path(name), { recursive: true });
    const external = new ExternalRepositories(repos, dataDir, jsonLogger(() => {}), () => {});
    external.setWebhookSecret("acme/app", "app-hook-secret");
    const { current } = rotateMasterKey(dataDir, {});
    // acme/lib has no webhook secret: nothing to do there.
    expect(reencryptWebhookSecrets(repos, new MasterKeyring(dataDir, {}))).toBe(1);
    expect(envelopeKeyId(readFileSync(join(repos.path("acme/app"), "slipway", "webhook.secret")))).toBe(current);
    expect(external.webhookSecret("acme/app")).toBe("app-hook-secret");
    expect(reencryptWebhookSecrets(repos, new MasterKeyring(dataDir, {}))).toBe(0);
  });
});
