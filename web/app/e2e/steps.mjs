// The voter's steps in the app, shared by the end-to-end test (voter.mjs) and the benchmark (bench.mjs):
// selectors of web/app/src/app.ts, driven with playwright-core in Debian's Chromium (never downloaded).
import { chromium } from 'playwright-core';

/** Headless Chromium from CHROMIUM (default /usr/bin/chromium). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export async function signIn(page, url, voter, credential = voter.credential) {
  await page.goto(url);
  await page.waitForSelector('#voter-id');
  await page.fill('#voter-id', voter.name);
  await page.fill('#credential', credential);
  await page.click('form button[type=submit]');
}

/** Marks the ballot: `plan` maps contest ids to choice ids (and a write-in name); other contests get `null`. */
export async function mark(page, plan) {
  await page.waitForSelector('fieldset.contest');
  const contests = await page.$$eval('fieldset.contest input:is([type=radio],[type=checkbox])', (inputs) => [...new Set(inputs.map((i) => i.name))]);
  const chosen = {};
  for (const c of contests) {
    const p = plan[c] ?? { choices: ['null'] };
    for (const id of p.choices) await page.click(`label[for="${c}--${id}"]`);
    if (p.writeIn) await page.fill(`#${c}-write-in-name`, p.writeIn);
    chosen[c] = p;
  }
  return chosen;
}

export async function waitPrecomputed(page) {
  await page.waitForSelector('.precompute[data-done=true]', { timeout: 300_000 });
}

export async function reviewAndEncrypt(page) {
  await page.click('form.ballot button[type=submit]');
  await page.waitForSelector('.review-item');
  await page.click('button.primary:not([disabled])');
  const fp = await page.waitForSelector('[data-testid=fingerprint]', { timeout: 120_000 });
  return (await fp.textContent()) ?? '';
}

export async function castAndReceipt(page) {
  const started = Date.now();
  await page.click('button.primary');
  const r = await page.waitForSelector('[data-testid=anon-id]', { timeout: 120_000 });
  const ms = Date.now() - started;
  const anonId = await r.getAttribute('data-value');
  const logIndex = Number(await page.textContent('[data-testid=log-index]'));
  return { anonId, logIndex, ms };
}
