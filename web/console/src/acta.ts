/**
 * Mesa actas in the browser: the same canonical document, signing message and Ed25519 signatures as
 * `urna_vote::acta` (workloads/vote/src/acta.rs, docs/record.md "Actas"), so an acta drafted and signed here
 * verifies with `urna mesa acta verify` and one signed with `urna mesa acta sign` could be submitted here.
 * Pure functions plus WebCrypto (SHA-256, Ed25519); nothing here talks to the network.
 */

export type ActaKind = 'constitution' | 'results' | 'participants' | 'auditCodes';

/** How a results acta's votes were counted: the booths' ballots, or paper ballots counted by hand. */
export type CountSource = 'booths' | 'paper';

/** One contest's votes: every choice of its numbering (`choices` of @urna/crypto), in order. */
export interface ContestCount {
  contest: string;
  counts: { choice: string; votes: number }[];
}

/** The bodies of `urna_vote::acta::ActaBody`. */
export type ActaBody =
  | { kind: 'constitution'; membersPresent: string[] }
  | { kind: 'results'; source: CountSource; ballots: number; contests: ContestCount[] }
  | { kind: 'participants'; voted: number }
  | { kind: 'auditCodes'; codes: string[] };

export interface ActaDocument {
  format: string;
  electionId: string;
  mesa: string;
  signedAt: string;
  body: ActaBody;
}

export interface MemberSignature {
  member: string;
  /** 128 hex characters. */
  signature: string;
}

export interface SignedActa {
  document: ActaDocument;
  signatures: MemberSignature[];
}

export const FORMAT = 'urna-acta/1';
const DOMAIN = 'urna-acta-signature/1';

/** RFC 3339 UTC with whole seconds, as the service requires (`2027-06-06T08:00:00Z`). */
export function wholeSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

function sortedUnique(items: readonly string[]): string[] {
  return [...new Set(items)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function draft(electionId: string, mesa: string, at: Date, body: ActaBody): ActaDocument {
  const b: ActaBody = body.kind === 'constitution' ? { kind: 'constitution', membersPresent: sortedUnique(body.membersPresent) }
    : body.kind === 'auditCodes' ? { kind: 'auditCodes', codes: sortedUnique(body.codes) }
      : body;
  return { format: FORMAT, electionId, mesa, signedAt: wholeSeconds(at), body: b };
}

/**
 * The canonical encoding: compact JSON with the fields in the order serde declares them (the tag `kind`
 * first in the body). Objects are rebuilt here so that the order does not depend on how `doc` was made.
 */
export function canonical(doc: ActaDocument): string {
  const b = doc.body;
  const body = b.kind === 'constitution' ? { kind: b.kind, membersPresent: b.membersPresent }
    : b.kind === 'results' ? {
      kind: b.kind, source: b.source, ballots: b.ballots,
      contests: b.contests.map((c) => ({ contest: c.contest, counts: c.counts.map((x) => ({ choice: x.choice, votes: x.votes })) })),
    }
      : b.kind === 'participants' ? { kind: b.kind, voted: b.voted }
        : { kind: b.kind, codes: b.codes };
  return JSON.stringify({ format: doc.format, electionId: doc.electionId, mesa: doc.mesa, signedAt: doc.signedAt, body });
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(hex: string): Uint8Array<ArrayBuffer> | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export async function digest(doc: ActaDocument): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical(doc))));
}

/** `urna-acta-signature/1`, 0, then election, mesa and kind each as u32 BE length + UTF-8, then the digest. */
export function signingMessage(electionId: string, mesa: string, kind: ActaKind, docDigest: Uint8Array): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [enc.encode(DOMAIN), new Uint8Array([0])];
  for (const field of [electionId, mesa, kind]) {
    const bytes = enc.encode(field);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, bytes.length);
    parts.push(len, bytes);
  }
  parts.push(docDigest);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A member's key, loaded from the file `urna mesa keygen` writes (the 32-byte seed as 64 hex, a newline). */
export interface MemberKey {
  key: CryptoKey;
  /** The public key, 64 hex, to compare with the member's key in the Mesa resource. */
  publicKey: string;
}

/** PKCS#8 prefix of an Ed25519 private key (RFC 8410): WebCrypto imports a seed only wrapped in it. */
const PKCS8_PREFIX = fromHex('302e020100300506032b657004220420') ?? new Uint8Array();

export class KeyFileError extends Error {}

export async function loadKey(text: string): Promise<MemberKey> {
  const hex = text.trim();
  const seed = /^[0-9a-f]{64}$/.test(hex) ? fromHex(hex) : null;
  if (seed === null) throw new KeyFileError('not a member key file');
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(seed, PKCS8_PREFIX.length);
  // Extractable only to read the public half (WebCrypto cannot derive it otherwise); the page keeps the
  // CryptoKey in memory for this signature and drops it.
  const key = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
  const jwk = await crypto.subtle.exportKey('jwk', key);
  const x = jwk.x ?? '';
  const bin = atob(x.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (x.length % 4)) % 4));
  return { key, publicKey: toHex(Uint8Array.from(bin, (c) => c.charCodeAt(0))) };
}

/** Adds (or replaces) `member`'s signature, as `SignedActa::sign_with` does: signatures sorted by member. */
export async function sign(acta: SignedActa, member: string, key: MemberKey): Promise<SignedActa> {
  const d = acta.document;
  const msg = signingMessage(d.electionId, d.mesa, d.body.kind, await digest(d));
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.key, msg));
  const signatures = [...acta.signatures.filter((s) => s.member !== member), { member, signature: toHex(sig) }]
    .sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  return { document: d, signatures };
}

/** The quorum rule of `urna_vote::acta::quorum`, to tell the members who still has to sign. */
export function missingQuorum(signers: readonly string[], members: readonly { id: string; role: string }[]): 'president' | 'second' | null {
  const roleOf = (id: string) => members.find((m) => m.id === id)?.role;
  if (!signers.some((s) => roleOf(s) === 'president')) return 'president';
  const others = members.some((m) => m.role === 'secretary' || m.role === 'scrutineer');
  if (others && !signers.some((s) => roleOf(s) === 'secretary' || roleOf(s) === 'scrutineer')) return 'second';
  return null;
}
