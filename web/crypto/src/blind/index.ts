/**
 * The voting right as RFC 9474 RSABSSA-SHA384-PSS-Randomized (docs/protocol.md §5): prepare (a 32-byte random
 * prefix before the message), blind, finalize (which verifies), verify.
 */

import { concatBytes } from '../math/bytes.js';
import { randomBytes } from '../math/random.js';
import { type Blinded, type BlindTestParameters, blindWith, finalizeWith, verifyWith } from './core.js';
import type { RsaPublicKey } from './key.js';

export { type Blinded, type BlindTestParameters, BlindSignatureError } from './core.js';
export { type RsaPublicKey, rsaPublicKey, rsaPublicKeyFromSpkiHex } from './key.js';

export const PREFIX_LEN = 32;

/** `prefix || msg` with a fresh 32-byte prefix (the Randomized variant); `prefix` only for test vectors. */
export function prepare(msg: Uint8Array, prefix: Uint8Array = randomBytes(PREFIX_LEN)): Uint8Array {
  if (prefix.length !== PREFIX_LEN) throw new RangeError('prefix must be 32 bytes');
  return concatBytes(prefix, msg);
}

export function blind(pk: RsaPublicKey, prepared: Uint8Array, test?: BlindTestParameters): Blinded {
  return blindWith(pk, pk.e, prepared, test);
}

/** Unblinds the signer's answer and checks it; throws when it is not a valid signature of `prepared`. */
export function finalize(pk: RsaPublicKey, prepared: Uint8Array, blindSignature: Uint8Array, inverse: Uint8Array): Uint8Array {
  return finalizeWith(pk, pk.e, prepared, blindSignature, inverse);
}

/** RSASSA-PSS-VERIFY (SHA-384, MGF1-SHA-384, 48-byte salt) of `signature` over `prepared`. */
export function verify(pk: RsaPublicKey, prepared: Uint8Array, signature: Uint8Array): boolean {
  return verifyWith(pk, pk.e, prepared, signature);
}
