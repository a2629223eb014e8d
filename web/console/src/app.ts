/**
 * The mesa console: sign-in with the mesa id and its console token, then the mesa's figures and booths
 * (polled every few seconds), admitting a voter, and the actas: the constitution (members present) and, once
 * voting has closed, the participants and audit codes actas that close the mesa, and the results acta (the
 * votes per choice of each contest on the district's ballot, as the members counted them). An acta is drafted
 * here from the figures the service gives (or, for the results, the members enter), each member signs it in
 * turn with their own key file, and it is submitted; every check (token, census, one right per voter,
 * signatures, quorum, figures) is the service's, and the page makes the results' checks first too.
 */

import { draft, KeyFileError, loadKey, missingQuorum, sign, digest, toHex, type ActaBody, type ActaKind, type SignedActa } from './acta.js';
import { api, ApiError, type MesaActas } from './api.js';
import type { ElectionManifest } from '@urna/crypto/manifest';
import { ballotOf, type BallotContest, choiceName, parseCount, resultsBody, type ResultsEntry, type ResultsProblem, total } from './results.js';
import { h, show } from '@urna/ui/dom';
import { DICTS, lang, t, toggleLang, type Key } from './i18n.js';

const SESSION_KEY = 'urna.console';
const POLL_MS = 3000;
const KINDS: readonly ActaKind[] = ['constitution', 'participants', 'auditCodes', 'results'];

interface Session {
  mesa: string;
  token: string;
  facts: MesaActas;
  live: boolean;
  draft: SignedActa | null;
  draftSha: string;
  /** The election's manifest (`GET /v1/election`), for the results acta; null until it is read. */
  manifest: ElectionManifest | null;
  /** The results as typed so far, kept across re-renders (a poll, the language switch). */
  results: ResultsEntry | null;
}

let header: HTMLElement;
let main: HTMLElement;
let session: Session | null = null;
let timer: ReturnType<typeof setInterval> | null = null;

/** What the API said, for the person at the console; anything else is a fault of the page and is thrown. */
function apiMessage(e: unknown): string {
  if (e instanceof ApiError) {
    // The refusals a mesa meets every day, in its language; the service's own words follow for the rest.
    const known = `code_${e.code}`;
    return known in DICTS.en ? t(known as Key) : t('refused', { message: e.message });
  }
  if (e instanceof TypeError) return t('unreachable');
  throw e;
}

function say(id: string, text: string, ok = false): void {
  const el = document.getElementById(id);
  if (!el) return;
  el.className = ok ? 'message ok' : 'message error';
  el.textContent = text;
}

function renderHeader(): void {
  const s = session;
  header.replaceChildren(
    h('a', { class: 'skip', href: '#admit' }, t('skip')),
    h('div', { class: 'bar' },
      h('span', { class: 'brand' }, t('appName')),
      s ? h('span', {}, t('mesaOf', { mesa: s.mesa, district: s.facts.district })) : null,
      s ? h('span', { class: s.live ? 'live on' : 'live off', role: 'status' }, s.live ? t('live') : t('reconnecting')) : null,
      h('span', { class: 'tools' },
        h('button', {
          class: 'lang', type: 'button', 'aria-label': t('langSwitchLabel'),
          onclick: () => {
            toggleLang();
            if (session) consolePage(); else signInPage();
          },
        }, t('langSwitch')),
        s ? h('button', { class: 'lang', type: 'button', onclick: signOut }, t('signOut')) : null,
      ),
    ),
  );
}

export function start(headerEl: HTMLElement, mainEl: HTMLElement): void {
  header = headerEl;
  main = mainEl;
  const saved = sessionStorage.getItem(SESSION_KEY);
  if (saved !== null) {
    const { mesa, token } = JSON.parse(saved) as { mesa: string; token: string };
    void signIn(mesa, token);
  } else {
    signInPage();
  }
}

function signInPage(error = '', mesa = ''): void {
  renderHeader();
  const mesaInput = h('input', { id: 'mesa', type: 'text', autocomplete: 'username', required: true, value: mesa, spellcheck: 'false' });
  const tokenInput = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': error ? 'signin-error' : null });
  const form = h('form', {
    class: 'card signin',
    onsubmit: (e: Event) => {
      e.preventDefault();
      void signIn(mesaInput.value.trim(), tokenInput.value.trim());
    },
  },
  h('div', { class: 'field' }, h('label', { for: 'mesa' }, t('mesaId')), mesaInput),
  h('div', { class: 'field' }, h('label', { for: 'token' }, t('token')), tokenInput),
  error ? h('p', { class: 'error', id: 'signin-error', role: 'alert' }, error) : null,
  h('button', { class: 'primary', type: 'submit' }, t('signIn')));
  show(main, h('h1', {}, t('signInTitle')), h('p', {}, t('signInIntro')), form);
}

async function signIn(mesa: string, token: string): Promise<void> {
  let facts: MesaActas;
  try {
    facts = await api.mesa(mesa, token);
  } catch (e) {
    sessionStorage.removeItem(SESSION_KEY);
    signInPage(e instanceof ApiError && e.status === 401 ? t('badToken') : apiMessage(e), mesa);
    return;
  }
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ mesa, token }));
  session = { mesa, token, facts, live: true, draft: null, draftSha: '', manifest: null, results: null };
  consolePage();
  void loadManifest();
  if (timer !== null) clearInterval(timer);
  timer = setInterval(() => { void refresh(); }, POLL_MS);
}

/** Reads the manifest once; a failure is shown in the results section and the next poll tries again. */
async function loadManifest(): Promise<void> {
  const s = session;
  if (!s || s.manifest) return;
  try {
    const info = await api.election();
    if (session === s) s.manifest = info.manifest;
  } catch {
    return;
  }
  renderResults();
}

function signOut(): void {
  if (timer !== null) clearInterval(timer);
  timer = null;
  session = null;
  sessionStorage.removeItem(SESSION_KEY);
  signInPage();
}

async function refresh(): Promise<void> {
  const s = session;
  if (!s) return;
  try {
    s.facts = await api.mesa(s.mesa, s.token);
    if (!s.live) { s.live = true; renderHeader(); }
  } catch {
    // Shown as "reconnecting" in the header; the next poll tries again.
    if (s.live) { s.live = false; renderHeader(); }
    return;
  }
  renderFigures();
  renderActas();
  renderClose();
  if (s.manifest === null) void loadManifest();
  renderResults();
  if (accepted('constitution') && document.getElementById('constituted') === null) renderConstitute();
}

function section(id: string, title: Key, ...children: (Node | null)[]): HTMLElement {
  return h('section', { id, class: 'card', 'aria-labelledby': `${id}-h` }, h('h2', { id: `${id}-h` }, t(title)), ...children);
}

function consolePage(): void {
  renderHeader();
  show(main,
    h('h1', { class: 'visually-hidden' }, t('appName')),
    h('div', { class: 'layout' },
      h('div', { class: 'col' },
        section('admit', 'admitTitle', admitForm()),
        section('figures', 'figuresTitle', h('div', { id: 'figures-body' })),
      ),
      h('div', { class: 'col' },
        section('actas', 'actasTitle', h('ul', { id: 'actas-list', class: 'actas' }),
          h('p', { id: 'actas-message', class: 'message', role: 'status', 'aria-live': 'polite' })),
        h('div', { id: 'draft-panel' }),
        section('constitute', 'constituteTitle', h('div', { id: 'constitute-body' })),
        section('close', 'closeTitle', h('div', { id: 'close-body' })),
        section('results', 'resultsTitle', h('div', { id: 'results-body' })),
      ),
    ),
  );
  renderFigures();
  renderActas();
  renderConstitute();
  renderClose();
  renderResults();
  renderDraft();
}

function admitForm(): HTMLElement {
  const input = h('input', { id: 'voter', type: 'text', inputmode: 'text', autocomplete: 'off', spellcheck: 'false', required: true, class: 'mono', 'aria-describedby': 'admit-intro admit-message' });
  return h('form', {
    onsubmit: (e: Event) => {
      e.preventDefault();
      void admit(input);
    },
  },
  h('p', { id: 'admit-intro', class: 'hint' }, t('admitIntro')),
  h('div', { class: 'field' }, h('label', { for: 'voter' }, t('voterId')), input),
  h('button', { class: 'primary', type: 'submit' }, t('admit')),
  h('p', { id: 'admit-message', class: 'message', role: 'status', 'aria-live': 'polite' }));
}

async function admit(input: HTMLInputElement): Promise<void> {
  const s = session;
  if (!s) return;
  try {
    const a = await api.admit(s.mesa, s.token, input.value.trim().toLowerCase());
    say('admit-message', a.status === 'admitted' ? t('admittedOk', { n: a.admitted }) : t('alreadyAdmitted'), true);
    input.value = '';
    await refresh();
  } catch (e) {
    say('admit-message', apiMessage(e));
  }
  input.focus();
}

function renderFigures(): void {
  const s = session;
  const el = document.getElementById('figures-body');
  if (!s || !el) return;
  const f = s.facts;
  const fact = (label: Key, value: string | number, id: string) => [h('dt', {}, t(label)), h('dd', { id }, String(value))];
  el.replaceChildren(
    h('dl', { class: 'facts' },
      fact('admitted', f.admissions, 'fig-admitted'),
      fact('ballotsCast', f.boothBallots, 'fig-ballots'),
      fact('waiting', Math.max(0, f.admissions - f.boothBallots), 'fig-waiting'),
      fact('stateLabel', f.closed ? t('closed') : t('open'), 'fig-state'),
    ),
    h('h3', {}, t('boothsTitle')),
    f.booths.length === 0 ? h('p', { class: 'hint' }, t('noBooths'))
      : h('table', { id: 'booths' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('booth')), h('th', { scope: 'col', class: 'num' }, t('boothBallots')))),
        h('tbody', {}, f.booths.map((b) => h('tr', { 'data-booth': b.id }, h('td', {}, b.id), h('td', { class: 'num' }, String(b.ballots)))))),
  );
}

function renderActas(): void {
  const s = session;
  const el = document.getElementById('actas-list');
  if (!s || !el) return;
  el.replaceChildren(...KINDS.map((kind) => {
    const a = s.facts.actas.find((x) => x.kind === kind);
    return h('li', { 'data-kind': kind, class: a ? 'accepted' : 'pending' },
      h('strong', {}, t(`kind_${kind}`)), ': ',
      a ? [t('actaAccepted', { signers: a.signers.join(', '), sha: a.sha256.slice(0, 16) }), ' · ',
        a.logIndex === undefined ? t('actaNotLogged') : t('actaLogged', { index: a.logIndex })]
        : t('actaPending'));
  }));
}

function accepted(kind: ActaKind): boolean {
  return session?.facts.actas.some((a) => a.kind === kind) ?? false;
}

function renderConstitute(): void {
  const s = session;
  const el = document.getElementById('constitute-body');
  if (!s || !el) return;
  const done = s.facts.actas.find((a) => a.kind === 'constitution');
  if (done) {
    el.replaceChildren(h('p', { class: 'message ok', id: 'constituted' }, t('constituted', { at: done.signedAt, signers: done.signers.join(', ') })));
    return;
  }
  const boxes = s.facts.members.map((m) => h('input', { type: 'checkbox', id: `present-${m.id}`, value: m.id }));
  el.replaceChildren(
    h('p', { class: 'hint' }, t('constituteIntro')),
    h('fieldset', {},
      h('legend', {}, t('membersPresent')),
      s.facts.members.map((m, i) => h('div', { class: 'check' }, boxes[i] ?? null,
        h('label', { for: `present-${m.id}` }, `${m.id} (${t(`role_${m.role}`)})`)))),
    h('button', {
      class: 'secondary', type: 'button', id: 'draft-constitution', disabled: accepted('constitution'),
      onclick: () => {
        const present = boxes.filter((b) => b.checked).map((b) => b.value);
        if (present.length === 0) { say('constitute-message', t('nobodyPresent')); return; }
        say('constitute-message', '');
        void startDraft({ kind: 'constitution', membersPresent: present });
      },
    }, t('draftConstitution')),
    h('p', { id: 'constitute-message', class: 'message', role: 'status' }),
  );
}

function renderClose(): void {
  const s = session;
  const el = document.getElementById('close-body');
  if (!s || !el) return;
  const f = s.facts;
  // Rebuilt only when what it shows changes, so a poll never replaces a button being pressed.
  const state = `${lang()}|${String(f.closed)}|${f.actas.map((a) => a.kind).join(',')}|${String(f.admissions)}|${String(f.auditCodes.length)}`;
  if (el.dataset.state === state) return;
  el.dataset.state = state;
  if (accepted('participants') && accepted('auditCodes')) {
    el.replaceChildren(h('p', { class: 'message ok', id: 'mesa-closed' }, t('mesaClosed')));
    return;
  }
  el.replaceChildren(
    h('p', { class: 'hint' }, t('closeIntro')),
    ...(f.closed ? [] : [h('p', { class: 'notice', id: 'close-not-yet' }, t('closeNotYet'))]),
    h('div', { class: 'buttons' },
      h('button', {
        class: 'secondary', type: 'button', id: 'draft-participants', disabled: !f.closed || accepted('participants'),
        onclick: () => { void startDraft({ kind: 'participants', voted: f.admissions }); },
      }, t('draftParticipants')),
      h('button', {
        class: 'secondary', type: 'button', id: 'draft-auditCodes', disabled: !f.closed || accepted('auditCodes'),
        onclick: () => { void startDraft({ kind: 'auditCodes', codes: f.auditCodes }); },
      }, t('draftAuditCodes')),
    ),
  );
}

/** A choice's label: the manifest's names as given, or the page's word for blank, null and write-in. */
function choiceLabel(b: BallotContest, choiceId: string): string {
  const c = b.choices.find((x) => x.id === choiceId);
  if (!c) return choiceId;
  const n = choiceName(b.contest, c);
  return 'text' in n ? n.text : t(`choice_${n.special}`);
}

function problemText(ballot: readonly BallotContest[], p: ResultsProblem): string {
  const contest = (id: string) => ballot.find((b) => b.contest.id === id);
  const title = (id: string) => contest(id)?.contest.title ?? id;
  switch (p.kind) {
    case 'ballots': return t('r_ballots');
    case 'votes': {
      const b = contest(p.contest);
      return t('r_votes', { contest: title(p.contest), choices: p.choices.map((c) => (b ? choiceLabel(b, c) : c)).join(', ') });
    }
    case 'tooMany': {
      const max = (BigInt(p.ballots) * BigInt(p.most)).toString();
      return t(p.most > 1 ? 'r_tooManyMulti' : 'r_tooMany', { contest: title(p.contest), sum: p.sum, ballots: p.ballots, most: p.most, max });
    }
    case 'booths': return t('r_booths', { ballots: p.ballots, recorded: p.recorded });
    case 'paper': return t('r_paper', { ballots: p.ballots, admissions: p.admissions });
  }
}

/**
 * The results section: after the close, the source, the ballots counted and a field per choice of each
 * contest on the district's ballot; checked here as the service will check it, then drafted for signing.
 */
function renderResults(): void {
  const s = session;
  const el = document.getElementById('results-body');
  if (!s || !el) return;
  const f = s.facts;
  const done = f.actas.find((a) => a.kind === 'results');
  // Rebuilt only when what it shows changes: the figures typed are kept in s.results, a poll leaves the form be.
  const state = `${lang()}|${String(f.closed)}|${done ? 'done' : ''}|${s.manifest ? 'manifest' : ''}|${String(f.boothBallots)}|${String(f.admissions)}`;
  if (el.dataset.state === state) return;
  el.dataset.state = state;
  if (done) {
    el.replaceChildren(h('p', { class: 'message ok', id: 'results-done' }, t('resultsDone', { at: done.signedAt, signers: done.signers.join(', ') })));
    return;
  }
  if (!f.closed) {
    el.replaceChildren(h('p', { class: 'hint' }, t('resultsIntro')), h('p', { class: 'notice', id: 'results-not-yet' }, t('resultsNotYet')));
    return;
  }
  if (!s.manifest) {
    el.replaceChildren(h('p', { class: 'notice', id: 'results-no-manifest' }, t('noManifest')));
    return;
  }
  let ballot: BallotContest[];
  try {
    ballot = ballotOf(s.manifest, f.district);
  } catch {
    el.replaceChildren(h('p', { class: 'message error' }, t('noBallot', { district: f.district })));
    return;
  }
  const entry = s.results ??= { source: 'booths', ballots: String(f.boothBallots), votes: {} };

  const ballotsInput = h('input', {
    id: 'results-ballots', type: 'text', inputmode: 'numeric', autocomplete: 'off', class: 'count-input', value: entry.ballots,
    'aria-describedby': 'results-ballots-hint',
    oninput: () => { entry.ballots = ballotsInput.value; totals(); },
  });
  const ballotsHint = h('p', { class: 'hint', id: 'results-ballots-hint' });
  const sayHint = () => {
    ballotsHint.textContent = entry.source === 'booths' ? t('ballotsBooths', { n: f.boothBallots }) : t('ballotsPaper', { n: f.admissions });
  };
  sayHint();
  const radio = (source: 'booths' | 'paper') => h('div', { class: 'check' },
    h('input', {
      type: 'radio', name: 'results-source', id: `source-${source}`, value: source, checked: entry.source === source,
      onchange: () => {
        // The booth count's ballots are the service's figure; a hand count starts empty, to be typed.
        if (source === 'paper' && entry.ballots === String(f.boothBallots)) entry.ballots = '';
        if (source === 'booths' && entry.ballots.trim() === '') entry.ballots = String(f.boothBallots);
        entry.source = source;
        ballotsInput.value = entry.ballots;
        sayHint();
        totals();
      },
    }),
    h('label', { for: `source-${source}` }, t(`source_${source}`)));

  const totalEls: HTMLElement[] = [];
  const totals = () => {
    const n = parseCount(entry.ballots);
    ballot.forEach((b, i) => {
      const typed = entry.votes[b.contest.id] ?? {};
      const sum = total(b.choices.map((c) => ({ votes: parseCount(typed[c.id]) ?? 0 })));
      const el = totalEls[i];
      if (!el) return;
      const max = n === null ? null : BigInt(n) * BigInt(b.most);
      el.textContent = max === null ? t('contestTotal', { sum: sum.toString() }) : t('contestTotalMax', { sum: sum.toString(), max: max.toString() });
      el.classList.toggle('over', max !== null && sum > max);
    });
  };
  const contests = ballot.map((b, ci) => {
    const typed = entry.votes[b.contest.id] ??= {};
    totalEls[ci] = h('p', { class: 'total', id: `results-total-${String(ci)}` });
    return h('fieldset', { class: 'contest', 'data-contest': b.contest.id },
      h('legend', {}, b.contest.title),
      b.most > 1 ? h('p', { class: 'hint' }, t('contestMost', { n: b.most })) : null,
      b.choices.map((c, i) => {
        const id = `votes-${String(ci)}-${String(i)}`;
        const input = h('input', {
          id, type: 'text', inputmode: 'numeric', autocomplete: 'off', class: 'count-input', value: typed[c.id] ?? '', 'data-choice': c.id,
          oninput: () => { typed[c.id] = input.value; input.removeAttribute('aria-invalid'); totals(); },
        });
        return h('div', { class: 'count' }, h('label', { for: id }, choiceLabel(b, c.id)), input);
      }),
      totalEls[ci]);
  });
  totals();

  const problems = h('div', { id: 'results-problems', class: 'problems', role: 'alert' });
  el.replaceChildren(h('form', {
    id: 'results-form', novalidate: true,
    onsubmit: (e: Event) => {
      e.preventDefault();
      const r = resultsBody(ballot, entry, f);
      el.querySelectorAll('[aria-invalid]').forEach((x) => { x.removeAttribute('aria-invalid'); });
      if ('problems' in r) {
        problems.replaceChildren(h('p', {}, t('resultsProblems')), h('ul', {}, r.problems.map((p) => h('li', {}, problemText(ballot, p)))));
        for (const p of r.problems) {
          const bad = p.kind === 'votes'
            ? p.choices.map((c) => el.querySelector(`[data-contest="${CSS.escape(p.contest)}"] input[data-choice="${CSS.escape(c)}"]`))
            : p.kind === 'tooMany' ? [] : [ballotsInput];
          for (const x of bad) x?.setAttribute('aria-invalid', 'true');
        }
        return;
      }
      problems.replaceChildren();
      void startDraft(r.body, 'results-message');
    },
  },
  h('p', { class: 'hint' }, t('resultsIntro')),
  h('fieldset', {}, h('legend', {}, t('sourceLegend')), radio('booths'), radio('paper')),
  h('div', { class: 'field' }, h('label', { for: 'results-ballots' }, t('ballotsCounted')), ballotsInput, ballotsHint),
  contests,
  problems,
  h('button', { class: 'secondary', type: 'submit', id: 'draft-results' }, t('draftResults')),
  h('p', { id: 'results-message', class: 'message', role: 'status' })));
}

/** What a results draft says, for the members to read before they sign it. */
function resultsSummary(body: ActaBody): HTMLElement | null {
  const s = session;
  if (body.kind !== 'results' || !s?.manifest) return null;
  let ballot: BallotContest[];
  try {
    ballot = ballotOf(s.manifest, s.facts.district);
  } catch {
    return null;
  }
  return h('div', { id: 'draft-summary', class: 'summary' },
    h('p', {}, t('summaryBallots', { n: body.ballots, source: t(`source_${body.source}`) })),
    body.contests.map((c) => {
      const b = ballot.find((x) => x.contest.id === c.contest);
      return h('table', {},
        h('caption', {}, b?.contest.title ?? c.contest),
        h('tbody', {}, c.counts.map((x) => h('tr', {}, h('th', { scope: 'row' }, b ? choiceLabel(b, x.choice) : x.choice), h('td', { class: 'num' }, String(x.votes))))));
    }));
}

/** Opens `body` as the draft to sign; `messageId`: where to say that this browser cannot sign. */
async function startDraft(body: ActaBody, messageId = 'constitute-message'): Promise<void> {
  const s = session;
  if (!s) return;
  if (typeof crypto === 'undefined' || typeof crypto.subtle === 'undefined') {
    say(messageId, t('noCrypto'));
    return;
  }
  const doc = draft(s.facts.electionId, s.mesa, new Date(), body);
  s.draft = { document: doc, signatures: [] };
  s.draftSha = toHex(await digest(doc));
  renderDraft();
  document.getElementById('draft-h')?.focus();
}

function renderDraft(): void {
  const s = session;
  const el = document.getElementById('draft-panel');
  if (!s || !el) return;
  const d = s.draft;
  if (!d) { el.replaceChildren(); return; }
  const members = s.facts.members;
  const signers = d.signatures.map((x) => x.member);
  const missing = missingQuorum(signers, members);
  const select = h('select', { id: 'signer' }, members.map((m) => h('option', { value: m.id }, `${m.id} (${t(`role_${m.role}`)})`)));
  const file = h('input', { id: 'key-file', type: 'file' });
  el.replaceChildren(h('section', { id: 'draft', class: 'card draft', 'aria-labelledby': 'draft-h' },
    h('h2', { id: 'draft-h', tabindex: -1 }, t('draftTitle', { kind: t(`kind_${d.document.body.kind}`) })),
    h('p', { class: 'mono' }, t('draftFacts', { at: d.document.signedAt, sha: s.draftSha })),
    resultsSummary(d.document.body),
    h('p', { id: 'draft-signatures' }, signers.length === 0 ? t('noSignatures') : t('signatures', { list: signers.join(', ') })),
    h('p', { class: missing ? 'notice' : 'message ok' }, missing === 'president' ? t('needPresident') : missing === 'second' ? t('needSecond') : t('quorumOk')),
    h('div', { class: 'field' }, h('label', { for: 'signer' }, t('signer')), select),
    h('div', { class: 'field' }, h('label', { for: 'key-file' }, t('keyFile')), file),
    h('div', { class: 'buttons' },
      h('button', { class: 'secondary', type: 'button', id: 'sign', onclick: () => { void signDraft(select.value, file); } }, t('sign')),
      h('button', { class: 'primary', type: 'button', id: 'submit-acta', onclick: () => { void submitDraft(); } }, t('submit')),
      h('button', { class: 'link', type: 'button', onclick: () => { s.draft = null; renderDraft(); } }, t('discard')),
    ),
    h('p', { id: 'draft-message', class: 'message', role: 'status', 'aria-live': 'polite' }),
  ));
}

async function signDraft(member: string, file: HTMLInputElement): Promise<void> {
  const s = session;
  const f = file.files?.[0];
  if (!s?.draft) return;
  if (!f) { say('draft-message', t('noKey')); return; }
  let key;
  try {
    key = await loadKey(await f.text());
  } catch (e) {
    if (e instanceof KeyFileError) { say('draft-message', t('badKey')); return; }
    // An Ed25519 WebCrypto the browser lacks, or a key it refuses.
    say('draft-message', e instanceof DOMException && e.name === 'NotSupportedError' ? t('noCrypto') : t('badKey'));
    return;
  }
  // A key that is not this member's would make the service refuse the whole acta: say so now.
  const known = s.facts.members.find((m) => m.id === member);
  if (known?.publicKey !== key.publicKey) { say('draft-message', t('wrongKey', { member })); return; }
  s.draft = await sign(s.draft, member, key);
  renderDraft();
  say('draft-message', t('signedBy', { member }), true);
}

async function submitDraft(): Promise<void> {
  const s = session;
  if (!s?.draft) return;
  try {
    const status = await api.submitActa(s.mesa, s.token, s.draft);
    s.draft = null;
    renderDraft();
    await refresh();
    renderConstitute();
    say('actas-message', t('submitted', { sha: status.sha256 }), true);
  } catch (e) {
    say('draft-message', apiMessage(e));
  }
}
