// A job's log and step records, streamed from the agent to the server in
// numbered chunks: each chunk is sent until the server acknowledges it
// (retries with backoff; the server keeps the first copy of a number and
// drops later ones), one at a time and in order, so the server applies the
// events as they happened.
import type { JobReporter, JobRunInput } from "../runner/index.js";
import type { StepRecord } from "../store/index.js";
import type { AgentClient } from "./client.js";

/** One event of a job's log (the agent routes' schema). */
export type LogEvent =
  | { type: "step-start"; number: number; name: string }
  | { type: "line"; step: number; text: string }
  | { type: "step-end"; number: number; outcome: StepRecord["conclusion"] & string; conclusion: StepRecord["conclusion"] & string };

/** The most bytes of lines in one chunk (the server takes bodies up to 1 MiB). */
const CHUNK_BYTES = 256 * 1024;
/** The longest line kept whole. */
const MAX_LINE = 64 * 1024;

export class LogStream {
  private readonly events: LogEvent[] = [];
  private seq = 0;
  private step = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  /** Set when the server says the lease is no longer ours: nothing more is sent. */
  lost: string | undefined;

  constructor(
    private readonly client: AgentClient,
    private readonly job: { id: number; attempt: number; agent: string },
    /** Stops retries (the agent is stopping hard). */
    private readonly signal: AbortSignal,
    private readonly onLost: (why: string) => void,
    /** A chunk the server refused (400) or kept failing on (5xx): dropped, so the job can go on. */
    private readonly onDropped: (why: string) => void,
    private readonly flushMs = 200,
  ) {
    this.timer = setInterval(() => void this.flush(false), flushMs);
  }

  /** The step records runJob makes, as events (createStep/finishStep of the Store). */
  readonly steps: JobRunInput["store"] = {
    createStep: (_jobId, number, name) => {
      this.step = number;
      this.push({ type: "step-start", number, name });
      // The step's number is its id: finishStep sends it back as the step-end's number.
      return { id: number };
    },
    finishStep: (id, outcome, conclusion) => {
      this.push({ type: "step-end", number: id, outcome, conclusion });
      if (this.step === id) this.step = 0;
    },
  };

  /** What runJob reports: its lines (already masked) go to the current step. */
  readonly reporter: JobReporter = {
    stepStarted: () => undefined,
    line: (text) => this.push({ type: "line", step: this.step, text: text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}… (line cut at ${MAX_LINE} characters)` : text }),
    stepFinished: () => undefined,
    annotation: () => undefined,
  };

  /** A line of the agent's own (setup errors), in the current step or the job's log. */
  line(text: string): void {
    this.reporter.line(text);
  }

  private push(e: LogEvent): void {
    if (this.lost) return;
    this.events.push(e);
    if (this.events.length >= 2000) void this.flush(false);
  }

  /** Sends what is buffered; with `all`, until nothing is left (or the lease is lost). */
  async flush(all: boolean): Promise<void> {
    do {
      while (this.sending) await this.sending;
      if (this.events.length === 0 || this.lost) return;
      this.sending = this.sendOne().finally(() => (this.sending = undefined));
      await this.sending;
    } while (all && !this.signal.aborted);
  }

  private async sendOne(): Promise<void> {
    let bytes = 0;
    let n = 0;
    while (n < this.events.length && n < 5000) {
      const e = this.events[n] as LogEvent;
      bytes += e.type === "line" ? e.text.length + 32 : 64;
      if (n > 0 && bytes > CHUNK_BYTES) break;
      n++;
    }
    const events = this.events.slice(0, n);
    const seq = this.seq;
    const answer = await this.client.postRetry(
      `/api/agents/jobs/${this.job.id}/logs`,
      { name: this.job.agent, attempt: this.job.attempt, seq, events },
      { signal: this.signal, what: `log chunk ${seq} of job ${this.job.id}`, max5xx: 8 },
    );
    if (!answer) return; // stopping hard
    if (answer.status === 200) {
      this.events.splice(0, n);
      this.seq++;
      return;
    }
    // 409/404: the lease is gone; 400: a chunk the server refuses would be refused forever.
    const why = `log chunk ${seq}: HTTP ${answer.status}: ${String(answer.json.error ?? "")}`;
    if (answer.status === 400 || answer.status >= 500) {
      this.onDropped(why);
      this.events.splice(0, n);
      this.seq++;
      return;
    }
    this.lost = why;
    this.events.length = 0;
    this.onLost(why);
  }

  /** Sends everything left and stops the timer. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush(true);
  }
}
