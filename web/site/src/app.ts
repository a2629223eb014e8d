/**
 * The results site: one page of sections (turnout, results, receipt check, key fingerprints, record), each
 * figure a link to the record file that proves it (its JSON pointers in the link's title and in `data-pointers`).
 */

import { checkReceipt, LogAnswerError, type LogSource, type ReceiptCheck, type WitnessVerdict } from '@urna/crypto/log';
import { barChart } from './chart.js';
import { FetchError, type Figure, type ContestPart, type SiteContest, type SiteData, type SiteStatus, type TrustFile, figureHref, getJson, percent } from './data.js';
import { append, grouped, h } from '@urna/ui/dom';
import { type Key, lang, modalityName, num, other, t, toggleLang } from './i18n.js';
import { loadPrep, type Prep, prepSection } from './prep.js';

interface Loaded {
  status: SiteStatus;
  site?: SiteData;
  trust?: TrustFile;
  prep?: Prep;
  /** Why PREP snapshots could not be read, when the site serves them. */
  prepError?: string;
}

let loaded: Loaded | undefined;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function start(header: HTMLElement, main: HTMLElement): Promise<void> {
  renderHeader(header, main);
  main.replaceChildren(h('p', { role: 'status' }, t('loading')));
  try {
    const status = (await getJson('data/status.json')) as SiteStatus;
    const [site, trust, prep] = await Promise.all([
      status.record ? (getJson('data/site.json') as Promise<SiteData>) : undefined,
      status.trustSource === undefined ? undefined : (getJson('data/trust.json') as Promise<TrustFile>),
      status.snapshots ? loadPrep().catch((e: unknown) => message(e)) : undefined,
    ]);
    loaded = { status, site, trust, prep: typeof prep === 'string' ? undefined : prep, prepError: typeof prep === 'string' ? prep : undefined };
  } catch (e) {
    main.replaceChildren(h('p', { class: 'error', role: 'alert' }, t('loadFailed', { reason: message(e) })));
    return;
  }
  renderHeader(header, main);
  render(main);
}

function renderHeader(header: HTMLElement, main: HTMLElement): void {
  const switchLang = () => {
    toggleLang();
    renderHeader(header, main);
    render(main);
  };
  document.title = loaded?.site === undefined ? t('siteName') : `${loaded.site.title} · ${t('siteName')}`;
  const nav: [string, Key][] = [['turnout', 'navTurnout'], ['results', 'navResults'], ['receipt', 'navReceipt'], ['keys', 'navKeys'], ['record', 'navRecord']];
  if (loaded?.status.snapshots === true) nav.unshift(['prep', 'navPrep']);
  header.replaceChildren(
    h('a', { class: 'skip', href: '#main' }, t('skip')),
    h('div', { class: 'bar' }, h('span', { class: 'brand' }, t('siteName')), h('button', { class: 'lang', type: 'button', lang: other(), 'aria-label': t('langSwitchLabel'), onclick: switchLang }, t('langSwitch'))),
    h('nav', { 'aria-label': t('siteName') }, nav.map(([id, key]) => h('a', { href: `#${id}` }, t(key)))),
  );
}

function render(main: HTMLElement): void {
  if (loaded === undefined) return;
  const { site, trust, status, prep, prepError } = loaded;
  main.replaceChildren();
  const prepPart = prep !== undefined ? prepSection(prep, fig, pct) : prepError !== undefined ? h('p', { class: 'error', role: 'alert' }, t('prepFailed', { reason: prepError })) : null;
  if (site === undefined) {
    // Before the record: the election's published keys and, when served, PREP.
    append(main, [
      h('h1', {}, t('siteName')),
      h('p', { class: 'notice', 'data-testid': 'record-pending' }, t('recordPending')),
      prepPart,
      trust === undefined ? null : keysSection(trust, status),
    ]);
    return;
  }
  document.title = `${site.title} · ${t('siteName')}`;
  append(main, [
    h('h1', {}, site.title),
    h('p', { class: 'hint' }, t('electionId', { id: site.electionId, hash: `${site.manifestHash.slice(0, 16)}…` }), ' · ', t('exportedAt', { time: when(site.exportedAt) })),
    h('p', {}, code(t('intro'))),
    prepPart,
    turnoutSection(site),
    resultsSection(site),
    trust === undefined ? null : receiptSection(site, trust),
    trust === undefined ? null : keysSection(trust, status),
    recordSection(site),
  ]);
}

/** Renders `text` with its back-quoted parts as code. */
function code(text: string): (string | HTMLElement)[] {
  return text.split('`').map((part, i) => (i % 2 === 1 ? h('code', {}, part) : part));
}

function when(rfc3339: string): string {
  const d = new Date(rfc3339);
  return Number.isNaN(d.getTime()) ? rfc3339 : d.toLocaleString(lang() === 'es' ? 'es-MX' : 'en-US', { dateStyle: 'long', timeStyle: 'short' });
}

/** A figure: its number, linked to the record file it is read from, the pointers in the title. */
function fig(f: Figure, testid?: string): HTMLAnchorElement {
  const pointers = f.pointers.length > 4 ? `${f.pointers.slice(0, 4).join(' + ')} + … (${String(f.pointers.length)})` : f.pointers.join(' + ');
  return h('a', { class: 'fig', href: figureHref(f), title: t('sourceOf', { file: f.file, pointers }), 'data-file': f.file, 'data-pointers': f.pointers.join(' '), 'data-value': f.value, 'data-testid': testid }, num(f.value));
}

function pct(part: number, whole: number): string {
  const p = percent(part, whole);
  return p === undefined ? '—' : `${p.toLocaleString(lang() === 'es' ? 'es-MX' : 'en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} %`;
}

function turnoutSection(site: SiteData): HTMLElement {
  const tu = site.turnout;
  const stat = (label: string, value: HTMLElement | string, testid?: string) => h('div', { class: 'stat', 'data-testid': testid }, h('span', { class: 'stat-value' }, value), h('span', { class: 'stat-label' }, label));
  return h(
    'section',
    { id: 'turnout', 'aria-labelledby': 'turnout-h' },
    h('h2', { id: 'turnout-h' }, t('turnoutTitle')),
    h('div', { class: 'stats' }, stat(t('ballots'), fig(tu.ballots, 'turnout-ballots')), stat(t('census'), fig(tu.census, 'turnout-census')), stat(t('turnoutRate'), pct(tu.ballots.value, tu.census.value), 'turnout-rate')),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { 'data-testid': 'turnout-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('modality')), h('th', { scope: 'col', class: 'n' }, t('census')), h('th', { scope: 'col', class: 'n' }, t('rightsIssued')), h('th', { scope: 'col', class: 'n' }, t('ballots')), h('th', { scope: 'col', class: 'n' }, t('turnoutRate')))),
        h(
          'tbody',
          {},
          tu.byModality.map((m) => h('tr', { 'data-modality': m.modality }, h('th', { scope: 'row' }, modalityName(m.modality)), h('td', { class: 'n' }, fig(m.census)), h('td', { class: 'n' }, fig(m.rightsIssued)), h('td', { class: 'n' }, fig(m.ballots)), h('td', { class: 'n' }, pct(m.ballots.value, m.census.value)))),
          h('tr', { class: 'total' }, h('th', { scope: 'row' }, t('total')), h('td', { class: 'n' }, fig(tu.census)), h('td', { class: 'n' }, fig(tu.rightsIssued)), h('td', { class: 'n' }, fig(tu.ballots)), h('td', { class: 'n' }, pct(tu.ballots.value, tu.census.value))),
        ),
      ),
    ),
  );
}

function resultsSection(site: SiteData): HTMLElement {
  const section = h('section', { id: 'results', 'aria-labelledby': 'results-h' }, h('h2', { id: 'results-h' }, t('resultsTitle')));
  if (site.results === null) {
    append(section, [h('p', { class: 'notice', 'data-testid': 'results-pending' }, t('resultsPending'))]);
    return section;
  }
  append(section, [h('p', { class: 'hint' }, t('resultsTrustees', { trustees: site.results.trustees.join(', ') }))]);
  for (const c of site.results.contests) append(section, [contestBlock(site, c)]);
  return section;
}

function countsTable(caption: string, ballots: Figure, counts: SiteContest['counts'], testid?: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { 'data-testid': testid },
      h('caption', {}, caption, ' · ', fig(ballots), ' ', t('ballotsWord')),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('choice')), h('th', { scope: 'col', class: 'n' }, t('votes')), h('th', { scope: 'col', class: 'n' }, t('share')))),
      h('tbody', {}, counts.map((c) => h('tr', { 'data-choice': c.choice }, h('th', { scope: 'row' }, c.label), h('td', { class: 'n' }, fig(c.votes)), h('td', { class: 'n' }, pct(c.votes.value, ballots.value))))),
    ),
  );
}

function contestBlock(site: SiteData, c: SiteContest): HTMLElement {
  const districtName = (id: string) => site.districts.find((d) => d.id === id)?.name ?? id;
  const parts = (title: string, list: ContestPart[], name: (k: string) => string, kind: string) =>
    list.length === 0
      ? null
      : h('details', { class: 'parts', 'data-kind': kind }, h('summary', {}, title), list.map((p) => h('div', { 'data-key': p.key, class: 'part' }, countsTable(name(p.key), p.ballots, p.counts))));
  return h(
    'article',
    { class: 'contest', 'data-contest': c.contestId, 'aria-labelledby': `c-${c.contestId}` },
    h('h3', { id: `c-${c.contestId}` }, c.title),
    barChart(c.title, c.counts),
    countsTable(t('total'), c.ballots, c.counts, `contest-${c.contestId}`),
    parts(t('byDistrict'), c.byDistrict, districtName, 'district'),
    parts(t('byModality'), c.byModality, modalityName, 'modality'),
  );
}

function receiptSection(site: SiteData, trust: TrustFile): HTMLElement {
  const out = h('div', { class: 'receipt-result', role: 'status', 'aria-live': 'polite', 'data-testid': 'receipt-result' });
  const anon = h('input', { type: 'text', id: 'anon-id', name: 'anonId', autocomplete: 'off', spellcheck: 'false', inputmode: 'text', 'aria-describedby': 'anon-id-hint' });
  const index = h('input', { type: 'text', id: 'log-index', name: 'logIndex', inputmode: 'numeric', autocomplete: 'off' });
  const button = h('button', { class: 'primary', type: 'submit' }, t('check'));
  const say = (kind: 'ok' | 'err' | 'info', ...children: (string | HTMLElement)[]) => {
    out.className = `receipt-result ${kind}`;
    out.setAttribute('data-outcome', kind);
    out.replaceChildren(...children);
  };
  const onSubmit = async (ev: Event) => {
    ev.preventDefault();
    const a = anon.value.replace(/\s+/g, '').toLowerCase();
    const i = index.value.trim();
    if (!/^[0-9a-f]{64}$/.test(a)) {
      say('err', t('badAnonId'));
      return;
    }
    if (i !== '' && !/^(0|[1-9][0-9]*)$/.test(i)) {
      say('err', t('badIndex'));
      return;
    }
    if (site.log === null) {
      say('err', t('receiptNoLog'));
      return;
    }
    button.disabled = true;
    say('info', t('checking'));
    try {
      // The election's witnesses, when its trust file names them: their cosignatures of the record's checkpoint
      // are what `urna verify record --trust` requires.
      const witnesses = trust.witnesses !== undefined && trust.witnesses.witnesses.length > 0 ? trust.witnesses : undefined;
      say(...describe(await checkReceipt(recordLog, a, i === '' ? undefined : Number(i), trust.auditLog, witnesses)));
    } catch (e) {
      say('err', t('receiptBad', { reason: e instanceof Error ? e.message : String(e) }));
    } finally {
      button.disabled = false;
    }
  };
  return h(
    'section',
    { id: 'receipt', 'aria-labelledby': 'receipt-h' },
    h('h2', { id: 'receipt-h' }, t('receiptTitle')),
    h('p', {}, t('receiptIntro')),
    h(
      'form',
      { class: 'card', novalidate: true, onsubmit: (ev: Event) => void onSubmit(ev) },
      h('div', { class: 'field' }, h('label', { for: 'anon-id' }, t('anonId')), h('p', { class: 'hint', id: 'anon-id-hint' }, t('anonIdHint')), anon),
      h('div', { class: 'field' }, h('label', { for: 'log-index' }, t('logIndex')), index),
      button,
    ),
    out,
  );
}

/** The record's audit log as `urna site` serves it (the audit log's own API shape). */
const recordLog: LogSource = {
  checkpoint: () => getJson('v1/checkpoint'),
  inclusion: async (leaf: string, size: number) => {
    try {
      return await getJson(`v1/proof/inclusion?leaf_hash=${leaf}&size=${String(size)}`);
    } catch (e) {
      if (e instanceof FetchError) throw new LogAnswerError(e.code, e.message);
      throw e;
    }
  },
};

function describe(r: ReceiptCheck): ['ok' | 'err' | 'info', ...(string | HTMLElement)[]] {
  switch (r.kind) {
    case 'included':
      return ['ok', h('strong', {}, t('receiptOk', { index: r.index })), h('br'), t('receiptOkDetail', { size: num(r.checkpoint.size), origin: r.checkpoint.origin, time: new Date(r.checkpoint.timestamp * 1000).toLocaleString(lang() === 'es' ? 'es-MX' : 'en-US'), key: `${r.keyHex.slice(0, 16)}…` }),
        ...(r.witnesses === undefined ? [] : [witnessesLine(r.witnesses)])];
    case 'missing':
      return ['err', t('receiptMissing')];
    case 'pending':
      return ['info', t('receiptPending')];
    case 'wrongIndex':
      return ['err', t('receiptWrongIndex', { actual: r.actual, given: r.given })];
    case 'bad':
      return ['err', t('receiptBad', { reason: r.reason })];
  }
}

/** The witnesses' verdict on the record's checkpoint: short means the record does not meet its trust file. */
function witnessesLine(w: WitnessVerdict): HTMLElement {
  const vars = { signed: w.signed.length, declared: w.signed.length + w.missing.length, quorum: w.quorum, names: (w.met ? w.signed : w.missing).join(', ') };
  return h('p', { 'data-testid': 'receipt-witnesses', 'data-quorum': w.met ? 'met' : 'short' }, t(w.met ? 'receiptWitnessesMet' : 'receiptWitnessesShort', vars));
}

function keysSection(trust: TrustFile, status: SiteStatus): HTMLElement {
  const row = (label: string, value: string, testid: string) => h('div', { class: 'key-row' }, h('dt', {}, label), h('dd', {}, h('code', { 'data-testid': testid }, grouped(value))));
  const witnesses = trust.witnesses;
  return h(
    'section',
    { id: 'keys', 'aria-labelledby': 'keys-h' },
    h('h2', { id: 'keys-h' }, t('keysTitle')),
    h('p', {}, code(t('keysIntro'))),
    h('p', { class: status.trustSource === 'published' ? 'notice ok' : 'notice', 'data-testid': 'trust-source', 'data-source': status.trustSource }, t(status.trustSource === 'published' ? 'keysPublished' : 'keysFromRecord')),
    status.keysMatch === false ? h('p', { class: 'error', role: 'alert', 'data-testid': 'keys-mismatch' }, t('keysMismatch', { reason: status.keysMismatch ?? '' })) : null,
    h(
      'dl',
      { class: 'keys' },
      row(t('thresholdKey'), trust.thresholdKey, 'key-threshold'),
      row(t('auditLogKey', { origin: trust.auditLog.origin }), trust.auditLog.publicKey, 'key-audit'),
      trust.votingRightKeys.map((k, i) => row(t('votingRightKey', { modality: modalityName(k.modality) }), k.fingerprint, `key-right-${String(i)}`)),
      witnesses === undefined ? null : witnesses.witnesses.map((w, i) => row(`${t('witnesses', { quorum: witnesses.quorum })}: ${w.name}`, w.publicKey, `key-witness-${String(i)}`)),
    ),
    h('p', {}, h('a', { class: 'button secondary', href: 'data/trust.json', download: 'trust.json' }, t('downloadTrust'))),
  );
}

export function size(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? String(v) : v.toFixed(1)} ${units[u] ?? 'B'}`;
}

function recordSection(site: SiteData): HTMLElement {
  return h(
    'section',
    { id: 'record', 'aria-labelledby': 'record-h' },
    h('h2', { id: 'record-h' }, t('recordTitle')),
    h('p', {}, t('recordIntro')),
    h('pre', {}, h('code', {}, 'urna verify record DIR --trust trust.json')),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'files', 'data-testid': 'record-files' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('file')), h('th', { scope: 'col', class: 'n' }, t('size')), h('th', { scope: 'col' }, t('sha256')))),
        h('tbody', {}, site.files.map((f) => h('tr', {}, h('th', { scope: 'row' }, h('a', { href: `record/${f.path}`, download: f.path.replaceAll('/', '_') }, f.path)), h('td', { class: 'n' }, size(f.bytes)), h('td', {}, h('code', { class: 'hash', title: f.sha256 }, `${f.sha256.slice(0, 16)}…`))))),
      ),
    ),
  );
}
