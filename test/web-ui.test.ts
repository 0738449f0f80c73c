// The web UI in real headless Chromium (Debian's, driven by playwright-core):
// a `git push` to a hosted repository → the run appears and its log streams
// in → a prod promotion is approved in the UI → the environments board shows
// the new release. Screenshots go to test-results/ui/ (not in Git).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../src/store/index.js";
import { git, makeRepo, runCli } from "./helpers/cli.js";
import { freePort } from "./helpers/net.js";
import { api, startServer, type Started } from "./helpers/server.js";

const CHROMIUM = process.env.SLIPWAY_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = resolve(import.meta.dirname, "../test-results/ui");


const SERVICE = `require("node:http").createServer((req, res) => res.end(req.url === "/healthz" ? "ok" : "svc")).listen(Number(process.env.PORT), "127.0.0.1");\n`;
const CART_TEST = `import assert from "node:assert/strict";
import { it } from "node:test";

it("sums", () => assert.equal(1 + 1, 2));
it("applies a discount", () => {
  assert.equal(200 - 200 * 0.1, 170, "10% off 200");
});
`;
const FAILING_LINE = CART_TEST.split("\n").findIndex((l) => l.includes("10% off 200")) + 1;
const CI = `name: CI
on:
  push:
    branches: [main]
jobs:
  unit:
    runs-on: ubuntu-latest
    continue-on-error: true
    steps:
      - uses: actions/checkout@v4
      - run: mkdir -p reports && node --test --test-reporter=junit --test-reporter-destination=reports/junit.xml test/
      - uses: slipway/test-report@v1
        if: always()
        with: { path: reports/*.xml }
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: |
          echo "::group::Compile"
          for i in 1 2 3 4; do printf '\\033[32mbuilding %s\\033[0m\\n' "$i"; sleep 0.6; done
          echo "::endgroup::"
      - run: echo "::warning file=server.js,line=1,col=1,title=Style::prefer const"
      - uses: actions/upload-artifact@v4
        with: { name: svc, path: server.js }
  e2e:
    needs: build
    # The first run only: later runs (the merged change request) do not wait for an approval.
    if: github.run_number == 1
    runs-on: ubuntu-latest
    environment: prod
    steps:
      - run: echo "end-to-end against prod's protection rules"
`;
const slipwayYml = (dev: number, prod: number) => `services:
  svc:
    release: { workflow: ci.yml, artifact: svc }
    run:
      command: node server.js
      health: { path: /healthz, interval: 500ms }
environments:
  dev:
    auto: true
    strategy: rolling
    services: { svc: { port: ${dev} } }
  prod:
    after: dev
    approval: { required: 1, from: [release-managers] }
    strategy: rolling
    services: { svc: { port: ${prod} } }
`;

describe.skipIf(!existsSync(CHROMIUM))("the web UI in Chromium", () => {
  const cleanup: string[] = [];
  let s: Started | undefined;
  let browser: Browser | undefined;
  let dataDir = "";

  afterAll(async () => {
    await browser?.close();
    if (s && s.child.exitCode === null) {
      const exited = new Promise((r) => s?.child.once("exit", r));
      s.child.kill("SIGTERM");
      await exited;
    }
    if (dataDir) await runCli(["down", "--data-dir", dataDir], { cwd: dataDir });
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });

  it("shows a pushed run with its log streaming in, and approves a prod promotion on the environments board", async () => {
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), "slipway-ui-"));
    cleanup.push(dataDir);
    s = await startServer(dataDir, ["--deliver", "acme/svc", "--interval", "300ms"]);
    const server = s;
    const token = async (role: string) => (await api(server, "POST", "/api/tokens", server.admin, { name: `${role}-ui`, role })).json.token as string;
    const developer = await token("developer");
    const manager = await token("release-manager");
    expect((await api(server, "POST", "/api/repos", server.admin, { name: "acme/svc" })).status).toBe(201);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

    // Sign in with the release-manager's token.
    await page.goto(server.url);
    await page.fill("input[name=token]", manager);
    await page.click("button[type=submit]");
    await page.waitForSelector("#who:has-text('release-manager-ui (release-manager)')");

    // Push: the run appears in the list by itself.
    const [devPort, prodPort] = [await freePort(), await freePort()];
    const work = makeRepo({ "server.js": SERVICE, "test/cart.test.mjs": CART_TEST, ".github/workflows/ci.yml": CI, "slipway.yml": slipwayYml(devPort, prodPort) });
    cleanup.push(work);
    git(work, "push", "-q", `${server.url.replace("http://", `http://d:${developer}@`)}/git/acme/svc.git`, "main");
    await page.waitForSelector("tr.run:has-text('CI')", { timeout: 20_000 });
    await page.click("tr.run:has-text('CI')");

    // The log streams in while the run is in progress, coloured, in its group.
    await page.click(".job[data-job=build]");
    await page.waitForFunction(
      () => document.querySelector("#run-state")?.textContent === "in_progress" && (document.querySelector("#log")?.textContent ?? "").includes("building 1"),
      undefined,
      { timeout: 20_000 },
    );
    await page.screenshot({ path: join(SHOTS, "run-streaming.png"), fullPage: true });
    // The e2e job (environment: prod) waits for prod's approval: approved here, as the release manager.
    await page.waitForSelector("#waiting [data-job=e2e] button.approve", { timeout: 30_000 });
    expect(await page.textContent("#waiting [data-job=e2e]")).toContain("environment prod");
    await page.screenshot({ path: join(SHOTS, "run-waiting-approval.png"), fullPage: true });
    await page.click("#waiting [data-job=e2e] button.approve");
    await page.waitForSelector("#run-state.success", { timeout: 30_000 });
    expect(await page.$("#waiting")).toBeNull();
    // The build job's ::warning, with its place, among the run's annotations.
    await page.waitForSelector("#annotations li[data-level=warning]");
    const warning = await page.textContent("#annotations li[data-level=warning]:has-text('prefer const')");
    expect(warning).toContain("build");
    expect(warning).toContain("server.js:1:1");
    expect(warning).toContain("Style: prefer const");
    // The failing test of the `unit` job (continue-on-error), with its file and line.
    await page.waitForSelector("#tests .failure-item");
    expect(await page.textContent("#tests .where")).toBe(`test/cart.test.mjs:${FAILING_LINE}`);
    expect(await page.textContent("#tests h2")).toContain("1 passed, 1 failed");
    await page.screenshot({ path: join(SHOTS, "run-tests.png"), fullPage: true });
    const log = await page.textContent("#log");
    expect(log).toContain("building 4");
    expect(await page.textContent("#log details summary")).toBe("Compile");
    expect(await page.getAttribute("#log details .line span", "style")).toContain("color");
    // Searching the log hides the lines without the text.
    await page.fill("input[type=search]", "building 3");
    await page.press("input[type=search]", "Enter");
    await page.waitForSelector("#log mark:has-text('building 3')");
    expect(await page.locator("#log .line:not(.hidden)").count()).toBe(1);

    // The run's artifact: listed with its file, which downloads with the token.
    await page.waitForSelector("#artifacts [data-artifact=svc] .artifact-file[data-path='server.js']");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#artifacts .artifact-file[data-path='server.js']")]);
    expect(download.suggestedFilename()).toBe("server.js");
    expect(readFileSync(await download.path(), "utf8")).toBe(SERVICE);
    // The unit job's summary (written by slipway/test-report), rendered from its Markdown.
    await page.click(".job[data-job=unit]");
    await page.waitForSelector("#summary h2:has-text('Summary')");
    expect(await page.textContent("#summary .markdown")).toContain("1 failed, 1 passed");
    await page.screenshot({ path: join(SHOTS, "run-summary-artifacts.png"), fullPage: true });

    // The environments board: dev runs svc#1; prod waits for an approval.
    await page.click("a[data-nav=environments]");
    await page.waitForSelector("[data-env=dev] [data-stable='svc#1']", { timeout: 30_000 });
    await page.waitForSelector("[data-env=prod] button.approve", { timeout: 30_000 });
    await page.screenshot({ path: join(SHOTS, "board-waiting.png"), fullPage: true });
    await page.click("[data-env=prod] button.approve");
    await page.waitForSelector("[data-env=prod] [data-stable='svc#1']", { timeout: 30_000 });
    await page.waitForSelector("#history td:has-text('release-manager-ui')", { timeout: 10_000 });
    await page.screenshot({ path: join(SHOTS, "board-promoted.png"), fullPage: true });
    expect(await fetch(`http://127.0.0.1:${prodPort}/`).then((r) => r.text())).toBe("svc");

    // A change request: its check runs on the merge result; approve and merge it in the UI.
    git(work, "checkout", "-q", "-b", "feature");
    git(work, "commit", "-q", "--allow-empty", "-m", "feature");
    git(work, "push", "-q", `${server.url.replace("http://", `http://d:${developer}@`)}/git/acme/svc.git`, "feature");
    expect((await api(server, "POST", "/api/repos/acme/svc/changes", developer, { source: "feature", target: "main", title: "A feature" })).status).toBe(201);
    await page.click("a[data-nav=changes]");
    await page.waitForSelector("[data-change='1'] h2:has-text('A feature')");
    await page.click("[data-change='1'] button.approve");
    await page.waitForSelector("[data-change='1'] p:has-text('approvals: 1/0 (release-manager-ui)')");
    await page.waitForSelector("[data-change='1'] button.merge:not([disabled])", { timeout: 30_000 });
    await page.screenshot({ path: join(SHOTS, "change-request.png"), fullPage: true });
    await page.click("[data-change='1'] button.merge");
    await page.waitForSelector("[data-change='1'] h2 .state:has-text('merged')", { timeout: 10_000 });

    // The analysis chart of a canary's measurements (error rate and p99 over time), from the store's
    // rows as the control loop writes them (control.test.ts runs real canaries; here only the board is under test).
    const store = openStore(dataDir);
    try {
      const rollout = store.createRollout({ env: "dev", service: "svc", fromRelease: "svc#1", fromDigest: null, toRelease: "svc#1", toDigest: "sha256:" + "0".repeat(64), strategy: "canary", stateCommit: null });
      const series: Array<[number, number, "pass" | "fail"]> = [[0, 12, "pass"], [0.004, 15, "pass"], [0.21, 48, "fail"]];
      for (const [i, [errors, p99, verdict]] of series.entries()) store.addMeasurement({ rolloutId: rollout.id, step: i, verdict, measured: { error_rate: errors, p99 }, reason: verdict === "fail" ? "error rate 21.0% ≥ 1%" : "ok" });
      store.updateRollout(rollout.id, { phase: "rolled-back", reason: "error rate 21.0% ≥ 1%" });
    } finally {
      store.close();
    }
    await page.click("a[data-nav=environments]");
    await page.waitForSelector("[data-env=dev] .analysis-chart polyline[data-series=error_rate]", { timeout: 10_000 });
    expect(await page.locator("[data-env=dev] .analysis-chart polyline[data-series=p99]").count()).toBe(1);
    expect(await page.locator("[data-env=dev] .analysis-chart circle.point.fail").count()).toBe(2);
    expect(await page.locator("[data-env=dev] .analysis-chart circle.point.pass").count()).toBe(4);
    expect(await page.textContent("[data-env=dev] .analysis")).toContain("error rate 21.00%");
    expect(await page.textContent("[data-env=dev] .analysis")).toContain("p99 48.0 ms");
    await page.screenshot({ path: join(SHOTS, "board-analysis.png"), fullPage: true });

    // A viewer sees no approve button.
    const viewer = await token("viewer");
    await page.evaluate((t) => localStorage.setItem("slipway.token", t), viewer);
    await page.reload();
    await page.waitForSelector("#who:has-text('(viewer)')");
    expect(await page.locator("button.approve").count()).toBe(0);
    expect(errors, errors.join("\n")).toEqual([]);
  });
});
