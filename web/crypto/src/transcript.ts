/**
 * The canonical encoding every hash of the protocol is taken over (docs/protocol.md §1): a sequence of items,
 * each its byte length as 4 bytes big-endian followed by the bytes; the first item is the tag `urna/v1/<name>`.
 * Strings are UTF-8, integers minimal big-endian bytes (zero is the empty item), hashes raw bytes.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { bigintToBytes, bytesToBigint, concatBytes, utf8 } from './math/bytes.js';

/** One item's encoding: 4-byte big-endian length, then the bytes. */
export function encodeItem(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length, false);
  out.set(bytes, 4);
  return out;
}

/** The item encoding of a sequence of strings or byte strings, unhashed (partially blind RSA metadata). */
export function encodeItems(items: readonly (string | Uint8Array)[]): Uint8Array {
  return concatBytes(...items.map((i) => encodeItem(typeof i === 'string' ? utf8(i) : i)));
}

export class Transcript {
  private readonly hash = sha256.create();

  /** Starts a transcript whose first item is `urna/v1/<name>`. */
  constructor(name: string) {
    this.string(`urna/v1/${name}`);
  }

  bytes(b: Uint8Array): this {
    this.hash.update(encodeItem(b));
    return this;
  }

  string(s: string): this {
    return this.bytes(utf8(s));
  }

  /** A non-negative integer (also counts): minimal big-endian bytes, zero is empty. */
  integer(x: bigint | number): this {
    return this.bytes(bigintToBytes(BigInt(x)));
  }

  integers(xs: Iterable<bigint>): this {
    for (const x of xs) this.integer(x);
    return this;
  }

  digest(): Uint8Array {
    return this.hash.digest();
  }

  /** The digest read as a 256-bit big-endian integer: a Fiat-Shamir challenge. */
  challenge(): bigint {
    return bytesToBigint(this.digest());
  }
}
