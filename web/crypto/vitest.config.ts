import { defineConfig } from 'vitest/config';

// The 3072-bit tests are long synchronous BigInt computations: one file at a time keeps the runner's own RPC
// answered on a 2-core machine, and the timeout leaves room for a loaded machine.
export default defineConfig({
  test: {
    fileParallelism: false,
    testTimeout: 300_000,
  },
});
