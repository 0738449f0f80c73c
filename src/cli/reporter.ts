// Console output of a run. On a terminal: a live view of the job tree with
// state, elapsed time and current step. Elsewhere: plain lines prefixed by
// the job name. With --json: nothing until the final JSON document.
import type { JobResult } from "../engine/index.js";
import type { Annotation } from "../runner/index.js";
import type { RunReporter } from "../scheduler/index.js";
import type { Conclusion } from "../store/index.js";
import type { Workflow } from "../workflow/index.js";
import { paint, type Painter } from "./style.js";

interface JobView {
  name: string;
  state: "queued" | "running" | JobResult;
  startedAt?: number;
  finishedAt?: number;
  step?: string;
  tail: string[];
  reason?: string;
}

export type OutputMode = "plain" | "live" | "json";

export class ConsoleReporter implements RunReporter {
  readonly annotations: Annotation[] = [];
  private readonly jobs = new Map<number, JobView>();
  private timer: NodeJS.Timeout | undefined;
  private drawnLines = 0;
  private readonly p: Painter;

  constructor(
    private readonly mode: OutputMode,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.p = paint(out);
  }

  runStarted(runId: number, workflow: Workflow): void {
    if (this.mode === "json") return;
    this.write(`${this.p.bold(`▶ ${workflow.name}`)} ${this.p.dim(`(run ${runId}, ${workflow.path})`)}\n`);
    if (this.mode === "live" && !this.timer) {
      this.timer = setInterval(() => this.redraw(), 120);
      this.timer.unref();
    }
  }

  job(jobId: number, name: string) {
    const view: JobView = { name, state: "queued", tail: [] };
    this.jobs.set(jobId, view);
    const prefix = this.p.cyan(`[${name}]`);
    return {
      waiting: (reason: string) => {
        view.reason = reason;
        if (this.mode === "plain") this.write(`${prefix} ${this.p.yellow("waiting")} ${this.p.dim(`— ${reason}`)}\n`);
      },
      started: (queued = false) => {
        if (queued) {
          // Waiting for a runner agent: it starts when one leases it (slipway logs shows its steps).
          if (this.mode === "plain") this.write(`${prefix} ${this.p.dim("queued for a runner agent")}\n`);
          return;
        }
        view.state = "running";
        view.startedAt = Date.now();
        if (this.mode === "plain") this.write(`${prefix} ${this.p.dim("started")}\n`);
      },
      stepStarted: (_n: number, stepName: string) => {
        view.step = stepName;
        if (this.mode === "plain") this.write(`${prefix} ${this.p.bold(`⭑ ${stepName}`)}\n`);
      },
      line: (text: string) => {
        view.tail.push(text);
        if (view.tail.length > 30) view.tail.shift();
        if (this.mode === "plain") this.write(`${prefix}   ${text}\n`);
      },
      stepFinished: (_n: number, stepName: string, conclusion: Conclusion) => {
        if (this.mode === "plain") this.write(`${prefix} ${this.icon(conclusion)} ${stepName}\n`);
      },
      annotation: (a: Annotation) => {
        this.annotations.push(a);
      },
      finished: (result: JobResult, reason?: string) => {
        view.state = result;
        view.finishedAt = Date.now();
        if (reason) view.reason = reason;
        if (this.mode === "plain") {
          const why = reason && result !== "success" ? this.p.dim(` — ${reason}`) : "";
          this.write(`${prefix} ${this.icon(result)} ${result}${why}\n`);
        }
      },
    };
  }

  runFinished(_runId: number, _conclusion: JobResult): void {
    // The CLI prints the summary once all runs are done.
  }

  /** Stops the live view and prints failures' last lines and the annotations. */
  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.mode === "json") return;
    if (this.mode === "live") {
      this.redraw();
      for (const v of this.jobs.values()) {
        if (v.state === "failure") {
          this.write(`\n${this.p.red(`✗ ${v.name}`)}${v.reason ? this.p.dim(` — ${v.reason}`) : ""}\n`);
          for (const l of v.tail.slice(-15)) this.write(`  ${l}\n`);
        }
      }
    }
    if (this.annotations.length > 0) {
      this.write(`\n${this.p.bold("Annotations")}\n`);
      for (const a of this.annotations) {
        const where = a.file ? ` ${a.file}${a.line ? `:${a.line}${a.col ? `:${a.col}` : ""}` : ""}` : "";
        const color = a.level === "error" ? this.p.red : a.level === "warning" ? this.p.yellow : this.p.cyan;
        this.write(`  ${color(a.level)} ${this.p.dim(`[${a.job}]`)}${where} ${a.title ? `${a.title}: ` : ""}${a.message}\n`);
      }
    }
  }

  private icon(state: string): string {
    switch (state) {
      case "success":
        return this.p.green("✓");
      case "failure":
        return this.p.red("✗");
      case "cancelled":
        return this.p.yellow("⊘");
      case "skipped":
        return this.p.dim("↷");
      case "running":
        return this.p.cyan("●");
      default:
        return this.p.dim("○");
    }
  }

  private redraw(): void {
    const lines: string[] = [];
    const now = Date.now();
    for (const v of this.jobs.values()) {
      const elapsed = v.startedAt ? `${(((v.finishedAt ?? now) - v.startedAt) / 1000).toFixed(1)}s` : "";
      // Truncate the plain text, never the colour codes, so a line fits the terminal.
      const room = Math.max(0, (this.out.columns || 100) - v.name.length - elapsed.length - 9);
      const stepText = v.state === "running" && v.step ? ` › ${v.step.split("\n")[0]}` : "";
      const step = stepText ? this.p.dim(stepText.length > room ? `${stepText.slice(0, Math.max(0, room - 1))}…` : stepText) : "";
      lines.push(`  ${this.icon(v.state)} ${v.name} ${this.p.dim(elapsed)}${step}`);
    }
    let s = "";
    if (this.drawnLines > 0) s += `\x1b[${this.drawnLines}F\x1b[J`;
    s += lines.join("\n") + "\n";
    this.drawnLines = lines.length;
    this.out.write(s);
  }

  private write(text: string): void {
    if (this.mode === "live" && this.drawnLines > 0) {
      this.out.write(`\x1b[${this.drawnLines}F\x1b[J`);
      this.drawnLines = 0;
    }
    this.out.write(text);
  }
}
