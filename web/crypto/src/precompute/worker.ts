/**
 * The Web Worker of a {@link Precomputer}: computes `(r, r^n mod n²)` pairs for one public key, posting each as
 * soon as it is done so that the page can show progress and use them while the rest are computed. Its
 * randomness is the worker's own `crypto.getRandomValues`.
 */

import { fromHex, toHex } from '../math/bytes.js';
import { generateNonce } from '../paillier/pool.js';
import { PublicKey } from '../paillier/publicKey.js';
import type { WorkRequest, WorkResult } from './messages.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkRequest>) => void) | null;
  postMessage(message: WorkResult): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (event) => {
  const pk = PublicKey.fromModulus(fromHex('n', event.data.n), 0);
  for (let i = 0; i < event.data.count; i++) {
    const nonce = generateNonce(pk);
    scope.postMessage({ r: toHex(nonce.r), rn: toHex(nonce.rn) });
  }
};
