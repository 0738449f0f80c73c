import { describe, expect, it } from "vitest";
import { expandMatrix, jsonEqual, matrixJobName } from "./matrix.js";

function combos(matrix: Record<string, unknown>) {
  const result = expandMatrix({ matrix } as never);
  expect(result.errors).toEqual([]);
  return result.combinations;
}

describe("expandMatrix: GitHub documentation examples", () => {
  it("creates jobs in variable order, first variable slowest (version/os)", () => {
    expect(combos({ version: [10, 12, 14], os: ["ubuntu-latest", "windows-latest"] })).toEqual([
      { version: 10, os: "ubuntu-latest" },
      { version: 10, os: "windows-latest" },
      { version: 12, os: "ubuntu-latest" },
      { version: 12, os: "windows-latest" },
      { version: 14, os: "ubuntu-latest" },
      { version: 14, os: "windows-latest" },
    ]);
  });

  it("orders a two-key product a/1, a/2, b/1, b/2", () => {
    expect(combos({ os: ["a", "b"], node: [1, 2] })).toEqual([
      { os: "a", node: 1 },
      { os: "a", node: 2 },
      { os: "b", node: 1 },
      { os: "b", node: 2 },
    ]);
  });

  it("single-dimension matrix", () => {
    expect(combos({ version: [10, 12, 14] })).toEqual([{ version: 10 }, { version: 12 }, { version: 14 }]);
  });

  it("applies include entries in order (fruit/animal example)", () => {
    const result = combos({
      fruit: ["apple", "pear"],
      animal: ["cat", "dog"],
      include: [
        { color: "green" },
        { color: "pink", animal: "cat" },
        { fruit: "apple", shape: "circle" },
        { fruit: "banana" },
        { fruit: "banana", animal: "cat" },
      ],
    });
    expect(result).toEqual([
      { fruit: "apple", animal: "cat", color: "pink", shape: "circle" },
      { fruit: "apple", animal: "dog", color: "green", shape: "circle" },
      { fruit: "pear", animal: "cat", color: "pink" },
      { fruit: "pear", animal: "dog", color: "green" },
      { fruit: "banana" },
      { fruit: "banana", animal: "cat" },
    ]);
    // Original keys first, then added keys in the order they were added.
    expect(Object.keys(result[0] ?? {})).toEqual(["fruit", "animal", "color", "shape"]);
  });

  it("removes partial matches with exclude (os/version/environment example: nine jobs)", () => {
    expect(
      combos({
        os: ["macos-latest", "windows-latest"],
        version: [12, 14, 16],
        environment: ["staging", "production"],
        exclude: [
          { os: "macos-latest", version: 12, environment: "production" },
          { os: "windows-latest", version: 16 },
        ],
      }),
    ).toEqual([
      { os: "macos-latest", version: 12, environment: "staging" },
      { os: "macos-latest", version: 14, environment: "staging" },
      { os: "macos-latest", version: 14, environment: "production" },
      { os: "macos-latest", version: 16, environment: "staging" },
      { os: "macos-latest", version: 16, environment: "production" },
      { os: "windows-latest", version: 12, environment: "staging" },
      { os: "windows-latest", version: 12, environment: "production" },
      { os: "windows-latest", version: 14, environment: "staging" },
      { os: "windows-latest", version: 14, environment: "production" },
    ]);
  });

  it("expands one combination with include (os/node/npm example)", () => {
    expect(
      combos({
        os: ["windows-latest", "ubuntu-latest"],
        node: [12, 14, 16],
        include: [{ os: "windows-latest", node: 16, npm: 6 }],
      }),
    ).toEqual([
      { os: "windows-latest", node: 12 },
      { os: "windows-latest", node: 14 },
      { os: "windows-latest", node: 16, npm: 6 },
      { os: "ubuntu-latest", node: 12 },
      { os: "ubuntu-latest", node: 14 },
      { os: "ubuntu-latest", node: 16 },
    ]);
  });

  it("adds a new combination when an include fits none (os/version + windows/17: ten jobs)", () => {
    const result = combos({
      os: ["macos-latest", "windows-latest", "ubuntu-latest"],
      version: [12, 14, 16],
      include: [{ os: "windows-latest", version: 17 }],
    });
    expect(result).toHaveLength(10);
    expect(result.slice(0, 3)).toEqual([
      { os: "macos-latest", version: 12 },
      { os: "macos-latest", version: 14 },
      { os: "macos-latest", version: 16 },
    ]);
    expect(result[9]).toEqual({ os: "windows-latest", version: 17 });
  });

  it("runs one job per include entry when there are no vectors", () => {
    expect(
      combos({
        include: [
          { site: "production", datacenter: "site-a" },
          { site: "staging", datacenter: "site-b" },
        ],
      }),
    ).toEqual([
      { site: "production", datacenter: "site-a" },
      { site: "staging", datacenter: "site-b" },
    ]);
  });

  it("perl example: five ubuntu jobs and two macos jobs", () => {
    expect(
      combos({
        os: ["ubuntu-latest"],
        perl: ["5.16", "5.20", "5.26", "5.30", "latest"],
        include: [
          { os: "macos-latest", perl: "5.26" },
          { os: "macos-latest", perl: "latest" },
        ],
      }),
    ).toEqual([
      { os: "ubuntu-latest", perl: "5.16" },
      { os: "ubuntu-latest", perl: "5.20" },
      { os: "ubuntu-latest", perl: "5.26" },
      { os: "ubuntu-latest", perl: "5.30" },
      { os: "ubuntu-latest", perl: "latest" },
      { os: "macos-latest", perl: "5.26" },
      { os: "macos-latest", perl: "latest" },
    ]);
  });

  it("processes include after exclude, so include can add an excluded combination back", () => {
    expect(
      combos({
        os: ["a", "b"],
        node: [1, 2],
        exclude: [{ os: "a", node: 1 }],
        include: [{ os: "a", node: 1, experimental: true }],
      }),
    ).toEqual([
      { os: "a", node: 2 },
      { os: "b", node: 1 },
      { os: "b", node: 2 },
      { os: "a", node: 1, experimental: true },
    ]);
  });
});

describe("expandMatrix: values and comparisons", () => {
  it("keeps original values, lets later includes overwrite added ones", () => {
    expect(
      combos({
        os: ["a", "b"],
        include: [{ label: "one" }, { os: "b", label: "two" }, { os: "c", label: "three" }],
      }),
    ).toEqual([{ os: "a", label: "one" }, { os: "b", label: "two" }, { os: "c", label: "three" }]);
  });

  it("compares strings and numbers strictly", () => {
    expect(combos({ node: [14], include: [{ node: "14", extra: 1 }] })).toEqual([{ node: 14 }, { node: "14", extra: 1 }]);
  });

  it("accepts mapping values and compares them deeply in exclude and include", () => {
    const linux = { os: "ubuntu-latest", cc: "gcc" };
    const mac = { os: "macos-latest", cc: "clang" };
    expect(
      combos({
        config: [linux, mac],
        node: [18, 20],
        exclude: [{ config: { cc: "clang", os: "macos-latest" }, node: 18 }],
        include: [{ config: { cc: "gcc", os: "ubuntu-latest" }, coverage: true }],
      }),
    ).toEqual([
      { config: linux, node: 18, coverage: true },
      { config: linux, node: 20, coverage: true },
      { config: mac, node: 20 },
    ]);
  });

  it("compares sequences deeply", () => {
    expect(
      combos({ flags: [["-a", "-b"], ["-c"]], exclude: [{ flags: ["-c"] }] }),
    ).toEqual([{ flags: ["-a", "-b"] }]);
  });

  it("ignores exclude entries naming a key that is not a vector", () => {
    expect(combos({ os: ["a", "b"], exclude: [{ os: "a", nope: 1 }] })).toEqual([{ os: "a" }, { os: "b" }]);
  });

  it("returns combinations that do not share objects with each other", () => {
    const result = combos({ config: [{ os: "a" }], node: [1, 2] });
    expect(result[0]?.["config"]).not.toBe(result[1]?.["config"]);
  });

  it("jsonEqual ignores mapping key order but not sequence order", () => {
    expect(jsonEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
});

describe("expandMatrix: strategy fields", () => {
  it("defaults fail-fast to true and max-parallel to unset", () => {
    const result = expandMatrix({ matrix: { os: ["a"] } });
    expect(result).toEqual({ combinations: [{ os: "a" }], failFast: true, maxParallel: undefined, errors: [] });
  });

  it("reads fail-fast and max-parallel", () => {
    const result = expandMatrix({ matrix: { os: ["a"] }, "fail-fast": false, "max-parallel": 2 });
    expect(result.failFast).toBe(false);
    expect(result.maxParallel).toBe(2);
    expect(result.errors).toEqual([]);
  });

  it.each([0, -1, 1.5, "2", true])("rejects max-parallel %j", (value) => {
    const result = expandMatrix({ matrix: { os: ["a"] }, "max-parallel": value });
    expect(result.errors).toEqual([expect.stringContaining("strategy.max-parallel must be a positive integer")]);
    expect(result.combinations).toEqual([]);
  });

  it("rejects a non-boolean fail-fast", () => {
    expect(expandMatrix({ matrix: { os: ["a"] }, "fail-fast": "false" }).errors).toEqual([
      'strategy.fail-fast must be a boolean, got string "false"',
    ]);
  });

  it("runs once with an empty matrix context when there is no matrix", () => {
    expect(expandMatrix({ "fail-fast": false })).toEqual({
      combinations: [{}],
      failFast: false,
      maxParallel: undefined,
      errors: [],
    });
    expect(expandMatrix(null).combinations).toEqual([{}]);
  });

  it("rejects a strategy that is not a mapping", () => {
    expect(expandMatrix("fast").errors).toEqual(['strategy must be a mapping, got string "fast"']);
  });
});

describe("expandMatrix: errors", () => {
  it("rejects a matrix that is not a mapping (unevaluated or wrong expression result)", () => {
    const result = expandMatrix({ matrix: "${{ fromJSON(needs.plan.outputs.matrix) }}" });
    expect(result.errors).toEqual([
      'strategy.matrix must be a mapping, got string "${{ fromJSON(needs.plan.outputs.matrix) }}"',
    ]);
    expect(result.combinations).toEqual([]);
    expect(expandMatrix({ matrix: [1, 2] }).errors).toEqual(["strategy.matrix must be a mapping, got a sequence"]);
  });

  it("reports an empty vector like GitHub", () => {
    const result = expandMatrix({ matrix: { os: [], node: [1] } });
    expect(result.errors).toEqual(["Matrix vector 'os' does not contain any values"]);
    expect(result.combinations).toEqual([]);
  });

  it("reports an empty vector even when include entries exist", () => {
    expect(expandMatrix({ matrix: { project: [], include: [{ project: "x" }] } }).errors).toEqual([
      "Matrix vector 'project' does not contain any values",
    ]);
  });

  it("rejects a vector that is not a sequence", () => {
    expect(expandMatrix({ matrix: { os: "ubuntu-latest" } }).errors).toEqual([
      `Matrix vector 'os' must be a sequence, got string "ubuntu-latest"`,
    ]);
  });

  it("rejects an empty matrix", () => {
    expect(expandMatrix({ matrix: {} }).errors).toEqual(["Matrix must define at least one vector"]);
  });

  it("rejects malformed include and exclude", () => {
    expect(expandMatrix({ matrix: { os: ["a"], include: { os: "b" } } }).errors).toEqual([
      "strategy.matrix.include must be a sequence of mappings, got a mapping",
    ]);
    expect(expandMatrix({ matrix: { os: ["a"], exclude: ["a"] } }).errors).toEqual([
      'strategy.matrix.exclude[0] must be a mapping, got string "a"',
    ]);
  });

  it("reports a matrix whose combinations are all excluded", () => {
    const result = expandMatrix({ matrix: { os: ["a"], exclude: [{ os: "a" }] } });
    expect(result.combinations).toEqual([]);
    expect(result.errors).toEqual(["strategy.matrix excludes every combination; the job would run zero times"]);
  });

  it("accepts exactly 256 combinations", () => {
    const result = expandMatrix({ matrix: { a: range(16), b: range(16) } });
    expect(result.errors).toEqual([]);
    expect(result.combinations).toHaveLength(256);
    expect(result.combinations[255]).toEqual({ a: 15, b: 15 });
  });

  it("rejects more than 256 combinations with the count", () => {
    const result = expandMatrix({ matrix: { a: range(17), b: range(17) } });
    expect(result.errors).toEqual([
      "A matrix can generate a maximum of 256 jobs per workflow run; this matrix generates 289",
    ]);
    expect(result.combinations).toEqual([]);
  });

  it("counts include-created combinations toward the limit", () => {
    const result = expandMatrix({ matrix: { a: range(16), b: range(16), include: [{ a: 99 }, { a: 1, extra: true }] } });
    expect(result.errors).toEqual([
      "A matrix can generate a maximum of 256 jobs per workflow run; this matrix generates 257",
    ]);
  });

  it("applies exclude before the limit", () => {
    const result = expandMatrix({
      matrix: { a: range(20), b: range(15), exclude: [{ a: 0 }, { a: 1 }, { a: 2 }] },
    });
    expect(result.errors).toEqual([]);
    expect(result.combinations).toHaveLength(255);
    expect(result.combinations[0]).toEqual({ a: 3, b: 0 });
  });

  it("counts an oversized matrix with exclusions exactly", () => {
    const result = expandMatrix({
      matrix: { a: range(20), b: range(20), exclude: [{ b: 0 }], include: [{ a: 100 }, { a: 1, x: 1 }] },
    });
    expect(result.errors).toEqual([
      "A matrix can generate a maximum of 256 jobs per workflow run; this matrix generates 381",
    ]);
  });

  it("refuses huge products quickly without enumerating them", () => {
    const vectors = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, range(10)]));
    const started = Date.now();
    expect(expandMatrix({ matrix: vectors }).errors).toEqual([
      "A matrix can generate a maximum of 256 jobs per workflow run; this matrix generates 1000000000000",
    ]);
    const withExclude = expandMatrix({ matrix: { ...vectors, exclude: [{ k11: 3 }] } });
    expect(withExclude.errors).toHaveLength(1);
    expect(withExclude.errors[0]).toMatch(
      /^A matrix can generate a maximum of 256 jobs per workflow run; this matrix generates more than \d+$/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("prunes excluded subtrees: a billion-combination product excluded down to three jobs expands", () => {
    const result = expandMatrix({
      matrix: {
        a: range(1000),
        b: range(1000),
        c: range(1000),
        exclude: [
          ...range(999).map((i) => ({ a: i + 1 })),
          ...range(999).map((i) => ({ b: i + 1 })),
          ...range(997).map((i) => ({ c: i + 3 })),
        ],
      },
    });
    expect(result.errors).toEqual([]);
    expect(result.combinations).toEqual([
      { a: 0, b: 0, c: 0 },
      { a: 0, b: 0, c: 1 },
      { a: 0, b: 0, c: 2 },
    ]);
  });

  it("counts a pruned product that is still too large exactly", () => {
    const result = expandMatrix({
      matrix: {
        a: range(1000),
        b: range(1000),
        c: range(1000),
        exclude: [...range(999).map((i) => ({ a: i + 1 })), ...range(998).map((i) => ({ b: i + 2 }))],
      },
    });
    expect(result.errors).toEqual([
      "A matrix can generate a maximum of 256 jobs per workflow run; this matrix generates 2000",
    ]);
  });
});

describe("matrixJobName", () => {
  it("appends the values in order", () => {
    expect(matrixJobName("build", { os: "a", node: 1 })).toBe("build (a, 1)");
  });

  it("flattens mapping and sequence values", () => {
    expect(
      matrixJobName("test", { config: { os: "ubuntu-latest", cc: "gcc" }, flags: ["-O2", "-g"], debug: true }),
    ).toBe("test (ubuntu-latest, gcc, -O2, -g, true)");
  });

  it("formats numbers as expressions do", () => {
    expect(matrixJobName("py", { version: 3.1, big: 1e21 })).toBe("py (3.1, 1e+21)");
  });

  it("leaves the name alone for an empty combination", () => {
    expect(matrixJobName("lint", {})).toBe("lint");
  });

  it("names every job of an expanded matrix", () => {
    const { combinations } = expandMatrix({ matrix: { os: ["a", "b"], node: [1, 2] } });
    expect(combinations.map((c) => matrixJobName("build", c))).toEqual([
      "build (a, 1)",
      "build (a, 2)",
      "build (b, 1)",
      "build (b, 2)",
    ]);
  });
});

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
