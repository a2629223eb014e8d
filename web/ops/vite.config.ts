import { defineConfig } from 'vitest/config';

// As web/app: the build is committed (dist/) and embedded in the `urna` binary, so it must be reproducible
// byte for byte: fixed file names (the monitor serves them with `no-cache`), no source maps, relative URLs
// (served under /ops/).
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
        entryFileNames: 'assets/ops.js',
        chunkFileNames: 'assets/[name].js',
        assetFileNames: 'assets/[name][extname]',
      },
    },
  },
  test: {
    fileParallelism: false,
  },
});
