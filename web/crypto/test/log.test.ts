import { describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../src/math/bytes.js';
import { ballotLeafHash, checkNoteSignature, checkReceipt, checkWitnesses, keyId, LogAnswerError, type LogSource, parseCheckpointBody, rootFromInclusion, verifyCheckpointNote, type WitnessPolicy } from '../src/log.js';

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

interface Signer { name: string; pk: Uint8Array; key: CryptoKey }

async function signer(name: string): Promise<Signer> {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  return { name, pk: new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)), key: pair.privateKey };
}

/** A signature line as a C2SP signed note writes it: `— name base64(key id || Ed25519 signature)`. */
async function sigLine(body: string, s: Signer, as: { name?: string; pk?: Uint8Array } = {}): Promise<string> {
  const name = as.name ?? s.name;
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, s.key, new TextEncoder().encode(body)));
  return `\u2014 ${name} ${btoa(String.fromCharCode(...keyId(name, as.pk ?? s.pk), ...sig))}\n`;
}

/** `cosigners` add their lines after the log's, as the audit log serves a witnessed checkpoint. */
async function signedLog(n: number, origin = 'urna.test/log', cosigners: Signer[] = []) {
  const log = await signer(origin);
  const pk = log.pk;
  const leaves = Array.from({ length: n }, (_, i) => ballotLeafHash(anon(i)));
  const root = mth(leaves);
  const body = `${origin}\n${String(n)}\n${btoa(String.fromCharCode(...root))}\ntimestamp 1780000000\n`;
  const lines = [await sigLine(body, log), ...await Promise.all(cosigners.map((w) => sigLine(body, w)))];
  const note = `${body}\n${lines.join('')}`;
  const source: LogSource = {
    checkpoint: () => Promise.resolve({ origin, note, log_public_key: bytesToHex(pk) }),
    inclusion: (leafHash: string, size: number) => {
      const i = leaves.findIndex((l) => bytesToHex(l) === leafHash);
      if (i < 0) return Promise.reject(new LogAnswerError('unknown_leaf', 'leaf not found'));
      return Promise.resolve({ index: i, size, proof: path(i, leaves).map(bytesToHex) });
    },
  };
  return { pk, note, body, source, origin, log };
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

describe('witness cosignatures', () => {
  const policyOf = (quorum: number, ws: Signer[]): WitnessPolicy => ({ quorum, witnesses: ws.map((w) => ({ name: w.name, publicKey: bytesToHex(w.pk) })) });

  it('counts the declared witnesses whose cosignatures verify, and whether they make the quorum', async () => {
    const [a, b, c] = await Promise.all(['witness.test/a', 'witness.test/b', 'witness.test/c'].map(signer));
    const { note, origin, pk } = await signedLog(4, 'urna.test/log', [a!, b!]);
    expect(await checkNoteSignature(note, origin, pk)).toBe('valid');
    expect(await checkNoteSignature(note, a!.name, a!.pk)).toBe('valid');
    expect(await checkNoteSignature(note, c!.name, c!.pk)).toBe('absent');
    expect(await checkWitnesses(note, policyOf(2, [a!, b!, c!]))).toEqual({ signed: [a!.name, b!.name], missing: [c!.name], quorum: 2, met: true });
    expect(await checkWitnesses(note, policyOf(3, [a!, b!, c!]))).toEqual({ signed: [a!.name, b!.name], missing: [c!.name], quorum: 3, met: false });
    // The log's own signature is no witness's, even if the policy were to name the log.
    expect((await checkWitnesses(note, { quorum: 1, witnesses: [{ name: origin, publicKey: bytesToHex(a!.pk) }] })).met).toBe(false);
  });

  it('counts a tampered cosignature as missing without failing the others or the log\'s check', async () => {
    const [a, b] = await Promise.all(['witness.test/a', 'witness.test/b'].map(signer));
    const { note, origin, pk, body } = await signedLog(4, 'urna.test/log', [a!, b!]);
    const good = await sigLine(body, b!);
    const blob = Uint8Array.from(atob(good.trim().split(' ')[2]!), (ch) => ch.charCodeAt(0));
    blob[10]! ^= 0x01;
    const tampered = note.replace(good, `\u2014 ${b!.name} ${btoa(String.fromCharCode(...blob))}\n`);
    expect(tampered).not.toBe(note);
    expect(await checkNoteSignature(tampered, b!.name, b!.pk)).toBe('invalid');
    expect(await checkWitnesses(tampered, policyOf(2, [a!, b!]))).toEqual({ signed: [a!.name], missing: [b!.name], quorum: 2, met: false });
    // Garbage where a cosignature should be, and a declared key that is not hex: missing, never thrown.
    const garbled = note.replace(good, `\u2014 ${b!.name} !!!not-base64\n`);
    expect(await checkWitnesses(garbled, policyOf(1, [a!, b!]))).toEqual({ signed: [a!.name], missing: [b!.name], quorum: 1, met: true });
    expect(await checkWitnesses(note, { quorum: 1, witnesses: [{ name: a!.name, publicKey: 'zz' }] })).toEqual({ signed: [], missing: [a!.name], quorum: 1, met: false });
    expect(await checkNoteSignature(note, a!.name, a!.pk.slice(1))).toBe('absent');
    const shortKey = a!.pk.slice(1);
    const withShortKey = `${note}\u2014 ${a!.name} ${btoa(String.fromCharCode(...keyId(a!.name, shortKey), ...new Uint8Array(64)))}\n`;
    expect(await checkNoteSignature(withShortKey, a!.name, shortKey)).toBe('invalid');
    expect((await verifyCheckpointNote(tampered, origin, pk)).size).toBe(4);
  });

  it('ignores cosignatures by undeclared witnesses and a declared name under another key', async () => {
    const [a, b, stranger, impostor] = await Promise.all(['witness.test/a', 'witness.test/b', 'witness.test/x', 'witness.test/b'].map(signer));
    const { note, body } = await signedLog(4, 'urna.test/log', [a!, stranger!]);
    expect(await checkWitnesses(note, policyOf(2, [a!, b!]))).toEqual({ signed: [a!.name], missing: [b!.name], quorum: 2, met: false });
    // An impostor signs under b's name with its own key (so its key id is its own): it is not b.
    const withImpostor = `${note}${await sigLine(body, impostor!)}`;
    expect(await checkNoteSignature(withImpostor, b!.name, b!.pk)).toBe('absent');
    expect((await checkWitnesses(withImpostor, policyOf(2, [a!, b!]))).met).toBe(false);
    // Nor can it borrow b's key id: the signature then fails under b's key.
    const borrowed = `${note}${await sigLine(body, impostor!, { pk: b!.pk })}`;
    expect(await checkNoteSignature(borrowed, b!.name, b!.pk)).toBe('invalid');
    expect(await checkWitnesses(borrowed, policyOf(2, [a!, b!]))).toEqual({ signed: [a!.name], missing: [b!.name], quorum: 2, met: false });
    // One witness declared twice is still one witness.
    expect((await checkWitnesses(note, { quorum: 2, witnesses: [...policyOf(0, [a!]).witnesses, ...policyOf(0, [a!]).witnesses] })).met).toBe(false);
  });

  it('carries the verdict in an included receipt check only when a policy is given', async () => {
    const [a, b, c] = await Promise.all(['witness.test/a', 'witness.test/b', 'witness.test/c'].map(signer));
    const { source, pk, origin } = await signedLog(7, 'urna.test/log', [a!, c!]);
    const pinned = { origin, publicKey: bytesToHex(pk) };
    const plain = await checkReceipt(source, bytesToHex(anon(3)), 3, pinned);
    expect(plain.kind === 'included' && plain.witnesses).toBeUndefined();
    const met = await checkReceipt(source, bytesToHex(anon(3)), 3, pinned, policyOf(2, [a!, b!, c!]));
    expect(met.kind === 'included' && met.witnesses).toEqual({ signed: [a!.name, c!.name], missing: [b!.name], quorum: 2, met: true });
    const short = await checkReceipt(source, bytesToHex(anon(3)), undefined, pinned, policyOf(3, [a!, b!, c!]));
    expect(short.kind).toBe('included');
    expect(short.kind === 'included' && short.witnesses?.met).toBe(false);
    expect((await checkReceipt(source, bytesToHex(anon(99)), undefined, pinned, policyOf(2, [a!, b!, c!]))).kind).toBe('missing');
  });
});
