// Route table checks and the sticky key helpers.
import { describe, expect, it } from "vitest";
import { cookieValue, hashKey, normalizeTable, stickyBucket, validateTable } from "./router.js";

describe("route tables", () => {
  it("accepts a table and normalizes it (backends sorted by id)", () => {
    const t = {
      stable: { release: "v1", backends: [{ id: "b", release: "v1", host: "localhost", port: 2 }, { id: "a", release: "v1", host: "::1", port: 1 }] },
      canary: { release: "v2", backends: [], weight: 12.5 },
      sticky: { cookie: "sid", header: undefined },
    };
    expect(() => validateTable(t, "prod/web")).not.toThrow();
    expect(normalizeTable(t)).toEqual({ stable: { release: "v1", backends: [t.stable.backends[1], t.stable.backends[0]] }, canary: { release: "v2", backends: [], weight: 12.5 }, sticky: { cookie: "sid" } });
  });

  it("names the field and the fix of a bad table", () => {
    const check = (t: unknown) => () => validateTable(t as never, "prod/web");
    expect(check({})).toThrow(/route table for prod\/web: `stable` is missing/);
    expect(check({ stable: { release: "", backends: [] } })).toThrow(/stable.release must be a release name/);
    expect(check({ stable: { release: "v1", backends: [{ id: "a", release: "v1", host: "bad host!", port: 1 }] } })).toThrow(/host 'bad host!' is not an IP address or host name/);
    expect(check({ stable: { release: "v1", backends: [] }, sticky: { header: "X User" } })).toThrow(/sticky.header 'X User' is not a valid header name/);
    expect(check({ stable: { release: "v1", backends: [] }, sticky: {} })).toThrow(/neither a header nor a cookie/);
  });
});

describe("sticky keys", () => {
  it("finds a cookie among others, by exact name", () => {
    expect(cookieValue("a=1; sid=abc; b=2", "sid")).toBe("abc");
    expect(cookieValue("xsid=no; sid=yes", "sid")).toBe("yes");
    expect(cookieValue("sid=first", "sid")).toBe("first");
    expect(cookieValue("a=1;sid=tight", "sid")).toBe("tight");
    expect(cookieValue("a=1", "sid")).toBeUndefined();
    expect(cookieValue("sidx=1", "sid")).toBeUndefined();
  });

  it("spreads keys over 100 buckets, so raising the weight only moves keys to the canary", () => {
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) counts[Math.floor(stickyBucket(`user-${i}`) / 10)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(hashKey("abc")).toBe(hashKey("abc"));
    expect(hashKey("abc")).not.toBe(hashKey("abd"));
  });
});
