// Cast → receipt in the voter app, measured in headless Chromium against a given `urna` binary: starts
// `URNA_BIN local examples/federal --serve` with production key sizes (the committed 3072-bit threshold
// ceremony and 3072-bit voting-right key of workloads/crypto/tests/fixtures, no simulated ballots), drives
// BENCH_VOTERS voters through the app one after another (sign in, mark, wait for the background
// precomputation, review, encrypt and prove, then Cast), and times, per voter, from the click on Cast to the
// receipt on screen (voting right, blind signature finalized, ballot verified and recorded by the service,
// AnonID and log index shown). Then it closes the election (SIGINT) and requires the verified results to hold
// exactly these ballots. Prints a JSON report on stdout: p50/p95 (nearest rank) of cast → receipt, of the
// precomputation and of encrypt-and-prove.
//
//   cargo build --release -p urna
//   cd web && URNA_BIN=$PWD/../target/release/urna BENCH_VOTERS=20 npm run bench -w @urna/app
//
// Environment: URNA_BIN (required), BENCH_VOTERS (default 20), BENCH_CONCURRENCY (voters in flight at once,
// default 1: latency without the voters competing for this machine's cores), CHROMIUM.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { castAndReceipt, launch, mark, reviewAndEncrypt, signIn, waitPrecomputed } from './steps.mjs';

const repo = resolve(new URL('../../..', import.meta.url).pathname);
const bin = process.env.URNA_BIN ? resolve(process.env.URNA_BIN) : undefined;
const n = Number(process.env.BENCH_VOTERS ?? '20');
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? '1');
if (!bin || !Number.isInteger(n) || n < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
  throw new Error('URNA_BIN (the urna binary) is required; BENCH_VOTERS and BENCH_CONCURRENCY are positive integers');
}
const fixtures = join(repo, 'workloads/crypto/tests/fixtures');
const data = mkdtempSync(join(tmpdir(), 'urna-bench-'));

/** Nearest-rank percentile of `xs` (ms). */
function percentile(xs, p) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function stats(xs) {
  return { p50: percentile(xs, 50), p95: percentile(xs, 95), min: Math.min(...xs), max: Math.max(...xs) };
}

const urna = spawn(bin, [
  'local', join(repo, 'examples/federal'),
  '--ceremony', join(fixtures, 'ceremony-3072'), '--voting-key', join(fixtures, 'voting-right-3072.pem'),
  '--ballots', '0', '--serve', '--listen', '127.0.0.1:0', '--serve-voters', String(n), '--json',
  '--data', join(data, 'data'), '--record', join(data, 'record'),
], {
  env: { ...process.env, URNA_TRUSTEE_1_PASSPHRASE: 'trustee-1', URNA_TRUSTEE_2_PASSPHRASE: 'trustee-2', URNA_TRUSTEE_3_PASSPHRASE: 'trustee-3' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const lines = createInterface({ input: urna.stdout })[Symbol.asyncIterator]();
const exited = new Promise((ok) => urna.on('exit', (code, signal) => { ok({ code, signal }); }));

async function nextJson() {
  const { value, done } = await lines.next();
  if (done) throw new Error(`urna local ended early: ${JSON.stringify(await exited)}`);
  return JSON.parse(value);
}

const report = { urna: bin, voters: n, concurrency, ballot: 'examples/federal: president (coalitions), senate, governor where the district has one; null elsewhere', timings: [] };
let browser;
try {
  const serving = await nextJson();
  const url = serving.serving;
  if (!url) throw new Error(`no serving line: ${JSON.stringify(serving)}`);
  browser = await launch();
  const parties = ['pan', 'pri', 'prd', 'pvem', 'pt', 'mc', 'morena'];
  const vote = async (voter, i) => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    const page = await ctx.newPage();
    await signIn(page, url, voter);
    const shown = Date.now();
    await mark(page, { president: { choices: [parties[i % parties.length]] } });
    await waitPrecomputed(page);
    const precomputeMs = Date.now() - shown;
    const encryptStarted = Date.now();
    await reviewAndEncrypt(page);
    const encryptMs = Date.now() - encryptStarted;
    const receipt = await castAndReceipt(page);
    report.timings.push({ voter: voter.name, castToReceiptMs: receipt.ms, precomputeMs, encryptMs, logIndex: receipt.logIndex });
    await ctx.close();
  };
  const queue = serving.voters.map((v, i) => [v, i]);
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await vote(...next);
  }));
  report.castToReceiptMs = stats(report.timings.map((t) => t.castToReceiptMs));
  report.precomputeMs = stats(report.timings.map((t) => t.precomputeMs));
  report.encryptMs = stats(report.timings.map((t) => t.encryptMs));

  // Close, decrypt, verify: the measured ballots are exactly the published ones.
  urna.kill('SIGINT');
  // The results follow as one pretty-printed JSON document.
  const rest = [];
  for (let line = await lines.next(); !line.done; line = await lines.next()) rest.push(line.value);
  const { code } = await exited;
  if (code !== 0) throw new Error(`urna local exited with ${String(code)} after close`);
  const results = JSON.parse(rest.join('\n'));
  if (results.verification.ballots !== n) throw new Error(`the record holds ${String(results.verification.ballots)} ballots, not ${String(n)}`);
  report.recordVerified = { ballots: results.verification.ballots };
} finally {
  await browser?.close();
  if (urna.exitCode === null) urna.kill('SIGKILL');
  rmSync(data, { recursive: true, force: true });
}
console.log(JSON.stringify(report, null, 2));
