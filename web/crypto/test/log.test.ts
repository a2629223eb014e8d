import { describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../src/math/bytes.js';
import { ballotLeafHash, checkReceipt, keyId, LogAnswerError, type LogSource, parseCheckpointBody, rootFromInclusion, verifyCheckpointNote } from '../src/log.js';

// An independent RFC 6962 tree (MTH and PATH as the RFC defines them, recursively).
const node = (l: Uint8Array, r: Uint8Array) => sha256(new Uint8Array([1, ...l, ...r]));
const split = (n: number) => { let k = 1; while (k * 2 < n) k *= 2; return k; };
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return node(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function path(m: number, leaves: Uint8Array[]): Uint8Array[] {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return m < k ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

const anon = (i: number) => sha256(new TextEncoder().encode(`ballot ${String(i)}`));

describe('RFC 6962 inclusion', () => {
  it('leads every leaf of trees of 1 to 20 leaves to the root, and nothing else', () => {
    for (let n = 1; n <= 20; n++) {
      const leaves = Array.from({ length: n }, (_, i) => ballotLeafHash(anon(i)));
      const root = bytesToHex(mth(leaves));
      for (let i = 0; i < n; i++) {
        const p = path(i, leaves);
        expect(bytesToHex(rootFromInclusion(leaves[i]!, i, n, p)!)).toBe(root);
        if (n > 1) expect(bytesToHex(rootFromInclusion(leaves[(i + 1) % n]!, i, n, p)!)).not.toBe(root);
        expect(rootFromInclusion(leaves[i]!, i, n, [...p, leaves[0]!])).toBeUndefined();
      }
      expect(rootFromInclusion(leaves[0]!, n, n, [])).toBeUndefined();
    }
  });

  it('hashes a ballot entry as the audit log does (0x00 || version 0x01 || type 0x01 || AnonID)', () => {
    const a = anon(1);
    expect(bytesToHex(ballotLeafHash(a))).toBe(bytesToHex(sha256(new Uint8Array([0, 1, 1, ...a]))));
  });
});

async function signedLog(n: number, origin = 'urna.test/log') {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const pk = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const leaves = Array.from({ length: n }, (_, i) => ballotLeafHash(anon(i)));
  const root = mth(leaves);
  const body = `${origin}\n${String(n)}\n${btoa(String.fromCharCode(...root))}\ntimestamp 1780000000\n`;
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, pair.privateKey, new TextEncoder().encode(body)));
  const line = `\u2014 ${origin} ${btoa(String.fromCharCode(...keyId(origin, pk), ...sig))}\n`;
  const note = `${body}\n${line}`;
  const source: LogSource = {
    checkpoint: () => Promise.resolve({ origin, note, log_public_key: bytesToHex(pk) }),
    inclusion: (leafHash: string, size: number) => {
      const i = leaves.findIndex((l) => bytesToHex(l) === leafHash);
      if (i < 0) return Promise.reject(new LogAnswerError('unknown_leaf', 'leaf not found'));
      return Promise.resolve({ index: i, size, proof: path(i, leaves).map(bytesToHex) });
    },
  };
  return { pk, note, body, source, origin };
}

describe('checkpoints and receipts', () => {
  it('verifies the signed note and refuses a changed body or another key', async () => {
    const { pk, note, origin } = await signedLog(5);
    const cp = await verifyCheckpointNote(note, origin, pk);
    expect(cp.size).toBe(5);
    await expect(verifyCheckpointNote(note.replace('\n5\n', '\n6\n'), origin, pk)).rejects.toThrow(/does not verify/);
    const other = await signedLog(5);
    await expect(verifyCheckpointNote(note, origin, other.pk)).rejects.toThrow(/no signature/);
    expect(() => parseCheckpointBody('o\n05\nAAAA\ntimestamp 1\n')).toThrow(/decimal/);
  });

  it('finds a receipt in the log, and says plainly when it is not there or the index is wrong', async () => {
    const { source, pk, origin } = await signedLog(7);
    const pinned = { origin, publicKey: bytesToHex(pk) };
    const ok = await checkReceipt(source, bytesToHex(anon(3)), 3, pinned);
    expect(ok.kind).toBe('included');
    expect(ok.kind === 'included' && ok.pinned && ok.index).toBe(3);
    expect((await checkReceipt(source, bytesToHex(anon(99)), undefined, pinned)).kind).toBe('missing');
    expect(await checkReceipt(source, bytesToHex(anon(3)), 4, pinned)).toEqual({ kind: 'wrongIndex', actual: 3, given: 4 });
    const forged = await signedLog(7);
    expect((await checkReceipt(source, bytesToHex(anon(3)), 3, { origin, publicKey: bytesToHex(forged.pk) })).kind).toBe('bad');
  });

  it('refuses a proof that does not lead to the signed root', async () => {
    const { source, pk, origin } = await signedLog(7);
    const lying: LogSource = {
      checkpoint: () => source.checkpoint(),
      inclusion: async (leaf, size) => ({ ...(await source.inclusion(leaf, size) as object), index: 2 }),
    };
    const r = await checkReceipt(lying, bytesToHex(anon(3)), undefined, { origin, publicKey: bytesToHex(pk) });
    expect(r).toEqual({ kind: 'bad', reason: 'the inclusion proof does not lead to the signed root' });
  });
});
