import './style.css';
import { start } from './app.js';
import { initialLang, setLang } from './i18n.js';

setLang(initialLang(localStorage.getItem('urna.lang'), navigator.languages));
const main = document.getElementById('main');
if (main !== null) void start(main);
