import { describe, expect, it } from 'vitest';
import { canonical, draft, fromHex, loadKey, missingQuorum, sign, signingMessage, toHex, wholeSeconds, KeyFileError } from '../src/acta.js';

// RFC 8032, section 7.1, test 1: the seed, its public key, and the signature of the empty message.
const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const EMPTY_SIG = 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

describe('acta documents', () => {
  it('encode as serde writes them: declared field order, the tag first, lists sorted and unique', () => {
    const doc = draft('e-1', 'mesa-1', new Date(Date.UTC(2027, 5, 6, 8, 0, 0, 456)), { kind: 'constitution', membersPresent: ['bea', 'ana', 'bea'] });
    expect(canonical(doc)).toBe('{"format":"urna-acta/1","electionId":"e-1","mesa":"mesa-1","signedAt":"2027-06-06T08:00:00Z","body":{"kind":"constitution","membersPresent":["ana","bea"]}}');
    const p = draft('e', 'm', new Date(0), { kind: 'participants', voted: 3 });
    expect(canonical(p)).toBe('{"format":"urna-acta/1","electionId":"e","mesa":"m","signedAt":"1970-01-01T00:00:00Z","body":{"kind":"participants","voted":3}}');
    const c = draft('e', 'm', new Date(0), { kind: 'auditCodes', codes: ['b'.repeat(64), 'a'.repeat(64)] });
    expect(canonical(c)).toContain(`"body":{"kind":"auditCodes","codes":["${'a'.repeat(64)}","${'b'.repeat(64)}"]}`);
    expect(wholeSeconds(new Date(Date.UTC(2027, 0, 2, 3, 4, 5, 999)))).toBe('2027-01-02T03:04:05Z');
  });

  it('sign the domain-separated message with lengths before each field', () => {
    const digest = new Uint8Array(32).fill(7);
    const m = signingMessage('e1', 'mesa', 'results', digest);
    const expected = [
      ...new TextEncoder().encode('urna-acta-signature/1'), 0,
      0, 0, 0, 2, ...new TextEncoder().encode('e1'),
      0, 0, 0, 4, ...new TextEncoder().encode('mesa'),
      0, 0, 0, 7, ...new TextEncoder().encode('results'),
      ...digest,
    ];
    expect(Array.from(m)).toEqual(expected);
  });
});

describe('member keys', () => {
  it('load the key file urna mesa keygen writes and sign as RFC 8032 does', async () => {
    const key = await loadKey(`${SEED}\n`);
    expect(key.publicKey).toBe(PUBLIC);
    const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.key, new Uint8Array()));
    expect(toHex(sig)).toBe(EMPTY_SIG);
  });

  it('refuse what is not a key file', async () => {
    await expect(loadKey('not a key')).rejects.toBeInstanceOf(KeyFileError);
    await expect(loadKey(SEED.toUpperCase())).rejects.toBeInstanceOf(KeyFileError);
    await expect(loadKey(SEED.slice(2))).rejects.toBeInstanceOf(KeyFileError);
  });

  it('add signatures that verify over the acta, one per member, sorted', async () => {
    const key = await loadKey(SEED);
    const doc = draft('e', 'm', new Date(0), { kind: 'participants', voted: 1 });
    let acta = await sign({ document: doc, signatures: [] }, 'zoe', key);
    acta = await sign(acta, 'ana', key);
    acta = await sign(acta, 'zoe', key);
    expect(acta.signatures.map((s) => s.member)).toEqual(['ana', 'zoe']);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical(doc))));
    const pub = await crypto.subtle.importKey('raw', fromHex(PUBLIC)!, { name: 'Ed25519' }, false, ['verify']);
    const ok = await crypto.subtle.verify({ name: 'Ed25519' }, pub, fromHex(acta.signatures[0]!.signature)!, signingMessage('e', 'm', 'participants', digest));
    expect(ok).toBe(true);
  });
});

describe('quorum', () => {
  const members = [{ id: 'ana', role: 'president' }, { id: 'bea', role: 'secretary' }, { id: 'ciro', role: 'observer' }];
  it('needs the president and a voting member; observers never count', () => {
    expect(missingQuorum([], members)).toBe('president');
    expect(missingQuorum(['ana', 'ciro'], members)).toBe('second');
    expect(missingQuorum(['ana', 'bea'], members)).toBeNull();
    expect(missingQuorum(['ana'], [{ id: 'ana', role: 'president' }])).toBeNull();
  });
});
