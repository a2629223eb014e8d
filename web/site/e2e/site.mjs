// The results site end to end in Debian's headless Chromium (playwright-core, never a downloaded browser),
// run by workloads/urna/tests/site_process.rs against `urna site` serving a real local election's record.
// Reads every figure the page shows (with the record file and JSON pointers it links to), checks a receipt
// that is in the log, one that is not, and one with the wrong position, in both languages and at phone and
// desktop sizes; prints what it saw as JSON for the Rust test to compare with the record. SCREENSHOTS=DIR
// also saves the documentation's screenshots (docs/img/site).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const url = process.env.URNA_SITE_URL;
const receipt = JSON.parse(process.env.URNA_RECEIPT ?? '{}');
const shots = process.env.SCREENSHOTS;
if (!url || !receipt.anonId) throw new Error('URNA_SITE_URL and URNA_RECEIPT are required');
if (shots) mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const errors = [];
const VIEWPORTS = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 900 } };

async function open(lang, size) {
  const page = await browser.newPage({ viewport: VIEWPORTS[size] });
  page.on('pageerror', (e) => errors.push(`${lang}/${size}: ${e.message}`));
  // Chromium logs every 404 answer as a console error: the favicon it asks for by itself, and the log's
  // `unknown_leaf` for a receipt that is not in the log, which the page reports as such (checked below).
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`${lang}/${size} console: ${m.text()}`); });
  await page.goto(`${url}?lang=${lang}`);
  await page.waitForSelector('#record table');
  return page;
}

/** Every figure on the page: its number as shown, and the file and pointers it links to. */
function figures(page) {
  return page.$$eval('a.fig', (links) => links.map((a) => ({ value: Number(a.dataset.value), shown: a.textContent, file: a.dataset.file, href: a.getAttribute('href'), pointers: (a.dataset.pointers ?? '').split(' ').filter((p) => p !== '') })));
}

function contests(page) {
  return page.$$eval('article.contest', (articles) => articles.map((art) => {
    const table = (root) => ({
      ballots: Number(root.querySelector('caption a.fig')?.dataset.value),
      counts: Object.fromEntries([...root.querySelectorAll('tbody tr[data-choice]')].map((tr) => [tr.dataset.choice, Number(tr.querySelector('a.fig')?.dataset.value)])),
    });
    const parts = (kind) => Object.fromEntries([...art.querySelectorAll(`details[data-kind=${kind}] .part`)].map((p) => [p.dataset.key, table(p)]));
    return {
      contestId: art.dataset.contest,
      title: art.querySelector('h3')?.textContent,
      chart: art.querySelector('.chart canvas')?.getAttribute('aria-label'),
      chartDrawn: (art.querySelector('.chart canvas')?.width ?? 0) > 0,
      total: table(art.querySelector('table[data-testid^=contest-]')),
      byDistrict: parts('district'),
      byModality: parts('modality'),
    };
  }));
}

async function checkReceipt(page, anonId, index) {
  await page.fill('#anon-id', anonId);
  await page.fill('#log-index', index === undefined ? '' : String(index));
  await page.click('#receipt form button[type=submit]');
  const out = await page.waitForSelector('[data-testid=receipt-result]:is([data-outcome=ok],[data-outcome=err])', { timeout: 30_000 });
  const result = { outcome: await out.getAttribute('data-outcome'), text: (await out.textContent()) ?? '' };
  return result;
}

const report = { pages: {} };
for (const lang of ['es', 'en']) {
  for (const size of ['phone', 'desktop']) {
    const page = await open(lang, size);
    const seen = {
      htmlLang: await page.getAttribute('html', 'lang'),
      title: await page.textContent('h1'),
      turnout: {
        ballots: Number(await page.getAttribute('[data-testid=turnout-ballots]', 'data-value')),
        census: Number(await page.getAttribute('[data-testid=turnout-census]', 'data-value')),
      },
      contests: await contests(page),
      figures: await figures(page),
      keys: {
        threshold: (await page.textContent('[data-testid=key-threshold]'))?.replaceAll(' ', ''),
        audit: (await page.textContent('[data-testid=key-audit]'))?.replaceAll(' ', ''),
        trustSource: await page.getAttribute('[data-testid=trust-source]', 'data-source'),
      },
      files: await page.$$eval('[data-testid=record-files] tbody th a', (as) => as.map((a) => a.getAttribute('href'))),
      // Nothing may be wider than the screen (a phone must not scroll sideways).
      overflow: await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
      navText: await page.textContent('header nav'),
      prep: {
        counted: Number(await page.getAttribute('[data-testid=prep-counted]', 'data-value')),
        expected: Number(await page.getAttribute('[data-testid=prep-expected]', 'data-value')),
        districts: await page.$$eval('[data-testid=prep-districts] tbody tr', (trs) => trs.map((tr) => tr.dataset.district)),
        chartDrawn: await page.$eval('#prep .chart canvas', (c) => c.width > 0),
      },
    };
    if (shots) {
      await page.screenshot({ path: join(shots, `site-${lang}-${size}.png`) });
      const prep = await page.$('#prep');
      await prep.screenshot({ path: join(shots, `prep-${lang}-${size}.png`) });
      if (size === 'desktop') {
        const mayor = await page.$('article.contest');
        await mayor.evaluate((a) => { for (const d of a.querySelectorAll('details')) d.open = true; });
        await mayor.screenshot({ path: join(shots, `contest-${lang}-${size}.png`) });
      }
    }
    seen.receipt = {
      included: await checkReceipt(page, receipt.anonId, receipt.logIndex),
    };
    if (shots && size === 'phone') {
      const section = await page.$('#receipt');
      await section.screenshot({ path: join(shots, `receipt-${lang}-${size}.png`) });
    }
    if (lang === 'en' && size === 'desktop') {
      seen.receipt.spaced = await checkReceipt(page, receipt.anonId.replace(/(.{4})/g, '$1 ').toUpperCase(), undefined);
      seen.receipt.wrongIndex = await checkReceipt(page, receipt.anonId, receipt.logIndex + 1);
      seen.receipt.missing = await checkReceipt(page, 'ab'.repeat(32), undefined);
      seen.receipt.malformed = await checkReceipt(page, 'not a receipt', undefined);
      if (shots) {
        await page.$eval('#keys', (el) => { el.scrollIntoView(); });
        await (await page.$('#keys')).screenshot({ path: join(shots, `keys-${lang}-${size}.png`) });
      }
    }
    report.pages[`${lang}-${size}`] = seen;
    await page.close();
  }
}
report.errors = errors;
await browser.close();
process.stdout.write(JSON.stringify(report));
