// Lint: the web packages' shared rules (web/ui/eslint.base.js).
import { urnaLint } from '@urna/ui/eslint';

export default urnaLint(import.meta.dirname);
