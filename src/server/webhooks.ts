// Webhooks from GitHub, Gitea/Forgejo and GitLab: which provider sent a
// request, whether its signature holds over the exact bytes received, and
// what it asks for (a push, or a pull/merge request opened or updated).
//
// - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
// - Gitea / Forgejo: `X-Gitea-Signature` / `X-Forgejo-Signature`: the bare hex
//   HMAC-SHA256 of the body.
// - GitLab: `webhook-signature: v1,<base64>` (Standard Webhooks, GitLab's
//   signing token): HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>`
//   keyed with the token (`whsec_<base64>` is decoded), the timestamp within 5
//   minutes; or, from GitLab versions without signing, `X-Gitlab-Token`
//   equal to the secret (a shared secret sent in clear, which TLS must guard).
//
// Every comparison is constant-time; nothing is parsed before it passes.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export type Provider = "github" | "gitea" | "gitlab";

export type Verification = { ok: true; provider: Provider; event: string } | { ok: false; status: 400 | 401; reason: string };

/** How far a GitLab `webhook-timestamp` may be from now. */
const TOLERANCE_S = 300;

export function verifyWebhook(headers: IncomingHttpHeaders, body: Buffer, secret: string, now: () => number = Date.now): Verification {
  const h = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  if (h("x-github-event")) {
    const sig = h("x-hub-signature-256");
    if (!sig) return { ok: false, status: 401, reason: "GitHub webhook without X-Hub-Signature-256: set the webhook's secret on GitHub" };
    const m = /^sha256=([0-9a-f]{64})$/i.exec(sig);
    if (!m || !equalHex(m[1] as string, hmacHex(secret, body))) return { ok: false, status: 401, reason: "X-Hub-Signature-256 does not match the body: the webhook's secret differs from the repository's" };
    return { ok: true, provider: "github", event: h("x-github-event") as string };
  }
  const giteaEvent = h("x-forgejo-event") ?? h("x-gitea-event");
  if (giteaEvent) {
    // When Forgejo's own header is there it is the one checked.
    const sig = h("x-forgejo-signature") ?? h("x-gitea-signature");
    if (!sig) return { ok: false, status: 401, reason: "Gitea/Forgejo webhook without X-Gitea-Signature: set the webhook's secret" };
    if (!/^[0-9a-f]{64}$/i.test(sig) || !equalHex(sig, hmacHex(secret, body))) return { ok: false, status: 401, reason: "X-Gitea-Signature does not match the body: the webhook's secret differs from the repository's" };
    return { ok: true, provider: "gitea", event: giteaEvent };
  }
  const gitlabEvent = h("x-gitlab-event");
  if (gitlabEvent) {
    const signature = h("webhook-signature");
    if (signature) {
      const id = h("webhook-id");
      const ts = h("webhook-timestamp");
      if (!id || !ts || !/^\d+$/.test(ts)) return { ok: false, status: 401, reason: "GitLab webhook-signature without webhook-id and webhook-timestamp" };
      if (Math.abs(now() / 1000 - Number(ts)) > TOLERANCE_S) return { ok: false, status: 401, reason: "GitLab webhook-timestamp is more than 5 minutes from now (a replay, or a clock off)" };
      const key = secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");
      const expected = createHmac("sha256", key).update(`${id}.${ts}.`).update(body).digest();
      // Several space-separated signatures may be sent (key rotation); one must match.
      const good = signature.split(" ").some((s) => {
        const [version, value] = s.split(",");
        if (version !== "v1" || !value) return false;
        const got = Buffer.from(value, "base64");
        return got.length === expected.length && timingSafeEqual(got, expected);
      });
      if (!good) return { ok: false, status: 401, reason: "GitLab webhook-signature does not match: the signing token differs from the repository's webhook secret" };
      return { ok: true, provider: "gitlab", event: gitlabEvent };
    }
    const token = h("x-gitlab-token");
    if (!token) return { ok: false, status: 401, reason: "GitLab webhook without a signing token or X-Gitlab-Token: set the webhook's secret" };
    const a = Buffer.from(token);
    const b = Buffer.from(secret);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, status: 401, reason: "X-Gitlab-Token is not the repository's webhook secret" };
    return { ok: true, provider: "gitlab", event: gitlabEvent };
  }
  return { ok: false, status: 400, reason: "not a webhook Slipway knows: expected X-GitHub-Event, X-Gitea-Event, X-Forgejo-Event or X-Gitlab-Event" };
}

export function hmacHex(secret: string, body: Buffer | string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase(), "hex");
  const y = Buffer.from(b.toLowerCase(), "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export type WebhookEvent =
  | { kind: "push"; repository: string; ref: string; before: string; after: string }
  | {
      kind: "pull_request";
      repository: string;
      action: string;
      number: number;
      baseRef: string;
      headRef: string;
      headSha: string;
      /** The ref the head commit can be fetched from on the provider (refs/pull/N/head, refs/merge-requests/N/head). */
      headFetchRef: string;
      /** The head lives in another repository (a fork): its run gets no secrets. */
      fromFork: boolean;
    }
  | { kind: "ping" }
  | { kind: "ignored"; reason: string };

const ZERO = "0".repeat(40);

/** What a verified webhook asks for. Malformed payloads throw an Error saying which field. */
export function parseWebhook(provider: Provider, event: string, payload: unknown): WebhookEvent {
  const p = obj(payload, "body");
  if (provider === "gitlab") return parseGitlab(event, p);
  // GitHub and Gitea/Forgejo send the same shapes for these events.
  if (event === "ping") return { kind: "ping" };
  if (event === "push") {
    const repo = obj(p.repository, "repository");
    return { kind: "push", repository: str(repo.full_name, "repository.full_name"), ref: str(p.ref, "ref"), before: str(p.before, "before"), after: str(p.after, "after") };
  }
  if (event === "pull_request") {
    const action = str(p.action, "action");
    if (!["opened", "synchronize", "synchronized", "reopened", "edited"].includes(action)) return { kind: "ignored", reason: `pull_request '${action}' starts no run (opened, synchronize and reopened do)` };
    if (action === "edited") return { kind: "ignored", reason: "pull_request 'edited' starts no run: GitHub's default activity types are opened, synchronize and reopened" };
    const pr = obj(p.pull_request, "pull_request");
    const head = obj(pr.head, "pull_request.head");
    const base = obj(pr.base, "pull_request.base");
    const number = typeof p.number === "number" ? p.number : num(pr.number, "pull_request.number");
    const headRepo = head.repo && typeof head.repo === "object" ? (head.repo as Record<string, unknown>) : undefined;
    const baseRepo = obj(base.repo, "pull_request.base.repo");
    const fromFork = headRepo === undefined || headRepo.full_name !== baseRepo.full_name || headRepo.fork === true;
    return {
      kind: "pull_request",
      repository: str(baseRepo.full_name, "pull_request.base.repo.full_name"),
      action: action === "synchronized" ? "synchronize" : action,
      number,
      baseRef: str(base.ref, "pull_request.base.ref"),
      headRef: str(head.ref, "pull_request.head.ref"),
      headSha: str(head.sha, "pull_request.head.sha"),
      headFetchRef: `refs/pull/${number}/head`,
      fromFork,
    };
  }
  return { kind: "ignored", reason: `'${event}' events start no run (push and pull_request do)` };
}

function parseGitlab(event: string, p: Record<string, unknown>): WebhookEvent {
  const kind = p.object_kind;
  if (kind === "push" || kind === "tag_push") {
    const project = obj(p.project, "project");
    return { kind: "push", repository: str(project.path_with_namespace, "project.path_with_namespace"), ref: str(p.ref, "ref"), before: str(p.before, "before"), after: typeof p.after === "string" ? p.after : ZERO };
  }
  if (kind === "merge_request") {
    const a = obj(p.object_attributes, "object_attributes");
    const action = typeof a.action === "string" ? a.action : "open";
    if (!["open", "reopen", "update"].includes(action)) return { kind: "ignored", reason: `merge request '${action}' starts no run (open, update and reopen do)` };
    if (action === "update" && !a.oldrev) return { kind: "ignored", reason: "merge request update without new commits starts no run" };
    const lastCommit = obj(a.last_commit, "object_attributes.last_commit");
    const iid = num(a.iid, "object_attributes.iid");
    return {
      kind: "pull_request",
      repository: str(obj(p.project, "project").path_with_namespace, "project.path_with_namespace"),
      action: action === "open" ? "opened" : action === "reopen" ? "reopened" : "synchronize",
      number: iid,
      baseRef: str(a.target_branch, "object_attributes.target_branch"),
      headRef: str(a.source_branch, "object_attributes.source_branch"),
      headSha: str(lastCommit.id, "object_attributes.last_commit.id"),
      headFetchRef: `refs/merge-requests/${iid}/head`,
      fromFork: a.source_project_id !== a.target_project_id,
    };
  }
  return { kind: "ignored", reason: `GitLab '${event}' starts no run (Push Hook, Tag Push Hook and Merge Request Hook do)` };
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error(`${field} is missing or not an object`);
  return v as Record<string, unknown>;
}

function str(v: unknown, field: string): string {
  if (typeof v !== "string" || v === "") throw new Error(`${field} is missing or not a string`);
  return v;
}

function num(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new Error(`${field} is missing or not a number`);
  return v;
}
