import './style.css';
import { start } from './app.js';
import { startLang } from './i18n.js';

startLang();
const main = document.getElementById('main');
if (main !== null) void start(main);
