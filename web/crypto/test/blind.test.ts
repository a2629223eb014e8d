import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { blind, finalize, prepare, rsaPublicKeyFromSpkiHex, verify } from '../src/blind/index.js';
import * as partially from '../src/blind/partially.js';
import { bytesToHex } from '../src/math/bytes.js';
import { readJson } from './helpers.js';
import { checkPartiallyBlind, checkRfc9474 } from './vectors.js';

describe('RFC 9474 RSABSSA-SHA384-PSS', () => {
  it('passes the Appendix A vectors (randomized and deterministic PSS)', () => {
    expect(checkRfc9474(readJson('workloads/crypto/tests/vectors/rfc9474.json') as Parameters<typeof checkRfc9474>[0])).toBe(2);
  });

  it('verifies an OpenSSL RSASSA-PSS signature through the SPKI key', () => {
    const v = readJson('workloads/crypto/tests/vectors/openssl-pss.json') as { public_key_pem: string; message_hex: string; signature_hex: string };
    const b64 = v.public_key_pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const pk = rsaPublicKeyFromSpkiHex(Buffer.from(b64, 'base64').toString('hex'));
    expect(pk.modulusBits).toBe(3072);
    const msg = Buffer.from(v.message_hex, 'hex');
    expect(verify(pk, msg, Buffer.from(v.signature_hex, 'hex'))).toBe(true);
    expect(verify(pk, Buffer.concat([msg, Buffer.from([0])]), Buffer.from(v.signature_hex, 'hex'))).toBe(false);
  });

  it('refuses an SPKI that is not RSA or not canonical', () => {
    expect(() => rsaPublicKeyFromSpkiHex('3000')).toThrow(/blind.public_key/);
    expect(() => rsaPublicKeyFromSpkiHex('zz')).toThrow(/blind.public_key/);
  });

  it('prepares with a fresh 32-byte prefix and blinds to a different message each time', () => {
    const v = (readJson('workloads/crypto/tests/vectors/rfc9474.json') as { vectors: { n: string; e: string }[] }).vectors[0]!;
    const pk = { n: BigInt('0x' + v.n), e: BigInt('0x' + v.e), modulusBits: 4096, modulusBytes: 512 };
    const msg = new Uint8Array(32).fill(7);
    const p1 = prepare(msg);
    const p2 = prepare(msg);
    expect(p1.length).toBe(64);
    expect(bytesToHex(p1)).not.toBe(bytesToHex(p2));
    expect(bytesToHex(blind(pk, p1).blindedMessage)).not.toBe(bytesToHex(blind(pk, p1).blindedMessage));
    expect(() => finalize(pk, p1, new Uint8Array(511), new Uint8Array(512))).toThrow(/blind_signature/);
  });
});

describe('partially blind RSA (draft-irtf-cfrg-partially-blind-rsa)', () => {
  it('passes the draft vectors', () => {
    const path = fileURLToPath(new URL('./vectors/pbrsa-draft.json', import.meta.url));
    expect(checkPartiallyBlind(JSON.parse(readFileSync(path, 'utf8')) as Parameters<typeof checkPartiallyBlind>[0])).toBe(2);
  });

  it('encodes the voting-right metadata as transcript items', () => {
    const info = partially.votingRightInfo('mx-2024', 'remote', 'jalisco');
    expect(bytesToHex(info)).toBe(
      '00000014' + Buffer.from('urna/v1/voting-right').toString('hex') + '00000007' + Buffer.from('mx-2024').toString('hex')
        + '00000006' + Buffer.from('remote').toString('hex') + '00000007' + Buffer.from('jalisco').toString('hex'),
    );
  });
});
