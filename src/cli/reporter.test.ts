import { describe, expect, it } from "vitest";
import { ConsoleReporter } from "./reporter.js";

/** A non-terminal stream that keeps what is written (no colour). */
function sink(): { stream: NodeJS.WriteStream; text: () => string } {
  let out = "";
  const stream = { isTTY: false, columns: 100, write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
  return { stream, text: () => out };
}

describe("ConsoleReporter (plain)", () => {
  it("says a job sent to the runner agents' queue is queued, not started", () => {
    const { stream, text } = sink();
    const r = new ConsoleReporter("plain", stream);
    const queued = r.job(1, "build");
    queued.started(true);
    queued.finished("success");
    const local = r.job(2, "test");
    local.started();
    expect(text().split("\n")).toEqual(["[build] queued for a runner agent", "[build] ✓ success", "[test] started", ""]);
  });
});
