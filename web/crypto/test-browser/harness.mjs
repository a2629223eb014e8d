// Runs @urna/crypto in real headless Chromium (Debian's /usr/bin/chromium through playwright-core; no browser
// is ever downloaded): bundles an entry and the precomputation worker with esbuild, serves them and the
// repository's fixtures from 127.0.0.1 (workers need an http origin), and opens a page that imports the entry.
// test-browser/run.mjs (tests) and test-browser/bench.mjs (benchmark) use it; the app's harness can too.

import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const here = fileURLToPath(new URL('.', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

const TYPES = { '.js': 'text/javascript', '.json': 'application/json', '.html': 'text/html', '.map': 'application/json' };

/** Bundles `entry` (relative to test-browser/) as page.js and the worker as worker.js into a fresh directory. */
async function bundle(entry) {
  const out = mkdtempSync(join(tmpdir(), 'urna-crypto-browser-'));
  const common = { bundle: true, format: 'esm', target: 'chrome120', sourcemap: 'inline', logLevel: 'warning' };
  await build({ ...common, entryPoints: [join(here, entry)], outfile: join(out, 'page.js') });
  await build({ ...common, entryPoints: [join(here, '../src/precompute/worker.ts')], outfile: join(out, 'worker.js') });
  writeFileSync(join(out, 'index.html'), '<!doctype html><meta charset="utf-8"><title>urna crypto</title><link rel="icon" href="data:,"><script type="module" src="/page.js"></script>');
  return out;
}

/** Serves `dir` at / and the repository read-only at /repo/ on 127.0.0.1, on a free port. */
function serve(dir) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname === '/' ? '/index.html' : decodeURIComponent(url.pathname);
    const file = path.startsWith('/repo/') ? normalize(join(repoRoot, path.slice(6))) : normalize(join(dir, path));
    if (!file.startsWith(repoRoot) && !file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Opens the bundled `entry` in headless Chromium; `use(page)` runs with it, then everything is torn down. */
export async function withPage(entry, use) {
  const dir = await bundle(entry);
  const server = await serve(dir);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    page.on('console', (m) => { if (m.type() === 'error') console.error('console:', m.text()); });
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => globalThis.urnaReady === true, null, { timeout: 30_000 });
    return await use(page);
  } finally {
    await browser.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
