import './style.css';
import { start } from './app.js';
import { initialLang, setLang } from './i18n.js';

setLang(initialLang(localStorage.getItem('urna.lang'), navigator.languages));
const header = document.getElementById('header');
const main = document.getElementById('main');
if (header !== null && main !== null) start(header, main);
