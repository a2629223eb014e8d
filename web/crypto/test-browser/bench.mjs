// `npm run bench -w @urna/crypto [-- RUNS]`: the voter-app crypto benchmark in headless Chromium
// (test-browser/bench-entry.ts); prints the figures as JSON (docs/performance.md quotes them).
import { withPage } from './harness.mjs';

const runs = Number(process.argv[2] ?? 25);
const result = await withPage('bench-entry.ts', (page) => page.evaluate((n) => globalThis.bench(n), runs));
console.log(JSON.stringify(result, null, 2));
