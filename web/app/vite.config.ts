import { defineConfig } from 'vitest/config';

// The build is committed (dist/) and embedded in the `urna` binary, so it must be reproducible byte for byte:
// fixed file names (no content hashes: the vote service serves them with `no-cache`), no source maps, and
// relative URLs so the app works under any path prefix an ingress gives it.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    modulePreload: false,
    target: 'es2022',
    rollupOptions: {
      output: {
        entryFileNames: 'assets/app.js',
        chunkFileNames: 'assets/[name].js',
        assetFileNames: 'assets/[name][extname]',
      },
    },
  },
  worker: {
    format: 'es',
    rollupOptions: { output: { entryFileNames: 'assets/[name].js', chunkFileNames: 'assets/[name].js' } },
  },
  test: {
    fileParallelism: false,
    testTimeout: 60_000,
  },
});
