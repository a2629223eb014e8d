/**
 * The dashboard: sign-in with the officer's token, then the fleet map, the alert desk of the officer's
 * districts (acknowledge, resolve with a note, escalate), the selected booth with its actions (lock, unlock,
 * block, unblock, request position), the booths of the officer's districts as a table (every action is
 * reachable by keyboard, not only from the map), turnout per district, and the record of actions. Live
 * through the monitor's event stream; a reconnect or a lag reloads everything, so no alert is lost.
 */

import { api, ApiError, follow } from './api.js';
import { turnoutChart, type TurnoutChart } from './chart.js';
import { h, show } from '@urna/ui/dom';
import { lang, logPlace, ruleName, t, toggleLang, type Key } from './i18n.js';
import { fleetMap, type FleetMap } from './map.js';
import {
  addBallot,
  countByState,
  healthFields,
  upsertAction,
  upsertAlert,
  type Action,
  type Alert,
  type Change,
  type Device,
  type Fleet,
  type Officer,
} from './model.js';

const TOKEN_KEY = 'urna.ops.token';

interface Session {
  token: string;
  officer: Officer;
  fleet: Fleet;
  devices: Map<string, Device>;
  desk: Alert[];
  actions: Action[];
  selected: string | null;
  map: FleetMap | null;
  chart: TurnoutChart | null;
  live: boolean;
  message: string;
}

let header: HTMLElement;
let main: HTMLElement;
let session: Session | null = null;
let stopFollowing: (() => void) | null = null;

function time(ms: number | null): string {
  if (ms === null) return t('never');
  return new Date(ms).toLocaleTimeString(lang() === 'es' ? 'es-MX' : 'en-GB');
}

function healthText(health: unknown): string {
  const fields = healthFields(health).map(([k, v]) => {
    if (k === 'atMs' && Number.isFinite(Number(v))) return t('healthClock', { time: time(Number(v)) });
    if (k === 'pending') return t('healthPending', { n: v });
    return `${k}: ${v}`;
  });
  return fields.length === 0 ? '—' : fields.join(' · ');
}

function renderHeader(): void {
  const s = session;
  header.replaceChildren(
    h('a', { class: 'skip', href: '#desk' }, t('skip')),
    h('div', { class: 'bar' },
      h('span', { class: 'brand' }, t('appName')),
      s ? h('span', { class: 'officer' }, t('officerOf', { name: s.officer.name || s.officer.id, districts: s.officer.districts.join(', ') })) : null,
      s ? h('span', { class: s.live ? 'live on' : 'live off', role: 'status' }, s.live ? t('live') : t('reconnecting')) : null,
      h('span', { class: 'tools' },
        h('button', {
          class: 'lang', type: 'button', 'aria-label': t('langSwitchLabel'),
          onclick: () => {
            toggleLang();
            rerender();
          },
        }, t('langSwitch')),
        s ? h('button', { class: 'lang', type: 'button', onclick: signOut }, t('signOut')) : null,
      ),
    ),
  );
}

function signInPage(error = ''): void {
  renderHeader();
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': error ? 'token-error' : null });
  const form = h('form', {
    class: 'card signin',
    onsubmit: (e: Event) => {
      e.preventDefault();
      void signIn(input.value.trim());
    },
  },
  h('div', { class: 'field' }, h('label', { for: 'token' }, t('token')), input),
  error ? h('p', { class: 'error', id: 'token-error', role: 'alert' }, error) : null,
  h('button', { class: 'primary', type: 'submit' }, t('signIn')));
  show(main, h('h1', {}, t('signInTitle')), h('p', {}, t('signInIntro')), form);
}

async function signIn(token: string): Promise<void> {
  let loaded: [Officer, Fleet, Alert[], Action[]];
  try {
    loaded = await Promise.all([api.me(token), api.fleet(token), api.desk(token), api.actions(token)]);
  } catch (e) {
    // Only the API's failures are the officer's to read; a fault in the page below is thrown, not shown as
    // "the monitor does not answer".
    sessionStorage.removeItem(TOKEN_KEY);
    signInPage(e instanceof ApiError && e.status === 401 ? t('badToken') : t('unreachable'));
    return;
  }
  const [officer, fleet, desk, actions] = loaded;
  sessionStorage.setItem(TOKEN_KEY, token);
  session = {
    token, officer, fleet, desk, actions,
    devices: new Map(fleet.devices.map((d) => [d.id, d])),
    selected: null, map: null, chart: null, live: false, message: '',
  };
  dashboard();
  stopFollowing = follow(token, onChange, () => { void reload(); }, (live) => {
    if (session) { session.live = live; renderHeader(); }
  });
}

function signOut(): void {
  stopFollowing?.();
  stopFollowing = null;
  session = null;
  sessionStorage.removeItem(TOKEN_KEY);
  signInPage();
}

async function reload(): Promise<void> {
  const s = session;
  if (!s) return;
  const [fleet, desk, actions] = await Promise.all([api.fleet(s.token), api.desk(s.token), api.actions(s.token)]);
  s.fleet = fleet;
  s.devices = new Map(fleet.devices.map((d) => [d.id, d]));
  s.desk = desk;
  s.actions = actions;
  s.map?.reset(fleet);
  s.chart?.set(fleet.turnout);
  renderDesk();
  renderDevice();
  renderDevices();
  renderCounts();
  renderActions();
}

let pending = false;
function soon(): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    renderCounts();
    renderDevices();
    renderDevice();
    if (session) session.chart?.set(session.fleet.turnout);
  });
}

function onChange(c: Change): void {
  const s = session;
  if (!s) return;
  if (c.type === 'device') {
    const d: Device = c;
    const before = s.devices.get(d.id);
    const newBallots = d.ballots - (before?.ballots ?? d.ballots);
    for (let i = 0; i < newBallots; i++) addBallot(s.fleet.turnout, d.district, Date.now());
    s.devices.set(d.id, d);
    s.map?.update(d);
    soon();
  } else if (c.type === 'alert') {
    const a: Alert = c;
    s.desk = upsertAlert(s.desk, a, s.officer.districts);
    renderDesk();
  } else {
    s.actions = upsertAction(s.actions, c);
    renderActions();
  }
}

function section(id: string, title: Key, ...children: (Node | null)[]): HTMLElement {
  return h('section', { id, 'aria-labelledby': `${id}-h` }, h('h2', { id: `${id}-h` }, t(title)), ...children);
}

function dashboard(): void {
  const s = session;
  if (!s) return;
  renderHeader();
  const mapEl = h('div', { id: 'map', role: 'region', 'aria-label': t('mapLabel') });
  const chartEl = h('div', { id: 'chart' });
  show(main,
    h('h1', { class: 'visually-hidden' }, t('appName')),
    h('div', { class: 'layout' },
      section('fleet', 'mapTitle', mapEl, legend(), h('p', { id: 'counts', role: 'status' })),
      h('div', { class: 'side' },
        section('desk', 'deskTitle', h('div', { id: 'desk-list' })),
        section('selected', 'device', h('div', { id: 'device-panel' })),
      ),
    ),
    section('devices', 'devicesTitle', h('div', { id: 'devices-table', class: 'scroll' })),
    section('turnout', 'turnoutTitle', chartEl, h('p', { id: 'turnout-empty', class: 'hint' })),
    section('actions', 'actionsTitle', h('ol', { id: 'actions-list', class: 'actions' })),
  );
  s.map = fleetMap(mapEl, s.fleet, (id) => { select(id); });
  s.chart = turnoutChart(chartEl);
  s.chart.set(s.fleet.turnout);
  renderCounts();
  renderDesk();
  renderDevice();
  renderDevices();
  renderActions();
}

function legend(): HTMLElement {
  return h('ul', { class: 'legend', 'aria-label': t('legend') },
    (['online', 'offline', 'locked', 'blocked', 'alerting'] as const).map((st) =>
      h('li', {}, h('span', { class: `swatch booth-${st}`, 'aria-hidden': 'true' }), t(st))));
}

function renderCounts(): void {
  const s = session;
  const el = document.getElementById('counts');
  if (!s || !el) return;
  el.textContent = t('counts', countByState(s.devices.values()));
  const empty = document.getElementById('turnout-empty');
  if (empty) empty.textContent = Object.keys(s.fleet.turnout).length === 0 ? t('turnoutEmpty') : '';
}

function statusLabel(a: Alert): string {
  const key: Key = a.status === 'open' ? 'statusOpen' : a.status === 'acknowledged' ? 'statusAcknowledged' : 'statusResolved';
  return t(key) + (a.escalated ? ` · ${t('escalated')}` : '');
}

function priorityLabel(a: Alert): string {
  return t(a.priority === 'critical' ? 'priorityCritical' : a.priority === 'high' ? 'priorityHigh' : 'priorityNormal');
}

function renderDesk(): void {
  const s = session;
  const el = document.getElementById('desk-list');
  if (!s || !el) return;
  if (s.desk.length === 0) {
    el.replaceChildren(h('p', { class: 'hint' }, t('deskEmpty')));
    return;
  }
  // Keep what an officer is typing: notes survive a re-render.
  const notes = new Map<string, string>();
  for (const ta of el.querySelectorAll('textarea')) notes.set(ta.id, ta.value);
  el.replaceChildren(h('ul', { class: 'alerts' }, s.desk.map((a) => alertCard(a, notes.get(`note-${String(a.id)}`) ?? ''))));
}

function alertCard(a: Alert, note: string): HTMLElement {
  const noteId = `note-${String(a.id)}`;
  const noteEl = h('textarea', { id: noteId, rows: 2 });
  noteEl.value = note;
  const errEl = h('p', { class: 'error', role: 'alert' });
  const act = (action: 'acknowledge' | 'resolve' | 'escalate') => () => { void handle(action); };
  const handle = async (action: 'acknowledge' | 'resolve' | 'escalate'): Promise<void> => {
    const s = session;
    if (!s) return;
    if (action !== 'acknowledge' && noteEl.value.trim() === '') {
      errEl.textContent = t('noteRequired');
      noteEl.focus();
      return;
    }
    try {
      const { alert } = await api.alert(s.token, a.id, action, noteEl.value);
      noteEl.value = '';
      s.desk = upsertAlert(s.desk, alert, s.officer.districts);
      renderDesk();
    } catch (e) {
      errEl.textContent = t('refused', { message: e instanceof Error ? e.message : String(e) });
    }
  };
  const open = a.status !== 'resolved';
  return h('li', { class: `alert prio-${a.priority} status-${a.status}`, 'data-alert-id': a.id, 'data-rule': a.rule },
    h('div', { class: 'alert-head' },
      h('span', { class: `badge prio-${a.priority}` }, priorityLabel(a)),
      h('strong', {}, ruleName(a.rule)),
      h('span', { class: 'status' }, statusLabel(a))),
    h('p', { class: 'meta' },
      t('alertAt', { rule: `#${String(a.id)}`, device: a.device, mesa: a.mesa || '—', time: time(a.atMs) }), ' ',
      h('button', { type: 'button', class: 'link', onclick: () => { select(a.device); } }, t('device'))),
    a.history.length > 0 ? h('ul', { class: 'history' }, a.history.map((n) =>
      h('li', {}, `${time(n.atMs)} · ${n.officer} · ${t(n.action as Key)}${n.note ? `: ${n.note}` : ''}`))) : null,
    open ? h('div', { class: 'alert-actions' },
      h('label', { for: noteId }, t('note')), noteEl, errEl,
      h('div', { class: 'buttons' },
        a.status === 'open' ? h('button', { type: 'button', class: 'primary', onclick: act('acknowledge') }, t('acknowledge')) : null,
        h('button', { type: 'button', class: 'secondary', onclick: act('resolve') }, t('resolve')),
        a.escalated ? null : h('button', { type: 'button', class: 'secondary', onclick: act('escalate') }, t('escalate')))) : null,
  );
}

function select(id: string): void {
  if (!session) return;
  session.selected = id;
  session.message = '';
  session.map?.focus(id);
  renderDevice();
  document.getElementById('selected-h')?.scrollIntoView({ block: 'nearest' });
}

function renderDevice(): void {
  const s = session;
  const el = document.getElementById('device-panel');
  if (!s || !el) return;
  const d = s.selected === null ? undefined : s.devices.get(s.selected);
  if (!d) {
    el.replaceChildren(h('p', { class: 'hint' }, t('selectHint')));
    return;
  }
  const mine = s.officer.districts.includes(d.district);
  const msg = h('p', { role: 'status', class: 'message' }, s.message);
  const act = (action: string, label: Key) => h('button', {
    type: 'button', class: 'secondary', 'data-action': action,
    onclick: () => {
      void (async () => {
        try {
          await api.device(s.token, d.id, action);
          s.message = t('done', { action: t(label), device: d.id });
        } catch (e) {
          s.message = t('refused', { message: e instanceof Error ? e.message : String(e) });
        }
        renderDevice();
      })();
    },
  }, t(label));
  el.replaceChildren(
    h('dl', { class: 'facts', 'data-device': d.id },
      h('dt', {}, t('device')), h('dd', {}, d.id),
      h('dt', {}, t('mesa')), h('dd', {}, d.mesa),
      h('dt', {}, t('district')), h('dd', {}, d.district),
      h('dt', {}, t('state')), h('dd', {}, h('span', { class: `swatch booth-${d.state}`, 'aria-hidden': 'true' }), t(d.state)),
      h('dt', {}, t('lastSeen')), h('dd', {}, time(d.lastSeenMs)),
      h('dt', {}, t('position')), h('dd', {}, d.position ? `${d.position.lat.toFixed(5)}, ${d.position.lon.toFixed(5)} (${time(d.position.atMs)})` : '—'),
      h('dt', {}, t('health')), h('dd', {}, healthText(d.health))),
    mine
      ? h('div', { class: 'buttons' },
        d.locked ? act('unlock', 'unlock') : act('lock', 'lock'),
        d.blocked ? act('unblock', 'unblock') : act('block', 'block'),
        act('position', 'requestPosition'))
      : h('p', { class: 'hint' }, t('notYours')),
    msg,
  );
}

function renderDevices(): void {
  const s = session;
  const el = document.getElementById('devices-table');
  if (!s || !el) return;
  const mine = [...s.devices.values()].filter((d) => s.officer.districts.includes(d.district)).sort((a, b) => a.id.localeCompare(b.id));
  el.replaceChildren(h('table', {},
    h('thead', {}, h('tr', {}, (['device', 'mesa', 'state', 'lastSeen'] as const).map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, mine.map((d) => h('tr', { 'data-device': d.id, class: `row-${d.state}` },
      h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', onclick: () => { select(d.id); } }, d.id)),
      h('td', {}, d.mesa),
      h('td', {}, h('span', { class: `swatch booth-${d.state}`, 'aria-hidden': 'true' }), t(d.state)),
      h('td', {}, time(d.lastSeenMs)))))));
}

function renderActions(): void {
  const s = session;
  const el = document.getElementById('actions-list');
  if (!s || !el) return;
  el.replaceChildren(...[...s.actions].reverse().slice(0, 50).map((a) =>
    h('li', {},
      t('actionLine', { time: time(a.atMs), officer: a.officer, action: t(a.action as Key), target: a.target }) + (a.note ? `: ${a.note}` : ''),
      ' · ',
      h('span', { class: a.logIndex === undefined ? 'log pending' : 'log' }, logPlace(a.logIndex)))));
}

function rerender(): void {
  if (session) {
    session.map = null;
    dashboard();
  } else {
    signInPage();
  }
}

export function start(headerEl: HTMLElement, mainEl: HTMLElement): void {
  header = headerEl;
  main = mainEl;
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) void signIn(token);
  else signInPage();
}
