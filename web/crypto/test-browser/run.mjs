// `npm run test:browser -w @urna/crypto`: the Chromium tests of test-browser/entry.ts; prints one line per test
// and a closing "N passed, M failed"; exits non-zero on any failure.
import { withPage } from './harness.mjs';

const results = await withPage('entry.ts', (page) => page.evaluate(() => globalThis.runTests()));
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.detail}`);
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
