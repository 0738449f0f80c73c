// `slipway change create|list|show|approve|merge|close`: change requests on
// a Slipway server's hosted repository, through its API. The server is
// --server (or $SLIPWAY_SERVER), the token --token (or $SLIPWAY_TOKEN), the
// repository --repo OWNER/NAME (default: from the checkout's origin URL).
import { parseRemoteUrl, tryGit } from "../git/index.js";
import { EXIT, UsageError, workDir, type GlobalOptions } from "./common.js";
import { paint } from "./style.js";

export interface ChangeOptions extends GlobalOptions {
  server?: string;
  token?: string;
  repo?: string;
  source?: string;
  target?: string;
  title?: string;
  json?: boolean;
}

interface Change {
  number: number;
  title: string;
  source: string;
  target: string;
  author: string;
  state: string;
  mergeSha: string | null;
  mergeable: boolean;
  reasons: string[];
  approvals: string[];
  requiredApprovals: number;
  checks: Array<{ name: string; state: string; detail: string }>;
}

export async function changeCommand(action: string, numberArg: string | undefined, opts: ChangeOptions): Promise<number> {
  const server = (opts.server ?? process.env.SLIPWAY_SERVER ?? "").replace(/\/+$/, "");
  const token = opts.token ?? process.env.SLIPWAY_TOKEN ?? "";
  if (!/^https?:\/\//.test(server)) throw new UsageError("give the server as --server http://HOST:PORT (or $SLIPWAY_SERVER)");
  if (!token) throw new UsageError("give an API token as --token (or $SLIPWAY_TOKEN); `slipway tokens create` makes one");
  const dir = workDir(opts);
  let repo = opts.repo;
  if (!repo) {
    const origin = await tryGit(dir, ["remote", "get-url", "origin"]);
    const parsed = origin ? parseRemoteUrl(origin) : undefined;
    if (!parsed) throw new UsageError("give the repository as --repo OWNER/NAME (the checkout has no origin remote to take it from)");
    repo = `${parsed.owner}/${parsed.name}`;
  }
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(`${server}/api/repos/${repo}/changes${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new UsageError(`cannot reach ${server}: ${(err as Error).message}`);
    }
    const data = (await res.json().catch(() => ({}))) as { error?: string };
    if (!res.ok) {
      process.stderr.write(`slipway: ${data.error ?? `HTTP ${res.status}`}\n`);
      throw new ExitWith(res.status === 409 || res.status === 403 ? EXIT.failed : EXIT.usage);
    }
    return data;
  };
  const number = () => {
    const n = Number(numberArg);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`slipway change ${action} needs a change request number, got '${numberArg ?? ""}'`);
    return n;
  };
  const p = paint(process.stdout);
  const print = (c: Change) => {
    const state = c.state === "open" ? (c.mergeable ? p.green("mergeable") : p.yellow("open")) : c.state;
    process.stdout.write(`#${c.number} ${c.title} ${p.dim(`${c.source} → ${c.target} by ${c.author}`)} ${state}\n`);
    for (const k of c.checks) process.stdout.write(`  ${k.state === "success" ? p.green("✓") : k.state === "failure" ? p.red("✗") : p.yellow("•")} ${k.name} ${p.dim(k.detail)}\n`);
    process.stdout.write(`  approvals: ${c.approvals.length}/${c.requiredApprovals}${c.approvals.length ? ` (${c.approvals.join(", ")})` : ""}\n`);
    for (const r of c.state === "open" ? c.reasons : []) process.stdout.write(`  ${p.dim(`not yet: ${r}`)}\n`);
  };
  const out = (data: unknown, text: () => void) => {
    if (opts.json) process.stdout.write(JSON.stringify(data, null, 2) + "\n");
    else text();
    return EXIT.ok;
  };
  try {
    switch (action) {
      case "create": {
        const source = opts.source ?? (await tryGit(dir, ["symbolic-ref", "--short", "HEAD"]))?.trim();
        if (!source) throw new UsageError("give the branch with the changes as --source (HEAD is detached)");
        const c = (await call("POST", "", { source, target: opts.target ?? "main", title: opts.title ?? source })) as Change;
        return out(c, () => print(c));
      }
      case "list": {
        const { changes } = (await call("GET", "")) as { changes: Change[] };
        return out({ changes }, () => (changes.length === 0 ? process.stdout.write(`no change requests in ${repo}\n`) : changes.forEach(print)));
      }
      case "show": {
        const c = (await call("GET", `/${number()}`)) as Change;
        return out(c, () => print(c));
      }
      case "approve": {
        const r = (await call("POST", `/${number()}/approvals`)) as { approvals: string[] };
        return out(r, () => process.stdout.write(`${p.green("✓")} approved #${numberArg}; approvals: ${r.approvals.join(", ")}\n`));
      }
      case "merge": {
        const c = (await call("POST", `/${number()}/merge`)) as Change & { mergeSha: string };
        return out(c, () => process.stdout.write(`${p.green("✓")} merged #${c.number} into ${c.target} at ${c.mergeSha.slice(0, 12)}\n`));
      }
      default: {
        const c = (await call("POST", `/${number()}/close`)) as Change;
        return out(c, () => process.stdout.write(`closed #${c.number}\n`));
      }
    }
  } catch (err) {
    if (err instanceof ExitWith) return err.code;
    throw err;
  }
}

/** The server said no (already printed): exit with this code. */
class ExitWith extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
