// Opens mmcheck's compatibility report (index.html) in headless Chromium, offline, at a desktop
// (1280x800) and a phone (390x844) size, and checks that it works as a person would use it:
// the legend, the kernel and runtime releases in the column headers, the per-call view, the
// permalinks of a case and a cell, the keyboard, the search (whole-word symbols, skip reasons,
// observations, env:status), the phone layout (no page overflow, a verdict in sight, a tap
// reaches the cell), a skipped cell's contract and reason, the per-environment summary.
// The same page is also filled with a fixture: the real report.json with the fields a newer
// report has (schema_version, runtime, kernel_only, since, expected, cause, causes), to check
// that the page shows them. Saves screenshots into OUT_DIR.
// Usage: node report.test.mjs REPORT_DIR OUT_DIR
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const dir = path.resolve(process.argv[2] ?? "target/e2e/report");
const out = path.resolve(process.argv[3] ?? "target/e2e");
fs.mkdirSync(out, { recursive: true });
const html = fs.readFileSync(path.join(dir, "index.html"), "utf8");
const real = JSON.parse(fs.readFileSync(path.join(dir, "report.json"), "utf8"));

// ---- the fixture: the real data with a newer report's fields, where it lacks them
function withNewFields(src) {
  const d = structuredClone(src);
  d.schema_version ??= 2;
  for (const e of d.envs) {
    e.kernel_only ??= e.platform === "linux";
    // gVisor's runtime is set whatever the real data records, so the check below is fixed.
    e.runtime = e.platform === "gvisor" ? "release-20250512.0" : (e.runtime ?? null);
  }
  const lacking = (e) => e.platform === "gvisor" || /-6\.1-/.test(e.key);
  const mseal = { matrix: "6.12", documented: "6.10", absent: {} };
  for (const e of d.envs) if (lacking(e)) mseal.absent[e.key] = e.platform === "gvisor" ? "ENOSYS" : "EINVAL: flag unknown";
  const none = { matrix: null, documented: null, absent: {} };
  for (const s of [...d.syscalls, ...d.symbols]) s.since = s.name === "mseal" ? mseal : (s.since ?? none);
  const byCause = new Map();
  for (const c of d.cases) {
    const ran = Object.values(c.results).find((r) => r.status === "pass");
    c.expected ??= ran ? (ran.steps.find((s) => s.must_fail) ?? ran.steps.at(-1))?.expected ?? "" : "";
    c.since = c.group === "mseal" ? mseal : (c.since ?? none);
    if (c.results["gvisor-x86_64"]?.status === "fail") {
      const id = `gvisor-${c.group}`;
      c.cause ??= { id };
      byCause.set(id, [...(byCause.get(id) ?? []), c.id]);
    }
  }
  d.causes ??= [...byCause].map(([id, cases]) => ({
    id, kind: "behaviour differs", call: id.slice(7), line: `${id.slice(7)} behaves otherwise on gVisor`,
    cases, per_env: { "gvisor-x86_64": cases.length },
  }));
  return d;
}
const fixture = withNewFields(real);
const fixtureDir = path.join(out, "fixture");
fs.mkdirSync(fixtureDir, { recursive: true });
const open = '<script id="data" type="application/json">';
const start = html.indexOf(open) + open.length;
const end = html.indexOf("</script>", start);
assert.ok(start > open.length && end > start, "index.html embeds its data");
fs.writeFileSync(path.join(fixtureDir, "index.html"),
  html.slice(0, start) + JSON.stringify(fixture).replaceAll("</", "<\\/") + html.slice(end));

// ---- what the checks compute from the data itself
const words = (c) => [c.id, c.group, c.summary, c.expected, ...c.symbols,
  ...Object.values(c.results).flatMap((r) => [r.reason, r.decisive])].join(" \n ");
const wholeWord = (w) => new RegExp(`(?:^|[^A-Za-z0-9_])${w}(?:[^A-Za-z0-9_]|$)`, "i");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
};
const passed = [];
const failures = [];
async function check(name, fn) {
  try {
    await fn();
    passed.push(name);
  } catch (e) {
    failures.push(`${name}: ${e.message}`);
  }
}

// A fresh page at one size, refusing every request that leaves the file.
async function openPage(size, file, hash = "") {
  const context = await browser.newContext(VIEWPORTS[size]);
  const page = await context.newPage();
  page.external = [];
  page.errors = [];
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
    page.external.push(url);
    return route.abort();
  });
  page.on("pageerror", (e) => page.errors.push(String(e)));
  await page.goto("file://" + file + hash);
  await page.waitForSelector("#count:not(:empty)");
  return page;
}
const rows = "#matrix tbody tr:not([hidden])";
const shownIds = (page) => page.locator(rows).evaluateAll((trs) => trs.map((tr) => tr.querySelector("th").textContent));
async function search(page, q) {
  await page.fill("#filter", q);
  return shownIds(page);
}
const inViewport = (page, sel) => page.locator(sel).first().evaluate((el) => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.left >= -1 && r.top >= -1 && r.right <= innerWidth + 1 && r.bottom <= innerHeight + 1;
});
const noOverflow = (page) => page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);

async function realChecks(size) {
  const file = path.join(dir, "index.html");
  const page = await openPage(size, file);
  const at = (name) => `${size}: ${name}`;
  const total = real.cases.length;

  await check(at("every case is a row"), async () => {
    assert.equal(await page.locator(rows).count(), total);
    assert.match(await page.locator("#count").textContent(), new RegExp(`^${total} of ${total} cases`));
  });
  await check(at("legend"), async () => {
    assert.ok(await page.locator("#legend").isVisible(), "the legend is visible");
    const legend = await page.locator("#legend").textContent();
    for (const w of ["pass", "fail", "broken", "skip", "full", "partial", "absent", "untested"]) assert.match(legend, new RegExp(w));
  });
  await check(at("column headers name the release"), async () => {
    for (const e of real.envs) {
      const th = await page.locator(`#matrix thead th[data-env="${e.key}"]`).textContent();
      assert.ok(th.includes(e.release), `${e.key} header "${th}" names ${e.release}`);
    }
  });
  if (size === "phone") {
    await check(at("no horizontal overflow of the document"), async () => {
      const [sw, w] = await noOverflow(page);
      assert.ok(sw <= w, `scrollWidth ${sw} <= innerWidth ${w}`);
    });
    await check(at("the case column fits the screen"), async () => {
      const w = await page.locator("#matrix tbody th").first().evaluate((el) => el.getBoundingClientRect().width);
      assert.ok(w <= 390 / 2, `case column ${w}px`);
    });
    await check(at("a verdict is in sight on load"), async () => {
      assert.ok(await inViewport(page, "#matrix tbody tr:nth-child(1) td:nth-of-type(1)"));
    });
    await page.screenshot({ path: path.join(out, "phone.png") });
    await check(at("a tap on a cell reaches the cell and opens it"), async () => {
      // gVisor's failures; the grid scrolled sideways to gVisor's column and down so that rows
      // pass under its sticky header; then a tap on the first gVisor cell below the header.
      await search(page, "gvisor:fail");
      await page.locator("#grid").evaluate((g) => {
        const th = g.querySelector('thead th[data-env="gvisor-x86_64"]');
        g.scrollLeft = th.offsetLeft - g.querySelector("thead th.corner").offsetWidth;
        g.scrollTop = 240;
      });
      const target = await page.evaluate(() => {
        // The header cells are sticky: where they are drawn now (the thead's own box is not).
        const head = document.querySelector("#matrix thead th").getBoundingClientRect().bottom;
        const td = [...document.querySelectorAll('#matrix tbody tr:not([hidden]) td[data-env="gvisor-x86_64"]')]
          .find((td) => td.getBoundingClientRect().top > head + 2);
        const r = td.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        return { x, y, hit: document.elementFromPoint(x, y)?.closest("td") === td, id: td.parentElement.querySelector("th").textContent, env: td.dataset.env };
      });
      assert.ok(target.hit, "elementFromPoint is the cell, not the header");
      await page.touchscreen.tap(target.x, target.y);
      await page.waitForFunction((id) => document.querySelector("#details h2")?.textContent === id, target.id);
      assert.equal(decodeURIComponent(new URL(page.url()).hash), `#case=${target.id}&env=${target.env}`);
      await page.screenshot({ path: path.join(out, "phone-cell.png") });
      await page.locator("#details button.back").tap();
      assert.ok(await inViewport(page, "#matrix td.selected"), "back to the grid shows the opened cell");
      await search(page, "");
      const [sw, w] = await noOverflow(page);
      assert.ok(sw <= w, `with a cell open: scrollWidth ${sw} <= innerWidth ${w}`);
    });
  }
  await check(at("per-call view shows each call's level per environment"), async () => {
    await page.click('#views a[data-view="calls"]');
    await page.locator("#calls").waitFor({ state: "visible", timeout: 5000 });
    const n = await page.locator("#calls table.support").first().locator("tbody tr").count();
    assert.equal(n, real.syscalls.length);
    const mmap = await page.locator("#calls table.support").first().locator("tbody tr", { has: page.locator('a[href="#sym=mmap"]') }).textContent();
    assert.match(mmap, /(full|partial|absent) \d+\/\d+/);
    if (size !== "phone") for (const e of real.envs) await page.locator(`#calls thead th[data-env="${e.key}"]`).first().waitFor({ state: "visible", timeout: 5000 });
    if (size === "phone") {
      const [sw, w] = await noOverflow(page);
      assert.ok(sw <= w, `per-call view: scrollWidth ${sw} <= innerWidth ${w}`);
      await page.screenshot({ path: path.join(out, "phone-calls.png") });
    }
    await page.click('#views a[data-view="cases"]');
    await page.locator("#grid").waitFor({ state: "visible", timeout: 5000 });
  });
  // A report with causes (schema 2) shows them; an older one groups by what cases vary with.
  await check(at(real.causes ? "differences grouped by cause" : "differences grouped by what they vary with (a report without causes)"), async () => {
    await page.click('#views a[data-view="causes"]');
    const groups = new Map();
    if (real.causes) {
      for (const k of real.causes) {
        const ids = new Set(k.cases);
        for (const c of real.cases) if (c.cause?.id === k.id) ids.add(c.id);
        groups.set(`cause-${k.id}`, ids.size);
      }
    } else {
      for (const c of real.cases.filter((c) => c.differs)) {
        const k = c.varies_with.length ? c.varies_with.join(", or ") : "no property or pair of them";
        groups.set(k, (groups.get(k) ?? 0) + 1);
      }
    }
    // A cause's row is known by its id; a group of the older view by its label.
    const key = async (tr) => real.causes ? tr.getAttribute("id") : (await tr.locator("summary").textContent()).trim();
    assert.ok(groups.size > 0, "the report has differences");
    assert.equal(await page.locator("#causes tbody tr").count(), groups.size);
    const tr = page.locator("#causes tbody tr").nth(Math.min(1, groups.size - 1));
    const label = await key(tr);
    await tr.locator("a.small").click();
    assert.equal((await shownIds(page)).length, groups.get(label), `"show in the grid" for ${label}`);
    await search(page, "");
  });
  await check(at("whole-word search: MAP_FIXED is not MAP_FIXED_NOREPLACE"), async () => {
    const ids = new Set(await search(page, "MAP_FIXED"));
    const fixed = real.cases.filter((c) => c.symbols.includes("MAP_FIXED"));
    const noreplaceOnly = real.cases.filter((c) => c.symbols.includes("MAP_FIXED_NOREPLACE") && !wholeWord("MAP_FIXED").test(words(c)));
    assert.ok(noreplaceOnly.length > 0, "the data has MAP_FIXED_NOREPLACE-only cases");
    for (const c of fixed) assert.ok(ids.has(c.id), `${c.id} is shown`);
    for (const c of noreplaceOnly) assert.ok(!ids.has(c.id), `${c.id} is not shown`);
    const expect = real.cases.filter((c) => wholeWord("MAP_FIXED").test(words(c))).length;
    assert.equal(ids.size, expect);
  });
  await check(at("search by skip reason, observation and env:status"), async () => {
    const needs = await search(page, "needs kernel");
    assert.ok(needs.length > 0, "needs kernel");
    const enosys = await search(page, "ENOSYS");
    assert.ok(enosys.length > 0, "ENOSYS");
    const gfail = await search(page, "gvisor:fail");
    assert.equal(gfail.length, real.cases.filter((c) => c.results["gvisor-x86_64"]?.status === "fail").length, "gvisor:fail");
    assert.ok(gfail.length > 0);
    const l61 = await search(page, "linux-6.1 fail");
    const want = real.cases.filter((c) => Object.entries(c.results).some(([k, r]) => k.startsWith("linux-6.1-") && r.status === "fail"));
    assert.equal(l61.length, want.length, "linux-6.1 fail (not linux-6.12)");
    assert.ok((await search(page, "mseal")).length > 0);
    await search(page, "");
  });
  await check(at("differences: verdicts, and skips too"), async () => {
    await page.selectOption("#diff", "verdict");
    const v = await page.locator(rows).count();
    await page.selectOption("#diff", "any");
    const a = await page.locator(rows).count();
    assert.ok(v > 0 && a > v && a < total, `verdicts differ ${v}, verdicts or skips ${a}`);
    await page.check("#kernels");
    const k = await page.locator(rows).count();
    assert.ok(k > 0 && k < a, `kernels only: ${k}`);
    assert.ok(!(await page.locator('#matrix thead th[data-env="gvisor-x86_64"]').isVisible()), "kernels only hides gVisor");
    await page.uncheck("#kernels");
    await page.selectOption("#diff", "");
  });
  await check(at("keyboard: Tab to a row, Enter opens it, arrows move, focus is visible"), async () => {
    await page.focus("#kernels");
    let onRow = false;
    for (let i = 0; i < 6 && !onRow; i++) {
      await page.keyboard.press("Tab");
      onRow = await page.evaluate(() => document.activeElement.matches("#matrix tbody th a"));
    }
    assert.ok(onRow, "Tab reaches the first row");
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, "none", "the focus is visible");
    await page.keyboard.press("Enter");
    const first = real.cases[0].id;
    await page.waitForFunction((id) => document.querySelector("#details h2")?.textContent === id, first);
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /&env=/.test(location.hash));
    assert.equal(decodeURIComponent(new URL(page.url()).hash), `#case=${real.cases[1].id}&env=${real.envs[0].key}`);
  });
  await check(at("clicking a cell opens it, updates the address, keeps the summary"), async () => {
    const c = real.cases.find((c) => c.results["gvisor-x86_64"]?.status === "fail" && c.symbols.includes("MAP_FIXED_NOREPLACE")) ??
      real.cases.find((c) => c.results["gvisor-x86_64"]?.status === "fail");
    await search(page, c.id);
    await page.locator(`#matrix tbody tr:not([hidden]) td[data-env="gvisor-x86_64"] a`).first().click();
    await page.waitForFunction((id) => document.querySelector("#details h2")?.textContent === id, c.id);
    assert.equal(decodeURIComponent(new URL(page.url()).hash), `#case=${c.id}&env=gvisor-x86_64`);
    const d = await page.locator("#details").textContent();
    assert.match(d, /expected \(the contract\)/);
    assert.ok(d.includes(c.results["gvisor-x86_64"].decisive), "the deciding observation");
    assert.ok(await page.locator("#summary").isVisible(), "the per-environment summary is still there");
    for (const e of real.envs) assert.ok((await page.locator("#summary").textContent()).includes(e.label));
    const sym = c.symbols.find((s) => real.explain[s]);
    await page.locator(`#details a.sym[href="#sym=${sym}"]`).click();
    assert.equal(await page.locator("#details h2").textContent(), sym);
    if (size === "desktop") {
      await page.goBack();
      await page.waitForFunction((id) => document.querySelector("#details h2")?.textContent === id, c.id);
      await page.screenshot({ path: path.join(out, "desktop-cell.png") });
    }
    await search(page, "");
  });
  await check(at("no external requests, no script errors"), async () => {
    assert.deepEqual(page.external, []);
    assert.deepEqual(page.errors, []);
  });
  await page.context().close();

  // Permalinks: a fresh page opened at a case's and at a cell's address.
  await check(at("a permalink opens its case"), async () => {
    const c = real.cases[Math.floor(real.cases.length / 2)];
    const p = await openPage(size, file, `#case=${encodeURIComponent(c.id)}`);
    assert.equal(await p.locator("#details h2").textContent(), c.id);
    assert.ok(await p.locator("#matrix tbody .selected").count() === 1);
    await p.context().close();
  });
  await check(at("a permalink opens its cell; a skipped cell shows the contract and the reason"), async () => {
    const c = real.cases.find((c) => Object.values(c.results).some((r) => r.status === "skip" && /needs kernel/.test(r.reason)) &&
      Object.values(c.results).some((r) => r.status === "pass"));
    const [key, r] = Object.entries(c.results).find(([, r]) => r.status === "skip");
    const p = await openPage(size, file, `#case=${c.id}&env=${key}`);
    assert.equal(await p.locator("#details h2").textContent(), c.id);
    const env = real.envs.find((e) => e.key === key);
    assert.ok((await p.locator("#details h3.cell").textContent()).includes(env.label));
    assert.equal(await p.locator(`#matrix tbody td.selected[data-env="${key}"]`).count(), 1);
    const d = await p.locator("#details").textContent();
    assert.ok(d.includes(r.reason), "the skip reason");
    assert.ok(d.includes(c.summary), "the summary");
    assert.match(d, /expected \(the contract\)/, "the contract's steps");
    if (size === "phone") {
      assert.ok(await inViewport(p, "#details h2"), "the opened cell is scrolled into sight");
      await p.screenshot({ path: path.join(out, "phone-skip.png") });
    } else {
      await p.screenshot({ path: path.join(out, "desktop-skip.png") });
    }
    await p.context().close();
  });
}

// The fields a newer report.json has, on the fixture.
async function fixtureChecks(size) {
  const file = path.join(fixtureDir, "index.html");
  const page = await openPage(size, file);
  const at = (name) => `${size} fixture: ${name}`;
  await check(at("headers name the runtime's release"), async () => {
    const th = await page.locator('#matrix thead th[data-env="gvisor-x86_64"]').textContent();
    assert.match(th, /runsc release-20250512\.0/);
    assert.match(th, /uname 4\.4\.0/, "gVisor's uname is not called a kernel");
  });
  await check(at("per-call view: since and absent"), async () => {
    await page.click('#views a[data-view="calls"]');
    const row = page.locator("#calls table.support").first().locator("tbody tr", { has: page.locator('a[href="#sym=mseal"]') });
    const t = await row.textContent();
    assert.match(t, /since 6\.12/);
    assert.match(t, /absent ?\(ENOSYS\)/);
    assert.match(t, /absent ?\(EINVAL: flag unknown\)/);
    if (size === "desktop") await page.screenshot({ path: path.join(out, "desktop-calls.png") });
  });
  await check(at("differences by cause, and the filter by one"), async () => {
    await page.click('#views a[data-view="causes"]');
    const n = await page.locator("#causes tbody tr").count();
    assert.equal(n, fixture.causes.length);
    const k = fixture.causes[0];
    const tr = page.locator(`#causes tbody tr[id="cause-${k.id}"]`);
    assert.ok((await tr.textContent()).includes(String(k.per_env["gvisor-x86_64"])));
    await tr.locator("summary").click();
    assert.ok(await tr.locator(`ul.cases a[href="#case=${k.cases[0]}"]`).isVisible(), "a cause opens to its cases");
    if (size === "desktop") await page.screenshot({ path: path.join(out, "desktop-causes.png") });
    if (size === "phone") {
      const [sw, w] = await noOverflow(page);
      assert.ok(sw <= w, `causes view: scrollWidth ${sw} <= innerWidth ${w}`);
    }
    await tr.locator("a.small").click();
    assert.ok(await page.locator("#grid").isVisible());
    assert.equal((await shownIds(page)).length, k.cases.length);
    await search(page, "");
  });
  await check(at("a cell shows expected next to what each environment observed"), async () => {
    const c = fixture.cases.find((c) => c.cause && c.expected);
    await page.goto("file://" + file + `#case=${c.id}&env=gvisor-x86_64`);
    const d = await page.locator("#details").textContent();
    assert.ok(d.includes(c.expected), "expected");
    assert.ok(d.includes(c.results["gvisor-x86_64"].decisive), "observed");
    const own = c.results["gvisor-x86_64"].cause ?? c.cause.id;
    assert.ok(d.includes(fixture.causes.find((k) => k.id === own).line), "the cell's own cause");
  });
  await check(at("a cell names its own cause where the case has several"), async () => {
    const c = fixture.cases.find((c) => c.cause && Object.values(c.results).some((r) => r.cause && r.cause !== c.cause.id));
    if (!c) return; // no case deviates for two reasons in this data
    const [key, r] = Object.entries(c.results).find(([, r]) => r.cause && r.cause !== c.cause.id);
    await page.goto("file://" + file + `#case=${c.id}&env=${key}`);
    const d = await page.locator("#details").textContent();
    assert.ok(d.includes(fixture.causes.find((k) => k.id === r.cause).line), `${c.id} in ${key}: its own cause`);
  });
  await check(at("a case says since when, and where it is absent"), async () => {
    const c = fixture.cases.find((c) => c.group === "mseal");
    await page.goto("file://" + file + `#case=${c.id}`);
    const d = await page.locator("#details").textContent();
    assert.match(d, /since 6\.12 in this matrix · documented since 6\.10/);
    assert.match(d, /absent on .*gvisor x86_64 4K \(ENOSYS\)/);
  });
  await check(at("kernels only hides the other platforms; the footer names the schema"), async () => {
    await page.check("#kernels");
    for (const e of fixture.envs) {
      assert.equal(await page.locator(`#matrix thead th[data-env="${e.key}"]`).isVisible(), e.kernel_only, e.key);
    }
    await page.uncheck("#kernels");
    assert.match(await page.locator("#foot").textContent(), /schema 2/);
  });
  await check(at("no external requests, no script errors"), async () => {
    assert.deepEqual(page.external, []);
    assert.deepEqual(page.errors, []);
  });
  await page.context().close();
}

try {
  for (const size of ["desktop", "phone"]) {
    await realChecks(size);
    await fixtureChecks(size);
  }
  const desk = await openPage("desktop", path.join(dir, "index.html"),
    `#case=${real.cases.find((c) => c.results["gvisor-x86_64"]?.status === "fail").id}&env=gvisor-x86_64`);
  await desk.screenshot({ path: path.join(out, "desktop.png") });
  await desk.context().close();
} catch (e) {
  failures.push(`harness: ${e.stack}`);
} finally {
  await browser.close();
}
for (const p of passed) console.log(`ok   ${p}`);
for (const f of failures) console.log(`FAIL ${f}`);
console.log(`e2e: ${passed.length} checks passed, ${failures.length} failed; screenshots in ${out}`);
process.exit(failures.length ? 1 : 0);
