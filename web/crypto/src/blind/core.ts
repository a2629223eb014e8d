/**
 * The RSA blind-signature steps shared by RFC 9474 (RSABSSA) and the partially blind variant
 * (draft-irtf-cfrg-partially-blind-rsa, RSAPBSSA): they differ only in the exponent the client blinds and
 * verifies with and in the message that is PSS-encoded.
 */

import { bigintToFixedBytes, bytesToBigint } from '../math/bytes.js';
import { gcd, modInverse, modulus } from '../math/modular.js';
import { randomUnit } from '../math/random.js';
import type { RsaPublicKey } from './key.js';
import { pssEncode, pssVerify } from './pss.js';

export class BlindSignatureError extends Error {
  constructor(readonly field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = 'BlindSignatureError';
  }
}

/** What the client sends (`blindedMessage`) and keeps (`inverse`, the blinding secret: never serialize it). */
export interface Blinded {
  blindedMessage: Uint8Array;
  inverse: Uint8Array;
}

/** Fixed randomness, for test vectors only. */
export interface BlindTestParameters {
  salt?: Uint8Array;
  /** The blinding factor `r`. */
  r?: bigint;
}

function fixedLength(field: string, pk: RsaPublicKey, bytes: Uint8Array): bigint {
  if (bytes.length !== pk.modulusBytes) throw new BlindSignatureError(field, `expected ${String(pk.modulusBytes)} bytes, got ${String(bytes.length)}`);
  const x = bytesToBigint(bytes);
  if (x >= pk.n) throw new BlindSignatureError(field, 'not below the modulus');
  return x;
}

export function blindWith(pk: RsaPublicKey, e: bigint, encodedMessage: Uint8Array, test: BlindTestParameters = {}): Blinded {
  const em = pssEncode(encodedMessage, pk.modulusBits - 1, test.salt);
  const m = bytesToBigint(em);
  if (gcd(m, pk.n) !== 1n) throw new BlindSignatureError('blind.message', 'invalid input (not coprime with the modulus)');
  const r = test.r ?? randomUnit(pk.n);
  const inverse = modInverse(r, pk.n);
  if (inverse === undefined) throw new BlindSignatureError('blind.r', 'blinding error (no inverse)');
  const mod = modulus(pk.n);
  const z = mod.mul(m, mod.pow(r, e));
  return { blindedMessage: bigintToFixedBytes(z, pk.modulusBytes), inverse: bigintToFixedBytes(inverse, pk.modulusBytes) };
}

export function verifyWith(pk: RsaPublicKey, e: bigint, encodedMessage: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== pk.modulusBytes) return false;
  const s = bytesToBigint(signature);
  if (s >= pk.n) return false;
  const emBits = pk.modulusBits - 1;
  const m = modulus(pk.n).pow(s, e);
  const emLen = Math.ceil(emBits / 8);
  if (m >= 1n << BigInt(8 * emLen)) return false;
  return pssVerify(encodedMessage, bigintToFixedBytes(m, emLen), emBits);
}

export function finalizeWith(pk: RsaPublicKey, e: bigint, encodedMessage: Uint8Array, blindSignature: Uint8Array, inverse: Uint8Array): Uint8Array {
  const z = fixedLength('blind.blind_signature', pk, blindSignature);
  const inv = fixedLength('blind.inverse', pk, inverse);
  const signature = bigintToFixedBytes(modulus(pk.n).mul(z, inv), pk.modulusBytes);
  if (!verifyWith(pk, e, encodedMessage, signature)) throw new BlindSignatureError('blind.signature', 'invalid signature (the signer did not sign this blinded message with this key)');
  return signature;
}
