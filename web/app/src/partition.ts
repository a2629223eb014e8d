/**
 * Which vote partition serves a voter or a ballot (workloads/vote/src/partition.rs, docs/protocol.md): the
 * first 8 bytes of a SHA-256 digest, big-endian, modulo the partition count. A voter's id is already a
 * SHA-256 digest; a ballot belongs to the partition of SHA-256(its signature), the key of "one ballot per
 * signature". With several partitions the app sends each partition-bound request under `p/<index>/`, which
 * the cluster's Ingress routes to that partition's pod.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes } from '@urna/crypto';

function ofDigest(digest: Uint8Array, count: number): number {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`partition count ${String(count)}`);
  const head = new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0, false);
  return Number(head % BigInt(count));
}

/** The partition of a voter, from the 64-hex-digit voter id the census holds. */
export function partitionOfVoter(voterIdHex: string, count: number): number {
  return ofDigest(hexToBytes('voterId', voterIdHex), count);
}

/** The partition of a ballot, from its voting right's signature (hex). */
export function partitionOfSignature(signatureHex: string, count: number): number {
  return ofDigest(sha256(hexToBytes('signature', signatureHex)), count);
}

/** `path` as sent to `partition` of `count`: unchanged with one partition. */
export function partitionPath(path: string, partition: number, count: number): string {
  return count > 1 ? `p/${String(partition)}/${path}` : path;
}
