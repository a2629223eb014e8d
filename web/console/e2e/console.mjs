// The mesa console end to end in real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), against the real `urna vote` process that workloads/urna/tests/mesa_console.rs starts.
// A line protocol with that test: this script prints `step NAME` when the test should act (cast a booth
// ballot, close voting), and waits for a line `go` on stdin.
//
// Input (env CONSOLE_E2E, JSON): { url, mesa, token, voter, stranger, keys: { ana, bea }, shots }.
// Prints `result JSON` at the end with what it saw.
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.env.CONSOLE_E2E ?? '{}');
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

/** Everything a page logs and fails on, printed to stderr (the test shows it) so a failure says why. */
function watch(page, name) {
  page.on('pageerror', (e) => { errors.push(String(e)); console.error(`${name} pageerror: ${String(e)}`); });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
    console.error(`${name} console.${m.type()}: ${m.text()}`);
  });
  page.on('response', (r) => { if (r.status() >= 300) console.error(`${name} HTTP ${String(r.status())}: ${r.request().method()} ${r.url()}`); });
}

async function newPage(viewport, lang) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, locale: lang === 'es' ? 'es-MX' : 'en-GB' });
  const page = await context.newPage();
  watch(page, `${lang} ${String(viewport.width)}`);
  await page.goto(cfg.url);
  await page.evaluate((l) => { localStorage.setItem('urna.lang', l); }, lang);
  await page.reload();
  await page.waitForSelector('#mesa');
  return page;
}

async function signIn(page, token) {
  await page.fill('#mesa', cfg.mesa);
  await page.fill('#token', token);
  await page.click('form button[type=submit]');
}

/** Waits until the element's text contains `needle`; returns the text. */
async function textWith(page, selector, needle, timeout = 15_000) {
  await page.waitForFunction(([s, n]) => document.querySelector(s)?.textContent?.includes(n) ?? false, [selector, needle], { timeout });
  return page.textContent(selector);
}

/** Members sign the open draft in turn with their key files, then it is submitted and shown accepted. */
async function signAndSubmit(page, kind, members) {
  await page.waitForSelector('#draft');
  for (const m of members) {
    await page.selectOption('#signer', m);
    await page.setInputFiles('#key-file', cfg.keys[m]);
    await page.click('#sign');
    await textWith(page, '#draft-signatures', m);
  }
  await page.click('#submit-acta');
  await page.waitForSelector(`#actas-list li[data-kind="${kind}"].accepted`, { timeout: 15_000 });
}

/** Types the results: the ballots counted and the votes of the test ballot's one contest (choices a, b, blank, null). */
async function fillResults(page, ballots, votes) {
  await page.fill('#results-ballots', String(ballots));
  for (const [choice, n] of Object.entries(votes)) await page.fill(`[data-contest="alcaldia"] input[data-choice="${choice}"]`, String(n));
}

/** Asks the page to draft the results and waits for its refusal; returns what it says. */
async function refusedResults(page) {
  await page.click('#draft-results');
  await page.waitForSelector('#results-problems li');
  return page.textContent('#results-problems');
}

async function admit(page, voter) {
  await page.fill('#voter', voter);
  const before = await page.textContent('#admit-message');
  await page.click('#admit button[type=submit]');
  await page.waitForFunction((b) => { const t = document.querySelector('#admit-message')?.textContent ?? ''; return t !== '' && t !== b; }, before);
  return page.textContent('#admit-message');
}

try {
  const page = await newPage({ width: 1280, height: 900 }, 'es');

  // A wrong console token is refused, and the page says why (the service's message).
  await signIn(page, 'not-the-token');
  await page.waitForSelector('#signin-error');
  result.badToken = await page.textContent('#signin-error');
  errors.length = 0; // the browser logs the refused request (401): expected here

  await signIn(page, cfg.token);
  await page.waitForSelector('#fig-admitted');

  // Admit a voter; the same voter again; a voter of no census here.
  result.admitted = await admit(page, cfg.voter);
  await textWith(page, '#fig-admitted', '1');
  result.again = await admit(page, cfg.voter);
  result.stranger = await admit(page, cfg.stranger);
  errors.length = 0; // the refused admission (404) is logged by the browser: expected

  // Constitute: every member present; a key that is not bea's is caught before anything is sent.
  for (const m of ['ana', 'bea', 'ciro']) await page.check(`#present-${m}`);
  await page.click('#draft-constitution');
  await page.waitForSelector('#draft');
  await page.selectOption('#signer', 'bea');
  await page.setInputFiles('#key-file', cfg.keys.ana);
  await page.click('#sign');
  await page.waitForSelector('#draft-message.error');
  result.wrongKey = await page.textContent('#draft-message');
  await page.selectOption('#signer', 'ana');
  await page.setInputFiles('#key-file', cfg.keys.ana);
  await page.click('#sign');
  await textWith(page, '#draft-signatures', 'ana');
  await page.screenshot({ path: `${cfg.shots}/draft-es-desktop.png`, fullPage: true });
  await signAndSubmit(page, 'constitution', ['bea']);

  // The voter votes at a booth: the figures follow.
  await step('cast');
  result.ballotsShown = await textWith(page, '#fig-ballots', '1');
  result.b2Shown = await page.textContent('#booths tr[data-booth="centro-1-b2"] td.num');
  result.notClosed = await page.textContent('#close-not-yet');
  await page.screenshot({ path: `${cfg.shots}/console-es-desktop.png`, fullPage: true });

  // Voting closes: the members close the mesa with the participants and audit codes actas.
  await step('close');
  await page.waitForSelector('#draft-participants:not([disabled])', { timeout: 15_000 });
  await page.click('#draft-participants');
  await signAndSubmit(page, 'participants', ['ana', 'bea']);
  await page.click('#draft-auditCodes');
  await signAndSubmit(page, 'auditCodes', ['ana', 'bea']);
  await textWith(page, '#fig-state', 'cerrada');

  // The results acta: the form has the district's contest with every choice of its numbering; figures the
  // service would refuse are refused on the page, with the reason, before anyone signs.
  await page.waitForSelector('#results-form');
  result.resultsChoices = await page.$$eval('[data-contest="alcaldia"] input', (xs) => xs.map((x) => x.dataset.choice));
  result.resultsLegend = await page.textContent('[data-contest="alcaldia"] legend');
  result.resultsLabels = await page.$$eval('[data-contest="alcaldia"] label', (xs) => xs.map((x) => x.textContent));
  result.ballotsPrefilled = await page.inputValue('#results-ballots');
  await fillResults(page, 1, { a: 2, b: 0, blank: 0, null: 0 });
  result.tooMany = await refusedResults(page);
  await page.screenshot({ path: `${cfg.shots}/results-es-desktop.png`, fullPage: true });
  await fillResults(page, 2, { a: 1, b: 0, blank: 0, null: 0 });
  result.boothMismatch = await refusedResults(page);
  await page.check('#source-paper');
  await fillResults(page, 3, { a: 1, b: 0, blank: 0, null: 0 });
  result.paperOver = await refusedResults(page);

  // Phone-sized, both languages: the results form, a refusal shown.
  for (const lang of ['es', 'en']) {
    const phone = await newPage({ width: 390, height: 844 }, lang);
    await signIn(phone, cfg.token);
    await phone.waitForSelector('#results-form');
    await fillResults(phone, 1, { a: 1, b: 1, blank: 0, null: 0 });
    await refusedResults(phone);
    await phone.locator('#results').screenshot({ path: `${cfg.shots}/results-${lang}-phone.png` });
    await phone.context().close();
  }

  // The figures as counted: a booth count of the one ballot; drafted, signed by two members, submitted.
  await page.check('#source-booths');
  await fillResults(page, 1, { a: 1, b: 0, blank: 0, null: 0 });
  await page.click('header button.lang');
  await textWith(page, '#fig-state', 'closed');
  await page.screenshot({ path: `${cfg.shots}/results-en-desktop.png`, fullPage: true });
  await page.click('#draft-results');
  await page.waitForSelector('#draft-summary');
  result.summary = await page.textContent('#draft-summary');
  await signAndSubmit(page, 'results', ['ana', 'bea']);
  result.resultsDone = await page.textContent('#results-done');
  await page.screenshot({ path: `${cfg.shots}/closed-en-desktop.png`, fullPage: true });

  // Phone-sized, both languages: the sign-in with its refusal, and the console.
  for (const lang of ['es', 'en']) {
    const phone = await newPage({ width: 390, height: 844 }, lang);
    await signIn(phone, 'not-the-token');
    await phone.waitForSelector('#signin-error');
    await phone.screenshot({ path: `${cfg.shots}/signin-${lang}-phone.png`, fullPage: true });
    errors.length = 0;
    await signIn(phone, cfg.token);
    await phone.waitForSelector('#fig-admitted');
    await phone.screenshot({ path: `${cfg.shots}/console-${lang}-phone.png`, fullPage: true });
    await phone.context().close();
  }
  result.errors = errors;
} finally {
  await browser.close();
}
console.log(`result ${JSON.stringify(result)}`);
// stdin (the step protocol) would keep node running.
process.exit(0);
