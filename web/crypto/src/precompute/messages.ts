/** The messages between a {@link Precomputer} and its workers (structured-clone plain data, integers as hex). */

export interface WorkRequest {
  /** The Paillier modulus, canonical hex. */
  n: string;
  /** How many `(r, r^n mod n²)` pairs to compute and post back, one message each. */
  count: number;
}

export interface WorkResult {
  r: string;
  rn: string;
}
