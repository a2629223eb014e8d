// The voter app end to end in real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core;
// no browser is ever downloaded), against a running `urna local EXAMPLE --serve`. Run by the Rust test
// workloads/urna/tests/voter_app.rs, which starts the election, reads this script's JSON summary on stdout,
// then closes the election and checks that the results count exactly these ballots.
//
// Environment: URNA_APP_URL (the app), URNA_VOTERS (JSON: [{name, credential, district}], at least 4),
// URNA_ADMIN_TOKEN (the vote service's, to close voting before the last voter casts), OUT_DIR (challenge
// files), SCREENSHOTS (optional: a directory for docs/img screenshots), CHROMIUM.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { castAndReceipt, launch, mark, reviewAndEncrypt, signIn as signInAt, waitPrecomputed } from './steps.mjs';

const url = process.env.URNA_APP_URL;
const voters = JSON.parse(process.env.URNA_VOTERS ?? '[]');
const out = process.env.OUT_DIR ?? '.';
const shots = process.env.SCREENSHOTS;
const adminToken = process.env.URNA_ADMIN_TOKEN;
if (!url || voters.length < 4 || !adminToken) throw new Error('URNA_APP_URL, URNA_VOTERS (4 voters or more) and URNA_ADMIN_TOKEN are required');
if (shots) mkdirSync(shots, { recursive: true });

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };
const summary = { ballots: [], checks: [], timings: [] };

function check(name, ok, detail = '') {
  summary.checks.push({ name, ok, detail });
  if (!ok) throw new Error(`check failed: ${name}${detail ? `: ${detail}` : ''}`);
}

const browser = await launch();
const signIn = (page, voter, credential = voter.credential) => signInAt(page, url, voter, credential);

async function context(viewport, locale) {
  const ctx = await browser.newContext({ viewport, locale, acceptDownloads: true, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => { summary.checks.push({ name: 'page error', ok: false, detail: String(e) }); });
  return { ctx, page };
}

async function shot(page, name) {
  if (!shots) return;
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function alertText(page) {
  const el = await page.waitForSelector('[role=alert]', { timeout: 30_000 });
  return (await el.textContent()) ?? '';
}

/** The vote service's counters (`GET /v1/status`). */
async function voteStatus() {
  const r = await fetch(new URL('v1/status', url), { cache: 'no-store' });
  if (!r.ok) throw new Error(`GET v1/status: ${String(r.status)}`);
  return r.json();
}

async function checkReceiptPage(page, anonId, index) {
  // The log signs a checkpoint every few seconds: a fresh receipt may be "pending" first.
  for (let i = 0; i < 20; i++) {
    // A fresh load each time (a changed hash alone would not re-run the check).
    await page.goto('about:blank');
    await page.goto(`${url}#/receipt?anon=${anonId}${index === undefined ? '' : `&index=${index}`}`);
    const done = await page.waitForSelector('[data-testid=receipt-check][data-result]', { timeout: 30_000 });
    const result = await done.getAttribute('data-result');
    if (result !== 'pending') return { result, text: (await done.textContent()) ?? '' };
    await page.waitForTimeout(1000);
  }
  return { result: 'pending', text: '' };
}

/** The election's witness policy (`GET v1/election`, `witnesses`), or null when it declares no witnesses. */
let witnessPolicy;
async function electionWitnesses() {
  if (witnessPolicy === undefined) {
    const r = await fetch(new URL('v1/election', url), { cache: 'no-store' });
    if (!r.ok) throw new Error(`GET v1/election: ${String(r.status)}`);
    const w = (await r.json()).witnesses;
    witnessPolicy = w && Array.isArray(w.witnesses) && w.witnesses.length > 0 ? w : null;
  }
  return witnessPolicy;
}

/**
 * After a receipt checked as included: with witnesses, the page must come to show their quorum verified in the
 * browser. Witnesses cosign every few seconds, so a fresh checkpoint may lack them at first: the check page is
 * reloaded for up to ~30 s. Without witnesses, the page must show no witness verdict at all.
 */
async function checkReceiptWitnesses(page, anonId, index, who) {
  const policy = await electionWitnesses();
  const verdict = async () => {
    const el = await page.$('[data-testid=receipt-witnesses]');
    return el ? { quorum: await el.getAttribute('data-quorum'), text: (await el.textContent()) ?? '' } : undefined;
  };
  if (!policy) {
    const v = await verdict();
    check(`${who}: no witness verdict where the election declares no witnesses`, v === undefined, v?.text ?? '');
    return;
  }
  const deadline = Date.now() + 30_000;
  let v = await verdict();
  while (v?.quorum !== 'met' && Date.now() < deadline) {
    await page.waitForTimeout(2000);
    const r = await checkReceiptPage(page, anonId, index);
    v = r.result === 'included' ? await verdict() : { quorum: r.result, text: r.text };
  }
  const detail = `${v?.quorum ?? 'no witness verdict'}: ${v?.text ?? ''} (quorum ${String(policy.quorum)} of ${policy.witnesses.map((w) => w.name).join(', ')})`;
  check(`${who}: the checkpoint carries the election's quorum of witness cosignatures (verified in the browser)`, v?.quorum === 'met', detail);
}

try {
  const [a, b, c, d] = voters;

  // 1. Wrong credential (Spanish, phone): refused with a clear message, nothing issued.
  {
    const { ctx, page } = await context(PHONE, 'es-MX');
    await signIn(page, a, 'not-the-credential');
    const text = await alertText(page);
    check('wrong credential is refused in Spanish', text.includes('credencial incorrecta'), text);
    check('the page is in Spanish', (await page.getAttribute('html', 'lang')) === 'es');
    await shot(page, 'phone-0-wrong-credential');
    await ctx.close();
  }

  // 2. Voter A (Spanish, phone): coalition marks and a write-in; challenge, check, then cast the fresh one.
  {
    const { ctx, page } = await context(PHONE, 'es-MX');
    await page.goto(url);
    await page.waitForSelector('#voter-id');
    await shot(page, 'phone-1-sign-in');
    await signIn(page, a);
    await page.waitForSelector('fieldset.contest');
    // Over-vote impossible: a party of the other coalition replaces the marks.
    await page.click('label[for="president--pan"]');
    await page.click('label[for="president--morena"]');
    check('a party of another coalition replaces the mark', !(await page.isChecked('#president--pan')) && (await page.isChecked('#president--morena')));
    await page.click('label[for="president--morena"]');
    const senate = (await page.$$eval('fieldset.contest input:is([type=radio],[type=checkbox])', (i) => i.map((x) => x.name))).find((n) => n.startsWith('senate-'));
    const plan = { president: { choices: ['pan', 'pri'] } };
    if (senate) plan[senate] = { choices: ['write-in'], writeIn: 'Ana Pérez' };
    const chosen = await mark(page, plan);
    check('two parties of one coalition stay marked', (await page.isChecked('#president--pan')) && (await page.isChecked('#president--pri')));
    await shot(page, 'phone-2-ballot');
    await waitPrecomputed(page);
    await page.click('form.ballot button[type=submit]');
    await page.waitForSelector('.review-item');
    await shot(page, 'phone-3-review');
    await page.click('button.primary:not([disabled])');
    const challenged = await page.waitForSelector('[data-testid=fingerprint]', { timeout: 120_000 }).then((e) => e.textContent());
    await shot(page, 'phone-4-encrypted');
    // Challenge: the page checks the revealed nonces at once, and offers the file for another device.
    await page.click('button.secondary');
    const report = await page.waitForSelector('[data-testid=challenge-report]');
    check('the challenged ballot decodes to the marked choices', (await report.getAttribute('data-valid')) === 'true');
    const reportText = (await report.textContent()) ?? '';
    check('the challenge shows the write-in', !senate || reportText.includes('Ana Pérez'), reportText);
    await shot(page, 'phone-5-challenged');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Descargar el archivo de auditoría')]);
    const challengeFile = join(out, 'challenge.json');
    await download.saveAs(challengeFile);
    summary.challengeFile = challengeFile;
    // Back: the same marks are encrypted again, with fresh nonces.
    await page.click('text=Volver a mi boleta');
    await page.waitForSelector('.review-item');
    await page.click('button.primary:not([disabled])');
    const fresh = await page.waitForSelector('[data-testid=fingerprint]', { timeout: 120_000 }).then((e) => e.textContent());
    check('the ballot after a challenge is a new encryption', fresh !== challenged, `${fresh} vs ${challenged}`);
    summary.challengedFingerprint = challenged;
    const receipt = await castAndReceipt(page);
    summary.timings.push({ voter: a.name, castToReceiptMs: receipt.ms });
    await shot(page, 'phone-6-receipt');
    summary.ballots.push({ voter: a.name, district: a.district, chosen, ...receipt });
    const r = await checkReceiptPage(page, receipt.anonId, receipt.logIndex);
    check('the receipt is in the audit log (verified in the browser)', r.result === 'included', r.text);
    await checkReceiptWitnesses(page, receipt.anonId, receipt.logIndex, 'voter A');
    await shot(page, 'phone-7-receipt-check');

    // The challenged ballot on the check page of another device.
    const other = await context(PHONE, 'es-MX');
    await other.page.goto(`${url}#/challenge`);
    await other.page.setInputFiles('input[type=file]', challengeFile);
    await other.page.waitForFunction(() => document.querySelector('textarea')?.value.length > 100);
    await other.page.click('form button[type=submit]');
    const otherReport = await other.page.waitForSelector('[data-testid=challenge-report]', { timeout: 60_000 });
    check('another device confirms the challenged ballot', (await otherReport.getAttribute('data-valid')) === 'true');
    await shot(other.page, 'phone-8-challenge-check');
    await other.ctx.close();
    await ctx.close();
  }

  // 3. Voter A again on a second device: no second voting right.
  {
    const { ctx, page } = await context(DESKTOP, 'es-MX');
    await signIn(page, a);
    const text = await alertText(page);
    check('a second device gets no second voting right', text.includes('ya se emitió'), text);
    await ctx.close();
  }

  // 4. Voter B (English, desktop): switches language, votes null in every contest but one blank where offered.
  {
    const { ctx, page } = await context(DESKTOP, 'es-MX');
    await page.goto(url);
    await page.waitForSelector('#voter-id');
    await page.click('button.lang');
    check('the language switcher sets lang=en', (await page.getAttribute('html', 'lang')) === 'en');
    await shot(page, 'desktop-1-sign-in');
    await page.fill('#voter-id', b.name);
    await page.fill('#credential', b.credential);
    await page.click('form button[type=submit]');
    const chosen = await mark(page, { president: { choices: ['mc'] } });
    await shot(page, 'desktop-2-ballot');
    await waitPrecomputed(page);
    await page.click('form.ballot button[type=submit]');
    await page.waitForSelector('.review-item');
    await shot(page, 'desktop-3-review');
    await page.click('button.primary:not([disabled])');
    await page.waitForSelector('[data-testid=fingerprint]', { timeout: 120_000 });
    await shot(page, 'desktop-4-encrypted');
    const receipt = await castAndReceipt(page);
    summary.timings.push({ voter: b.name, castToReceiptMs: receipt.ms });
    await shot(page, 'desktop-6-receipt');
    summary.ballots.push({ voter: b.name, district: b.district, chosen, ...receipt });
    const r = await checkReceiptPage(page, receipt.anonId, receipt.logIndex);
    check('voter B\'s receipt is in the log', r.result === 'included', r.text);
    await checkReceiptWitnesses(page, receipt.anonId, receipt.logIndex, 'voter B');
    await shot(page, 'desktop-7-receipt-check');
    // A receipt code that is not in the log, and a wrong index.
    const missing = await checkReceiptPage(page, 'ab'.repeat(32));
    check('an unknown receipt is reported as not in the log', missing.result === 'missing', missing.text);
    const wrong = await checkReceiptPage(page, receipt.anonId, receipt.logIndex + 1000);
    check('a receipt with a wrong index is reported', wrong.result === 'wrongIndex', wrong.text);
    await ctx.close();
  }

  // 5. Voter C: an under-vote is warned about (not blocked) and the over-vote of a multi-choice or a
  // coalition cannot be marked; then votes null everywhere, and the answer to the cast is lost.
  {
    const { ctx, page } = await context(PHONE, 'en-US');
    await signIn(page, c);
    await page.waitForSelector('fieldset.contest');
    await page.click('form.ballot button[type=submit]');
    await page.waitForSelector('.review-item');
    const problem = await page.textContent('.problem');
    check('an unmarked contest without a blank option must be marked', (problem ?? '').includes('Mark one option'), problem ?? '');
    check('the encrypt button is disabled while a contest needs attention', await page.isDisabled('button.primary'));
    await page.click('button.secondary');
    const chosen = await mark(page, {});
    await waitPrecomputed(page);
    await reviewAndEncrypt(page);
    // The network fails mid-cast the worst way: the service records the ballot but its answer never arrives.
    // The voter is told, the ballot is kept, and trying again returns the same receipt (the results count
    // this ballot once: voter_app.rs checks three ballots in all).
    let recorded;
    await page.route('**/v1/ballots', async (route) => {
      recorded = await (await route.fetch()).json();
      await route.abort('connectionreset');
    });
    await page.click('button.primary');
    const lost = await alertText(page);
    check('a cast whose answer was lost says so', lost.includes('could not be reached'), lost);
    await shot(page, 'phone-9-network-error');
    await page.unroute('**/v1/ballots');
    const started = Date.now();
    await page.click('button.primary:has-text("Try again")');
    const r = await page.waitForSelector('[data-testid=anon-id]', { timeout: 120_000 });
    const receipt = { anonId: await r.getAttribute('data-value'), logIndex: Number(await page.textContent('[data-testid=log-index]')), ms: Date.now() - started };
    check('the retry returns the receipt of the ballot the service recorded', recorded?.anonId === receipt.anonId, JSON.stringify({ recorded, receipt }));
    summary.ballots.push({ voter: c.name, district: c.district, chosen, ...receipt });
    await ctx.close();
  }

  // 6. Voter D (Spanish, phone) signs in and encrypts a ballot while voting is open; then voting closes (the
  // authority's POST /v1/close, what the window's end does) and Cast is refused with the app's message. Nothing
  // is recorded: no voting right (the service refuses it first), no ballot, nothing kept on the device.
  {
    const { ctx, page } = await context(PHONE, 'es-MX');
    await signIn(page, d);
    await mark(page, { president: { choices: ['morena'] } });
    await waitPrecomputed(page);
    await reviewAndEncrypt(page);
    const before = await voteStatus();
    check('voting is open while voter D prepares the ballot', before.closed === false, JSON.stringify(before));
    const closed = await fetch(new URL('v1/close', url), { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
    check('the authority closes voting', closed.ok, String(closed.status));
    await page.click('button.primary');
    await page.waitForSelector('ol.steps');
    const text = await alertText(page);
    check('a ballot after close is refused with the app\'s message, in Spanish', text.includes('La votación ha cerrado: ya no se aceptan boletas.'), text);
    check('no receipt after close', (await page.$('[data-testid=anon-id]')) === null);
    check('no "Reintentar" after a final refusal', (await page.$('button.primary:has-text("Reintentar")')) === null);
    const kept = await page.evaluate(() => Object.keys(globalThis.localStorage).filter((k) => k.startsWith('urna.pending.')).length);
    check('the refused cast is not kept on the device', kept === 0, String(kept));
    await shot(page, 'phone-10-after-close');
    const after = await voteStatus();
    check('nothing recorded after close', after.closed === true && after.ballotsRecorded === before.ballotsRecorded && after.rightsIssued === before.rightsIssued, JSON.stringify({ before, after }));
    summary.afterClose = { message: text, ballotsRecorded: after.ballotsRecorded, rightsIssued: after.rightsIssued };
    await ctx.close();
  }
} finally {
  await browser.close();
}

const failed = summary.checks.filter((c) => !c.ok);
writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2));
console.log(JSON.stringify(summary));
if (failed.length > 0) {
  console.error(`FAILED: ${failed.map((f) => `${f.name}: ${f.detail}`).join('; ')}`);
  process.exit(1);
}
