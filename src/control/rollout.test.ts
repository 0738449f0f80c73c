// The strategies' logic against an in-memory slot (no processes, no HTTP):
// which instances run, what the router is told and how the rollout ends.
// control.test.ts runs the same strategies with real processes and routers.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Analysis, Strategy } from "../delivery/index.js";
import { openStore, type Store } from "../store/index.js";
import { driveRollout, RolloutFailure, type Interrupt, type Measurement, type RolloutDeps, type SlotInstance, type SlotRuntime } from "./rollout.js";

class FakeSlot implements SlotRuntime {
  preview?: SlotRuntime["preview"];
  readonly live: SlotInstance[] = [];
  readonly routes: string[] = [];
  readonly log: string[] = [];
  failStart = new Set<string>();
  private n = 0;

  instances(release: string): SlotInstance[] {
    return this.live.filter((i) => i.release === release);
  }
  async start(release: string, count: number): Promise<SlotInstance[]> {
    if (this.failStart.has(release)) throw new RolloutFailure(`${release} never became healthy`);
    const made = Array.from({ length: count }, () => ({ id: `i${++this.n}`, release, port: 1000 + this.n, healthy: true }));
    this.live.push(...made);
    this.log.push(`start ${release} x${count}`);
    return made;
  }
  async route(stable: { release: string; ids: string[] }, canary?: { release: string; ids: string[]; weight: number }): Promise<void> {
    this.routes.push(canary ? `${stable.release}:${stable.ids.length} ${canary.release}:${canary.ids.length}@${canary.weight}` : `${stable.release}:${stable.ids.length}`);
  }
  async retire(ids: string[]): Promise<void> {
    for (const id of ids) {
      const i = this.live.findIndex((x) => x.id === id);
      if (i >= 0) this.live.splice(i, 1);
    }
    this.log.push(`retire ${ids.length}`);
  }
  trouble(): string | undefined {
    return undefined;
  }
  url(): string {
    return "http://127.0.0.1:1";
  }
}

const analysis: Analysis = { provider: { kind: "builtin" }, conditions: {}, metrics: [], minRequests: 10, failureLimit: 0, consecutiveErrorLimit: 4 };
const canary: Strategy = {
  kind: "canary",
  interval: 1000,
  analysis,
  steps: [
    { kind: "weight", weight: 25, interval: 1000 },
    { kind: "weight", weight: 50, interval: 1000 },
  ],
};

describe("driveRollout", () => {
  let store: Store;
  let slot: FakeSlot;
  let verdicts: Measurement["verdict"][];
  let interrupts: (Interrupt | undefined)[];
  let notes: string[];

  beforeEach(() => {
    store = openStore(mkdtempSync(join(tmpdir(), "slipway-rollout-")));
    slot = new FakeSlot();
    verdicts = [];
    interrupts = [];
    notes = [];
  });
  afterEach(() => store.close());

  const deps = (strategy: Strategy, over: Partial<RolloutDeps> = {}): RolloutDeps => ({
    store,
    runtime: slot,
    strategy,
    instances: 2,
    measure: async () => {
      const verdict = verdicts.shift() ?? "pass";
      return { verdict, values: { requests: verdict === "inconclusive" ? 3 : 100 }, reason: `${verdict} as scripted` };
    },
    checks: async () => [],
    wait: async () => interrupts.shift(),
    automaticRollback: true,
    notify: (kind, message) => notes.push(`${kind}: ${message}`),
    ...over,
  });
  const rollout = (from: string | null = "web#1") =>
    store.createRollout({ env: "prod", service: "web", fromRelease: from, fromDigest: null, toRelease: "web#2", toDigest: `sha256:${"2".repeat(64)}`, strategy: "canary", stateCommit: null });

  it("canary: every weight step with analysis, then all traffic and the old release retired", async () => {
    await slot.start("web#1", 2);
    const out = await driveRollout(rollout(), deps(canary));
    expect(out.phase).toBe("succeeded");
    expect(slot.routes).toEqual(["web#1:2 web#2:2@25", "web#1:2 web#2:2@50", "web#2:2"]);
    expect(slot.live.map((i) => i.release)).toEqual(["web#2", "web#2"]);
    const r = store.listRollouts()[0];
    expect(r).toMatchObject({ phase: "succeeded", weight: 100, step: 2 });
    expect(store.listMeasurements(r?.id ?? 0).map((m) => m.verdict)).toEqual(["pass", "pass"]);
  });

  it("canary: a failed analysis sends traffic back to stable and stops the new release", async () => {
    await slot.start("web#1", 2);
    verdicts = ["pass", "fail"];
    const out = await driveRollout(rollout(), deps(canary));
    expect(out).toMatchObject({ phase: "rolled-back", reason: "analysis failed: fail as scripted" });
    expect(slot.routes.at(-1)).toBe("web#1:2");
    expect(slot.live.every((i) => i.release === "web#1")).toBe(true);
    expect(store.listRollouts()[0]).toMatchObject({ phase: "rolled-back", weight: 0 });
  });

  it("canary: failure_limit tolerates that many failed measurements", async () => {
    await slot.start("web#1", 2);
    verdicts = ["fail", "pass"];
    const out = await driveRollout(rollout(), deps({ ...canary, analysis: { ...analysis, failureLimit: 1 } }));
    expect(out.phase).toBe("succeeded");
  });

  it("canary: measurement errors fail only past consecutive_error_limit", async () => {
    await slot.start("web#1", 2);
    const steps = Array.from({ length: 4 }, () => ({ kind: "weight" as const, weight: 10, interval: 1 }));
    verdicts = ["error", "error", "pass", "error"];
    expect((await driveRollout(rollout(), deps({ ...canary, steps, analysis: { ...analysis, consecutiveErrorLimit: 2 } }))).phase).toBe("succeeded");
    verdicts = ["error", "error", "error"];
    const again = store.createRollout({ env: "prod", service: "web", fromRelease: "web#2", fromDigest: null, toRelease: "web#3", toDigest: `sha256:${"3".repeat(64)}`, strategy: "canary", stateCommit: null });
    const out = await driveRollout(again, deps({ ...canary, steps, analysis: { ...analysis, consecutiveErrorLimit: 2 } }));
    expect(out.phase).toBe("rolled-back");
    expect(out.reason).toMatch(/3 times in a row \(consecutive_error_limit 2\)/);
  });

  it("canary: inconclusive pauses (never a pass) until promoted", async () => {
    await slot.start("web#1", 2);
    verdicts = ["inconclusive", "pass"];
    // step 1 interval, then the pause (promote), then step 2 interval
    interrupts = [undefined, { kind: "promote", by: "alice", reason: null }, undefined];
    const out = await driveRollout(rollout(), deps(canary));
    expect(out.phase).toBe("succeeded");
    expect(notes.some((n) => n.startsWith("inconclusive: web#2 paused at 25%"))).toBe(true);
    expect(notes).toContain("promoted: alice promoted web#2");
  });

  it("canary: inconclusive then abort rolls back with who aborted", async () => {
    await slot.start("web#1", 2);
    verdicts = ["inconclusive"];
    interrupts = [undefined, { kind: "abort", by: "bob", reason: "too quiet" }];
    const out = await driveRollout(rollout(), deps(canary));
    expect(out).toEqual({ phase: "aborted", reason: "aborted by bob: too quiet" });
    expect(slot.routes.at(-1)).toBe("web#1:2");
  });

  it("canary: trouble with the new release during a step rolls back", async () => {
    await slot.start("web#1", 2);
    interrupts = [{ kind: "trouble", reason: "instance i3 of web#2 exited with code 1" }];
    const out = await driveRollout(rollout(), deps(canary));
    expect(out).toMatchObject({ phase: "rolled-back", reason: "instance i3 of web#2 exited with code 1" });
  });

  it("canary: a pause step waits for promote", async () => {
    await slot.start("web#1", 2);
    interrupts = [undefined, { kind: "promote", by: "carol", reason: "looks good" }, undefined];
    const steps = [{ kind: "weight" as const, weight: 20, interval: 1 }, { kind: "pause" as const }, { kind: "weight" as const, weight: 60, interval: 1 }];
    const out = await driveRollout(rollout(), deps({ ...canary, steps }));
    expect(out.phase).toBe("succeeded");
    expect(notes).toContain("paused: web#2 paused: waiting for `slipway promote` at 20%");
  });

  it("canary: resumes at the step it was at", async () => {
    await slot.start("web#1", 2);
    await slot.start("web#2", 2); // instances of the new release survived the restart
    const r = rollout();
    store.updateRollout(r.id, { step: 1, weight: 25 });
    const out = await driveRollout(store.getRollout(r.id) ?? r, deps(canary));
    expect(out.phase).toBe("succeeded");
    expect(slot.routes).toEqual(["web#1:2 web#2:2@50", "web#2:2"]);
    expect(slot.log.filter((l) => l.startsWith("start web#2"))).toEqual(["start web#2 x2"]);
  });

  it("without automatic rollback a failure pauses; abort then rolls back", async () => {
    await slot.start("web#1", 2);
    verdicts = ["fail"];
    interrupts = [undefined, { kind: "abort", by: "dave", reason: null }];
    const out = await driveRollout(rollout(), deps(canary, { automaticRollback: false }));
    expect(out.phase).toBe("aborted");
    expect(notes.some((n) => /automatic rollback is off/.test(n))).toBe(true);
  });

  it("rolling: replaces instances batch by batch, traffic in proportion", async () => {
    await slot.start("web#1", 3);
    const rolling: Strategy = { kind: "rolling", maxSurge: { count: 1 }, maxUnavailable: { count: 0 } };
    const out = await driveRollout(rollout(), deps(rolling, { instances: 3 }));
    expect(out.phase).toBe("succeeded");
    expect(slot.routes).toEqual(["web#1:2 web#2:1@33", "web#1:1 web#2:2@67", "web#2:3"]);
    expect(slot.live.map((i) => i.release)).toEqual(["web#2", "web#2", "web#2"]);
  });

  it("rolling: keeps within max_surge and max_unavailable, Kubernetes' way", async () => {
    // Instances alive and routed after each change, to check the bounds at every moment.
    const cases: Array<{ n: number; surge: Strategy; most: number; fewest: number }> = [
      { n: 4, surge: { kind: "rolling", maxSurge: { count: 0 }, maxUnavailable: { count: 1 } }, most: 4, fewest: 3 },
      { n: 4, surge: { kind: "rolling", maxSurge: { count: 2 }, maxUnavailable: { count: 0 } }, most: 6, fewest: 4 },
      { n: 4, surge: { kind: "rolling", maxSurge: { percent: 25 }, maxUnavailable: { percent: 25 } }, most: 5, fewest: 3 },
      { n: 3, surge: { kind: "rolling", maxSurge: { percent: 10 }, maxUnavailable: { percent: 10 } }, most: 4, fewest: 3 },
      { n: 2, surge: { kind: "rolling", maxSurge: { percent: 0 }, maxUnavailable: { percent: 10 } }, most: 2, fewest: 1 },
    ];
    for (const c of cases) {
      slot = new FakeSlot();
      await slot.start("web#1", c.n);
      let most = 0;
      let fewest = Infinity;
      const watch = () => {
        most = Math.max(most, slot.live.length);
        fewest = Math.min(fewest, slot.live.length);
      };
      const start = slot.start.bind(slot);
      const retire = slot.retire.bind(slot);
      slot.start = async (r, k) => {
        const made = await start(r, k);
        watch();
        return made;
      };
      slot.retire = async (ids) => {
        await retire(ids);
        watch();
      };
      const out = await driveRollout(rollout(), deps(c.surge, { instances: c.n }));
      expect(out.phase, JSON.stringify(c.surge)).toBe("succeeded");
      expect(slot.live.map((i) => i.release)).toEqual(Array(c.n).fill("web#2"));
      expect([most, fewest], JSON.stringify(c.surge)).toEqual([c.most, c.fewest]);
    }
  });

  it("rolling: a failed check afterwards starts the old release again and switches back", async () => {
    await slot.start("web#1", 2);
    const rolling: Strategy = { kind: "rolling", maxSurge: { count: 1 }, maxUnavailable: { count: 0 } };
    const out = await driveRollout(rollout(), deps(rolling, { checks: async () => [{ ok: false, name: "smoke", reason: "GET / returned 500" }] }));
    expect(out).toMatchObject({ phase: "rolled-back", reason: "check smoke failed: GET / returned 500" });
    expect(slot.live.map((i) => i.release)).toEqual(["web#1", "web#1"]);
    expect(slot.routes.at(-1)).toBe("web#1:2");
  });

  it("blue-green: switches at once, keeps the old release warm, then retires it", async () => {
    await slot.start("web#1", 2);
    const waits: (number | undefined)[] = [];
    const bg: Strategy = { kind: "blue-green", scaleDownDelay: 5000, autoPromote: true };
    const out = await driveRollout(rollout(), deps(bg, { wait: async (ms) => (waits.push(ms), undefined) }));
    expect(out.phase).toBe("succeeded");
    expect(slot.routes).toEqual(["web#2:2"]);
    expect(waits.length).toBe(1);
    expect(waits[0]).toBeGreaterThan(4000);
    expect(slot.live.map((i) => i.release)).toEqual(["web#2", "web#2"]);
  });

  it("blue-green: the new release answers alone on the preview port until the switch, which waits for promote without auto_promote", async () => {
    await slot.start("web#1", 2);
    const previews: string[] = [];
    slot.preview = async (port, release, ids) => {
      previews.push(`open ${port} ${release}:${ids.length}`);
      return { url: `http://127.0.0.1:${port}`, close: async () => void previews.push("closed") };
    };
    interrupts = [{ kind: "promote", by: "erin", reason: null }];
    const bg: Strategy = { kind: "blue-green", scaleDownDelay: 0, autoPromote: false, previewPort: 9001 };
    const out = await driveRollout(rollout(), deps(bg));
    expect(out.phase).toBe("succeeded");
    expect(previews).toEqual(["open 9001 web#2:2", "closed"]);
    expect(notes).toContain("preview: web#2 answers on its preview URL http://127.0.0.1:9001 until the switch");
    expect(notes).toContain("promoted: erin promoted web#2");
    expect(slot.routes).toEqual(["web#2:2"]);
  });

  it("blue-green: a failed check switches straight back to the warm release", async () => {
    await slot.start("web#1", 2);
    const bg: Strategy = { kind: "blue-green", scaleDownDelay: 5000, autoPromote: true };
    const out = await driveRollout(rollout(), deps(bg, { checks: async () => [{ ok: false, name: "load", reason: "p(95)=812ms ≥ 300ms" }] }));
    expect(out.phase).toBe("rolled-back");
    expect(slot.routes).toEqual(["web#2:2", "web#1:2"]);
    expect(slot.log.filter((l) => l.startsWith("start web#1"))).toEqual(["start web#1 x2"]); // never restarted: it was warm
  });

  it("first deploy: a release that never becomes healthy fails and leaves nothing running", async () => {
    slot.failStart.add("web#2");
    const out = await driveRollout(rollout(null), deps(canary));
    expect(out).toEqual({ phase: "failed", reason: "web#2 never became healthy" });
    expect(slot.live).toEqual([]);
  });

  it("a new release that never becomes healthy leaves the stable release untouched", async () => {
    await slot.start("web#1", 2);
    slot.failStart.add("web#2");
    const out = await driveRollout(rollout(), deps(canary));
    expect(out).toEqual({ phase: "failed", reason: "web#2 never became healthy" });
    expect(slot.live.map((i) => i.release)).toEqual(["web#1", "web#1"]);
    expect(slot.routes).toEqual(["web#1:2"]);
  });
});
