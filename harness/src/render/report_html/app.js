// mmcheck's compatibility report: renders the embedded report.json (`data`). Everything a
// person can open has an address: #case=ID, #case=ID&env=KEY, #sym=NAME, #cause=ID,
// #view=cases|calls|causes, #q=SEARCH. Fields newer than the page's first version (schema_version,
// envs[].runtime and kernel_only, since, expected, cause, causes) are shown when present.
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const STATUSES = ["pass", "fail", "broken", "skip", "none"];
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;" })[c]);
const enc = (s) => encodeURIComponent(s).replace(/%2F/g, "/");
const envs = data.envs.map((e) => ({ ...e, kernel: e.kernel_only ?? e.platform === "linux" }));
const caseIndex = new Map(data.cases.map((c, i) => [c.id, i]));
const causes = Array.isArray(data.causes) ? data.causes : null;
const causeById = new Map((causes ?? []).map((c) => [c.id, c]));
const narrow = window.matchMedia("(max-width: 899px)");
const $ = (sel) => document.querySelector(sel);
const filter = $("#filter");
const diff = $("#diff");
const kernels = $("#kernels");
const details = $("#details");
const tbody = $("#matrix tbody");

const statusOf = (c, e) => c.results[e.key]?.status ?? "none";
const nk = (e) => (e.kernel ? "" : " nk");
const visibleEnvs = () => (kernels.checked ? envs.filter((e) => e.kernel) : envs);
const cellHref = (id, key) => `#case=${enc(id)}` + (key ? `&env=${enc(key)}` : "");

// What a column is headed with: its label, the kernel release, and the runtime's release where
// the environment has one (gVisor's runsc: its uname is made up, so it is not called a kernel).
function runtimeText(e) {
  if (!e.runtime) return "";
  const name = { gvisor: "runsc", "qemu-user": "qemu" }[e.platform] ?? e.platform;
  return e.runtime.toLowerCase().includes(name) ? e.runtime : `${name} ${e.runtime}`;
}
// In a column header only the runtime's name and version ("qemu-aarch64 7.2.22", not the
// package's build string): a long header makes every header row as tall as the longest one.
function runtimeShort(e) {
  return runtimeText(e).replace(/ version /, " ").replace(/ \(.*\)$/, "");
}
function releaseText(e) {
  if (e.platform === "gvisor") return `uname ${e.release}`;
  if (e.platform === "qemu-user") return `host kernel ${e.release}`;
  return `kernel ${e.release}`;
}
function envHead(e) {
  const rt = runtimeText(e);
  const title = `${e.key}: ${e.platform}, ${releaseText(e)}${rt ? ", " + rt : ""}, ${e.machine}, ${e.page_size / 1024} KiB pages`;
  return `<th scope="col" class="env${nk(e)}" data-env="${esc(e.key)}" title="${esc(title)}">` +
    `<span class="label">${esc(e.label)}</span>` +
    (rt ? `<span class="rel runtime">${esc(runtimeShort(e))}</span>` : "") +
    `<span class="rel">${esc(releaseText(e))}</span></th>`;
}

// "since 6.10", caniuse style: the first kernel of the matrix where it works, and the version
// the documentation gives; and where a kernel lacks it, how it says so.
function sinceText(since) {
  if (!since) return "";
  const parts = [];
  if (since.matrix) parts.push(`since ${since.matrix} in this matrix`);
  if (since.documented) parts.push(`documented since ${since.documented}`);
  const absent = Object.entries(since.absent ?? {}).map(([k, how]) => `${envs.find((e) => e.key === k)?.label ?? k} (${how})`);
  if (absent.length) parts.push(`absent on ${absent.join(", ")}`);
  return parts.join(" · ");
}
function sinceCell(since) {
  if (!since || (!since.matrix && !since.documented)) return `<td class="since">–</td>`;
  const v = since.matrix ?? since.documented;
  return `<td class="since" title="${esc(sinceText(since))}">since ${esc(v)}` +
    (since.documented && since.documented !== since.matrix ? `<small>doc ${esc(since.documented)}</small>` : "") + "</td>";
}

// ---- the case by environment grid
const headRow = (first) => `<tr><th scope="col" class="corner">${first}</th>${envs.map(envHead).join("")}</tr>`;
$("#matrix thead").innerHTML = headRow("case");
tbody.innerHTML = data.cases.map((c, i) => {
  const cells = envs.map((e) => {
    const st = statusOf(c, e);
    return `<td class="${st}${nk(e)}" data-env="${esc(e.key)}"><a href="${cellHref(c.id, e.key)}" ` +
      `aria-label="${esc(c.id)} on ${esc(e.label)}: ${st === "none" ? "not run" : st}">${st === "none" ? "–" : st}</a></td>`;
  }).join("");
  return `<tr data-i="${i}"><th scope="row"><a href="${cellHref(c.id)}" title="${esc(c.summary)}">${esc(c.id).replace("/", "/<wbr>")}</a></th>${cells}</tr>`;
}).join("");
const rows = Array.from(tbody.rows);

// The words a case is found by: its id, call, symbols, summary, what it expects, and every
// environment's observation and skip reason. Lower case; matched as whole words.
const hay = data.cases.map((c) => [c.id, c.group, c.summary, c.expected, ...c.symbols,
  ...Object.values(c.results).flatMap((r) => [r.reason, r.decisive])].join(" \n ").toLowerCase());

const envsMatching = (p) => envs.filter((e) => e.key === p || e.key.startsWith(p + "-") || e.label.toLowerCase() === p);
const wordRe = (w) => {
  const prefix = w.endsWith("*");
  const body = (prefix ? w.slice(0, -1) : w).replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s+/g, "\\s+");
  return new RegExp(`(?:^|[^a-z0-9_])${body}${prefix ? "" : "(?:[^a-z0-9_]|$)"}`);
};

// A search is a list of tests on a case index; every one must hold.
function parse(query) {
  // Words; "a phrase"; key:"a value with spaces".
  const tokens = [...query.matchAll(/(\S+?:)?"([^"]+)"|(\S+)/g)].map((m) => m[3] != null
    ? { text: m[3].toLowerCase(), quoted: false }
    : { text: ((m[1] ?? "") + m[2]).toLowerCase(), quoted: m[1] == null });
  const tests = [];
  const envTest = (list, st) => (i) => list.some((e) => statusOf(data.cases[i], e) === st);
  for (let k = 0; k < tokens.length; k++) {
    const { text: t, quoted } = tokens[k];
    const m = quoted ? null : t.match(/^([^:]+):(.+)$/);
    if (m && m[1] === "call") { tests.push((i) => data.cases[i].group === m[2]); continue; }
    if (m && m[1] === "cause") {
      // A cause's cases: those that name it, and those it lists; in a report without causes,
      // the differing cases that vary with what is named.
      const listed = new Set((causes ?? []).find((k) => k.id.toLowerCase() === m[2])?.cases ?? []);
      tests.push((i) => {
        const c = data.cases[i];
        return c.cause?.id?.toLowerCase() === m[2] || listed.has(c.id) || (!causes && c.differs && varies(c).toLowerCase() === m[2]);
      });
      continue;
    }
    if (m && STATUSES.includes(m[2]) && envsMatching(m[1]).length) { tests.push(envTest(envsMatching(m[1]), m[2])); continue; }
    if (!quoted && envsMatching(t).length) {
      const next = tokens[k + 1];
      if (next && !next.quoted && STATUSES.includes(next.text)) { tests.push(envTest(envsMatching(t), next.text)); k++; continue; }
      const list = envsMatching(t);
      tests.push((i) => list.some((e) => ["pass", "fail", "broken"].includes(statusOf(data.cases[i], e))));
      continue;
    }
    if (!quoted && STATUSES.includes(t)) { tests.push((i) => visibleEnvs().some((e) => statusOf(data.cases[i], e) === t)); continue; }
    const re = wordRe(t);
    tests.push((i) => re.test(hay[i]));
  }
  return tests;
}

function differs(c, any) {
  const seen = new Set();
  for (const e of visibleEnvs()) {
    const st = statusOf(c, e);
    if (st === "none" || (!any && st === "skip")) continue;
    seen.add(st);
  }
  return seen.size > 1;
}

function apply() {
  const tests = parse(filter.value);
  const mode = diff.value;
  let shown = 0;
  for (const tr of rows) {
    const i = +tr.dataset.i;
    const c = data.cases[i];
    const verdicts = differs(c, false);
    tr.classList.toggle("differs", verdicts);
    const ok = tests.every((t) => t(i)) && (mode === "" || (mode === "verdict" ? verdicts : differs(c, true)));
    tr.hidden = !ok;
    if (ok) shown++;
  }
  $("#count").textContent = `${shown} of ${rows.length} cases`;
}

// ---- the views beside the grid
function levelCell(s, e) {
  const absent = s.since?.absent?.[e.key];
  if (absent) return `<td class="absent${nk(e)}" data-env="${esc(e.key)}" title="${esc(e.key)}: not available">absent <small>(${esc(absent)})</small></td>`;
  const l = s.per_env[e.key];
  if (!l) return `<td class="none${nk(e)}" data-env="${esc(e.key)}">–</td>`;
  const text = l.level === "untested" ? "untested" : `${l.level} ${l.pass}/${l.ran}`;
  const q = `${s.symbol ? s.name : "call:" + s.name} ${e.key}:fail`;
  const inner = l.missing.length
    ? `<a href="#view=cases&q=${enc(q)}" title="${l.missing.length} not passing">${esc(text)}</a>` : esc(text);
  return `<td class="${esc(l.level)}${nk(e)}" data-env="${esc(e.key)}">${inner}</td>`;
}
function supportTable(list, what, symbol) {
  return `<div class="scroll"><table class="support"><thead>${headRow(what).replace("</th>", "</th><th scope=\"col\">since</th>")}</thead><tbody>` +
    list.map((s) => {
      const row = { ...s, symbol };
      const cases = symbol ? `#view=cases&q=${enc(s.name)}` : `#view=cases&q=${enc("call:" + s.name)}`;
      return `<tr><th scope="row"><a href="#sym=${enc(s.name)}">${esc(s.name)}</a> <a class="small" href="${cases}">cases</a></th>` +
        sinceCell(s.since) + envs.map((e) => levelCell(row, e)).join("") + "</tr>";
    }).join("") + "</tbody></table></div>";
}
$("#calls").innerHTML = `<h2>Support by call</h2><p class="note">Per environment: <b>full</b>, every case of the
  call that ran passed; <b>partial</b>, some did not; <b>absent</b>, none did (with how the environment
  said so where known); <b>untested</b>, all were skipped. (passed/ran). <b>since</b>: the first kernel of
  this matrix where it works, and the version its documentation gives.</p>` +
  supportTable(data.syscalls, "call", false) +
  `<details><summary>Support by symbol (${data.symbols.length})</summary>${supportTable(data.symbols, "symbol", true)}</details>`;

function varies(c) {
  return c.varies_with?.length ? c.varies_with.join(", or ") : "no property or pair of them";
}
function causesView() {
  const caseLinks = (ids) => `<ul class="cases">${ids.map((id) => `<li><a href="${cellHref(id)}">${esc(id)}</a></li>`).join("")}</ul>`;
  if (causes) {
    return `<h2>Differences by cause</h2><p class="note">Each difference charged to the call that deviated,
      one line per cause; a count per environment. Open a cause for its cases.</p><div class="scroll"><table class="support">
      <thead>${headRow("cause").replace("</th>", "</th><th scope=\"col\">kind</th><th scope=\"col\">cases</th>")}</thead><tbody>` +
      causes.map((k) => `<tr id="cause-${esc(k.id)}"><th scope="row"><details><summary>${esc(k.line)}` +
        `${k.call ? ` <code>${esc(k.call)}</code>` : ""}</summary>${caseLinks(k.cases)}</details>` +
        `<a class="small" href="#cause=${enc(k.id)}">show in the grid</a></th><td>${esc(k.kind)}</td><td>${k.cases.length}</td>` +
        envs.map((e) => `<td class="${k.per_env?.[e.key] ? "fail" : "none"}${nk(e)}">${k.per_env?.[e.key] ?? ""}</td>`).join("") + "</tr>").join("") +
      "</tbody></table></div>";
  }
  // An older report.json: the differing cases grouped by what they vary with.
  const groups = new Map();
  for (const c of data.cases.filter((c) => c.differs)) {
    const k = varies(c);
    groups.set(k, [...(groups.get(k) ?? []), c.id]);
  }
  return `<h2>Differences by what they vary with</h2><p class="note">This report.json names no causes;
    its differing cases are grouped by the property of the environments that accounts for them.</p>
    <table class="support"><thead><tr><th scope="col">varies with</th><th scope="col">cases</th></tr></thead><tbody>` +
    [...groups].sort((a, b) => b[1].length - a[1].length).map(([k, ids]) =>
      `<tr><th scope="row"><details><summary>${esc(k)}</summary>${caseLinks(ids)}</details>` +
      `<a class="small" href="#cause=${enc(k)}">show in the grid</a></th><td>${ids.length}</td></tr>`).join("") + "</tbody></table>";
}
$("#causes").innerHTML = causesView();

// The per-environment summary: rendered once, never replaced by what is opened.
$("#summary").innerHTML = `<h2>Environments</h2><div class="scroll"><table><thead><tr><th scope="col">environment</th>` +
  `<th scope="col">release</th><th scope="col">pass</th><th scope="col">fail</th><th scope="col">broken</th><th scope="col">skip</th></tr></thead><tbody>` +
  envs.map((e) => `<tr class="${nk(e)}"><th scope="row" title="${esc(e.key)}">${esc(e.label)}</th><td>${esc(releaseText(e))}` +
    `${runtimeText(e) ? "<br>" + esc(runtimeText(e)) : ""}</td><td>${e.pass}</td><td>${e.fail}</td><td>${e.broken}</td><td>${e.skip}</td></tr>`).join("") +
  "</tbody></table></div>";
$("#foot").textContent = `${data.cases.length} cases in ${envs.length} environments` +
  (data.schema_version != null ? ` · report.json schema ${data.schema_version}` : "");

// ---- what is opened in the side pane
// What a step or case expects, where the report has no `expected`: the contract of the step that
// decided the verdict, else of the last step the case wrote one for.
function expectedOf(c, r) {
  if (c.expected) return c.expected;
  const steps = r?.steps ?? [];
  const s = steps.find((s) => s.mismatch) ?? steps.find((s) => s.must_fail) ?? steps[steps.length - 1];
  return s ? `${s.label} ${s.call}: ${s.expected}` : "";
}
// A skipped cell has no steps: the contract is read from an environment that ran the case.
const contractSteps = (c) => {
  const ran = Object.values(c.results).filter((r) => r.steps?.length);
  return (ran.find((r) => r.status === "pass") ?? ran[0])?.steps ?? [];
};
function stepsTable(steps, observed) {
  return `<div class="scroll"><table class="steps"><thead><tr><th scope="col">step</th><th scope="col">expected (the contract)</th>` +
    (observed ? `<th scope="col">observed</th>` : "") + "</tr></thead><tbody>" +
    steps.map((s) => `<tr class="${observed && s.mismatch ? "mismatch" : ""}"><td>${esc(s.label)} ${esc(s.call)}</td><td>${esc(s.expected)}</td>` +
      (observed ? `<td>${esc(s.observed)}</td>` : "") + "</tr>").join("") + "</tbody></table></div>";
}
// The cause shown: the open cell's own where it has one (a case can deviate for different
// reasons in different environments), else the one most of its cells share.
function caseHead(c, key) {
  let h = `<h2><a href="${cellHref(c.id)}">${esc(c.id)}</a></h2><p>${esc(c.summary)}</p>`;
  h += `<p class="syms">${c.symbols.map((s) => `<a class="sym" href="#sym=${enc(s)}">${esc(s)}</a>`).join(" ")}</p>`;
  if (sinceText(c.since)) h += `<p class="since">${esc(sinceText(c.since))}</p>`;
  const cause = (key && c.results[key]?.cause) || c.cause?.id;
  if (cause) {
    const k = causeById.get(cause);
    h += `<p>Cause: <a href="#cause=${enc(cause)}">${esc(k?.line ?? cause)}</a></p>`;
  }
  if (c.differs) h += `<p>Varies with: ${esc(varies(c))}.</p>`;
  return h;
}
function envTable(c, current) {
  return `<h3>In every environment</h3><div class="scroll"><table class="obs"><thead><tr><th scope="col">environment</th>` +
    `<th scope="col">verdict</th><th scope="col">expected</th><th scope="col">observed</th></tr></thead><tbody>` +
    envs.map((e) => {
      const r = c.results[e.key];
      const st = r?.status ?? "none";
      const obs = !r ? "not in its results" : st === "skip" ? `skipped: ${r.reason}` : r.decisive;
      return `<tr class="${e.key === current ? "current" : ""}${nk(e)}"><th scope="row"><a href="${cellHref(c.id, e.key)}">${esc(e.label)}</a></th>` +
        `<td class="${st}">${st === "none" ? "–" : st}</td><td>${esc(r && st !== "skip" ? expectedOf(c, r) : "")}</td><td>${esc(obs)}</td></tr>`;
    }).join("") + "</tbody></table></div>";
}
function openCase(id, key) {
  const i = caseIndex.get(id);
  if (i === undefined) { details.innerHTML = `<h2>No case ${esc(id)}</h2><p>This report has no such case.</p>`; return; }
  const c = data.cases[i];
  const e = envs.find((x) => x.key === key);
  let h = caseHead(c, e?.key);
  if (e) {
    const r = c.results[e.key];
    const st = r?.status ?? "none";
    h += `<h3 class="cell">${esc(e.label)}: <span class="badge ${st}">${st === "none" ? "not run" : st}</span></h3>`;
    if (!r) {
      h += "<p>This environment's results do not have this case.</p>";
    } else if (st === "skip") {
      h += `<p class="reason"><b>Skipped:</b> ${esc(r.reason)}</p>`;
      h += `<p><b>What the case checks where it runs:</b> ${esc(c.summary)}</p>`;
      const steps = contractSteps(c);
      if (c.expected) h += `<p><b>Expected:</b> ${esc(c.expected)}</p>`;
      if (steps.length) h += stepsTable(steps, false);
    } else {
      h += `<dl class="verdict"><dt>expected</dt><dd>${esc(expectedOf(c, r))}</dd><dt>observed</dt><dd>${esc(r.decisive)}</dd></dl>`;
      h += stepsTable(r.steps, true);
    }
  }
  details.innerHTML = `<button type="button" class="back">back to the grid</button>` + h + envTable(c, key);
  document.querySelectorAll("#matrix .selected").forEach((x) => x.classList.remove("selected"));
  const tr = rows[i];
  const target = e ? tr.querySelector(`td[data-env="${CSS.escape(e.key)}"]`) : tr.cells[0];
  target.classList.add("selected");
  return target;
}
function showSymbol(name) {
  const text = data.explain[name];
  const s = data.symbols.find((x) => x.name === name) ?? data.syscalls.find((x) => x.name === name);
  let h = `<h2>${esc(name)}</h2><p>${esc(text || "No explanation recorded.")}</p>`;
  if (sinceText(s?.since)) h += `<p class="since">${esc(sinceText(s.since))}</p>`;
  h += `<p><a href="#view=cases&q=${enc(name)}">the cases naming it</a> · <code>mmcheck explain ${esc(name)}</code> shows the man page's text.</p>`;
  if (s) {
    h += `<div class="scroll"><table class="obs"><tbody>` + envs.map((e) => {
      const l = s.per_env[e.key];
      const absent = s.since?.absent?.[e.key];
      return `<tr class="${nk(e)}"><th scope="row">${esc(e.label)}</th><td class="${absent ? "absent" : esc(l?.level ?? "none")}">` +
        `${absent ? `absent (${esc(absent)})` : l ? `${esc(l.level)} ${l.pass}/${l.ran}` : "–"}</td></tr>`;
    }).join("") + "</tbody></table></div>";
  }
  details.innerHTML = h;
}

// ---- navigation: every link is an address; the address decides what is shown
function setView(v) {
  for (const el of document.querySelectorAll(".view")) el.hidden = el.dataset.view !== v;
  for (const a of document.querySelectorAll("#views a")) {
    if (a.dataset.view === v) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  document.body.dataset.view = v;
}
function route() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (p.has("q")) filter.value = p.get("q");
  if (p.has("cause")) filter.value = /\s/.test(p.get("cause")) ? `cause:"${p.get("cause")}"` : `cause:${p.get("cause")}`;
  if (p.has("q") || p.has("cause")) apply();
  const view = p.get("view") ?? (p.has("case") || p.has("cause") ? "cases" : null);
  if (view) setView(view);
  let shown = null;
  if (p.has("case")) shown = openCase(p.get("case"), p.get("env"));
  else if (p.has("sym")) showSymbol(p.get("sym"));
  if (shown && !shown.closest("tr").hidden) shown.scrollIntoView({ block: "nearest", inline: "nearest" });
  if ((p.has("case") || p.has("sym")) && narrow.matches) details.scrollIntoView({ block: "start" });
}

// Arrow keys move between the grid's links; Enter opens one (it is a link).
tbody.addEventListener("keydown", (ev) => {
  const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  const mv = moves[ev.key];
  const cell = ev.target.closest("th, td");
  if (!mv || !cell) return;
  const shown = (el) => el && el.getClientRects().length > 0;
  let tr = cell.parentElement;
  let col = cell.cellIndex;
  if (mv[0]) {
    do tr = mv[0] > 0 ? tr.nextElementSibling : tr.previousElementSibling; while (tr && tr.hidden);
  } else {
    do col += mv[1]; while (tr.cells[col] && !shown(tr.cells[col]));
  }
  const next = tr?.cells[col]?.querySelector("a");
  if (shown(next)) { next.focus(); next.scrollIntoView({ block: "nearest", inline: "nearest" }); ev.preventDefault(); }
});
// On a phone the opened case is below the grid: this brings its row (or cell) back in sight.
details.addEventListener("click", (ev) => {
  if (!ev.target.closest(".back")) return;
  const sel = document.querySelector("#matrix .selected");
  setView("cases");
  sel?.scrollIntoView({ block: "center", inline: "nearest" });
  sel?.querySelector("a")?.focus({ preventScroll: true });
});
filter.addEventListener("input", apply);
diff.addEventListener("change", apply);
kernels.addEventListener("change", () => { document.body.classList.toggle("kernels", kernels.checked); apply(); });
window.addEventListener("hashchange", route);
setView("cases");
apply();
route();
