/**
 * Byte and integer encodings of docs/protocol.md §1: canonical lowercase hex of minimal big-endian bytes
 * (zero is "00"), and the byte strings the transcript and the RSA code work on.
 */

export class EncodingError extends Error {
  constructor(readonly field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = 'EncodingError';
  }
}

const HEX = /^[0-9a-f]*$/;

/** Lowercase hex of arbitrary bytes (no canonical-integer rules: hashes, DER, signatures). */
export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Decodes lowercase hex of even length into bytes; `field` names the value in errors. */
export function hexToBytes(field: string, hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new EncodingError(field, 'hex string of odd length');
  if (!HEX.test(hex)) throw new EncodingError(field, 'not lowercase hexadecimal');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Minimal big-endian bytes of a non-negative integer; zero is the empty string. */
export function bigintToBytes(x: bigint): Uint8Array {
  if (x < 0n) throw new RangeError('negative integer has no byte encoding');
  if (x === 0n) return new Uint8Array(0);
  let hex = x.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  return hexToBytes('integer', hex);
}

/** Big-endian bytes of exactly `length` bytes (I2OSP); fails when `x` does not fit. */
export function bigintToFixedBytes(x: bigint, length: number): Uint8Array {
  const minimal = bigintToBytes(x);
  if (minimal.length > length) throw new RangeError(`integer does not fit ${String(length)} bytes`);
  const out = new Uint8Array(length);
  out.set(minimal, length - minimal.length);
  return out;
}

/** Big-endian bytes as an integer (OS2IP); the empty string is zero. */
export function bytesToBigint(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + bytesToHex(bytes));
}

/** The canonical integer encoding: lowercase hex of the minimal big-endian bytes, zero is "00". */
export function toHex(x: bigint): string {
  if (x < 0n) throw new RangeError('negative integer has no hex encoding');
  if (x === 0n) return '00';
  const hex = x.toString(16);
  return hex.length % 2 === 1 ? '0' + hex : hex;
}

/**
 * Decodes exactly the strings {@link toHex} produces and nothing else (no uppercase, no odd length, no leading
 * zero byte, no empty string), so that every integer has one encoding and hashes over encodings are unique.
 */
export function fromHex(field: string, hex: unknown): bigint {
  if (typeof hex !== 'string') throw new EncodingError(field, 'expected a hex string');
  if (hex.length === 0) throw new EncodingError(field, 'empty hex string');
  if (hex.length % 2 !== 0) throw new EncodingError(field, 'hex string of odd length');
  if (!HEX.test(hex)) throw new EncodingError(field, 'not lowercase hexadecimal');
  if (hex.length > 2 && hex.startsWith('00')) throw new EncodingError(field, 'leading zero byte (non-canonical)');
  return BigInt('0x' + hex);
}

/** A 32-byte hash as 64 lowercase hex characters. */
export function hashFromHex(field: string, hex: unknown): Uint8Array {
  if (typeof hex !== 'string' || hex.length !== 64) throw new EncodingError(field, 'expected 64 hex characters');
  return hexToBytes(field, hex);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Number of significant bits of a non-negative integer (0 for 0). */
export function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}
