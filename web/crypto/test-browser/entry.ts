/**
 * The page the Chromium tests open: the RFC 9474 and partially blind vectors, encryption with nonces from the
 * Web Worker precomputer, the TypeScript verifier on a Rust-made ballot, and the challenge check, each reported
 * by name. Fixtures are fetched from the repository the harness serves at /repo/.
 */

import { checkChallenge } from '../src/ballot/challenge.js';
import { ballotFromJson } from '../src/ballot/encrypted.js';
import { bytesToHex } from '../src/math/bytes.js';
import { Precomputer } from '../src/precompute/precomputer.js';
import { checkPartiallyBlind, checkRfc9474 } from '../test/vectors.js';
import { createWorker, FIXTURES, json, loadElection } from './support.js';

type Test = [string, () => Promise<string>];

const tests: Test[] = [
  ['RFC 9474 vectors (WebCrypto-free BigInt RSABSSA)', async () => `${String(checkRfc9474(await json('/repo/workloads/crypto/tests/vectors/rfc9474.json') as Parameters<typeof checkRfc9474>[0]))} vectors`],
  ['partially blind RSA draft vectors', async () => `${String(checkPartiallyBlind(await json('/repo/web/crypto/test/vectors/pbrsa-draft.json') as Parameters<typeof checkPartiallyBlind>[0]))} vectors`],
  ['two workers precompute the nonces of a ballot, which then encrypts without misses and verifies', async () => {
    const { pk, codec } = await loadElection('seeds');
    const need = codec.noncesNeeded('jalisco');
    const pre = Precomputer.start(pk, need, { workers: 2, createWorker });
    await pre.whenDone();
    if (pre.progress().done !== need) throw new Error(`precomputed ${String(pre.progress().done)} of ${String(need)}`);
    const { ballot } = codec.encryptBallot('jalisco', [
      { contestId: 'president', choices: ['pan', 'pri'] },
      { contestId: 'board', choices: ['o1', 'o2'] },
      { contestId: 'consulta', choices: ['si'] },
    ], pre);
    if (pre.misses !== 0) throw new Error(`${String(pre.misses)} nonces computed on the spot`);
    return `${String(need)} nonces in ${pre.progress().elapsedMs.toFixed(0)} ms; ballot ${bytesToHex(codec.verifyBallot(ballot)).slice(0, 16)}…`;
  }],
  ['a worker that cannot load hands its share to the main thread', async () => {
    const { pk } = await loadElection('seeds');
    const pre = Precomputer.start(pk, 2, { workers: 1, createWorker: () => new Worker('/no-such-worker.js', { type: 'module' }) });
    await pre.whenDone();
    pre.take();
    pre.take();
    if (pre.misses !== 0) throw new Error(`${String(pre.misses)} misses after the fallback`);
    return `2 nonces in ${pre.progress().elapsedMs.toFixed(0)} ms on the main thread`;
  }],
  ['a Rust-made federal ballot passes the TypeScript verifier', async () => {
    const { codec } = await loadElection('federal');
    const file = (await json(`${FIXTURES}rust-ballots.json`)) as { ballots: { manifest: string; ballotHash: string; ballot: unknown }[] };
    const f = file.ballots.find((b) => b.manifest === 'federal');
    if (f === undefined) throw new Error('no federal Rust ballot');
    const hash = bytesToHex(codec.verifyBallot(ballotFromJson(f.ballot)));
    if (hash !== f.ballotHash) throw new Error('ballot hash differs from Rust');
    return hash.slice(0, 16) + '…';
  }],
  ['the committed challenge checks', async () => {
    const { pk, manifest } = await loadElection('seeds');
    const report = checkChallenge(await json(`${FIXTURES}ts-challenge.json`), manifest, pk);
    if (!report.valid) throw new Error(report.problems.join('; '));
    return report.contests.map((c) => `${c.contestId}=${c.choices.join(',')}`).join(' ');
  }],
];

async function runTests(): Promise<{ name: string; ok: boolean; detail: string }[]> {
  const results = [];
  for (const [name, run] of tests) {
    try {
      results.push({ name, ok: true, detail: await run() });
    } catch (e) {
      results.push({ name, ok: false, detail: (e as Error).stack ?? String(e) });
    }
  }
  return results;
}

Object.assign(globalThis, { runTests, urnaReady: true });
