/**
 * The blind-signature test vectors as functions that throw on the first mismatch, so that the same checks run
 * under Node (vitest) and in Chromium (test-browser/). The JSON is passed in by the caller.
 */

import { blind, finalize, prepare, verify } from '../src/blind/index.js';
import { rsaPublicKey } from '../src/blind/key.js';
import * as partially from '../src/blind/partially.js';
import { bytesToHex, hexToBytes } from '../src/math/bytes.js';
import { modInverse } from '../src/math/modular.js';

interface Rfc9474Vector { name: string; n: string; e: string; msg: string; msg_prefix: string; input_msg: string; salt: string; inv: string; blinded_msg: string; blind_sig: string; sig: string; salt_len: string }

function expectHex(what: string, got: Uint8Array, want: string): void {
  if (bytesToHex(got) !== want) throw new Error(`${what}: got ${bytesToHex(got).slice(0, 32)}…, want ${want.slice(0, 32)}…`);
}

const big = (hex: string): bigint => BigInt('0x' + hex);

/** RFC 9474 Appendix A, the PSS (48-byte salt) vectors: randomized and deterministic. Returns how many ran. */
export function checkRfc9474(json: { vectors: Rfc9474Vector[] }): number {
  let ran = 0;
  for (const v of json.vectors.filter((x) => x.name.includes('-PSS-'))) {
    const pk = rsaPublicKey(big(v.n), big(v.e));
    const msg = hexToBytes('msg', v.msg);
    const prepared = v.msg_prefix === '' ? msg : prepare(msg, hexToBytes('prefix', v.msg_prefix));
    expectHex(`${v.name} prepare`, prepared, v.input_msg);
    const r = modInverse(big(v.inv), pk.n);
    if (r === undefined) throw new Error('inv has no inverse');
    const blinded = blind(pk, prepared, { salt: hexToBytes('salt', v.salt), r });
    expectHex(`${v.name} blinded_msg`, blinded.blindedMessage, v.blinded_msg);
    expectHex(`${v.name} inv`, blinded.inverse, v.inv);
    const sig = finalize(pk, prepared, hexToBytes('blind_sig', v.blind_sig), blinded.inverse);
    expectHex(`${v.name} sig`, sig, v.sig);
    if (!verify(pk, prepared, sig)) throw new Error(`${v.name}: verify refused the vector's signature`);
    const tampered = Uint8Array.from(sig);
    tampered[10] = (tampered[10] ?? 0) ^ 1;
    if (verify(pk, prepared, tampered)) throw new Error(`${v.name}: verify accepted a changed signature`);
    ran++;
  }
  return ran;
}

interface PbrsaVectors { n: string; e: string; vectors: { msg: string; info: string; eprime: string; r: string; salt: string; blinded_msg: string; blinded_sig: string; sig: string }[] }

/** draft-irtf-cfrg-partially-blind-rsa vectors: derived key, blind, finalize, verify. */
export function checkPartiallyBlind(json: PbrsaVectors): number {
  const pk = rsaPublicKey(big(json.n), big(json.e));
  for (const [i, v] of json.vectors.entries()) {
    const info = hexToBytes('info', v.info);
    const msg = hexToBytes('msg', v.msg);
    const derived = partially.derivePublicKey(pk, info);
    if (derived.e !== big(v.eprime)) throw new Error(`vector ${String(i)}: derived exponent differs`);
    const blinded = partially.blind(pk, msg, info, { salt: hexToBytes('salt', v.salt), r: big(v.r) });
    expectHex(`vector ${String(i)} blinded_msg`, blinded.blindedMessage, v.blinded_msg);
    const sig = partially.finalize(pk, msg, info, hexToBytes('blinded_sig', v.blinded_sig), blinded.inverse);
    expectHex(`vector ${String(i)} sig`, sig, v.sig);
    if (!partially.verify(pk, msg, info, sig)) throw new Error(`vector ${String(i)}: verify refused`);
    const otherInfo = new Uint8Array([...info, 0]);
    if (partially.verify(pk, msg, otherInfo, sig)) throw new Error(`vector ${String(i)}: verify accepted other metadata`);
  }
  return json.vectors.length;
}
