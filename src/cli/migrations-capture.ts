// `slipway migrations capture [--database URL] [--out FILE] -- COMMAND…`:
// runs the release's tests with DATABASE_URL (and PGHOST/PGPORT) pointing at
// a proxy in front of the database (migrations/capture.ts), and writes the
// reads and writes they sent — each distinct statement once, sorted, `$1…`
// parameters as the client sent them — to <dir>/queries/captured.sql, where
// `slipway migrations verify` reads a release's queries. Transactions, SET
// and DDL are left out (the tests' own setup, not what the release runs).
// Exit: the command's exit code (the file is written either way); 2 when
// the command cannot start or no database is given.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { defaultQueriesDir, parseSql, QUERY_KINDS, startCaptureProxy } from "../migrations/index.js";
import { redactUrl } from "../store/index.js";
import { EXIT, UsageError, workDir, type GlobalOptions } from "./common.js";
import { migrationsDir } from "./migrations-dirs.js";

export interface MigrationsCaptureOptions extends GlobalOptions {
  database?: string;
  out?: string;
  dir?: string;
  json?: boolean;
}

export async function migrationsCaptureCommand(command: string[], opts: MigrationsCaptureOptions): Promise<number> {
  const repoDir = workDir(opts);
  const target = opts.database ?? process.env.DATABASE_URL;
  if (!target) throw new UsageError("give the database the tests use: --database postgres://… or DATABASE_URL");
  if (!/^postgres(ql)?:\/\//.test(target)) throw new UsageError(`--database expects a postgres:// URL, got '${redactUrl(target)}'`);
  const [program, ...args] = command;
  if (!program) throw new UsageError("name the command that runs the tests after --, e.g. slipway migrations capture -- npm test");
  const out = resolve(repoDir, opts.out ?? join(defaultQueriesDir(migrationsDir(repoDir, opts.dir)), "captured.sql"));

  const proxy = await startCaptureProxy(target);
  let code: number;
  try {
    code = await new Promise<number>((done, fail) => {
      const child = spawn(program, args, {
        cwd: repoDir,
        // With --json, the command's output goes to standard error: standard output is the summary.
        stdio: ["inherit", opts.json ? process.stderr : "inherit", "inherit"],
        env: { ...process.env, DATABASE_URL: proxy.url, PGHOST: "127.0.0.1", PGPORT: String(proxy.port), PGSSLMODE: "disable" },
      });
      child.once("error", (err) => fail(new UsageError(`cannot run ${program}: ${err.message}`)));
      child.once("exit", (c, signal) => done(c ?? (signal ? 128 : 1)));
    });
  } finally {
    await proxy.close();
  }

  // Each distinct text parsed once, however often the tests sent it.
  const sent = proxy.sent();
  const kept = new Set<string>();
  let seen = 0;
  let unparsed = 0;
  for (const [text, count] of sent) {
    seen += count;
    let statements;
    try {
      statements = await parseSql("captured", text);
    } catch {
      unparsed += count;
      continue;
    }
    for (const st of statements) if (QUERY_KINDS.has(st.kind)) kept.add(st.text.replace(/\s+/g, " ").trim());
  }
  const queries = [...kept].sort();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `-- Captured by \`slipway migrations capture\` while \`${command.join(" ")}\` ran (${new Date().toISOString()}):\n` +
      `-- the reads and writes the release sends, one statement each, for \`slipway migrations verify\`.\n` +
      `-- Capture again rather than edit.\n` +
      queries.map((q) => `${q};\n`).join("\n"),
  );
  const shown = relative(repoDir, out) || out;
  if (opts.json) process.stdout.write(JSON.stringify({ file: shown, queries: queries.length, statementsSeen: seen, unparsed, exitCode: code }, null, 2) + "\n");
  else process.stderr.write(`captured ${queries.length} distinct quer${queries.length === 1 ? "y" : "ies"} (${seen} statements sent${unparsed ? `, ${unparsed} not parsed` : ""}) → ${shown}\n`);
  return code === 0 ? EXIT.ok : code;
}
