// Webhook verification and parsing, on real payloads: GitHub's from
// @octokit/webhooks-examples, Gitea's and GitLab's from their documentation
// (test/fixtures/webhooks).
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hmacHex, parseWebhook, verifyWebhook } from "./webhooks.js";

const require = createRequire(import.meta.url);
const examples = require("@octokit/webhooks-examples/api.github.com/index.json") as Array<{ name: string; examples: Array<Record<string, unknown>> }>;
const github = (name: string, action?: string): Record<string, unknown> => {
  const all = examples.find((e) => e.name === name)?.examples ?? [];
  const found = all.find((p) => action === undefined || p.action === action);
  if (!found) throw new Error(`no ${name} ${action ?? ""} example`);
  return found;
};
const fixture = (f: string) => readFileSync(join(import.meta.dirname, "../../test/fixtures/webhooks", f));
const SECRET = "It's a Secret to Everybody";

describe("verifyWebhook", () => {
  it("accepts GitHub's X-Hub-Signature-256 over the exact bytes, and nothing else", () => {
    const body = Buffer.from(JSON.stringify(github("push")));
    const sig = `sha256=${hmacHex(SECRET, body)}`;
    expect(verifyWebhook({ "x-github-event": "push", "x-hub-signature-256": sig }, body, SECRET)).toEqual({ ok: true, provider: "github", event: "push" });
    const tampered = Buffer.from(body.toString().replace('"ref"', '"ref" '));
    expect(verifyWebhook({ "x-github-event": "push", "x-hub-signature-256": sig }, tampered, SECRET)).toMatchObject({ ok: false, status: 401 });
    expect(verifyWebhook({ "x-github-event": "push", "x-hub-signature-256": sig }, body, "another secret")).toMatchObject({ ok: false, status: 401 });
    expect(verifyWebhook({ "x-github-event": "push" }, body, SECRET)).toMatchObject({ ok: false, status: 401, reason: expect.stringContaining("X-Hub-Signature-256") });
    expect(verifyWebhook({ "x-github-event": "push", "x-hub-signature-256": "sha256=zz" }, body, SECRET)).toMatchObject({ ok: false });
    // The SHA-1 header alone is not enough.
    expect(verifyWebhook({ "x-github-event": "push", "x-hub-signature": `sha1=${createHmac("sha1", SECRET).update(body).digest("hex")}` }, body, SECRET)).toMatchObject({ ok: false });
  });

  it("matches GitHub's documented example signature", () => {
    // From GitHub's "Validating webhook deliveries": secret "It's a Secret to Everybody", payload "Hello, World!".
    expect(hmacHex(SECRET, "Hello, World!")).toBe("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  });

  it("accepts Gitea's and Forgejo's signatures; Forgejo's header wins", () => {
    const body = fixture("gitea-push.json");
    const good = hmacHex(SECRET, body);
    expect(verifyWebhook({ "x-gitea-event": "push", "x-gitea-signature": good }, body, SECRET)).toEqual({ ok: true, provider: "gitea", event: "push" });
    expect(verifyWebhook({ "x-forgejo-event": "push", "x-forgejo-signature": good }, body, SECRET)).toMatchObject({ ok: true, provider: "gitea" });
    expect(verifyWebhook({ "x-forgejo-event": "push", "x-forgejo-signature": "0".repeat(64), "x-gitea-signature": good }, body, SECRET)).toMatchObject({ ok: false });
    expect(verifyWebhook({ "x-gitea-event": "push", "x-gitea-signature": hmacHex("wrong", body) }, body, SECRET)).toMatchObject({ ok: false, status: 401 });
  });

  it("accepts GitLab's signing token (Standard Webhooks) within five minutes, and its secret token", () => {
    const body = fixture("gitlab-push.json");
    const key = Buffer.alloc(32, 7);
    const secret = `whsec_${key.toString("base64")}`;
    const now = 1_800_000_000_000;
    const ts = String(now / 1000);
    const sign = (k: Buffer, id: string, t: string) => `v1,${createHmac("sha256", k).update(`${id}.${t}.`).update(body).digest("base64")}`;
    const headers = { "x-gitlab-event": "Push Hook", "webhook-id": "msg_1", "webhook-timestamp": ts, "webhook-signature": sign(key, "msg_1", ts) };
    expect(verifyWebhook(headers, body, secret, () => now)).toEqual({ ok: true, provider: "gitlab", event: "Push Hook" });
    // Rotated keys: one of several signatures must match.
    expect(verifyWebhook({ ...headers, "webhook-signature": `v1,${Buffer.alloc(32).toString("base64")} ${headers["webhook-signature"]}` }, body, secret, () => now)).toMatchObject({ ok: true });
    expect(verifyWebhook({ ...headers, "webhook-id": "msg_2" }, body, secret, () => now)).toMatchObject({ ok: false, status: 401 });
    expect(verifyWebhook(headers, body, secret, () => now + 301_000)).toMatchObject({ ok: false, reason: expect.stringContaining("5 minutes") });
    expect(verifyWebhook({ "x-gitlab-event": "Push Hook", "x-gitlab-token": SECRET }, body, SECRET)).toMatchObject({ ok: true, provider: "gitlab" });
    expect(verifyWebhook({ "x-gitlab-event": "Push Hook", "x-gitlab-token": "guess" }, body, SECRET)).toMatchObject({ ok: false, status: 401 });
  });

  it("refuses requests from no known provider", () => {
    expect(verifyWebhook({}, Buffer.from("{}"), SECRET)).toMatchObject({ ok: false, status: 400 });
  });
});

describe("parseWebhook", () => {
  it("reads GitHub push, ping and pull_request payloads", () => {
    const push = github("push");
    expect(parseWebhook("github", "push", push)).toEqual({
      kind: "push",
      repository: (push.repository as { full_name: string }).full_name,
      ref: push.ref,
      before: push.before,
      after: push.after,
    });
    expect(parseWebhook("github", "ping", github("ping"))).toEqual({ kind: "ping" });
    const opened = github("pull_request", "opened");
    const pr = opened.pull_request as { number: number; head: { sha: string; ref: string }; base: { ref: string; repo: { full_name: string } } };
    expect(parseWebhook("github", "pull_request", opened)).toMatchObject({
      kind: "pull_request",
      action: "opened",
      number: pr.number,
      headSha: pr.head.sha,
      headRef: pr.head.ref,
      baseRef: pr.base.ref,
      repository: pr.base.repo.full_name,
      headFetchRef: `refs/pull/${pr.number}/head`,
    });
    expect(parseWebhook("github", "pull_request", github("pull_request", "synchronize"))).toMatchObject({ kind: "pull_request", action: "synchronize" });
    expect(parseWebhook("github", "pull_request", github("pull_request", "closed"))).toMatchObject({ kind: "ignored" });
    expect(parseWebhook("github", "issues", github("issues"))).toMatchObject({ kind: "ignored" });
  });

  it("tells a pull request from a fork by its head repository", () => {
    const opened = structuredClone(github("pull_request", "opened"));
    const pr = opened.pull_request as { head: { repo: { full_name: string; fork: boolean } }; base: { repo: { full_name: string } } };
    pr.head.repo.full_name = pr.base.repo.full_name;
    pr.head.repo.fork = false;
    expect(parseWebhook("github", "pull_request", opened)).toMatchObject({ fromFork: false });
    pr.head.repo.full_name = "someone-else/fork";
    pr.head.repo.fork = true;
    expect(parseWebhook("github", "pull_request", opened)).toMatchObject({ fromFork: true });
  });

  it("reads Gitea and GitLab payloads", () => {
    expect(parseWebhook("gitea", "push", JSON.parse(fixture("gitea-push.json").toString()) as unknown)).toEqual({
      kind: "push",
      repository: "gitea/webhooks",
      ref: "refs/heads/develop",
      before: "28e1879d029cb852e4844d9c718537df08844e03",
      after: "bffeb74224043ba2feb48d137756c8a9331c449a",
    });
    expect(parseWebhook("gitlab", "Push Hook", JSON.parse(fixture("gitlab-push.json").toString()) as unknown)).toEqual({
      kind: "push",
      repository: "mike/diaspora",
      ref: "refs/heads/master",
      before: "95790bf891e76fee5e1747ab589903a6a1f80f22",
      after: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    });
    expect(parseWebhook("gitlab", "Merge Request Hook", JSON.parse(fixture("gitlab-merge-request.json").toString()) as unknown)).toEqual({
      kind: "pull_request",
      repository: "gitlabhq/gitlab-test",
      action: "opened",
      number: 1,
      baseRef: "master",
      headRef: "ms-viewport",
      headSha: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      headFetchRef: "refs/merge-requests/1/head",
      fromFork: false,
    });
  });

  it("says which field of a malformed payload is wrong", () => {
    expect(() => parseWebhook("github", "push", { ref: "refs/heads/x" })).toThrow("repository is missing");
    expect(() => parseWebhook("github", "push", [])).toThrow("body is missing or not an object");
  });
});
