import './style.css';
import { start } from './app.js';
import { startLang } from './i18n.js';

startLang();
const header = document.getElementById('header');
const main = document.getElementById('main');
if (header !== null && main !== null) start(header, main);
