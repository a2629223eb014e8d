import { defineConfig } from 'vitest/config';

// As web/app and web/ops: the build is committed (dist/) and embedded in the `urna` binary, so it must be
// reproducible byte for byte: fixed file names (served with `no-cache`), no source maps, relative URLs (the
// booth vote service serves it under /mesa/).
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
        entryFileNames: 'assets/console.js',
        chunkFileNames: 'assets/[name].js',
        assetFileNames: 'assets/[name][extname]',
      },
    },
  },
});
