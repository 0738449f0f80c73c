import { describe, expect, it } from "vitest";
import { parseEnvFile, parseKeyValueFile, parsePathFile, prependPathEntries, protectedEnvWarning } from "./file-commands.js";

describe("parseKeyValueFile", () => {
  it("reads NAME=value lines, keeping '=' inside the value and skipping empty lines", () => {
    const r = parseKeyValueFile("A=1\n\nURL=https://x/?a=b&c=d\nEMPTY=\n", "GITHUB_OUTPUT");
    expect(r.errors).toEqual([]);
    expect(r.values).toEqual([
      { name: "A", value: "1" },
      { name: "URL", value: "https://x/?a=b&c=d" },
      { name: "EMPTY", value: "" },
    ]);
  });

  it("reads the multi-line form up to the exact delimiter line", () => {
    const content = "JSON<<EOF\n{\n  \"a\": 1\n}\nEOF\nNEXT=after\nONE<<X\nX\n";
    const r = parseKeyValueFile(content, "GITHUB_OUTPUT");
    expect(r.errors).toEqual([]);
    expect(r.values).toEqual([
      { name: "JSON", value: '{\n  "a": 1\n}' },
      { name: "NEXT", value: "after" },
      { name: "ONE", value: "" },
    ]);
  });

  it("does not end a value at a line that only resembles the delimiter", () => {
    const r = parseKeyValueFile("V<<EOF\n EOF\nEOF \nEOFX\nEOF", "GITHUB_ENV");
    expect(r.errors).toEqual([]);
    expect(r.values).toEqual([{ name: "V", value: " EOF\nEOF \nEOFX" }]);
  });

  it("decides between = and << by whichever comes first", () => {
    const r = parseKeyValueFile("A=b<<c\n", "GITHUB_ENV");
    expect(r.values).toEqual([{ name: "A", value: "b<<c" }]);
  });

  it("reports an unterminated value with the file, line and delimiter, keeping earlier values", () => {
    const r = parseKeyValueFile("A=1\n\nBODY<<EOF\nline 1\nline 2\n", "GITHUB_OUTPUT");
    expect(r.values).toEqual([{ name: "A", value: "1" }]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain("GITHUB_OUTPUT:3:");
    expect(r.errors[0]).toContain("Matching delimiter not found 'EOF'");
  });

  it("handles CRLF line endings, including the delimiter line", () => {
    const r = parseKeyValueFile("A=1\r\nB<<EOF\r\nx\r\ny\r\nEOF\r\nC=3\r\n", "GITHUB_ENV");
    expect(r.errors).toEqual([]);
    expect(r.values).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: "x\r\ny" },
      { name: "C", value: "3" },
    ]);
  });

  it("refuses an empty name, an empty delimiter and a line with neither form", () => {
    expect(parseKeyValueFile("=value\n", "GITHUB_ENV").errors[0]).toMatch(/^GITHUB_ENV:1: Invalid format '=value'. Name must not be empty/);
    expect(parseKeyValueFile("A=1\nX<<\n", "GITHUB_ENV").errors[0]).toMatch(/^GITHUB_ENV:2: .*delimiter must not be empty/);
    expect(parseKeyValueFile("<<EOF\nv\nEOF\n", "GITHUB_ENV").errors[0]).toMatch(/Name must not be empty/);
    expect(parseKeyValueFile("\n\njust text\n", "GITHUB_STATE").errors[0]).toMatch(/^GITHUB_STATE:3: Invalid format 'just text'/);
  });

  it("keeps later assignments after earlier ones so the last one wins", () => {
    const r = parseKeyValueFile("A=1\nA=2\n", "GITHUB_OUTPUT");
    expect(r.values.map((v) => v.value)).toEqual(["1", "2"]);
  });

  it("reads an empty file as nothing", () => {
    expect(parseKeyValueFile("", "GITHUB_ENV")).toEqual({ values: [], errors: [] });
  });
});

describe("parseEnvFile", () => {
  it("ignores default GITHUB_*/RUNNER_* variables with a warning and keeps the rest", () => {
    const r = parseEnvFile("GITHUB_SHA=abc\nGITHUB_CUSTOM=1\nNODE_OPTIONS=--max-old-space-size=4096\nRUNNER_TEMP=/x\ngithub_sha=lower\nCI=false\n");
    expect(r.errors).toEqual([]);
    expect(r.values).toEqual([
      { name: "GITHUB_CUSTOM", value: "1" },
      { name: "NODE_OPTIONS", value: "--max-old-space-size=4096" },
      { name: "github_sha", value: "lower" },
      { name: "CI", value: "false" },
    ]);
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings[0]).toContain("'GITHUB_SHA'");
    expect(r.warnings[1]).toContain("'RUNNER_TEMP'");
    expect(protectedEnvWarning("PATH")).toBeUndefined();
  });
});

describe("parsePathFile and prependPathEntries", () => {
  it("returns non-empty lines in file order, for LF, CRLF and CR", () => {
    expect(parsePathFile("/a\n\n/b with space\r\n/c\r/d")).toEqual(["/a", "/b with space", "/c", "/d"]);
    expect(parsePathFile("")).toEqual([]);
  });

  it("puts later lines first and moves a directory added again to the front", () => {
    const first = prependPathEntries([], parsePathFile("/a\n/b\n"));
    expect(first).toEqual(["/b", "/a"]);
    expect(prependPathEntries(first, ["/c", "/a"])).toEqual(["/a", "/c", "/b"]);
  });
});
