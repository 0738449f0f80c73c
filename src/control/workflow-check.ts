// The `workflow` check of slipway.yml, as `slipway up` runs it: the workflow
// file is run by this same Slipway (`slipway run workflow_dispatch -W FILE`)
// in a child process, with the environment's URL in its jobs' environment
// (SLIPWAY_ENVIRONMENT_URL, SLIPWAY_ENVIRONMENT, SLIPWAY_RELEASE). The check
// passes when the run succeeds. The workflow needs a `workflow_dispatch`
// trigger; the check's `inputs` are its inputs.
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { RunWorkflow } from "../delivery/index.js";

export function workflowCheckRunner(repoDir: string, dataDir: string, cli = process.argv[1] ?? ""): RunWorkflow {
  return (workflow, inputs, env, signal) =>
    new Promise((resolve) => {
      const args = [cli, "run", "workflow_dispatch", "-W", join(".github", "workflows", workflow), "-C", repoDir, "--data-dir", dataDir, "--json"];
      for (const [k, v] of Object.entries(inputs)) args.push("--input", `${k}=${v}`);
      const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], ...(signal ? { signal } : {}) });
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      child.on("error", (e) => resolve({ ok: false, reason: `could not run ${workflow}: ${e.message}` }));
      child.on("close", (code) => {
        let result: { runs?: Array<{ id: number; conclusion: string; reason: string | null }>; skipped?: Array<{ reason: string }> } = {};
        try {
          result = JSON.parse(out) as typeof result;
        } catch {
          resolve({ ok: false, reason: `slipway run ${workflow} exited with ${code}: ${(err.trim() || out.trim()).split("\n").slice(-3).join(" ")}` });
          return;
        }
        const run = result.runs?.[0];
        if (!run) {
          const why = result.skipped?.[0]?.reason ?? "it did not run";
          resolve({ ok: false, reason: `${workflow} did not run for workflow_dispatch (${why}); give it an \`on: workflow_dispatch\` trigger` });
          return;
        }
        const ok = run.conclusion === "success";
        resolve({ ok, runId: run.id, reason: `${ok ? "succeeded" : `ended in ${run.conclusion}${run.reason ? `: ${run.reason}` : ""}`} (\`slipway logs ${run.id}\`)` });
      });
    });
}
