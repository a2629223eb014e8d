import { urnaLint } from './eslint.base.js';

export default urnaLint(import.meta.dirname, { scripts: [] });
