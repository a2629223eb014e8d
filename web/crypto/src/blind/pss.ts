/** EMSA-PSS (RFC 8017 §9.1) with SHA-384 and MGF1-SHA-384, the encoding of RFC 9474's RSABSSA-SHA384-PSS-*. */

import { sha384 } from '@noble/hashes/sha2.js';
import { bytesEqual, concatBytes } from '../math/bytes.js';
import { randomBytes } from '../math/random.js';

export const HASH_LEN = 48;
/** RFC 9474's PSS variants use a salt as long as the hash. */
export const SALT_LEN = 48;

function mgf1(seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const counter = new Uint8Array(4);
  for (let i = 0, offset = 0; offset < length; i++, offset += HASH_LEN) {
    new DataView(counter.buffer).setUint32(0, i, false);
    const block = sha384(concatBytes(seed, counter));
    out.set(block.subarray(0, Math.min(HASH_LEN, length - offset)), offset);
  }
  return out;
}

/** EMSA-PSS-ENCODE(msg, emBits); `salt` only for test vectors, otherwise fresh. */
export function pssEncode(msg: Uint8Array, emBits: number, salt: Uint8Array = randomBytes(SALT_LEN)): Uint8Array {
  const emLen = Math.ceil(emBits / 8);
  if (emLen < HASH_LEN + salt.length + 2) throw new RangeError('encoding error: modulus too small');
  const mHash = sha384(msg);
  const h = sha384(concatBytes(new Uint8Array(8), mHash, salt));
  const db = new Uint8Array(emLen - HASH_LEN - 1);
  db[db.length - salt.length - 1] = 1;
  db.set(salt, db.length - salt.length);
  const mask = mgf1(h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] ?? 0) ^ (mask[i] ?? 0);
  db[0] = (db[0] ?? 0) & (0xff >> (8 * emLen - emBits));
  return concatBytes(db, h, new Uint8Array([0xbc]));
}

/** EMSA-PSS-VERIFY(msg, em, emBits) with the salt length fixed to {@link SALT_LEN}. */
export function pssVerify(msg: Uint8Array, em: Uint8Array, emBits: number): boolean {
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || emLen < HASH_LEN + SALT_LEN + 2 || em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - HASH_LEN - 1);
  const h = em.subarray(emLen - HASH_LEN - 1, emLen - 1);
  const topMask = 0xff >> (8 * emLen - emBits);
  if (((maskedDb[0] ?? 0) & ~topMask) !== 0) return false;
  const mask = mgf1(h, maskedDb.length);
  const db = maskedDb.map((b, i) => b ^ (mask[i] ?? 0));
  db[0] = (db[0] ?? 0) & topMask;
  const psLen = emLen - HASH_LEN - SALT_LEN - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 1) return false;
  const salt = db.subarray(db.length - SALT_LEN);
  return bytesEqual(sha384(concatBytes(new Uint8Array(8), sha384(msg), salt)), h);
}
