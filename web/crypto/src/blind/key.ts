/**
 * The RSA verifying key of the voting right: DER SubjectPublicKeyInfo (rsaEncryption), published as lowercase
 * hex of the DER in JSON (docs/protocol.md §5). Exactly the canonical DER the Rust side writes is accepted.
 */

import { bytesToBigint, bytesToHex, hexToBytes } from '../math/bytes.js';

export interface RsaPublicKey {
  readonly n: bigint;
  readonly e: bigint;
  /** Modulus length in bytes (`modulus_len` of RFC 9474). */
  readonly modulusBytes: number;
  readonly modulusBits: number;
}

export function rsaPublicKey(n: bigint, e: bigint): RsaPublicKey {
  const modulusBits = n.toString(2).length;
  return { n, e, modulusBits, modulusBytes: Math.ceil(modulusBits / 8) };
}

const RSA_ENCRYPTION_OID = '06092a864886f70d0101010500';

class Der {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  read(tag: number): Uint8Array {
    if (this.bytes[this.pos] !== tag) throw new RangeError(`blind.public_key: expected DER tag 0x${tag.toString(16)}`);
    this.pos++;
    let len = this.bytes[this.pos++] ?? 0;
    if (len & 0x80) {
      const count = len & 0x7f;
      if (count === 0 || count > 4) throw new RangeError('blind.public_key: bad DER length');
      len = 0;
      for (let i = 0; i < count; i++) len = len * 256 + (this.bytes[this.pos++] ?? 0);
    }
    const out = this.bytes.subarray(this.pos, this.pos + len);
    if (out.length !== len) throw new RangeError('blind.public_key: truncated DER');
    this.pos += len;
    return out;
  }

  end(): void {
    if (this.pos !== this.bytes.length) throw new RangeError('blind.public_key: trailing bytes after DER');
  }
}

function derInteger(bytes: Uint8Array): bigint {
  if (bytes.length === 0 || ((bytes[0] ?? 0) & 0x80) !== 0) throw new RangeError('blind.public_key: DER integer not positive');
  if (bytes.length > 1 && bytes[0] === 0 && ((bytes[1] ?? 0) & 0x80) === 0) throw new RangeError('blind.public_key: DER integer not minimal');
  return bytesToBigint(bytes);
}

/** Parses the lowercase hex of a DER SubjectPublicKeyInfo holding an RSA key. */
export function rsaPublicKeyFromSpkiHex(hex: string): RsaPublicKey {
  const outer = new Der(hexToBytes('blind.public_key', hex));
  const spki = new Der(outer.read(0x30));
  outer.end();
  const algorithm = spki.read(0x30);
  if (bytesToHex(algorithm) !== RSA_ENCRYPTION_OID) throw new RangeError('blind.public_key: not an rsaEncryption key');
  const bitString = spki.read(0x03);
  spki.end();
  if (bitString[0] !== 0) throw new RangeError('blind.public_key: bit string with unused bits');
  const body = new Der(bitString.subarray(1));
  const seq = new Der(body.read(0x30));
  body.end();
  const n = derInteger(seq.read(0x02));
  const e = derInteger(seq.read(0x02));
  seq.end();
  if (n % 2n === 0n || e < 3n || e % 2n === 0n) throw new RangeError('blind.public_key: not an RSA public key');
  return rsaPublicKey(n, e);
}
