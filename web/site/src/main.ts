import './style.css';
import { start } from './app.js';
import { startLang } from './i18n.js';

// Links to the results site may name the language (`?lang=en`).
startLang({ query: true });
const main = document.getElementById('main');
const header = document.getElementById('header');
if (main !== null && header !== null) void start(header, main);
