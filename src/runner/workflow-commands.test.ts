import { describe, expect, it } from "vitest";
import {
  CommandProcessor,
  escapeData,
  escapeProperty,
  formatCommand,
  parseCommandLine,
  unescapeData,
  unescapeProperty,
} from "./workflow-commands.js";

describe("parsing and escaping", () => {
  it("round-trips data and property values through the runner's escaping", () => {
    const tricky = "50% done: a,b\r\nnext line %0A literal %25";
    expect(unescapeData(escapeData(tricky))).toBe(tricky);
    expect(unescapeProperty(escapeProperty(tricky))).toBe(tricky);
    const line = formatCommand("warning", { file: "src/a,b:c.ts", line: 3, title: "" }, tricky);
    expect(line).toBe("::warning file=src/a%2Cb%3Ac.ts,line=3::50%25 done: a,b%0D%0Anext line %250A literal %2525");
    const parsed = parseCommandLine(line);
    expect(parsed?.data).toBe(tricky);
    expect(parsed?.properties.get("file")).toBe("src/a,b:c.ts");
  });

  it("accepts leading whitespace, ignores malformed properties and lower-cases keys", () => {
    const parsed = parseCommandLine("   ::error File=x.ts,,novalue,=v,k=,Line=4::msg");
    expect(parsed?.name).toBe("error");
    expect([...(parsed?.properties ?? [])]).toEqual([
      ["file", "x.ts"],
      ["line", "4"],
    ]);
    expect(parseCommandLine("no command here")).toBeNull();
    expect(parseCommandLine("::no-terminator")).toBeNull();
  });
});

describe("CommandProcessor", () => {
  it("passes plain lines and unknown commands through", () => {
    const p = new CommandProcessor();
    expect(p.process("hello")).toEqual({ display: "hello" });
    expect(p.process("::unknown-thing::x")).toEqual({ display: "::unknown-thing::x" });
    expect(p.process("a ::error::not at start")).toEqual({ display: "a ::error::not at start" });
  });

  it("handles add-mask without showing the value", () => {
    const p = new CommandProcessor();
    expect(p.process("::add-mask::s3cret")).toEqual({ command: { kind: "add-mask", value: "s3cret" }, display: null });
    const empty = p.process("::add-mask::  ");
    expect(empty.command).toMatchObject({ kind: "invalid", level: "warning", failsStep: false });
    const echoing = new CommandProcessor({ echo: true });
    expect(echoing.process("::add-mask::s3cret").display).toBe("::add-mask::***");
  });

  it("turns error, warning and notice into annotations with positions", () => {
    const p = new CommandProcessor({ workspace: "/work/ws" });
    const r = p.process("::error file=/work/ws/src/app.ts,line=10,col=5,endLine=10,endColumn=9,title=Type error::Expected ';'");
    expect(r.command).toEqual({
      kind: "error",
      message: "Expected ';'",
      file: "src/app.ts",
      line: 10,
      col: 5,
      endLine: 10,
      endColumn: 9,
      title: "Type error",
    });
    expect(r.display).toBe("##[error]src/app.ts:10:5: Type error: Expected ';'");
    expect(p.process("::warning::careful").display).toBe("##[warning]careful");
    expect(p.process("::NOTICE::case-insensitive name").command).toEqual({ kind: "notice", message: "case-insensitive name" });
    // Inconsistent positions are dropped as the runner does: columns need a line.
    expect(p.process("::warning file=a.ts,col=3::x").command).toEqual({ kind: "warning", message: "x", file: "a.ts" });
    // An annotation message may span lines.
    expect(p.process("::error::one%0Atwo").display).toBe("##[error]one\ntwo");
  });

  it("formats groups and shows debug lines only with debug on", () => {
    const p = new CommandProcessor();
    expect(p.process("::group::Install deps")).toEqual({ command: { kind: "group", title: "Install deps" }, display: "##[group]Install deps" });
    expect(p.process("::endgroup::")).toEqual({ command: { kind: "endgroup" }, display: "##[endgroup]" });
    expect(p.process("::debug::detail")).toEqual({ command: { kind: "debug", message: "detail" }, display: null });
    expect(new CommandProcessor({ debug: true }).process("::debug::detail").display).toBe("##[debug]detail");
  });

  it("stops processing until the token line and then resumes", () => {
    const p = new CommandProcessor();
    const token = "d41d8cd98f00b204e9800998ecf8427e";
    expect(p.process(`::stop-commands::${token}`)).toEqual({ command: { kind: "stop-commands", token }, display: `::stop-commands::${token}` });
    expect(p.stopped).toBe(true);
    expect(p.process("::set-output name=injected::x")).toEqual({ display: "::set-output name=injected::x" });
    expect(p.process("::error::not an annotation")).toEqual({ display: "::error::not an annotation" });
    expect(p.process(`::${token.toUpperCase()}::`)).toEqual({ command: { kind: "resume-commands", token }, display: `::${token.toUpperCase()}::` });
    expect(p.stopped).toBe(false);
    expect(p.process("::error::again").command).toEqual({ kind: "error", message: "again" });
  });

  it("refuses weak stop tokens and keeps processing", () => {
    for (const token of ["", "pause-logging", "error"]) {
      const p = new CommandProcessor();
      const r = p.process(`::stop-commands::${token}`);
      expect(r.command).toMatchObject({ kind: "invalid", failsStep: true });
      expect(p.stopped).toBe(false);
    }
    const lax = new CommandProcessor({ allowUnsecureStopCommandTokens: true });
    lax.process("::stop-commands::pause-logging");
    expect(lax.stopped).toBe(true);
    expect(lax.process("::pause-logging::").command).toEqual({ kind: "resume-commands", token: "pause-logging" });
  });

  it("honours set-output and save-state with a deprecation warning", () => {
    const p = new CommandProcessor();
    const r = p.process("::set-output name=result::a%0Ab");
    expect(r.command).toMatchObject({ kind: "set-output", name: "result", value: "a\nb" });
    expect(r.display).toMatch(/^##\[warning\]The `set-output` command is deprecated/);
    expect(r.display).toContain("GITHUB_OUTPUT");
    const s = p.process("::save-state name=pid::123");
    expect(s.command).toMatchObject({ kind: "save-state", name: "pid", value: "123" });
    expect(s.display).toContain("GITHUB_STATE");
    expect(p.process("::set-output::no name").command).toMatchObject({ kind: "invalid", failsStep: true });
  });

  it("refuses set-env and add-path, pointing at GITHUB_ENV and GITHUB_PATH", () => {
    const p = new CommandProcessor();
    const env = p.process("::set-env name=FOO::bar");
    expect(env.command).toMatchObject({ kind: "invalid", failsStep: true, level: "error" });
    expect(env.display).toContain("Unable to process command '::set-env name=FOO::bar' successfully.");
    expect(env.display).toContain("GITHUB_ENV");
    const path = p.process("::add-path::/opt/bin");
    expect(path.command).toMatchObject({ kind: "invalid", failsStep: true });
    expect(path.display).toContain("GITHUB_PATH");

    const allowed = new CommandProcessor({ allowUnsecureCommands: true });
    expect(allowed.process("::set-env name=FOO::bar").command).toEqual({ kind: "set-env", name: "FOO", value: "bar" });
    expect(allowed.process("::add-path::/opt/bin").command).toEqual({ kind: "add-path", path: "/opt/bin" });
    expect(allowed.process("::set-env name=NODE_OPTIONS::--require x").command).toMatchObject({ kind: "invalid", failsStep: false });
  });

  it("echoes command lines when echo is on", () => {
    const p = new CommandProcessor();
    expect(p.process("::echo::on")).toEqual({ command: { kind: "echo", enabled: true }, display: null });
    expect(p.process("::group::G").display).toBe("::group::G\n##[group]G");
    expect(p.process("::warning::w").display).toBe("##[warning]w");
    expect(p.process("::echo::off")).toEqual({ command: { kind: "echo", enabled: false }, display: "::echo::off" });
    expect(p.process("::group::G").display).toBe("##[group]G");
    expect(p.process("::echo::maybe").command).toMatchObject({ kind: "invalid", failsStep: true });
  });

  it("ignores a trailing carriage return", () => {
    const p = new CommandProcessor();
    expect(p.process("::notice::crlf\r").command).toEqual({ kind: "notice", message: "crlf" });
    expect(p.process("plain\r").display).toBe("plain");
  });
});
