// Structured logs: one JSON object per line on standard output, with `time`,
// `level` and `msg` first, as log collectors (Loki, Elasticsearch, jq) expect.
// Tokens and secrets are never passed to it.
export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(write: (line: string) => void = (l) => process.stdout.write(l), now: () => Date = () => new Date()): Logger {
  const emit = (level: Level, msg: string, fields: Record<string, unknown> = {}) => write(JSON.stringify({ time: now().toISOString(), level, msg, ...fields }) + "\n");
  return {
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}
