// Slipway's web UI: plain ES modules and the JSON API, no build step.
// The API token is kept in this browser's localStorage; every request sends
// it as a Bearer token, and the role the server reports decides which
// buttons are shown (the server checks the role again on every change).
/* global document, window, localStorage, fetch, URLSearchParams, setTimeout, clearTimeout, encodeURIComponent */

const main = document.getElementById("main");
const who = document.getElementById("who");
const ROLES = ["viewer", "developer", "release-manager", "admin"];
let me = null;
let timer = null;

const token = () => localStorage.getItem("slipway.token") ?? "";

/** A request with the token; the Response. A 401 forgets the token and throws Error("401") (route() then asks for one). */
async function request(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token()}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 401) {
    localStorage.removeItem("slipway.token");
    me = null;
    throw new Error("401");
  }
  return res;
}

/** A request whose answer is JSON (or text); an error answer throws its message. */
async function api(method, path, body) {
  const res = await request(method, path, body);
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  const data = type.includes("json") ? JSON.parse(text) : text;
  if (!res.ok) throw new Error(typeof data === "object" && data.error ? data.error : `${res.status}`);
  return data;
}

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof window.Node ? c : String(c));
  return el;
}

const can = (role) => me && ROLES.indexOf(me.role) >= ROLES.indexOf(role);
const state = (r) => r.conclusion ?? r.status;
const short = (sha) => (sha ?? "").slice(0, 7);
const refName = (ref) => (ref ?? "").replace(/^refs\/(heads|tags)\//, "");
const when = (t) => (t ? new Date(t).toLocaleString() : "");

/** Replaces the page's content; null and false children are left out. */
function show(...nodes) {
  main.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false && n !== ""));
}

function schedule(fn, ms) {
  clearTimeout(timer);
  timer = setTimeout(fn, ms);
}

// ---- pages ------------------------------------------------------------------

function loginPage(message) {
  const input = h("input", { type: "password", name: "token", placeholder: "slw_…", autocomplete: "off", "aria-label": "API token" });
  const form = h(
    "form",
    {
      class: "login",
      onsubmit: async (e) => {
        e.preventDefault();
        localStorage.setItem("slipway.token", input.value.trim());
        await route();
      },
    },
    h("h1", {}, "Sign in"),
    h("p", { class: "dim" }, "Paste an API token (slipway tokens create, or POST /api/tokens)."),
    input,
    h("button", { type: "submit" }, "Sign in"),
    message ? h("p", { class: "error" }, message) : null,
  );
  show(form);
}

async function runsPage(params) {
  const q = new URLSearchParams();
  for (const k of ["repository", "status"]) if (params.get(k)) q.set(k, params.get(k));
  q.set("limit", "100");
  const { runs } = await api("GET", `/api/runs?${q}`);
  const filter = (name, options) =>
    h(
      "select",
      { name, "aria-label": name, onchange: (e) => go(`#/runs?${new URLSearchParams({ ...Object.fromEntries(params), [name]: e.target.value })}`) },
      options.map((o) => h("option", { value: o, selected: params.get(name) === o || (!params.get(name) && o === "") }, o || `any ${name}`)),
    );
  const repos = [...new Set(["", ...runs.map((r) => r.repository ?? ""), params.get("repository") ?? ""])];
  show(
    h("div", { class: "filters" }, filter("repository", repos), filter("status", ["", "queued", "in_progress", "completed"])),
    h(
      "table",
      { id: "runs" },
      h("thead", {}, h("tr", {}, ["Run", "Repository", "Workflow", "Event", "Ref", "Commit", "Result", "Created"].map((t) => h("th", {}, t)))),
      h(
        "tbody",
        {},
        runs.map((r) =>
          h(
            "tr",
            { class: "run", "data-run": r.id, onclick: () => go(`#/runs/${r.id}`) },
            h("td", {}, h("a", { href: `#/runs/${r.id}` }, `#${r.id}`)),
            h("td", {}, r.repository ?? ""),
            h("td", {}, r.name),
            h("td", {}, r.event),
            h("td", {}, refName(r.ref)),
            h("td", {}, h("code", {}, short(r.sha))),
            h("td", { class: `state ${state(r)}` }, state(r)),
            h("td", { class: "dim" }, when(r.createdAt)),
          ),
        ),
      ),
    ),
    runs.length === 0 ? h("p", { class: "dim" }, "No runs yet: push to a hosted repository.") : null,
  );
  schedule(() => route(), 2000);
}

async function runPage(id, params) {
  const run = await api("GET", `/api/runs/${id}`);
  const selected = Number(params.get("job")) || run.jobs[0]?.id;
  const job = run.jobs.find((j) => j.id === selected);
  const log = job ? await api("GET", `/api/runs/${id}/jobs/${job.id}/log`) : "";
  const search = params.get("q") ?? "";
  const header = h(
    "div",
    {},
    h("h1", {}, `${run.name} #${run.id} `, h("span", { class: `state ${state(run)}`, id: "run-state" }, state(run))),
    h("p", { class: "dim" }, `${run.repository ?? ""} · ${run.event} · ${refName(run.ref)} · ${short(run.sha)}${run.reason ? ` · ${run.reason}` : ""}`),
    run.status !== "completed" && can("developer")
      ? h("button", { class: "cancel", onclick: async () => (await api("POST", `/api/runs/${id}/cancel`), route()) }, "Cancel run")
      : null,
  );
  const graph = h(
    "div",
    { class: "graph", id: "jobs" },
    run.jobs.map((j) =>
      h(
        "div",
        { class: `job ${state(j)} ${j.id === selected ? "selected" : ""}`, "data-job": j.key, onclick: () => go(`#/runs/${id}?job=${j.id}`) },
        h("div", {}, h("strong", {}, j.name)),
        h("div", { class: `state ${state(j)}` }, state(j)),
      ),
    ),
  );
  const steps = job
    ? h(
        "ul",
        { class: "steps" },
        job.steps.map((s) => h("li", {}, h("span", { class: `state ${state(s)}` }, state(s) === "success" ? "✓ " : state(s) === "failure" ? "✗ " : "• "), `${s.number}. ${s.name}`)),
      )
    : null;
  const searchBox = h("input", {
    type: "search",
    placeholder: "Search the log",
    value: search,
    "aria-label": "search the log",
    onchange: (e) => go(`#/runs/${id}?${new URLSearchParams({ ...(job ? { job: String(job.id) } : {}), q: e.target.value })}`),
  });
  // Refreshing keeps the reader's place: the log's scroll (following the end
  // when it was at the end), closed groups, and the window's scroll.
  const before = document.getElementById("log");
  const follow = !before || before.scrollTop + before.clientHeight >= before.scrollHeight - 4;
  const scrollTop = before?.scrollTop ?? 0;
  const closed = new Set([...(before?.querySelectorAll("details:not([open]) > summary") ?? [])].map((e) => e.textContent));
  const pageY = window.scrollY;
  const logView = job ? renderLog(log, search) : h("p", { class: "dim" }, "No jobs yet.");
  for (const d of logView.querySelectorAll?.("details") ?? []) if (closed.has(d.querySelector("summary")?.textContent)) d.open = false;
  show(header, renderWaiting(run), graph, renderAnnotations(run), renderTests(run.tests), renderArtifacts(run), renderSummary(job), steps, job ? h("div", { class: "filters" }, searchBox) : null, logView);
  if (job) logView.scrollTop = follow ? logView.scrollHeight : scrollTop;
  window.scrollTo(0, pageY);
  if (run.status !== "completed") schedule(() => route(), 1000);
}

/**
 * The analysis of a service's latest rollout over time: error rate (%, left
 * scale) and p99 latency (ms, right scale) per measurement, each point
 * coloured by its verdict. SVG built element by element (no markup strings).
 */
function renderAnalysis(analysis) {
  const points = analysis?.points ?? [];
  if (points.length === 0) return null;
  const NS = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs = {}, ...children) => {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    for (const c of children) el.append(c);
    return el;
  };
  const [W, H, PAD] = [300, 110, 28];
  const times = points.map((p) => Date.parse(p.at));
  const t0 = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - t0);
  // By time; by order when measurements share a time stamp.
  const byTime = new Set(times).size === times.length;
  const x = (i) => PAD + (points.length === 1 ? (W - 2 * PAD) / 2 : (byTime ? (times[i] - t0) / span : i / (points.length - 1)) * (W - 2 * PAD));
  const series = [
    // digits: decimals shown; floor: the least top of the scale.
    { key: "error_rate", label: "error rate", unit: "%", scale: 100, cls: "errors", digits: 2, floor: 1 },
    { key: "p99", label: "p99", unit: " ms", scale: 1, cls: "p99", digits: 1, floor: 10 },
  ].filter((m) => points.some((p) => typeof p.measured?.[m.key] === "number"));
  const lines = series.map((m) => {
    const values = points.map((p) => (typeof p.measured?.[m.key] === "number" ? p.measured[m.key] * m.scale : null));
    const max = Math.max(...values.filter((v) => v !== null), m.floor);
    const y = (v) => H - PAD + 10 - (v / max) * (H - PAD - 8);
    const path = values.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean).join(" ");
    const dots = values.map((v, i) => (v === null ? null : svg("circle", { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 2.5, class: `point ${points[i].verdict}` }, svg("title", {}, `${m.label} ${v.toFixed(m.digits)}${m.unit} · step ${points[i].step + 1} · ${points[i].verdict} · ${points[i].at}`)))).filter(Boolean);
    const last = values.filter((v) => v !== null).at(-1);
    return { m, max, line: svg("polyline", { points: path, class: `series ${m.cls}`, "data-series": m.key }), dots, last };
  });
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "analysis-chart", role: "img", "aria-label": `analysis of ${analysis.release}` },
    svg("line", { x1: PAD, y1: H - PAD + 10, x2: W - PAD, y2: H - PAD + 10, class: "axis" }),
    ...lines.flatMap((l) => [l.line, ...l.dots]),
    ...lines.map((l, i) => svg("text", { x: i === 0 ? 2 : W - 2, y: 10, "text-anchor": i === 0 ? "start" : "end", class: `scale ${l.m.cls}` }, `${l.max.toFixed(l.m.digits - 1)}${l.m.unit}`)),
  );
  return h(
    "div",
    { class: "analysis", "data-rollout": analysis.rollout },
    h("div", { class: "dim" }, `analysis of ${analysis.release}: `, ...lines.map((l) => h("span", { class: `legend ${l.m.cls}` }, `${l.m.label} ${l.last === undefined ? "-" : `${l.last.toFixed(l.m.digits)}${l.m.unit}`} `))),
    chart,
  );
}

/** Jobs that wait for their environment's protection rules (approval, window), with Approve and Reject for release managers. */
function renderWaiting(run) {
  const waiting = run.status === "completed" ? [] : run.jobs.filter((j) => j.status === "queued" && j.environment && j.reason);
  if (waiting.length === 0) return null;
  const decide = (env, decision, button) => async () => {
    button.disabled = true;
    try {
      await api("POST", `/api/runs/${run.id}/approvals`, { env, decision });
      await route();
    } catch (err) {
      button.disabled = false;
      button.after(h("span", { class: "error", role: "alert" }, ` ${err.message}`));
    }
  };
  return h(
    "section",
    { id: "waiting" },
    waiting.map((j) => {
      const approve = h("button", { class: "approve" }, `Approve for ${j.environment}`);
      const reject = h("button", { class: "reject" }, "Reject");
      approve.onclick = decide(j.environment, "approve", approve);
      reject.onclick = decide(j.environment, "reject", reject);
      const asksApproval = /approv/.test(j.reason);
      return h(
        "div",
        { class: "waiting-job", "data-job": j.key },
        h("strong", {}, j.name),
        h("span", { class: "state cancelled" }, " waiting"),
        h("span", { class: "dim" }, ` · ${j.reason}`),
        asksApproval && can("release-manager") ? h("div", {}, approve, " ", reject) : null,
      );
    }),
  );
}

/** The run's annotations (::error, ::warning, ::notice and the built-in actions'), as GitHub lists them on a run's page: level, job, place, message. */
function renderAnnotations(run) {
  if (!run.annotations || run.annotations.length === 0) return null;
  const jobName = (id) => run.jobs.find((j) => j.id === id)?.name ?? `job ${id}`;
  const place = (a) => (a.file ? `${a.file}${a.line ? `:${a.line}${a.col ? `:${a.col}` : ""}` : ""}` : "");
  const counts = ["error", "warning", "notice"].map((l) => [l, run.annotations.filter((a) => a.level === l).length]).filter(([, n]) => n > 0);
  return h(
    "section",
    { id: "annotations" },
    h("h2", {}, "Annotations ", h("span", { class: "dim" }, counts.map(([l, n]) => `${n} ${l}${n === 1 ? "" : "s"}`).join(", "))),
    h(
      "ul",
      {},
      run.annotations.map((a) =>
        h(
          "li",
          { class: `annotation ${a.level}`, "data-level": a.level },
          h("span", { class: `state ${a.level === "error" ? "failure" : a.level === "warning" ? "cancelled" : "dim"}` }, a.level === "error" ? "✗ " : a.level === "warning" ? "⚠ " : "ℹ "),
          h("strong", {}, jobName(a.job)),
          a.step ? h("span", { class: "dim" }, ` · ${a.step}`) : null,
          place(a) ? h("code", { class: "place" }, ` ${place(a)}`) : null,
          h("div", { class: "message" }, a.title ? `${a.title}: ${a.message}` : a.message),
        ),
      ),
    ),
  );
}

/** The run's artifacts; a file is fetched with the token and handed to the browser as a download (a failure is shown beside its link). */
function renderArtifacts(run) {
  if (!run.artifacts || run.artifacts.length === 0) return null;
  const download = async (artifact, path, link) => {
    link.parentElement?.querySelector(".download-error")?.remove();
    try {
      const res = await request("GET", `/api/runs/${run.id}/artifacts/${encodeURIComponent(artifact)}?${new URLSearchParams({ path })}`);
      if (!res.ok) {
        const data = await res.json().catch(() => null);
        throw new Error(data?.error ?? `the server answered ${res.status}`);
      }
      const url = window.URL.createObjectURL(await res.blob());
      const a = h("a", { href: url, download: path.split("/").pop() });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => window.URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      if (err.message === "401") return void route();
      link.after(h("span", { class: "error download-error", role: "alert" }, ` download failed: ${err.message}`));
    }
  };
  return h(
    "section",
    { id: "artifacts" },
    h("h2", {}, "Artifacts"),
    h(
      "ul",
      {},
      run.artifacts.map((a) =>
        h(
          "li",
          { "data-artifact": a.name },
          h("strong", {}, a.name),
          h("span", { class: "dim" }, ` · ${size(a.size)} · ${a.files.length} file${a.files.length === 1 ? "" : "s"}`),
          h(
            "ul",
            {},
            a.files.slice(0, 50).map((f) => h("li", {}, h("a", { href: "#", class: "artifact-file", "data-path": f.path, onclick: (e) => (e.preventDefault(), void download(a.name, f.path, e.currentTarget)) }, f.path), h("span", { class: "dim" }, ` ${size(f.size)}`))),
            a.files.length > 50 ? h("li", { class: "dim" }, `… and ${a.files.length - 50} more`) : null,
          ),
        ),
      ),
    ),
  );
}

function size(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : bytes >= 1e3 ? `${(bytes / 1e3).toFixed(1)} kB` : `${bytes} B`;
}

/** The selected job's summary (GITHUB_STEP_SUMMARY), rendered from Markdown into elements: never as HTML. */
function renderSummary(job) {
  if (!job?.summary) return null;
  return h("section", { id: "summary" }, h("h2", {}, "Summary"), markdown(job.summary));
}

/** A small Markdown subset: headings, lists, tables, fenced code, paragraphs; inline code, bold, links as text. Text only, so no markup gets through. */
function markdown(text) {
  const out = h("div", { class: "markdown" });
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const inline = (t) => {
    const parts = [];
    const re = /`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\([^)]*\)/g;
    let at = 0;
    for (let m = re.exec(t); m; m = re.exec(t)) {
      parts.push(t.slice(at, m.index));
      parts.push(m[1] !== undefined ? h("code", {}, m[1]) : m[2] !== undefined ? h("strong", {}, m[2]) : m[3]);
      at = re.lastIndex;
    }
    parts.push(t.slice(at));
    return parts;
  };
  const cells = (row) => row.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim().startsWith("```")) {
      // A fence (also one indented under a list item): its lines, with that indentation taken off.
      const indent = line.length - line.trimStart().length;
      const code = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith("```"); i++) code.push(lines[i].slice(Math.min(indent, lines[i].length - lines[i].trimStart().length)));
      out.append(h("pre", {}, code.join("\n")));
    } else if (/^#{1,6} /.test(line)) {
      const level = Math.min(6, line.indexOf(" ") + 2);
      out.append(h(`h${level}`, {}, inline(line.replace(/^#+ /, ""))));
    } else if (/^\s*[-*] /.test(line)) {
      const ul = h("ul");
      for (; i < lines.length && /^\s*[-*] /.test(lines[i]); i++) ul.append(h("li", {}, inline(lines[i].replace(/^\s*[-*] /, ""))));
      i--;
      out.append(ul);
    } else if (line.trim().startsWith("|") && /^\s*\|?[\s:|-]+\|?\s*$/.test(lines[i + 1] ?? "x")) {
      const head = cells(line);
      const rows = [];
      for (i += 2; i < lines.length && lines[i].trim().startsWith("|"); i++) rows.push(cells(lines[i]));
      i--;
      out.append(h("table", {}, h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, inline(c))))), h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, inline(c))))))));
    } else if (line.trim() !== "") {
      out.append(h("p", {}, inline(line)));
    }
  }
  return out;
}

/** The run's test reports: totals, failures with file:line, flaky tests, coverage. */
function renderTests(tests) {
  if (!tests || tests.jobs.length === 0) return null;
  const t = tests.totals;
  return h(
    "section",
    { id: "tests" },
    h("h2", {}, "Tests ", h("span", { class: `state ${t.failed + t.errored > 0 ? "failure" : "success"}` }, `${t.passed} passed, ${t.failed} failed, ${t.errored} errored, ${t.skipped} skipped`), tests.flaky ? h("span", { class: "state paused" }, ` · ${tests.flaky} flaky`) : null),
    tests.jobs.map((j) =>
      j.reports.map((r) =>
        h(
          "div",
          { class: "report" },
          h("div", { class: "dim" }, `${j.name}: ${r.name}`),
          h(
            "ul",
            { class: "failures" },
            r.failures.map((f) =>
              h(
                "li",
                { class: "failure-item" },
                h("code", { class: "where" }, f.file ? `${f.file}${f.line ? `:${f.line}` : ""}` : f.report),
                " ",
                h("strong", {}, [f.suite, f.name].filter(Boolean).join(" › ")),
                h("div", { class: "dim" }, f.message),
              ),
            ),
            r.flaky.map((f) => h("li", { class: "state paused" }, `flaky: ${[f.suite, f.name].filter(Boolean).join(" › ")}`)),
          ),
          r.coverage.map((c) => h("div", { class: "dim coverage" }, `coverage (${c.format}): lines ${c.lines.covered}/${c.lines.total}, branches ${c.branches.covered}/${c.branches.total}`)),
        ),
      ),
    ),
  );
}

/** Step logs: ANSI colours, ::group:: / ##[group] folds, search highlights. */
function renderLog(text, search) {
  const root = h("div", { class: "log", id: "log" });
  let target = root;
  for (const raw of text.split("\n")) {
    const group = /^(?:::group::|##\[group\])(.*)$/.exec(raw);
    if (group) {
      const details = h("details", { open: true }, h("summary", {}, group[1]));
      root.append(details);
      target = details;
      continue;
    }
    if (/^(?:::endgroup::|##\[endgroup\])/.test(raw)) {
      target = root;
      continue;
    }
    const line = h("div", { class: /^##\[step \d+\]/.test(raw) ? "line step" : "line" });
    if (search && !raw.toLowerCase().includes(search.toLowerCase())) line.classList.add("hidden");
    appendAnsi(line, raw, search);
    target.append(line);
  }
  return root;
}

const COLORS = { 30: "#6e7681", 31: "#f85149", 32: "#3fb950", 33: "#d29922", 34: "#58a6ff", 35: "#bc8cff", 36: "#39c5cf", 37: "#e6e8ee", 90: "#8b93a7" };

function appendAnsi(el, text, search) {
  let style = {};
  for (const part of text.split(/(\u001b\[[0-9;]*m)/)) {
    const sgr = /^\u001b\[([0-9;]*)m$/.exec(part);
    if (sgr) {
      for (const code of (sgr[1] || "0").split(";").map(Number)) {
        if (code === 0) style = {};
        else if (code === 1) style.fontWeight = "700";
        else if (COLORS[code]) style.color = COLORS[code];
      }
      continue;
    }
    if (!part) continue;
    const span = h("span");
    Object.assign(span.style, style);
    if (search) {
      const i = part.toLowerCase().indexOf(search.toLowerCase());
      if (i >= 0) {
        span.append(part.slice(0, i), h("mark", {}, part.slice(i, i + search.length)), part.slice(i + search.length));
        el.append(span);
        continue;
      }
    }
    span.append(part);
    el.append(span);
  }
}

/** Change requests of a repository, with their checks and approvals; approve and merge. */
async function changesPage(params) {
  const { repositories } = await api("GET", "/api/repos");
  const repo = params.get("repo") ?? repositories[0]?.name;
  if (!repo) return show(h("p", { class: "dim" }, "No repositories yet."));
  const { changes } = await api("GET", `/api/repos/${repo}/changes`);
  const act = (n, what) => async () => {
    try {
      await api("POST", `/api/repos/${repo}/changes/${n}/${what}`);
    } catch (err) {
      window.alert(err.message);
    }
    await route();
  };
  show(
    h(
      "div",
      { class: "filters" },
      h(
        "select",
        { "aria-label": "repository", onchange: (e) => go(`#/changes?repo=${encodeURIComponent(e.target.value)}`) },
        repositories.map((r) => h("option", { value: r.name, selected: r.name === repo }, r.name)),
      ),
    ),
    changes.length === 0 ? h("p", { class: "dim" }, `No change requests in ${repo}: slipway change create --source BRANCH`) : null,
    changes.map((c) =>
      h(
        "section",
        { class: "env change", "data-change": c.number },
        h("h2", {}, `#${c.number} ${c.title} `, h("span", { class: `state ${c.state === "open" ? (c.mergeable ? "success" : "queued") : c.state === "merged" ? "success" : "skipped"}` }, c.state === "open" ? (c.mergeable ? "mergeable" : "open") : c.state)),
        h("p", { class: "dim" }, `${c.source} → ${c.target} · by ${c.author}${c.mergeSha ? ` · merge result ${short(c.mergeSha)}` : ""}`),
        h(
          "ul",
          { class: "steps" },
          c.checks.map((k) => h("li", {}, h("span", { class: `state ${k.state}` }, k.state === "success" ? "✓ " : k.state === "failure" ? "✗ " : "• "), `${k.name} `, h("span", { class: "dim" }, k.detail))),
          c.runs.map((r) => h("li", {}, h("a", { href: `#/runs/${r.id}` }, `${r.name} #${r.id}`), " ", h("span", { class: `state ${state(r)}` }, state(r)))),
        ),
        h("p", {}, `approvals: ${c.approvals.length}/${c.requiredApprovals}${c.approvals.length ? ` (${c.approvals.join(", ")})` : ""}`),
        c.state === "open" ? c.reasons.map((r) => h("p", { class: "dim" }, `not yet: ${r}`)) : null,
        c.state === "open" && can("developer")
          ? h(
              "div",
              {},
              me.name !== c.author ? h("button", { class: "approve", onclick: act(c.number, "approvals") }, "Approve") : null,
              " ",
              h("button", { class: "merge", disabled: !c.mergeable, onclick: act(c.number, "merge") }, "Merge"),
            )
          : null,
      ),
    ),
  );
  schedule(() => route(), 2000);
}

async function environmentsPage() {
  let status;
  try {
    status = await api("GET", "/api/delivery");
  } catch (err) {
    show(h("p", { class: "dim" }, err.message));
    return;
  }
  const history = await api("GET", "/api/delivery/history").catch(() => ({ entries: [] }));
  const envs = [...new Set(status.services.map((s) => s.env))];
  const decide = (env, release, decision) => async () => {
    await api("POST", "/api/delivery/approvals", { env, release, decision });
    await route();
  };
  show(
    h("h1", {}, `Environments of ${status.repository}`),
    status.configError ? h("p", { class: "error" }, status.configError) : null,
    h(
      "div",
      { class: "board", id: "board" },
      envs.map((env) =>
        h(
          "section",
          { class: "env", "data-env": env },
          h("h2", {}, env),
          status.services
            .filter((s) => s.env === env)
            .map((s) => {
              const weights = Object.entries(s.weights ?? {});
              const waitingFor = s.awaitingApproval;
              return h(
                "div",
                { class: "card", "data-service": s.service },
                h("div", {}, h("span", { class: "dim" }, `${s.service} `), h("span", { class: "release", "data-stable": s.stable ?? "" }, s.stable ?? "—")),
                h("div", { class: `state ${s.sync}` }, s.sync, h("span", { class: "dim" }, ` · ${s.reason ?? ""}`)),
                s.rollout
                  ? h(
                      "div",
                      {},
                      h("div", { class: `state ${s.rollout.phase}` }, `${s.rollout.strategy} → ${s.rollout.to}: ${s.rollout.phase} (${s.rollout.weight}%)`),
                      h("div", { class: "bar", title: weights.map(([r, w]) => `${r} ${w}%`).join(", ") }, weights.map(([, w]) => h("span", { style: `width:${w}%` }))),
                    )
                  : null,
                s.lastVerdict ? h("div", { class: `dim verdict ${s.lastVerdict.verdict}` }, `last verdict: ${s.lastVerdict.verdict} — ${s.lastVerdict.reason}`) : null,
                renderAnalysis(s.analysis),
                s.waiting ? h("p", { class: "dim waiting" }, s.waiting) : null,
                waitingFor && can("release-manager")
                  ? h(
                      "div",
                      {},
                      h("button", { class: "approve", onclick: decide(env, waitingFor, "approve") }, `Approve ${waitingFor}`),
                      " ",
                      h("button", { class: "reject", onclick: decide(env, waitingFor, "reject") }, "Reject"),
                    )
                  : null,
              );
            }),
        ),
      ),
    ),
    h("h2", {}, "History"),
    h(
      "table",
      { id: "history" },
      h(
        "tbody",
        {},
        history.entries.slice(0, 30).map((e) =>
          h(
            "tr",
            {},
            h("td", { class: "dim" }, when(e.date)),
            h("td", {}, e.env),
            h("td", {}, e.action),
            h("td", {}, e.release ?? "—"),
            h("td", {}, e.author),
            h("td", { class: "dim" }, [e.reason, e.approvals.length ? `approved by ${e.approvals.join(", ")}` : ""].filter(Boolean).join(" · ")),
          ),
        ),
      ),
    ),
  );
  schedule(() => route(), 1500);
}

// ---- routing ----------------------------------------------------------------

function go(hash) {
  if (window.location.hash === hash) void route();
  else window.location.hash = hash;
}

async function route() {
  clearTimeout(timer);
  const hash = window.location.hash || "#/runs";
  const [path, query] = hash.slice(1).split("?");
  const params = new URLSearchParams(query ?? "");
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("active", path.startsWith(`/${a.dataset.nav}`));
  if (!token()) return loginPage();
  try {
    if (!me) {
      me = await api("GET", "/api/whoami");
      who.textContent = `${me.name} (${me.role})`;
    }
    const run = /^\/runs\/(\d+)$/.exec(path);
    if (run) await runPage(Number(run[1]), params);
    else if (path.startsWith("/environments")) await environmentsPage();
    else if (path.startsWith("/changes")) await changesPage(params);
    else await runsPage(params);
  } catch (err) {
    if (err.message === "401") return loginPage("That token was refused (unknown or revoked).");
    show(h("p", { class: "error" }, err.message));
    schedule(() => route(), 3000);
  }
}

window.addEventListener("hashchange", () => void route());
void route();
