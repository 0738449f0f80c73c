import { describe, expect, it } from "vitest";
import { formatCommitMessage, parseCommitMessage } from "./index.js";

describe("commit messages", () => {
  it("round-trips subject, reason and trailers", () => {
    const text = formatCommitMessage({
      subject: "promote web#3 to staging",
      reason: "canary analysis passed\n\nerror rate 0.2% < 1%",
      trailers: [
        ["Slipway-Action", "promote"],
        ["Approved-By", "alice"],
        ["Approved-By", "bob"],
      ],
    });
    expect(text).toBe("promote web#3 to staging\n\ncanary analysis passed\n\nerror rate 0.2% < 1%\n\nSlipway-Action: promote\nApproved-By: alice\nApproved-By: bob\n");
    expect(parseCommitMessage(text)).toEqual({
      subject: "promote web#3 to staging",
      body: "canary analysis passed\n\nerror rate 0.2% < 1%",
      trailers: [
        ["Slipway-Action", "promote"],
        ["Approved-By", "alice"],
        ["Approved-By", "bob"],
      ],
    });
  });

  it("reads a hand-written message: a last paragraph that is not all trailers is body", () => {
    expect(parseCommitMessage("pin web#5\r\n\r\nbecause: the leak\r\nis bad\r\n")).toEqual({ subject: "pin web#5", body: "because: the leak\nis bad", trailers: [] });
    expect(parseCommitMessage("just a subject")).toEqual({ subject: "just a subject", body: "", trailers: [] });
  });
});
