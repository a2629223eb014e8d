// Lint for every web package: typescript-eslint's strict type-checked rules. A package's eslint.config.js is
// `export default urnaLint(import.meta.dirname)`, naming the plain scripts it has besides its TypeScript.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// What the packages' plain scripts (browser drivers, benchmarks) use: Node's globals and, inside the functions
// they hand to the browser, the page's.
const scriptGlobals = Object.fromEntries(
  ['console', 'process', 'URL', 'globalThis', 'setTimeout', 'clearTimeout', 'fetch', 'document', 'window', 'localStorage', 'sessionStorage']
    .map((name) => [name, 'readonly']),
);

/**
 * @param {string} dir the package's directory (the type checker's root)
 * @param {{ scripts?: string[] }} [options] globs of the package's .mjs scripts, linted without types
 */
export function urnaLint(dir, { scripts = ['e2e/*.mjs'] } = {}) {
  return tseslint.config(
    { ignores: ['node_modules/**', 'dist/**'] },
    js.configs.recommended,
    ...tseslint.configs.strictTypeChecked,
    {
      languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['*.js', ...scripts] }, tsconfigRootDir: dir } },
      rules: {
        // Template literals of numbers are how messages are built here.
        '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      },
    },
    {
      // Tests index fixtures they just built or read; a wrong index fails the test anyway.
      files: ['test/**/*.ts'],
      rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
    },
    {
      files: ['**/*.mjs', '*.js'],
      ...tseslint.configs.disableTypeChecked,
      languageOptions: { globals: scriptGlobals },
    },
  );
}
