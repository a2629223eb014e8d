/**
 * The receipt check, shared by the voter app (web/app) and the results site (web/site), done in the browser
 * against the audit log's own answers (workloads/audit, or `urna site` serving the record's log): the ballot's
 * leaf is recomputed from the AnonID, the log's latest checkpoint is verified as a C2SP signed note (Ed25519
 * over its body, under the log's origin and key), and the log's inclusion proof is verified against the signed
 * root (RFC 6962 / RFC 9162 §2.1.3.2). When the election declares witnesses, their cosignatures on that same
 * note are checked too (docs/record.md, "Witnesses"). Nothing the server says is trusted for it.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from './math/bytes.js';

/** Entry encoding of a ballot (workloads/audit/src/entry.rs): version 0x01, type 0x01, the 32-byte AnonID. */
export function ballotLeafHash(anonId: Uint8Array): Uint8Array {
  if (anonId.length !== 32) throw new RangeError('an AnonID has 32 bytes');
  const leaf = new Uint8Array(1 + 2 + 32);
  leaf.set([0x00, 0x01, 0x01]);
  leaf.set(anonId, 3);
  return sha256(leaf);
}

function node(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(65);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 33);
  return sha256(buf);
}

/** The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or undefined when the proof has the wrong shape. */
export function rootFromInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[]): Uint8Array | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = node(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  timestamp: number;
  closed: boolean;
}

/** Parses a checkpoint body strictly (workloads/audit/src/checkpoint.rs): it must re-encode to the same text. */
export function parseCheckpointBody(body: string): Checkpoint {
  if (!body.endsWith('\n')) throw new Error('the checkpoint body does not end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 4 || lines.length > 5) throw new Error('the checkpoint body has neither 4 nor 5 lines');
  const [origin = '', sizeText = '', rootText = '', tsLine = '', fifth] = lines;
  const size = Number(sizeText);
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(size)) throw new Error('the checkpoint size is not a decimal integer');
  const root = base64Decode(rootText);
  if (root.length !== 32) throw new Error('the checkpoint root is not 32 bytes');
  const ts = /^timestamp (0|[1-9][0-9]*)$/.exec(tsLine);
  if (ts === null) throw new Error('the checkpoint has no timestamp line');
  if (fifth !== undefined && fifth !== 'closed') throw new Error('unexpected fifth checkpoint line');
  const cp = { origin, size, root, timestamp: Number(ts[1]), closed: fifth === 'closed' };
  if (base64Encode(root) !== rootText) throw new Error('the checkpoint root is not canonical base64');
  return cp;
}

function base64Decode(s: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    throw new Error('invalid base64');
  }
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function base64Encode(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b));
}

/** The signed-note key id: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key). */
export function keyId(name: string, publicKey: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const buf = new Uint8Array(nameBytes.length + 2 + publicKey.length);
  buf.set(nameBytes);
  buf.set([0x0a, 0x01], nameBytes.length);
  buf.set(publicKey, nameBytes.length + 2);
  return sha256(buf).slice(0, 4);
}

/** A signed note's body (every line ending in `\n`) and its signature lines, nothing verified yet. */
function splitNote(note: string): { body: string; lines: string[] } {
  // The body never contains a blank line, so the first "\n\n" ends it.
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('the note has no signature block');
  return { body: note.slice(0, split + 1), lines: note.slice(split + 2).split('\n') };
}

/**
 * What a note says for one signer: `valid` when its signature line by `name` with `publicKey`'s key id verifies
 * over the body, `absent` when there is no such line, `invalid` when there is one that does not verify (or the
 * key is not an Ed25519 key). As in workloads/audit/src/checkpoint.rs (`Note::verify`), the first line with
 * that name and key id decides: a signer gets one say per note. Throws only when the note has no signature block.
 */
export async function checkNoteSignature(note: string, name: string, publicKey: Uint8Array): Promise<'valid' | 'absent' | 'invalid'> {
  const { body, lines } = splitNote(note);
  const wantedId = bytesToHex(keyId(name, publicKey));
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (m?.[1] !== name) continue;
    let sig: Uint8Array;
    try {
      sig = base64Decode(m[2] ?? '');
    } catch {
      continue;
    }
    // Another key under the same name (a rotated or impostor key) is not this signer's line.
    if (sig.length !== 68 || bytesToHex(sig.slice(0, 4)) !== wantedId) continue;
    if (publicKey.length !== 32) return 'invalid';
    let key: CryptoKey;
    try {
      key = await crypto.subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify']);
    } catch (e) {
      // A key WebCrypto refuses is this signer's problem; a browser without WebCrypto or Ed25519 is no verdict on
      // the note, and must not read as a forged signature.
      if (e instanceof DOMException && e.name === 'DataError') return 'invalid';
      throw e;
    }
    const ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, sig.slice(4), new TextEncoder().encode(body));
    return ok ? 'valid' : 'invalid';
  }
  return 'absent';
}

/**
 * Verifies a signed note (body, blank line, signature lines) by `publicKey` under `name`, and returns the
 * parsed checkpoint. Ed25519 comes from WebCrypto.
 */
export async function verifyCheckpointNote(note: string, name: string, publicKey: Uint8Array): Promise<Checkpoint> {
  const cp = parseCheckpointBody(splitNote(note).body);
  if (cp.origin !== name) throw new Error(`the checkpoint is of log "${cp.origin}", not "${name}"`);
  const verdict = await checkNoteSignature(note, name, publicKey);
  if (verdict === 'invalid') throw new Error('the log\'s signature on the checkpoint does not verify');
  if (verdict === 'absent') throw new Error('the checkpoint carries no signature by the log\'s key');
  return cp;
}

/** An election's witness policy (`GET v1/election` `witnesses`, the trust file's `witnesses`): who, and how many. */
export interface WitnessPolicy {
  quorum: number;
  witnesses: readonly { name: string; publicKey: string }[];
}

/** Which declared witnesses cosigned the checkpoint, in the policy's order, and whether they make the quorum. */
export interface WitnessVerdict {
  /** Declared witnesses whose cosignature under their declared key verifies. */
  signed: string[];
  /** Declared witnesses with no such cosignature, or one that does not verify. */
  missing: string[];
  quorum: number;
  met: boolean;
}

/**
 * Checks a signed checkpoint note's witness cosignatures against `policy` (as `WitnessPolicy::check` in
 * workloads/audit/src/witness.rs does). Only declared witnesses under their declared keys count; cosignatures by
 * anyone else are ignored, and one bad or malformed cosignature makes that witness missing, never an error.
 */
export async function checkWitnesses(note: string, policy: WitnessPolicy): Promise<WitnessVerdict> {
  // A text that is no signed note is refused even under a policy that declares nobody.
  splitNote(note);
  const valid = new Set<string>();
  for (const w of policy.witnesses) {
    let key: Uint8Array;
    try {
      key = hexToBytes('witness key', w.publicKey);
    } catch {
      continue;
    }
    if (await checkNoteSignature(note, w.name, key) === 'valid') valid.add(w.name);
  }
  // A name declared twice counts once, so a repeated entry cannot stand in for a second witness.
  const names = [...new Set(policy.witnesses.map((w) => w.name))];
  const signed = names.filter((n) => valid.has(n));
  return { signed, missing: names.filter((n) => !valid.has(n)), quorum: policy.quorum, met: signed.length >= policy.quorum };
}

export type ReceiptCheck =
  | { kind: 'included'; index: number; checkpoint: Checkpoint; keyHex: string; pinned: boolean; witnesses?: WitnessVerdict }
  | { kind: 'missing' }
  | { kind: 'pending' }
  | { kind: 'wrongIndex'; actual: number; given: number }
  | { kind: 'bad'; reason: string };

/** What the check needs from the audit log: its JSON answers, or an error code (`unknown_leaf`, `out_of_range`). */
export interface LogSource {
  checkpoint(): Promise<unknown>;
  inclusion(leafHash: string, size: number): Promise<unknown>;
}

export class LogAnswerError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

function field(o: unknown, name: string): unknown {
  return typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[name] : undefined;
}

/**
 * Checks that `anonIdHex` is in the log. `pinned`: the log's origin and key as the election publishes them;
 * without it the key the log presents is used, and the result says so. `witnesses`: the election's witness
 * policy; when given, an `included` result says which of them cosigned the checkpoint the proof was checked
 * against (a short quorum does not make the ballot any less included: it says the checkpoint is not yet
 * confirmed by enough outside parties to be the one history everyone was shown).
 */
export async function checkReceipt(
  source: LogSource,
  anonIdHex: string,
  givenIndex: number | undefined,
  pinned?: { origin: string; publicKey: string },
  witnesses?: WitnessPolicy,
): Promise<ReceiptCheck> {
  const leaf = ballotLeafHash(hexToBytes('anonId', anonIdHex));
  const cpJson = await source.checkpoint();
  const origin = pinned?.origin ?? field(cpJson, 'origin');
  const keyHex = pinned?.publicKey ?? field(cpJson, 'log_public_key');
  const note = field(cpJson, 'note');
  if (typeof origin !== 'string' || typeof keyHex !== 'string' || typeof note !== 'string') return { kind: 'bad', reason: 'the checkpoint has no origin, key or note' };
  let checkpoint: Checkpoint;
  try {
    checkpoint = await verifyCheckpointNote(note, origin, hexToBytes('log key', keyHex));
  } catch (e) {
    return { kind: 'bad', reason: e instanceof Error ? e.message : String(e) };
  }
  let proofJson: unknown;
  try {
    proofJson = await source.inclusion(bytesToHex(leaf), checkpoint.size);
  } catch (e) {
    if (e instanceof LogAnswerError && e.code === 'unknown_leaf') return { kind: 'missing' };
    if (e instanceof LogAnswerError && e.code === 'out_of_range') return { kind: 'pending' };
    throw e;
  }
  const index = field(proofJson, 'index');
  const proof = field(proofJson, 'proof');
  if (typeof index !== 'number' || !Array.isArray(proof) || !proof.every((p) => typeof p === 'string')) return { kind: 'bad', reason: 'the inclusion proof is malformed' };
  const root = rootFromInclusion(leaf, index, checkpoint.size, proof.map((p) => hexToBytes('proof', p)));
  if (root === undefined || bytesToHex(root) !== bytesToHex(checkpoint.root)) return { kind: 'bad', reason: 'the inclusion proof does not lead to the signed root' };
  if (givenIndex !== undefined && givenIndex !== index) return { kind: 'wrongIndex', actual: index, given: givenIndex };
  const included = { kind: 'included', index, checkpoint, keyHex, pinned: pinned !== undefined } as const;
  return witnesses === undefined ? included : { ...included, witnesses: await checkWitnesses(note, witnesses) };
}
