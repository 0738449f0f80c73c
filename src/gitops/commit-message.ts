// Commit messages of the state repository: a subject, the reason, then
// trailers (git-interpret-trailers style). Pure.

export type Action = "promote" | "rollback";

export interface CommitMessageInput {
  subject: string;
  reason: string;
  trailers: ReadonlyArray<readonly [string, string]>;
}

export interface ParsedCommitMessage {
  subject: string;
  /** The paragraphs between the subject and the trailers ("" when there are none). */
  body: string;
  trailers: Array<[string, string]>;
}

export function formatCommitMessage(input: CommitMessageInput): string {
  const trailers = input.trailers.map(([k, v]) => `${k}: ${v}`).join("\n");
  return `${input.subject}\n\n${input.reason.trim()}\n${trailers ? `\n${trailers}\n` : ""}`;
}

const TRAILER = /^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]*(.*)$/;

export function parseCommitMessage(message: string): ParsedCommitMessage {
  const text = message.replace(/\r\n/g, "\n").trim();
  const newline = text.indexOf("\n");
  const subject = (newline < 0 ? text : text.slice(0, newline)).trim();
  const rest = newline < 0 ? "" : text.slice(newline + 1).trim();
  const paragraphs = rest === "" ? [] : rest.split(/\n[ \t]*\n/);
  const last = paragraphs[paragraphs.length - 1];
  let trailers: Array<[string, string]> = [];
  if (last !== undefined) {
    const lines = last.split("\n");
    const matched = lines.map((l) => TRAILER.exec(l));
    if (matched.every((m) => m !== null)) {
      trailers = matched.map((m) => [m?.[1] ?? "", (m?.[2] ?? "").trim()]);
      paragraphs.pop();
    }
  }
  return { subject, body: paragraphs.join("\n\n").trim(), trailers };
}

export function trailerValues(parsed: ParsedCommitMessage, key: string): string[] {
  const k = key.toLowerCase();
  return parsed.trailers.filter(([name]) => name.toLowerCase() === k).map(([, v]) => v);
}

/** One line of the subject or reason: no control characters (a newline would break the message's shape). */
export function oneLine(value: string): string {
  return value.replace(/[\r\n\t]+/g, " ").trim();
}
