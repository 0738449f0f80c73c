// Approval gate: counting of approvals from people and groups, self-review, rejection and expiry.
import { describe, expect, it } from "vitest";
import type { Approval } from "../model.js";
import { evaluateApproval, type ApprovalDecision } from "./approval.js";

const DAY = 86_400_000;
const requestedAt = new Date("2026-06-01T10:00:00Z");
const now = new Date("2026-06-01T12:00:00Z");

function spec(over: Partial<Approval> = {}): Approval {
  return { required: 1, from: [], preventSelfReview: false, timeout: 30 * DAY, ...over };
}

function approve(by: string, groups: string[] = [], at = "2026-06-01T11:00:00Z", comment?: string): ApprovalDecision {
  return { by, groups, decision: "approve", at, ...(comment ? { comment } : {}) };
}

function reject(by: string, groups: string[] = [], at = "2026-06-01T11:30:00Z", comment?: string): ApprovalDecision {
  return { by, groups, decision: "reject", at, ...(comment ? { comment } : {}) };
}

describe("evaluateApproval", () => {
  it("waits for the first approval, then approves", () => {
    const waiting = evaluateApproval(spec(), { decisions: [], now, requestedAt });
    expect(waiting).toMatchObject({ state: "pending", counted: [], reason: "0 of 1 approval; waiting for 1 more approval" });
    const done = evaluateApproval(spec(), { decisions: [approve("alice")], now, requestedAt });
    expect(done).toMatchObject({ state: "approved", counted: ["alice"], reason: "1 of 1 approval (alice)" });
  });

  it("counts members of a named group and names who is still needed", () => {
    const s = spec({ required: 2, from: ["release-managers"] });
    const one = evaluateApproval(s, { decisions: [approve("alice", ["release-managers"])], now, requestedAt });
    expect(one.state).toBe("pending");
    expect(one.reason).toBe("1 of 2 approvals (alice); waiting for 1 more from release-managers");
    const two = evaluateApproval(s, { decisions: [approve("alice", ["release-managers"]), approve("bob", ["Release-Managers"], "2026-06-01T11:10:00Z")], now, requestedAt });
    expect(two).toMatchObject({ state: "approved", counted: ["alice", "bob"], reason: "2 of 2 approvals (alice, bob)" });
  });

  it("counts people named in `from` directly, and not others", () => {
    const s = spec({ required: 2, from: ["alice", "ops"] });
    const v = evaluateApproval(s, { decisions: [approve("alice"), approve("bob", ["dev"]), approve("carol")], now, requestedAt });
    expect(v.state).toBe("pending");
    expect(v.counted).toEqual(["alice"]);
    expect(v.reason).toBe(
      "1 of 2 approvals (alice); waiting for 1 more from alice or ops; not counted: bob (neither bob nor their groups (dev) are in alice or ops), carol (carol is not in alice or ops)",
    );
    expect(v.ignored.map((i) => i.by)).toEqual(["bob", "carol"]);
  });

  it("counts distinct people: the same person twice (in any case) is one approval", () => {
    const v = evaluateApproval(spec({ required: 2 }), { decisions: [approve("alice"), approve("Alice", [], "2026-06-01T11:05:00Z")], now, requestedAt });
    expect(v.state).toBe("pending");
    expect(v.counted).toEqual(["Alice"]);
  });

  it("takes each person's last decision", () => {
    const changedMind = evaluateApproval(spec(), { decisions: [approve("alice", [], "2026-06-01T11:00:00Z"), reject("alice", [], "2026-06-01T11:20:00Z", "found a bug")], now, requestedAt });
    expect(changedMind).toMatchObject({ state: "rejected", reason: 'rejected by alice ("found a bug")', rejectedBy: ["alice"] });
    // Given out of order: time decides, not the order of the list.
    const reconsidered = evaluateApproval(spec(), { decisions: [approve("alice", [], "2026-06-01T11:40:00Z"), reject("alice", [], "2026-06-01T11:20:00Z")], now, requestedAt });
    expect(reconsidered.state).toBe("approved");
  });

  it("with prevent_self_review, does not count the author's approval", () => {
    const s = spec({ preventSelfReview: true });
    const v = evaluateApproval(s, { author: "carol", decisions: [approve("carol")], now, requestedAt });
    expect(v.state).toBe("pending");
    expect(v.counted).toEqual([]);
    expect(v.reason).toBe("0 of 1 approval; waiting for 1 more approval other than carol; not counted: carol (carol made the release and prevent_self_review is on)");
    expect(evaluateApproval(s, { author: "CAROL", decisions: [approve("carol")], now, requestedAt }).state).toBe("pending");
    expect(evaluateApproval(s, { author: "carol", decisions: [approve("carol"), approve("dave")], now, requestedAt })).toMatchObject({ state: "approved", counted: ["dave"] });
    // Without it, the author may approve.
    expect(evaluateApproval(spec(), { author: "carol", decisions: [approve("carol")], now, requestedAt }).state).toBe("approved");
  });

  it("rejects on one rejection from a person who may decide, even after enough approvals", () => {
    const s = spec({ required: 1, from: ["release-managers"] });
    const v = evaluateApproval(s, { decisions: [approve("alice", ["release-managers"]), reject("bob", ["release-managers"], undefined, "not on a Friday")], now, requestedAt });
    expect(v).toMatchObject({ state: "rejected", counted: ["alice"], reason: 'rejected by bob ("not on a Friday")' });
    const two = evaluateApproval(spec(), { decisions: [reject("bob"), reject("carol", [], "2026-06-01T11:40:00Z")], now, requestedAt });
    expect(two.reason).toBe("rejected by bob and carol");
  });

  it("ignores a rejection from someone who may not decide", () => {
    const s = spec({ from: ["release-managers"] });
    const v = evaluateApproval(s, { decisions: [reject("mallory", ["interns"]), approve("alice", ["release-managers"])], now, requestedAt });
    expect(v.state).toBe("approved");
    expect(v.reason).toContain("not counted: mallory (neither mallory nor their groups (interns) are in release-managers)");
  });

  it("lets the author reject their own release under prevent_self_review", () => {
    const v = evaluateApproval(spec({ preventSelfReview: true }), { author: "carol", decisions: [reject("carol", [], undefined, "wrong build")], now, requestedAt });
    expect(v.state).toBe("rejected");
  });

  it("expires when the timeout passes without enough approvals", () => {
    const s = spec({ required: 2, timeout: DAY });
    const late = new Date(requestedAt.getTime() + DAY);
    const v = evaluateApproval(s, { decisions: [approve("alice")], now: late, requestedAt });
    expect(v.state).toBe("expired");
    expect(v.reason).toBe("expired after 1d (waiting since 2026-06-01T10:00:00.000Z) with 1 of 2 approvals (alice)");
    expect(v.expiresAt.toISOString()).toBe("2026-06-02T10:00:00.000Z");
    // Still pending a minute before.
    expect(evaluateApproval(s, { decisions: [approve("alice")], now: new Date(late.getTime() - 60_000), requestedAt }).state).toBe("pending");
  });

  it("does not count decisions made after the approval expired, and stays approved once approved in time", () => {
    const s = spec({ timeout: DAY });
    const later = new Date("2026-06-05T00:00:00Z");
    const tooLate = evaluateApproval(s, { decisions: [approve("alice", [], "2026-06-03T00:00:00Z")], now: later, requestedAt });
    expect(tooLate.state).toBe("expired");
    expect(tooLate.reason).toContain("alice (decided after the approval expired at 2026-06-02T10:00:00.000Z)");
    const inTime = evaluateApproval(s, { decisions: [approve("alice", [], "2026-06-01T11:00:00Z")], now: later, requestedAt });
    expect(inTime.state).toBe("approved");
  });

  it("ignores a decision whose time is not a date", () => {
    const v = evaluateApproval(spec(), { decisions: [{ by: "alice", groups: [], decision: "approve", at: "yesterday" }], now, requestedAt });
    expect(v.state).toBe("pending");
    expect(v.reason).toContain("alice (its time 'yesterday' is not a date)");
  });
});
