import { describe, expect, it } from "vitest";
import { checkPattern, compileFilters, compilePattern, FilterPatternError, matchesFilters } from "./filter-pattern.js";

// Each row: patterns, values that match, values that do not. Rows marked
// "cheat sheet" are copied from GitHub's filter pattern cheat sheet.
const cases: { patterns: string[]; match: string[]; noMatch: string[]; note?: string }[] = [
  // Branches and tags (cheat sheet)
  { patterns: ["feature/*"], match: ["feature/my-branch", "feature/your-branch"], noMatch: ["feature/beta-a/my-branch", "feature", "main"] },
  {
    patterns: ["feature/**"],
    match: ["feature/beta-a/my-branch", "feature/your-branch", "feature/mona/the/octocat"],
    noMatch: ["feature", "features/x"],
  },
  { patterns: ["main", "releases/mona-the-octocat"], match: ["main", "releases/mona-the-octocat"], noMatch: ["releases", "mainline", "xmain"] },
  { patterns: ["*"], match: ["main", "releases"], noMatch: ["releases/10", "feature/x"] },
  { patterns: ["**"], match: ["all/the/branches", "every/tag", "main", "releases/10"], noMatch: [] },
  { patterns: ["*feature"], match: ["mona-feature", "feature", "ver-10-feature"], noMatch: ["feature-x", "a/feature"] },
  { patterns: ["v2*"], match: ["v2", "v2.0", "v2.9"], noMatch: ["v1", "v3.2", "v2/x"] },
  { patterns: ["v[12].[0-9]+.[0-9]+"], match: ["v1.10.1", "v2.0.0"], noMatch: ["v3.0.0", "v1.0", "v1..0", "v1.a.0", "v1x0.0"] },
  // Paths (cheat sheet)
  { patterns: ["*"], match: ["README.md", "server.rb"], noMatch: ["docs/README.md"] },
  { patterns: ["*.jsx?"], match: ["page.js", "page.jsx"], noMatch: ["page.jsxx", "lib/page.js"] },
  { patterns: ["**"], match: ["all/the/files.md", "x"], noMatch: [] },
  { patterns: ["*.js"], match: ["app.js", "index.js"], noMatch: ["js/index.js", "app.jsx"] },
  { patterns: ["**.js"], match: ["index.js", "js/index.js", "src/js/app.js"], noMatch: ["index.ts"] },
  { patterns: ["docs/*"], match: ["docs/README.md", "docs/file.txt"], noMatch: ["docs/mona/octocat.txt", "README.md"] },
  { patterns: ["docs/**"], match: ["docs/README.md", "docs/mona/octocat.txt"], noMatch: ["README.md", "src/docs/x"] },
  { patterns: ["docs/**/*.md"], match: ["docs/README.md", "docs/mona/hello-world.md", "docs/a/markdown/file.md"], noMatch: ["docs/a.txt"] },
  { patterns: ["**/docs/**"], match: ["docs/hello.md", "dir/docs/my-file.txt", "space/docs/plan/space.doc"], noMatch: ["mydocs/x", "dir/docs"] },
  { patterns: ["**/README.md"], match: ["README.md", "js/README.md"], noMatch: ["README.mdx", "js/README.txt"] },
  { patterns: ["**/*src/**"], match: ["a/src/app.js", "my-src/code/js/app.js"], noMatch: ["a/app.js"] },
  { patterns: ["**/*-post.md"], match: ["my-post.md", "path/their-post.md"], noMatch: ["post.md"] },
  { patterns: ["**/migrate-*.sql"], match: ["migrate-10909.sql", "db/migrate-v1.0.sql", "db/sept/migrate-v1.sql"], noMatch: ["db/migrate.sql"] },
  // Negation: the last matching pattern wins (cheat sheet)
  { patterns: ["*.md", "!README.md"], match: ["hello.md"], noMatch: ["README.md", "docs/hello.md"] },
  { patterns: ["*.md", "!README.md", "README*"], match: ["hello.md", "README.md", "README.doc"], noMatch: ["docs/hello.md"] },
  // A negative pattern before the positive one it would exclude has no effect.
  { patterns: ["!README.md", "*.md"], match: ["README.md", "a.md"], noMatch: [] },
  { patterns: ["!main"], match: [], noMatch: ["main", "dev"], note: "a list of only negative patterns includes nothing" },
  { patterns: ["releases/**", "!releases/**-alpha"], match: ["releases/10", "releases/10-beta"], noMatch: ["releases/10-alpha", "releases/beta/3-alpha"] },
  // `?` and `+` repeat the preceding character only.
  { patterns: ["ab?c"], match: ["ac", "abc"], noMatch: ["abbc", "a?c"] },
  { patterns: ["ab+c"], match: ["abc", "abbbc"], noMatch: ["ac", "a+c"] },
  { patterns: ["v[0-9]+"], match: ["v1", "v123"], noMatch: ["v", "v1a"] },
  { patterns: ["*?"], match: ["", "abc"], noMatch: ["a/b"], note: "'*?' is lazy, same matches as '*'" },
  // Escaped special characters are literal.
  { patterns: ["\\*"], match: ["*"], noMatch: ["a", ""] },
  { patterns: ["a\\?"], match: ["a?"], noMatch: ["a", ""] },
  { patterns: ["c\\+\\+/**"], match: ["c++/x"], noMatch: ["cc/x", "c/x"] },
  { patterns: ["\\[x\\]"], match: ["[x]"], noMatch: ["x"] },
  { patterns: ["\\!important"], match: ["!important"], noMatch: ["important"] },
  { patterns: ["a\\\\b"], match: ["a\\b"], noMatch: ["ab"] },
  // Regex metacharacters that are not pattern syntax are literal.
  { patterns: ["v1.0"], match: ["v1.0"], noMatch: ["v1x0"] },
  { patterns: ["(a|b){2}$^"], match: ["(a|b){2}$^"], noMatch: ["aa"] },
  { patterns: ["a!b"], match: ["a!b"], noMatch: [] },
  // Classes
  { patterns: ["[a-cX]"], match: ["a", "b", "c", "X"], noMatch: ["d", "x", "ab"] },
  { patterns: ["[-_.]x"], match: ["-x", "_x", ".x"], noMatch: ["ax"], note: "'-' first in a class is literal" },
  { patterns: ["[a-]"], match: ["a", "-"], noMatch: ["b"] },
  { patterns: ["[\\]]"], match: ["]"], noMatch: ["\\"] },
  { patterns: ["[^a]"], match: ["^", "a"], noMatch: ["b"], note: "no negated classes: '^' is literal" },
  // Non-ASCII
  { patterns: ["🚀?x"], match: ["x", "🚀x"], noMatch: ["🚀🚀x"] },
];

describe("matchesFilters", () => {
  for (const c of cases) {
    const label = `[${c.patterns.join(", ")}]${c.note ? ` (${c.note})` : ""}`;
    it(label, () => {
      for (const v of c.match) expect(matchesFilters(c.patterns, v), `'${v}' should match`).toBe(true);
      for (const v of c.noMatch) expect(matchesFilters(c.patterns, v), `'${v}' should not match`).toBe(false);
    });
  }

  it("matches nothing with an empty list", () => {
    expect(matchesFilters([], "main")).toBe(false);
  });

  it("accepts compiled patterns", () => {
    const compiled = compileFilters(["docs/**", "!docs/internal/**"]);
    expect(matchesFilters(compiled, "docs/a.md")).toBe(true);
    expect(matchesFilters(compiled, "docs/internal/a.md")).toBe(false);
  });
});

describe("compilePattern", () => {
  it("marks negative patterns and keeps the source", () => {
    const p = compilePattern("!main");
    expect(p.negative).toBe(true);
    expect(p.source).toBe("!main");
    expect(p.regex.test("main")).toBe(true);
  });

  const invalid: { pattern: string; index: number; says: RegExp }[] = [
    { pattern: "feature/[abc", index: 8, says: /no closing '\]'/ },
    { pattern: "[]", index: 0, says: /empty character class/ },
    { pattern: "[z-a]", index: 2, says: /reversed/ },
    { pattern: "main\\", index: 4, says: /escapes nothing/ },
    { pattern: "?main", index: 0, says: /nothing precedes it/ },
    { pattern: "!+main", index: 1, says: /nothing precedes it/ },
    { pattern: "*+", index: 1, says: /nothing to repeat/ },
    { pattern: "a+?+", index: 3, says: /nothing to repeat/ },
    { pattern: "", index: 0, says: /empty/ },
    { pattern: "!", index: 0, says: /must be followed/ },
  ];
  for (const c of invalid) {
    it(`rejects '${c.pattern}' with a clear error`, () => {
      let error: unknown;
      try {
        compilePattern(c.pattern);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(FilterPatternError);
      const e = error as FilterPatternError;
      expect(e.message).toMatch(c.says);
      expect(e.message).toContain(`'${c.pattern}'`);
      expect(e.pattern).toBe(c.pattern);
      expect(e.index).toBe(c.index);
    });
  }

  it("checkPattern returns the error instead of throwing", () => {
    expect(checkPattern("v[0-9")).toBeInstanceOf(FilterPatternError);
    expect(checkPattern("v[0-9]")).toBeUndefined();
  });

  it("matchesFilters throws FilterPatternError for an invalid pattern in the list", () => {
    expect(() => matchesFilters(["main", "[x"], "main")).toThrow(FilterPatternError);
  });
});
