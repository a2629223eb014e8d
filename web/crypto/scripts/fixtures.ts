/**
 * Writes the TypeScript side of the cross-implementation fixtures: ts-ballots.json (ballots made and proven
 * here, with their hashes, the manifest hashes and AnonIDs) and ts-challenge.json (a challenged ballot with its
 * revealed nonces). Run from web/: `npm run fixtures -w @urna/crypto` (a few minutes: the chunked contest needs
 * about a thousand full exponentiations, done here on one thread).
 */

import { writeFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { anonId } from '../src/ballot/anon.js';
import { makeChallenge } from '../src/ballot/challenge.js';
import { BallotCodec } from '../src/ballot/codec.js';
import { ballotHash, ballotToJson } from '../src/ballot/encrypted.js';
import { bytesToHex, concatBytes, utf8 } from '../src/math/bytes.js';
import { NoncePool } from '../src/paillier/pool.js';
import { FIXTURES, manifest, type BallotsFile, TS_BALLOTS, TS_CHALLENGE } from '../test/fixtures.js';
import { productionKey, repoRoot } from '../test/helpers.js';

const codecs = { federal: new BallotCodec(manifest('federal'), productionKey), seeds: new BallotCodec(manifest('seeds'), productionKey) };

function encrypt(spec: (typeof TS_BALLOTS)[number]) {
  const codec = codecs[spec.manifest];
  const pool = new NoncePool(productionKey);
  const started = performance.now();
  pool.fill(codec.noncesNeeded(spec.style));
  const { ballot, nonces } = codec.encryptBallot(spec.style, spec.selections, pool);
  if (pool.misses !== 0 || pool.size !== 0) throw new Error(`${spec.name}: noncesNeeded is off by ${String(pool.misses - pool.size)}`);
  codec.verifyBallot(ballot);
  console.log(`${spec.name}: ${String(codec.noncesNeeded(spec.style))} nonces, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { codec, ballot, nonces };
}

const file: BallotsFile = {
  generator: 'web/crypto/scripts/fixtures.ts (npm run fixtures -w @urna/crypto)',
  manifestHashes: { federal: bytesToHex(codecs.federal.manifestHash), seeds: bytesToHex(codecs.seeds.manifestHash) },
  ballots: [],
  anonIds: [],
};
for (const spec of TS_BALLOTS) {
  const { ballot } = encrypt(spec);
  file.ballots.push({ name: spec.name, manifest: spec.manifest, selections: spec.selections, ballotHash: bytesToHex(ballotHash(ballot)), ballot: ballotToJson(ballot) });
}
for (const b of file.ballots) {
  // Deterministic stand-ins for a prepared message and a 3072-bit signature: AnonID is a hash of bytes.
  const hash = Uint8Array.from(Buffer.from(b.ballotHash, 'hex'));
  const prepared = concatBytes(sha256(utf8(`prefix/${b.name}`)), hash);
  const signature = concatBytes(...Array.from({ length: 12 }, (_, i) => sha256(utf8(`signature/${b.name}/${String(i)}`))));
  file.anonIds.push({ ballotHash: b.ballotHash, preparedMessage: bytesToHex(prepared), signature: bytesToHex(signature), anonId: bytesToHex(anonId(hash, prepared, signature)) });
}
writeFileSync(`${repoRoot}${FIXTURES}ts-ballots.json`, JSON.stringify(file, null, 1) + '\n');

const challenged = encrypt(TS_CHALLENGE);
writeFileSync(`${repoRoot}${FIXTURES}ts-challenge.json`, JSON.stringify(makeChallenge(challenged.codec, challenged.ballot, TS_CHALLENGE.selections, challenged.nonces), null, 1) + '\n');
console.log(`wrote ${FIXTURES}ts-ballots.json and ts-challenge.json`);
