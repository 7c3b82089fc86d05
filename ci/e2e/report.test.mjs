// Opens mmcheck's compatibility report (index.html) in headless Chromium, offline, and checks
// that it works as a person would use it: the filter changes the rows shown, "differences only"
// keeps the differing rows, a cell opens the observed steps and the contract, a symbol opens its
// explanation. Saves a screenshot. Usage: node report.test.mjs REPORT_DIR SCREENSHOT.png
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import path from "node:path";

const dir = path.resolve(process.argv[2] ?? "target/e2e/report");
const shot = path.resolve(process.argv[3] ?? "target/e2e/report.png");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  const external = [];
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
    external.push(url);
    return route.abort();
  });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto("file://" + path.join(dir, "index.html"));

  const rows = "#matrix tbody tr:not([hidden])";
  const total = await page.locator(rows).count();
  assert.ok(total > 100, `the matrix shows the cases (${total})`);
  assert.match(await page.locator("#count").textContent(), new RegExp(`^${total} of ${total} cases`));

  await page.fill("#filter", "mseal");
  const mseal = await page.locator(rows).count();
  assert.ok(mseal > 0 && mseal < total, `filtering by mseal shows fewer rows (${mseal} of ${total})`);
  const texts = await page.locator(rows).evaluateAll((trs) => trs.map((tr) => tr.dataset.text));
  assert.ok(texts.every((t) => t.includes("mseal")), "every row shown mentions mseal");

  await page.fill("#filter", "");
  await page.check("#diffonly");
  const diffs = await page.locator(rows).count();
  assert.ok(diffs > 0 && diffs < total, `differences only keeps some rows (${diffs})`);
  const allDiffer = await page.locator(rows).evaluateAll((trs) => trs.every((tr) => tr.classList.contains("differs")));
  assert.ok(allDiffer, "every row shown differs between environments");

  await page.fill("#filter", "mmap/fixed");
  const cell = page.locator(`tr[data-id="mmap/fixed-noreplace-existing-eexist"] td.fail[data-env="gvisor-x86_64"]`);
  await cell.click();
  const details = await page.locator("#details").textContent();
  assert.match(details, /expected \(the contract\)/);
  assert.match(details, /observed/);
  assert.match(details, /EEXIST/, "the contract of the case is shown");

  await page.locator("#details .sym", { hasText: "MAP_FIXED_NOREPLACE" }).click();
  assert.match(await page.locator("#details h2").textContent(), /MAP_FIXED_NOREPLACE/);
  assert.ok((await page.locator("#details p").first().textContent()).length > 40, "the symbol's explanation");

  await cell.click();
  await page.screenshot({ path: shot });
  assert.deepEqual(external, [], "the page asked for nothing outside itself");
  assert.deepEqual(errors, [], "no script errors");
  console.log(`e2e: ${total} cases, ${mseal} for mseal, ${diffs} differing; screenshot ${shot}`);
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
