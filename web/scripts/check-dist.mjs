// Checks that a page's committed build (dist/, embedded in the `urna` binary) is exactly what a fresh build of
// its sources gives: builds into a temporary directory and compares every file byte for byte. Run from the
// page's package (`npm run check-dist -w @urna/<page>`), whose directory it checks.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { build } from 'vite';

const root = process.cwd();
const page = basename(root);
const committed = join(root, 'dist');
const fresh = mkdtempSync(join(tmpdir(), `urna-${page}-dist-`));

function files(dir) {
  return readdirSync(dir, { recursive: true })
    .map((f) => join(dir, String(f)))
    .filter((f) => statSync(f).isFile())
    .map((f) => relative(dir, f))
    .sort();
}

try {
  await build({ root, logLevel: 'warn', build: { outDir: fresh, emptyOutDir: true } });
  const a = files(committed);
  const b = files(fresh);
  const problems = [];
  for (const f of new Set([...a, ...b])) {
    if (!a.includes(f)) problems.push(`${f}: built but not committed`);
    else if (!b.includes(f)) problems.push(`${f}: committed but no longer built`);
    else if (!readFileSync(join(committed, f)).equals(readFileSync(join(fresh, f)))) problems.push(`${f}: differs from a fresh build`);
  }
  if (problems.length > 0) {
    console.error(`web/${page}/dist is stale; run \`npm run build -w @urna/${page}\` in web/ and commit dist/:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else {
    console.log(`web/${page}/dist: ${String(a.length)} files identical to a fresh build`);
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
