import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PublicKey } from '../src/paillier/publicKey.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(repoRoot + path, 'utf8')) as unknown;
}

/** The committed 3072-bit ceremony key (workloads/crypto/tests/fixtures/ceremony-3072). */
export const productionKey = PublicKey.fromJson(readJson('workloads/crypto/tests/fixtures/ceremony-3072/public.json'));
