// The operations dashboard end to end in real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), against a monitor with a real broker and 40 simulated booths that
// workloads/urna/tests/ops_dashboard.rs runs. A line protocol with that test: this script prints
// `step NAME` when the test should act on the fleet, and waits for a line `go` on stdin.
//
// Input (env OPS_E2E, JSON): { url, officers: { centro: token, norte: token }, moved, sos, lock, shots }.
// Prints `result JSON` at the end with what it saw.
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.env.OPS_E2E ?? '{}');
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function step(name) {
  console.log(`step ${name}`);
  const { value, done } = await lines.next();
  if (done || value.trim() !== 'go') throw new Error(`test said ${String(value)} after ${name}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const result = {};
mkdirSync(cfg.shots, { recursive: true });
const errors = [];

async function signIn(page, token, lang = 'es') {
  await page.goto(cfg.url);
  await page.evaluate((l) => { localStorage.setItem('urna.lang', l); }, lang);
  await page.reload();
  await page.waitForSelector('#token');
  await page.fill('#token', token);
  await page.click('form button[type=submit]');
  try {
    await page.waitForSelector('#map .leaflet-marker-icon');
  } catch (e) {
    // Say what the page shows instead of the markers, and what the API gave it.
    const state = await page.evaluate(async (t) => {
      const map = document.querySelector('#map');
      const fleet = await fetch('../v1/ops/fleet', { headers: { authorization: `Bearer ${t}` } }).then((r) => r.text());
      return { main: document.querySelector('main')?.textContent?.slice(0, 300), map: map ? `${String(map.clientWidth)}x${String(map.clientHeight)} ${map.innerHTML.slice(0, 600)}` : null, fleet: fleet.slice(0, 1500) };
    }, token);
    console.error(`signIn: no marker on the map: ${JSON.stringify(state)}`);
    throw e;
  }
}

/** Everything a page logs and fails on, printed to stderr (the test shows it) so a failure says why. */
function watch(page, name) {
  page.on('pageerror', (e) => { errors.push(String(e)); console.error(`${name} pageerror: ${String(e)}`); });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
    console.error(`${name} console.${m.type()}: ${m.text()}`);
  });
  page.on('requestfailed', (r) => { console.error(`${name} request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`); });
  page.on('response', (r) => { if (r.status() >= 300 || process.env.OPS_E2E_TRACE) console.error(`${name} HTTP ${String(r.status())}: ${r.request().method()} ${r.url()}`); });
}

/** Booths shown on the map: single markers plus the counts on clusters. */
async function boothsOnMap(page) {
  return page.evaluate(() => {
    const singles = document.querySelectorAll('#map .booth').length;
    const clustered = [...document.querySelectorAll('#map .cluster span')].reduce((n, s) => n + Number(s.textContent), 0);
    return singles + clustered;
  });
}

try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  watch(page, 'centro');

  // A wrong token is refused with a reason.
  await page.goto(cfg.url);
  await page.waitForSelector('#token');
  await page.fill('#token', 'not-a-token');
  await page.click('form button[type=submit]');
  await page.waitForSelector('#token-error');
  result.badToken = await page.textContent('#token-error');
  // The browser logs the refused requests (401) as errors: expected here, and only here.
  errors.length = 0;

  await signIn(page, cfg.officers.centro);
  await page.waitForFunction(() => document.querySelectorAll('#devices-table tr.row-online').length >= 20, null, { timeout: 60_000 });
  result.onMap = await boothsOnMap(page);
  result.online = await page.textContent('#counts');
  await page.screenshot({ path: `${cfg.shots}/fleet.png` });

  // The test pushes a booth out of its geofence and presses an SOS: both reach this desk live.
  await step('move-and-sos');
  await page.waitForSelector(`#devices-table tr[data-device="${cfg.moved}"].row-alerting`, { timeout: 30_000 });
  await page.waitForSelector('#desk-list li.alert[data-rule="outside_geofence"]', { timeout: 30_000 });
  await page.waitForSelector('#desk-list li.alert[data-rule="sos"]', { timeout: 30_000 });
  result.deskRules = await page.$$eval('#desk-list li.alert', (els) => els.map((e) => e.getAttribute('data-rule')));
  result.redOnMap = await page.locator('#map .booth-alerting, #map .cluster-alerting').count();
  // Zoom to the moved booth so it shows as a single red marker.
  await page.click(`#devices-table tr[data-device="${cfg.moved}"] button`);
  await page.screenshot({ path: `${cfg.shots}/alert.png` });

  // Acknowledge the SOS; resolving needs a note; resolve the geofence alert with one.
  const sos = page.locator('#desk-list li.alert[data-rule="sos"]');
  await sos.locator('button.primary').click();
  await page.waitForSelector('#desk-list li.alert[data-rule="sos"].status-acknowledged');
  const fence = page.locator('#desk-list li.alert[data-rule="outside_geofence"]');
  await fence.locator('button.secondary', { hasText: 'Resolver' }).click();
  result.noteRequired = await fence.locator('.error').textContent();
  await fence.locator('textarea').fill('La urna fue devuelta a la escuela');
  await fence.locator('button.secondary', { hasText: 'Resolver' }).click();
  await page.waitForSelector('#desk-list li.alert[data-rule="outside_geofence"].status-resolved');
  result.resolvedHistory = await page.locator('#desk-list li.alert[data-rule="outside_geofence"] .history').textContent();

  // Lock a booth from its panel: the booth reports itself locked (the test checks it refuses ballots).
  await page.click(`#devices-table tr[data-device="${cfg.lock}"] button`);
  await page.click('#device-panel button[data-action="lock"]');
  await page.waitForSelector(`#devices-table tr[data-device="${cfg.lock}"].row-locked`, { timeout: 30_000 });
  await page.waitForSelector('#device-panel button[data-action="unlock"]');
  await page.screenshot({ path: `${cfg.shots}/locked.png` });
  await step('locked');
  await page.click('#device-panel button[data-action="unlock"]');
  await page.waitForSelector(`#devices-table tr[data-device="${cfg.lock}"].row-online`, { timeout: 30_000 });
  await step('unlocked');
  result.actions = await page.$$eval('#actions-list li', (els) => els.map((e) => e.textContent));

  // Another region's officer: the same map, none of centro's alerts, no actions on centro's booths.
  const other = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page2 = await other.newPage();
  watch(page2, 'norte');
  await signIn(page2, cfg.officers.norte, 'en');
  await page2.waitForSelector('#desk-list');
  result.norteDesk = await page2.$$eval('#desk-list li.alert', (els) => els.map((e) => e.getAttribute('data-rule')));
  result.norteDeskText = await page2.textContent('#desk-list');
  await page2.evaluate(() => { sessionStorage.clear(); });
  result.norteOnMap = await boothsOnMap(page2);
  await page2.screenshot({ path: `${cfg.shots}/norte-en.png` });

  // Phone-sized, in English.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page3 = await phone.newPage();
  watch(page3, 'phone');
  await signIn(page3, cfg.officers.centro, 'en');
  await page3.waitForSelector('#desk-list li.alert');
  await page3.screenshot({ path: `${cfg.shots}/phone.png` });
  await page3.locator('#desk').scrollIntoViewIfNeeded();
  await page3.screenshot({ path: `${cfg.shots}/phone-desk.png` });
  result.errors = errors;
} finally {
  await browser.close();
}
console.log(`result ${JSON.stringify(result)}`);
process.exit(0);
