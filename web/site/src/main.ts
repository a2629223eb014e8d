import './style.css';
import { start } from './app.js';
import { initialLang, setLang } from './i18n.js';

setLang(initialLang(new URLSearchParams(location.search).get('lang'), localStorage.getItem('urna.lang'), navigator.languages));
const main = document.getElementById('main');
const header = document.getElementById('header');
if (main !== null && header !== null) void start(header, main);
