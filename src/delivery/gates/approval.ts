// The manual-approval gate: a release waits for `required` distinct people
// whose approvals count (named in `from`, directly or by group; anyone when
// `from` is empty). One rejection from such a person rejects it; with
// prevent_self_review the person who made the release cannot approve it; with
// no answer within `timeout` it expires. Pure: the caller gives the decisions
// and the clock.
import { formatDuration } from "../duration.js";
import type { Approval } from "../model.js";

export interface ApprovalDecision {
  /** Who decided (`slipway approve --as`, $SLIPWAY_ACTOR, or the login name). */
  by: string;
  /** The groups they decided as a member of (`--group`, $SLIPWAY_GROUPS). */
  groups: string[];
  decision: "approve" | "reject";
  /** ISO 8601 time of the decision. */
  at: string;
  comment?: string;
}

export interface ApprovalInput {
  /** Who made or promoted the release: with prevent_self_review their approval does not count. */
  author?: string;
  decisions: ApprovalDecision[];
  now: Date;
  /** When the release started waiting for this gate; it expires `timeout` later. */
  requestedAt: Date;
}

export type ApprovalState = "approved" | "pending" | "rejected" | "expired";

export interface ApprovalVerdict {
  state: ApprovalState;
  /** The people whose approvals counted, in the order they approved. */
  counted: string[];
  /** In words: who approved, who is still needed, who rejected and why, whose decision did not count. */
  reason: string;
  /** The people who rejected (state `rejected`). */
  rejectedBy: string[];
  /** Decisions that did not count, each with why. */
  ignored: { by: string; why: string }[];
  /** When a pending approval expires. */
  expiresAt: Date;
}

const key = (name: string) => name.trim().toLowerCase();

/** `alice`, `alice and bob`, `alice, bob or carol`. */
function list(names: string[], last: "and" | "or"): string {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} ${last} ${names[names.length - 1]}`;
}

/**
 * Whether the decision's author may decide: anyone when `from` is empty,
 * else a person named in `from` or a member of a group named there. Names
 * and groups compare without regard to case, as logins do.
 */
function eligible(spec: Approval, d: ApprovalDecision): boolean {
  if (spec.from.length === 0) return true;
  const allowed = new Set(spec.from.map(key));
  return allowed.has(key(d.by)) || d.groups.some((g) => allowed.has(key(g)));
}

export function evaluateApproval(spec: Approval, input: ApprovalInput): ApprovalVerdict {
  const deadline = input.requestedAt.getTime() + spec.timeout;
  const expiresAt = new Date(deadline);
  const ignored: { by: string; why: string }[] = [];

  // Each person's last decision made before the deadline counts; the order is by time, then as given.
  const timed: { d: ApprovalDecision; i: number; t: number }[] = [];
  input.decisions.forEach((d, i) => {
    const t = Date.parse(d.at);
    if (Number.isNaN(t)) ignored.push({ by: d.by, why: `its time '${d.at}' is not a date` });
    else timed.push({ d, i, t });
  });
  const latest = new Map<string, { d: ApprovalDecision; t: number }>();
  for (const { d, t } of timed.sort((a, b) => a.t - b.t || a.i - b.i)) {
    if (t > deadline) {
      ignored.push({ by: d.by, why: `decided after the approval expired at ${expiresAt.toISOString()}` });
      continue;
    }
    const k = key(d.by);
    latest.delete(k); // re-inserted, so the map keeps the order of last decisions
    latest.set(k, { d, t });
  }

  const counted: string[] = [];
  const rejections: ApprovalDecision[] = [];
  const fromText = list(spec.from, "or");
  for (const { d } of latest.values()) {
    if (!eligible(spec, d)) {
      ignored.push({ by: d.by, why: `${d.groups.length > 0 ? `neither ${d.by} nor their groups (${d.groups.join(", ")}) are` : `${d.by} is not`} in ${fromText}` });
      continue;
    }
    if (d.decision === "reject") {
      rejections.push(d);
      continue;
    }
    if (spec.preventSelfReview && input.author !== undefined && key(input.author) === key(d.by)) {
      ignored.push({ by: d.by, why: `${d.by} made the release and prevent_self_review is on` });
      continue;
    }
    counted.push(d.by);
  }

  const noun = spec.required === 1 ? "approval" : "approvals";
  const tally = `${counted.length} of ${spec.required} ${noun}${counted.length > 0 ? ` (${counted.join(", ")})` : ""}`;
  const notes = ignored.length > 0 ? `; not counted: ${ignored.map((x) => `${x.by} (${x.why})`).join(", ")}` : "";
  const base = { counted, ignored, expiresAt, rejectedBy: rejections.map((r) => r.by) };

  if (rejections.length > 0) {
    const who = rejections.map((r) => `${r.by}${r.comment ? ` ("${r.comment}")` : ""}`);
    return { ...base, state: "rejected", reason: `rejected by ${list(who, "and")}` };
  }
  if (counted.length >= spec.required) return { ...base, state: "approved", reason: `${tally}${notes}` };
  const missing = spec.required - counted.length;
  if (input.now.getTime() >= deadline) {
    return { ...base, state: "expired", reason: `expired after ${formatDuration(spec.timeout)} (waiting since ${input.requestedAt.toISOString()}) with ${tally}${notes}` };
  }
  const waiting = spec.from.length > 0 ? `waiting for ${missing} more from ${fromText}` : `waiting for ${missing} more ${missing === 1 ? "approval" : "approvals"}`;
  const selfNote = spec.preventSelfReview && input.author !== undefined ? ` other than ${input.author}` : "";
  return { ...base, state: "pending", reason: `${tally}; ${waiting}${selfNote}${notes}` };
}
