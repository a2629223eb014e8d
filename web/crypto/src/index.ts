/**
 * @urna/crypto: Urna's ballot cryptography for the browser, a second implementation of docs/protocol.md.
 */

export { bytesToHex, hexToBytes, toHex, fromHex, EncodingError } from './math/bytes.js';
export { Modulus, modPow, modInverse, gcd } from './math/modular.js';
export { randomBytes, randomBelow, randomUnit } from './math/random.js';
export { Transcript, encodeItems } from './transcript.js';
export { PublicKey, MIN_MODULUS_BITS, type PrecomputedNonce } from './paillier/publicKey.js';
export { NoncePool, generateNonce, type NonceSource } from './paillier/pool.js';
export { type ProofContext, ProofError } from './proofs/context.js';
export { proveMembership, verifyMembership, type MembershipProof, type MembershipStatement } from './proofs/membership.js';
export { proveKnowledge, verifyKnowledge, type KnowledgeProof } from './proofs/knowledge.js';
export { type ElectionManifest, type Contest, type District, type Party, type Coalition, type ContestOption, ManifestError, manifestHash, validateManifest, styleContests } from './ballot/manifest.js';
export { type Choice, type ChoiceKind, choices, choiceIndex, WRITE_IN, BLANK, NULL } from './ballot/choices.js';
export { type ContestLayout, contestLayout, slotCapacity } from './ballot/layout.js';
export { type EncryptedBallot, type EncryptedContest, type EncryptedBallotJson, ballotHash, ballotToJson, ballotFromJson } from './ballot/encrypted.js';
export { BallotCodec, BallotError, type Selection, type ContestNonces, MAX_WRITE_IN_BYTES, writeInPlaintext, writeInName } from './ballot/codec.js';
export { anonId } from './ballot/anon.js';
export { Precomputer, type PrecomputerOptions, type Progress } from './precompute/precomputer.js';
export { checkChallenge, makeChallenge, ChallengeFormatError, CHALLENGE_VERSION, type ChallengedBallotJson, type ChallengeReport, type RevealedContestJson, type CheckedContest } from './ballot/challenge.js';
