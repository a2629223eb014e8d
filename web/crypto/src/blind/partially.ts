/**
 * Partially blind RSA signatures, RSAPBSSA-SHA384-PSS-Randomized (draft-irtf-cfrg-partially-blind-rsa): the
 * signer signs a blinded message under a key derived from public metadata `info` both sides know. For the
 * voting right, `info` is {@link votingRightInfo}: the right is then bound to one election, modality and ballot
 * style without the signer learning the ballot.
 *
 * The vote service issues and checks rights this way (docs/protocol.md §5.3): a client blinds under
 * `derivePublicKey(serviceKey, votingRightInfo(electionId, modality, ballotStyle))`. Preparation is RFC 9474's
 * (`prepare` of `./index.ts`).
 */

import { hkdf } from '@noble/hashes/hkdf.js';
import { sha384 } from '@noble/hashes/sha2.js';
import { bigintToFixedBytes, bytesToBigint, concatBytes, utf8 } from '../math/bytes.js';
import { encodeItems } from '../transcript.js';
import { type Blinded, type BlindTestParameters, blindWith, finalizeWith, verifyWith } from './core.js';
import { type RsaPublicKey, rsaPublicKey } from './key.js';

export { prepare } from './index.js';

/** The metadata of a voting right: the transcript items (4-byte length + bytes each, unhashed) of §1. */
export function votingRightInfo(electionId: string, modality: string, ballotStyle: string): Uint8Array {
  return encodeItems(['urna/v1/voting-right', electionId, modality, ballotStyle]);
}

/**
 * DerivePublicKey(pk, info): `e' = HKDF-SHA384(IKM = "key" || info || 0x00, salt = n, info = "PBRSA")`, the first
 * `modulus_len / 2` of `modulus_len / 2 + 16` bytes, top two bits cleared and the lowest bit set.
 */
export function derivePublicKey(pk: RsaPublicKey, info: Uint8Array): RsaPublicKey {
  const lambdaLen = Math.floor(pk.modulusBytes / 2);
  const expanded = hkdf(sha384, concatBytes(utf8('key'), info, new Uint8Array([0])), bigintToFixedBytes(pk.n, pk.modulusBytes), utf8('PBRSA'), lambdaLen + 16);
  expanded[0] = (expanded[0] ?? 0) & 0x3f;
  expanded[lambdaLen - 1] = (expanded[lambdaLen - 1] ?? 0) | 0x01;
  return rsaPublicKey(pk.n, bytesToBigint(expanded.subarray(0, lambdaLen)));
}

/** `"msg" || len(info) (4 bytes) || info || msg`: what is PSS-encoded and signed. */
function messageWithInfo(prepared: Uint8Array, info: Uint8Array): Uint8Array {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, info.length, false);
  return concatBytes(utf8('msg'), len, info, prepared);
}

export function blind(pk: RsaPublicKey, prepared: Uint8Array, info: Uint8Array, test?: BlindTestParameters): Blinded {
  return blindWith(pk, derivePublicKey(pk, info).e, messageWithInfo(prepared, info), test);
}

export function finalize(pk: RsaPublicKey, prepared: Uint8Array, info: Uint8Array, blindSignature: Uint8Array, inverse: Uint8Array): Uint8Array {
  return finalizeWith(pk, derivePublicKey(pk, info).e, messageWithInfo(prepared, info), blindSignature, inverse);
}

export function verify(pk: RsaPublicKey, prepared: Uint8Array, info: Uint8Array, signature: Uint8Array): boolean {
  return verifyWith(pk, derivePublicKey(pk, info).e, messageWithInfo(prepared, info), signature);
}
