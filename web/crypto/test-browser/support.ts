/** What the Chromium test and benchmark pages share: fixtures served by the harness at /repo/, and the worker. */

import { BallotCodec } from '../src/ballot/codec.js';
import type { ElectionManifest } from '../src/ballot/manifest.js';
import { PublicKey } from '../src/paillier/publicKey.js';

export const FIXTURES = '/repo/workloads/ballot/tests/fixtures/browser/';

export async function json(path: string): Promise<unknown> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${String(res.status)}`);
  return res.json() as Promise<unknown>;
}

export async function loadElection(name: 'federal' | 'seeds'): Promise<{ pk: PublicKey; manifest: ElectionManifest; codec: BallotCodec }> {
  const pk = PublicKey.fromJson(await json('/repo/workloads/crypto/tests/fixtures/ceremony-3072/public.json'));
  const manifest = (await json(`${FIXTURES}manifest-${name}.json`)) as ElectionManifest;
  return { pk, manifest, codec: new BallotCodec(manifest, pk) };
}

export const createWorker = (): Worker => new Worker('/worker.js', { type: 'module', name: 'urna-precompute' });

