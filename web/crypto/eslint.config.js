// Lint: the web packages' shared rules (web/ui/eslint.base.js), over the sources, tests and browser harness.
import { urnaLint } from '@urna/ui/eslint';

export default urnaLint(import.meta.dirname, { scripts: ['test-browser/*.mjs'] });
