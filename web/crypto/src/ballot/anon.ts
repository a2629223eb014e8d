/**
 * The anonymous ballot id a receipt names (docs/protocol.md §4.6):
 * `SHA-256(transcript("anon-id", ballot hash, prepared message, signature))`.
 */

import { Transcript } from '../transcript.js';

export function anonId(ballotHash: Uint8Array, preparedMessage: Uint8Array, signature: Uint8Array): Uint8Array {
  return new Transcript('anon-id').bytes(ballotHash).bytes(preparedMessage).bytes(signature).digest();
}
