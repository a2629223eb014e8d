import { describe, expect, it } from 'vitest';
import { bytesToHex, fromHex, toHex } from '../src/math/bytes.js';
import { modInverse, modPowReference, Modulus } from '../src/math/modular.js';
import { multiExp } from '../src/math/multiexp.js';
import { randomBelow, randomBits } from '../src/math/random.js';
import { encodeItems, Transcript } from '../src/transcript.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { productionKey } from './helpers.js';

describe('canonical hex (docs/protocol.md §1)', () => {
  it('encodes minimal lowercase bytes, zero as 00', () => {
    expect([0n, 255n, 256n].map(toHex)).toEqual(['00', 'ff', '0100']);
    expect(fromHex('x', '0100')).toBe(256n);
    expect(fromHex('x', '00')).toBe(0n);
  });

  it('refuses every other form', () => {
    for (const bad of ['', '0', 'FF', '000100', '0g', ' 01', 1]) expect(() => fromHex('x', bad)).toThrow(/^x: /);
  });
});

describe('transcript', () => {
  it('is the documented bytes: tag urna/v1/t then the integer 256', () => {
    const bytes = Buffer.from('00000009' + Buffer.from('urna/v1/t').toString('hex') + '000000020100', 'hex');
    expect(bytesToHex(new Transcript('t').integer(256n).digest())).toBe(bytesToHex(sha256(bytes)));
    expect(bytesToHex(new Transcript('t').integer(0).digest())).toBe(bytesToHex(sha256(Buffer.from('00000009' + Buffer.from('urna/v1/t').toString('hex') + '00000000', 'hex'))));
  });

  it('length-prefixes items so that splits differ', () => {
    expect(bytesToHex(new Transcript('t').string('ab').string('c').digest())).not.toBe(bytesToHex(new Transcript('t').string('a').string('bc').digest()));
    expect(bytesToHex(encodeItems(['a', new Uint8Array([1, 2])]))).toBe('0000000161' + '000000020102');
  });
});

describe('modular arithmetic at 6144 bits', () => {
  const m = new Modulus(productionKey.n2);

  it('Barrett sliding-window exponentiation agrees with square-and-multiply', () => {
    for (const bits of [0, 1, 7, 64, 256, 700]) {
      const b = randomBelow(productionKey.n2);
      const e = randomBits(bits);
      expect(m.pow(b, e)).toBe(modPowReference(b, e, productionKey.n2));
    }
    expect(m.pow(5n, 0n)).toBe(1n);
  });

  it('multi-exponentiation agrees with the product of exponentiations', () => {
    const bases = Array.from({ length: 9 }, () => randomBelow(productionKey.n2));
    const exps = bases.map(() => randomBits(128));
    const expected = bases.reduce((acc, b, i) => m.mul(acc, modPowReference(b, exps[i]!, productionKey.n2)), 1n);
    expect(multiExp(m, bases, exps)).toBe(expected);
  });

  it('inverts units and refuses non-units', () => {
    const x = randomBelow(productionKey.n);
    expect(m.mul(x, modInverse(x, productionKey.n2)!) % productionKey.n2).toBe(1n);
    expect(modInverse(productionKey.n, productionKey.n2)).toBeUndefined();
  });

  it('draws uniform values below the bound by rejection', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[Number(randomBelow(3n))]!++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });
});

describe('fixed-base exponentiation', () => {
  it('agrees with square-and-multiply for 256-bit exponents', async () => {
    const { FixedBase } = await import('../src/math/fixedbase.js');
    const m = new Modulus(productionKey.n);
    const base = randomBelow(productionKey.n);
    const table = new FixedBase(m, base, 256);
    for (const e of [0n, 1n, 15n, 16n, (1n << 256n) - 1n, randomBits(256), randomBits(256)]) expect(table.pow(e)).toBe(modPowReference(base, e, productionKey.n));
    expect(() => table.pow(1n << 256n)).toThrow(/range/);
  });
});

describe('Paillier public key', () => {
  it('refuses small, even and square moduli', async () => {
    const { PublicKey } = await import('../src/paillier/publicKey.js');
    expect(() => PublicKey.fromJson({ n: 'ff' })).toThrow(/below the minimum/);
    expect(() => PublicKey.fromModulus(productionKey.n + 1n)).toThrow(/distinct odd primes/);
    expect(() => PublicKey.fromModulus(((1n << 1600n) + 1n) ** 2n)).toThrow(/distinct odd primes/);
    expect(PublicKey.fromJson({ paillier: { n: toHex(productionKey.n) } }).n).toBe(productionKey.n);
  });
});
