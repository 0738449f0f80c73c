// Two "processes" (two ConcurrencyGroups with different holders) sharing one
// real SQLite store obey one group.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type SqliteStore } from "../store/index.js";
import { ConcurrencyGroups } from "./concurrency.js";

describe("ConcurrencyGroups across processes", () => {
  let dir: string;
  let store: SqliteStore;
  const dead = new Set<string>();
  const alive = (h: string) => !dead.has(h);
  const groups = (holder: string, scope = "acme/web") => new ConcurrencyGroups(store, holder, scope, alive, 10);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "slipway-concurrency-"));
    store = openStore(dir);
    dead.clear();
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("makes the second wait until the first releases", async () => {
    const a = await groups("h:1").acquire("deploy", false, new AbortController());
    expect(a).toBeTypeOf("function");
    let granted = false;
    const b = groups("h:2")
      .acquire("deploy", false, new AbortController())
      .then((r) => {
        granted = true;
        return r;
      });
    await new Promise((r) => setTimeout(r, 60));
    expect(granted).toBe(false);
    a?.();
    const release = await b;
    expect(release).toBeTypeOf("function");
    release?.();
  });

  it("keeps groups of different repositories apart", async () => {
    const a = await groups("h:1", "acme/web").acquire("deploy", false, new AbortController());
    const b = await groups("h:2", "acme/api").acquire("deploy", false, new AbortController());
    expect(a).toBeTypeOf("function");
    expect(b).toBeTypeOf("function");
    a?.();
    b?.();
  });

  it("cancels the older pending entry, and the running one with cancel-in-progress", async () => {
    const runningAbort = new AbortController();
    const a = await groups("h:1").acquire("deploy", false, runningAbort);
    const olderAbort = new AbortController();
    const older = groups("h:2").acquire("deploy", false, olderAbort);
    const newer = groups("h:3").acquire("deploy", true, new AbortController());
    expect(await older).toBeUndefined();
    expect(olderAbort.signal.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 60));
    expect(runningAbort.signal.aborted).toBe(true);
    a?.();
    const release = await newer;
    expect(release).toBeTypeOf("function");
    release?.();
  });

  it("lets a waiting entry go ahead when the holder of the group died", async () => {
    await groups("h:dead").acquire("deploy", false, new AbortController());
    const waiting = groups("h:2").acquire("deploy", false, new AbortController());
    dead.add("h:dead");
    const release = await waiting;
    expect(release).toBeTypeOf("function");
    release?.();
  });

  it("refuses an entry aborted while it waits", async () => {
    const a = await groups("h:1").acquire("deploy", false, new AbortController());
    const abort = new AbortController();
    const waiting = groups("h:2").acquire("deploy", false, abort);
    abort.abort();
    expect(await waiting).toBeUndefined();
    a?.();
    const again = await groups("h:3").acquire("deploy", false, new AbortController());
    expect(again).toBeTypeOf("function");
    again?.();
  });
});
