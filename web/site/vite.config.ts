import { defineConfig } from 'vitest/config';

// As web/app: the build is committed (dist/) and embedded in the `urna` binary, so it must be reproducible
// byte for byte: fixed file names (`urna site` serves them with `no-cache`), no source maps, relative URLs so
// the site works under any path prefix an ingress or a mirror gives it.
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
        entryFileNames: 'assets/site.js',
        chunkFileNames: 'assets/[name].js',
        assetFileNames: 'assets/[name][extname]',
      },
    },
  },
  test: {
    fileParallelism: false,
  },
});
