/**
 * The voter app's screens: sign in → ballot → review → encrypt → cast (or challenge) → receipt, and the two
 * check pages (a challenged ballot, a receipt) that any device can open. Routing is by the URL's hash so the
 * vote service serves one page; every screen change moves focus to its heading.
 */

import { BallotCodec, type Contest, type ContestNonces, type EncryptedBallot, type Selection, PublicKey, ballotHash, bytesToHex, checkChallenge, type ChallengeReport, makeChallenge, Precomputer } from '@urna/crypto';
import { type RsaPublicKey, rsaPublicKeyFromSpkiHex } from '@urna/crypto/blind';
import { sha256 } from '@noble/hashes/sha2.js';
import { api, ApiError, type ElectionInfo, type Receipt } from './api.js';
import { check, type Checked, coalitionOf, emptyMarks, isSpecial, markName, type Marks, maxMarks, minMarks, toggle } from './ballot.js';
import { finishCast, loadPending, type PendingCast, startCast, type Step } from './cast.js';
import { download, grouped, h, show } from '@urna/ui/dom';
import { type Key, lang, other, t, toggleLang } from './i18n.js';
import { checkReceipt, LogAnswerError, type WitnessVerdict } from '@urna/crypto/log';

interface Election {
  info: ElectionInfo;
  codec: BallotCodec;
  blindKey: RsaPublicKey;
}

interface Session {
  voterId: string;
  token: string;
  ballotStyle: string;
  rightIssued: boolean;
}

interface Encrypted {
  ballot: EncryptedBallot;
  nonces: ContestNonces[];
  selections: Selection[];
  hash: string;
}

interface State {
  election?: Election;
  loadError?: string;
  session?: Session;
  marks?: Marks;
  pre?: Precomputer;
  encrypted?: Encrypted;
  pending?: PendingCast;
  receipt?: Receipt;
  /** The last challenge made on this device, for the challenge page. */
  challenge?: { json: string; report: ChallengeReport };
  screen: 'signIn' | 'ballot' | 'review' | 'encrypted' | 'casting' | 'receipt' | 'challenged';
  message?: { kind: 'error' | 'info'; text: string };
}

const state: State = { screen: 'signIn' };
let main: HTMLElement;
/**
 * Settles once the election info has loaded or failed to. The receipt check waits for it: whatever the log
 * answers before then would be checked without the key and witnesses the election publishes.
 */
let electionLoaded: Promise<void> = Promise.resolve();

/** The voter id as the census holds it: 64 hex digits as given, anything else hashed (SHA-256 of its UTF-8). */
export function normalizeVoterId(input: string): string {
  const s = input.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return s.toLowerCase();
  return bytesToHex(sha256(new TextEncoder().encode(s)));
}

/** Credentials are issued as hex: spaces, dashes and case do not matter in them; others are taken as typed. */
export function normalizeCredential(input: string): string {
  const stripped = input.replace(/[\s-]/g, '');
  return /^[0-9a-fA-F]+$/.test(stripped) ? stripped.toLowerCase() : input.trim();
}

/** The service's refusals of the ballot itself: retrying the same package can never succeed. */
const REFUSED_BALLOT = ['invalid_ballot', 'invalid_signature', 'prepared_message_mismatch', 'wrong_ballot_style', 'wrong_modality', 'ciphertext_reused'];

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    const byCode: Record<string, Key> = {
      network: 'errNetwork',
      invalid_credentials: 'errInvalidCredentials',
      right_already_issued: 'errRightIssued',
      signature_used: 'errSignatureUsed',
      election_closed: 'errClosed',
      election_not_open: 'errNotOpen',
      unauthorized: 'errUnauthorized',
      rate_limited: 'errRateLimited',
      unavailable: 'errUnavailable',
      no_shard: 'errUnavailable',
      shard_rejected: 'errUnavailable',
      upstream_error: 'errUnavailable',
    };
    const k = byCode[e.code];
    if (k !== undefined) return t(k);
    if (REFUSED_BALLOT.includes(e.code)) return t('errInvalidBallot', { detail: e.message });
    if (e.status >= 500) return t('errUnavailable');
    return t('errOther', { detail: `${e.code}: ${e.message}` });
  }
  return t('errOther', { detail: e instanceof Error ? e.message : String(e) });
}

function alert(kind: 'error' | 'info', text: string): HTMLElement {
  return h('p', { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

function messageBox(): HTMLElement | null {
  const m = state.message;
  state.message = undefined;
  return m === undefined ? null : alert(m.kind, m.text);
}

function field(id: string, label: string, hint: string, input: HTMLInputElement): HTMLElement {
  input.id = id;
  input.setAttribute('aria-describedby', `${id}-hint`);
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('p', { class: 'hint', id: `${id}-hint` }, hint), input);
}

// ---------------------------------------------------------------------------------------------- vote flow

function renderVote(): void {
  const e = state.election;
  if (e === undefined) {
    show(main, h('h1', {}, t('navVote')), state.loadError === undefined ? h('p', { role: 'status' }, t('loading')) : alert('error', state.loadError));
    return;
  }
  if (e.info.closed && state.screen !== 'receipt') {
    show(main, h('h1', {}, e.info.manifest.title), alert('info', t('closedBanner')), h('p', {}, h('a', { href: '#/receipt' }, t('navReceipt'))));
    return;
  }
  const screens: Record<State['screen'], (e: Election) => void> = {
    signIn: renderSignIn, ballot: renderBallot, review: renderReview, encrypted: renderEncrypted,
    casting: renderCasting, receipt: renderReceipt, challenged: renderChallenged,
  };
  screens[state.screen](e);
}

function renderSignIn(e: Election): void {
  const voterId = h('input', { type: 'text', name: 'voterId', autocomplete: 'username', required: true, spellcheck: 'false', autocapitalize: 'none' });
  const credential = h('input', { type: 'password', name: 'credential', autocomplete: 'current-password', required: true, spellcheck: 'false', autocapitalize: 'none' });
  const status = h('p', { role: 'status', class: 'status' });
  const button = h('button', { type: 'submit', class: 'primary' }, t('signIn'));
  const form = h('form', { class: 'card', novalidate: true },
    field('voter-id', t('voterId'), t('voterIdHint'), voterId),
    field('credential', t('credential'), t('credentialHint'), credential),
    button, status);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    button.disabled = true;
    status.textContent = t('signingIn');
    void signIn(e, normalizeVoterId(voterId.value), normalizeCredential(credential.value)).catch((err: unknown) => {
      button.disabled = false;
      status.textContent = '';
      status.replaceWith(alert('error', errorText(err)));
    });
  });
  show(main, h('h1', {}, t('signInTitle')), h('p', { class: 'election-title' }, e.info.manifest.title), messageBox(), h('p', {}, t('signInIntro')), form);
}

async function signIn(e: Election, voterId: string, credential: string): Promise<void> {
  const s = await api.session(voterId, credential, e.info.partitions);
  const before = state.session;
  state.session = { voterId, token: s.token, ballotStyle: s.ballotStyle, rightIssued: s.rightIssued };
  const pending = loadPending(localStorage, e.info.electionId, voterId);
  if (pending !== undefined) {
    // A cast that did not finish (network failure, reload, expired session): finish it, never start another.
    state.pending = pending;
    state.screen = 'casting';
    await runCast(e);
    return;
  }
  if (s.rightIssued) {
    state.message = { kind: 'error', text: t('errRightIssuedElsewhere') };
    state.session = undefined;
    renderVote();
    return;
  }
  if (before?.voterId === voterId && state.encrypted !== undefined) {
    state.screen = 'encrypted';
  } else {
    state.marks = emptyMarks(e.codec.styleContests(s.ballotStyle).map((c) => c.contest));
    state.encrypted = undefined;
    state.screen = 'ballot';
    startPrecompute(e);
  }
  renderVote();
}

/** Starts computing the ballot's nonces in Web Workers while the voter reads the ballot. */
function startPrecompute(e: Election): void {
  const style = state.session?.ballotStyle;
  if (style === undefined) return;
  state.pre?.stop();
  state.pre = Precomputer.start(e.codec.publicKey, e.codec.noncesNeeded(style));
}

function precomputeProgress(): HTMLElement | null {
  const pre = state.pre;
  if (pre === undefined) return null;
  const bar = h('progress', { id: 'precompute', max: 1, value: 0 });
  const label = h('label', { for: 'precompute' }, t('precomputing'));
  const wrap = h('div', { class: 'precompute' }, label, bar);
  const tick = (): void => {
    if (!wrap.isConnected) return;
    const p = pre.progress();
    bar.max = Math.max(1, p.total);
    bar.value = p.done;
    if (p.done >= p.total) {
      label.textContent = t('precomputeDone');
      wrap.dataset.done = 'true';
      return;
    }
    setTimeout(tick, 250);
  };
  setTimeout(tick, 0);
  return wrap;
}

function contestHint(c: Contest): string {
  if (c.kind === 'multiChoice') {
    return minMarks(c) > 0 ? t('chooseBetween', { min: minMarks(c), max: maxMarks(c) }) : t('chooseUpTo', { max: maxMarks(c) });
  }
  return (c.coalitions ?? []).length > 0 ? t('chooseOneCoalition') : t('chooseOne');
}

function choiceLabel(c: Contest, id: string): string {
  if (id === 'write-in') return t('writeIn');
  if (id === 'blank') return t('blank');
  if (id === 'null') return t('null');
  return markName(c, id);
}

function renderContest(c: Contest, marks: Marks): HTMLElement {
  const live = h('p', { class: 'live', 'aria-live': 'polite' });
  const ids: string[] = c.kind === 'multiChoice'
    ? (c.options ?? []).map((o) => o.id)
    : [...(c.parties ?? []).map((p) => p.id), ...(c.writeIn === true ? ['write-in'] : []), ...(c.blank === true ? ['blank'] : []), ...(c.null === true ? ['null'] : [])];
  // Several marks are possible (multi-choice, coalitions): checkboxes; otherwise one: radio buttons.
  const type = maxMarks(c) > 1 ? 'checkbox' : 'radio';
  const inputs = new Map<string, HTMLInputElement>();
  const counter = h('p', { class: 'counter' });
  const writeIn = h('input', { type: 'text', id: `${c.id}-write-in-name`, maxlength: 256, autocomplete: 'off' });
  writeIn.value = marks[c.id]?.writeIn ?? '';
  const writeInField = h('div', { class: 'field write-in' }, h('label', { for: writeIn.id }, t('writeInName')), writeIn);
  writeIn.addEventListener('input', () => {
    const m = marks[c.id];
    if (m !== undefined) m.writeIn = writeIn.value;
  });
  const sync = (): void => {
    const m = marks[c.id] ?? { marked: [], writeIn: '' };
    const full = c.kind === 'multiChoice' && m.marked.length >= maxMarks(c);
    for (const [id, input] of inputs) {
      input.checked = m.marked.includes(id);
      // An over-vote cannot be marked: beyond the maximum the other options are disabled.
      input.disabled = full && !input.checked;
      input.closest('.choice')?.classList.toggle('checked', input.checked);
    }
    writeInField.hidden = !m.marked.includes('write-in');
    counter.textContent = c.kind === 'multiChoice' ? t('marked', { n: m.marked.length, max: maxMarks(c) }) : '';
  };
  const options = ids.map((id) => {
    const input = h('input', { type, name: c.id, value: id, id: `${c.id}--${id}` });
    inputs.set(id, input);
    input.addEventListener('change', () => {
      const before = marks[c.id] ?? { marked: [], writeIn: '' };
      const r = toggle(c, before, id);
      marks[c.id] = r.marks;
      if (r.refused) live.textContent = t('maxReached', { max: maxMarks(c) });
      else if (r.cleared.length > 0 && !isSpecial(id) && r.marks.marked.length === 1 && before.marked.some((x) => !isSpecial(x))) {
        live.textContent = t('clearedMarks', { names: r.cleared.map((x) => choiceLabel(c, x)).join(', '), name: choiceLabel(c, id) });
      } else live.textContent = '';
      sync();
      if (id === 'write-in' && r.marks.marked.includes('write-in')) writeIn.focus();
    });
    const party = c.parties?.find((p) => p.id === id);
    const coalitions = (c.coalitions ?? []).filter((co) => co.parties.includes(id)).map((co) => t('coalition', { name: co.name }));
    const detail = party?.candidate ?? c.options?.find((o) => o.id === id)?.list;
    return h('div', { class: `choice${isSpecial(id) ? ' special' : ''}` },
      input,
      h('label', { for: input.id },
        h('span', { class: 'name' }, party?.name ?? (isSpecial(id) ? choiceLabel(c, id) : markName(c, id).replace(/ \(.*\)$/, ''))),
        detail === undefined ? null : h('span', { class: 'detail' }, detail),
        coalitions.length === 0 ? null : h('span', { class: 'detail' }, coalitions.join('; '))));
  });
  sync();
  const hintId = `${c.id}-hint`;
  return h('fieldset', { class: 'contest', 'aria-describedby': hintId },
    h('legend', {}, c.title),
    h('p', { class: 'hint', id: hintId }, contestHint(c)),
    options, writeInField, counter, live);
}

function renderBallot(e: Election): void {
  const s = state.session;
  const marks = state.marks;
  if (s === undefined || marks === undefined) return;
  const contests = e.codec.styleContests(s.ballotStyle).map((c) => c.contest);
  const district = e.info.manifest.districts.find((d) => d.id === s.ballotStyle)?.name ?? s.ballotStyle;
  const form = h('form', { class: 'ballot' }, contests.map((c) => renderContest(c, marks)), h('button', { type: 'submit', class: 'primary' }, t('review')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.screen = 'review';
    renderVote();
  });
  show(main, h('h1', {}, t('ballotTitle')), h('p', { class: 'election-title' }, `${e.info.manifest.title} · ${t('district')}: ${district}`), messageBox(), h('p', {}, t('ballotIntro')), precomputeProgress(), form);
}

function describeSelection(c: Contest, checked: Checked, marks: Marks): string {
  const m = marks[c.id];
  if (m === undefined || m.marked.length === 0) return checked.selection !== undefined ? t('blank') : t('nothingMarked');
  if (m.marked[0] === 'write-in') return `${t('writeIn')}: ${m.writeIn.trim()}`;
  const names = m.marked.map((id) => choiceLabel(c, id)).join(' + ');
  const coalition = coalitionOf(c, m.marked);
  return coalition === undefined ? names : `${names} (${t('coalition', { name: coalition })})`;
}

function renderReview(e: Election): void {
  const s = state.session;
  const marks = state.marks;
  if (s === undefined || marks === undefined) return;
  const contests = e.codec.styleContests(s.ballotStyle).map((c) => c.contest);
  const results = contests.map((c) => check(c, marks[c.id] ?? { marked: [], writeIn: '' }));
  const problems = results.some((r) => r.problems.length > 0);
  const rows = contests.map((c, i) => {
    const r = results[i] as Checked;
    const notes = [
      ...r.warnings.map((w) => h('p', { class: 'warn' }, w === 'unmarkedBlank' ? t('warnUnmarkedBlank') : t('warnUnderVote', { n: marks[c.id]?.marked.length ?? 0, max: maxMarks(c) }))),
      ...r.problems.map((p) => h('p', { class: 'problem' }, {
        required: t('problemRequired'), belowMin: t('problemBelowMin', { min: minMarks(c) }),
        writeInEmpty: t('problemWriteInEmpty'), writeInTooLong: t('problemWriteInTooLong'),
      }[p])),
    ];
    return h('div', { class: 'review-item' }, h('h2', { class: 'h3' }, c.title), h('p', { class: 'vote' }, h('span', { class: 'visually-hidden' }, `${t('yourVote')}: `), describeSelection(c, r, marks)), notes);
  });
  const back = h('button', { type: 'button', class: 'secondary' }, t('changeChoices'));
  back.addEventListener('click', () => {
    state.screen = 'ballot';
    renderVote();
  });
  const encrypt = h('button', { type: 'button', class: 'primary', disabled: problems }, t('encrypt'));
  const status = h('p', { role: 'status', class: 'status' });
  encrypt.addEventListener('click', () => {
    encrypt.disabled = true;
    back.disabled = true;
    status.textContent = t('encrypting');
    // Let the status paint before the (short) synchronous encryption.
    setTimeout(() => {
      try {
        const selections = results.map((r) => r.selection).filter((x): x is Selection => x !== undefined);
        const pre = state.pre ?? Precomputer.start(e.codec.publicKey, 0);
        const { ballot, nonces } = e.codec.encryptBallot(s.ballotStyle, selections, pre);
        state.encrypted = { ballot, nonces, selections, hash: bytesToHex(ballotHash(ballot)) };
        state.screen = 'encrypted';
        renderVote();
      } catch (err) {
        status.replaceWith(alert('error', errorText(err)));
        encrypt.disabled = false;
        back.disabled = false;
      }
    }, 30);
  });
  show(main, h('h1', {}, t('reviewTitle')), h('p', {}, t('reviewIntro')), rows,
    problems ? alert('error', t('fixProblems')) : null,
    h('div', { class: 'actions' }, back, encrypt), status);
}

function renderEncrypted(e: Election): void {
  const enc = state.encrypted;
  const s = state.session;
  if (enc === undefined || s === undefined) return;
  const cast = h('button', { type: 'button', class: 'primary' }, t('cast'));
  const challenge = h('button', { type: 'button', class: 'secondary' }, t('challenge'));
  cast.addEventListener('click', () => {
    // The nonces are dropped: from here the ballot can only be cast, never revealed.
    state.encrypted = undefined;
    state.pre?.stop();
    state.pending = startCast(localStorage, e.info.electionId, e.info.modality, s.voterId, enc.ballot, e.blindKey);
    state.screen = 'casting';
    void runCast(e);
  });
  challenge.addEventListener('click', () => {
    const json = makeChallenge(e.codec, enc.ballot, enc.selections, enc.nonces);
    const report = checkChallenge(json, e.info.manifest, e.codec.publicKey, enc.selections);
    // A challenged ballot is spoiled: forget it, and prepare a fresh encryption of the same marks.
    state.encrypted = undefined;
    state.challenge = { json: JSON.stringify(json, null, 2), report };
    startPrecompute(e);
    state.screen = 'challenged';
    renderVote();
  });
  show(main, h('h1', {}, t('encryptedTitle')), h('p', {}, t('encryptedIntro')),
    h('dl', { class: 'receipt' }, h('dt', {}, t('fingerprint')), h('dd', { class: 'code', 'data-testid': 'fingerprint' }, grouped(enc.hash.slice(0, 32)))),
    h('div', { class: 'actions' }, cast, challenge), h('p', { class: 'hint' }, t('challengeExplain')));
}

let castInFlight = false;

async function runCast(e: Election): Promise<void> {
  const pending = state.pending;
  if (pending === undefined || castInFlight) return;
  castInFlight = true;
  const steps = h('ol', { class: 'steps' });
  const status = h('div', {});
  show(main, h('h1', {}, t('casting')), steps, status);
  const onStep = (step: Step): void => {
    steps.appendChild(h('li', {}, step === 'right' ? t('stepRight') : t('stepSubmit')));
  };
  try {
    state.receipt = await finishCast(localStorage, pending, state.session?.token, e.blindKey, e.info.partitions, onStep);
    state.pending = undefined;
    state.session = undefined;
    state.screen = 'receipt';
    renderVote();
  } catch (err) {
    if (err instanceof ApiError && err.code === 'unauthorized') {
      state.session = undefined;
      state.message = { kind: 'error', text: errorText(err) };
      state.screen = 'signIn';
      renderVote();
      return;
    }
    const retry = h('button', { type: 'button', class: 'primary' }, t('retry'));
    retry.addEventListener('click', () => { void runCast(e); });
    const final = err instanceof ApiError && (['signature_used', 'right_already_issued', 'election_closed'].includes(err.code) || REFUSED_BALLOT.includes(err.code));
    status.replaceChildren(alert('error', errorText(err)));
    if (!final) status.append(h('p', {}, t('keptOnDevice')), retry);
    if (final) localStorage.removeItem(`urna.pending.${pending.electionId}.${pending.voterId}`);
  } finally {
    castInFlight = false;
  }
}

function receiptLink(r: Receipt): string {
  return `#/receipt?anon=${r.anonId}&index=${String(r.logIndex)}`;
}

function renderReceipt(e: Election): void {
  const r = state.receipt;
  if (r === undefined) return;
  const text = JSON.stringify({ election: e.info.electionId, anonId: r.anonId, logIndex: r.logIndex }, null, 2);
  const print = h('button', { type: 'button', class: 'secondary' }, t('print'));
  print.addEventListener('click', () => { window.print(); });
  const save = h('button', { type: 'button', class: 'secondary' }, t('save'));
  save.addEventListener('click', () => { download(`urna-receipt-${r.anonId.slice(0, 8)}.json`, text); });
  show(main, h('h1', {}, t('receiptTitle')), h('p', {}, t('receiptIntro')),
    h('dl', { class: 'receipt', 'data-testid': 'receipt' },
      h('dt', {}, t('election')), h('dd', {}, e.info.manifest.title),
      h('dt', {}, t('anonId')), h('dd', { class: 'code', 'data-testid': 'anon-id', 'data-value': r.anonId }, grouped(r.anonId)),
      h('dt', {}, t('logIndex')), h('dd', { 'data-testid': 'log-index' }, String(r.logIndex))),
    h('div', { class: 'actions no-print' }, print, save, h('a', { class: 'button primary', href: receiptLink(r) }, t('checkReceipt'))));
}

function renderCasting(e: Election): void {
  // A language switch or a hash change during a cast: the cast in flight re-renders when it ends.
  if (castInFlight) show(main, h('h1', {}, t('casting')));
  else void runCast(e);
}

function challengeReportView(report: ChallengeReport, e: Election): HTMLElement {
  return h('div', { class: 'report', 'data-testid': 'challenge-report', 'data-valid': String(report.valid) },
    alert(report.valid ? 'info' : 'error', report.valid ? t('challengeOk') : t('challengeBad')),
    h('h2', {}, t('checkedChoices')),
    h('ul', {}, report.contests.map((c) => {
      const contest = e.info.manifest.contests.find((x) => x.id === c.contestId);
      const names = c.choices.map((id) => (contest === undefined ? id : id.split('+').map((p) => choiceLabel(contest, p)).join(' + ')));
      return h('li', {}, h('strong', {}, `${contest?.title ?? c.contestId}: `), c.writeIn === undefined ? names.join(', ') || t('nothingMarked') : `${t('writeIn')}: ${c.writeIn}`);
    })),
    report.problems.length === 0 ? null : h('div', {}, h('h2', {}, t('problems')), h('ul', {}, report.problems.map((p) => h('li', {}, p)))));
}

function renderChallenged(e: Election): void {
  const c = state.challenge;
  if (c === undefined) return;
  const file = h('button', { type: 'button', class: 'secondary' }, t('downloadChallenge'));
  file.addEventListener('click', () => { download(`urna-challenge-${c.report.ballotHash.slice(0, 8)}.json`, c.json); });
  const back = h('button', { type: 'button', class: 'primary' }, t('backToBallot'));
  back.addEventListener('click', () => {
    state.screen = 'review';
    renderVote();
  });
  show(main, h('h1', {}, t('challengeTitle')), alert('info', t('challengeDiscarded')), h('p', {}, t('challengeResultIntro')),
    challengeReportView(c.report, e),
    h('div', { class: 'actions' }, back, file, h('a', { class: 'button secondary', href: '#/challenge', target: '_blank', rel: 'noopener' }, t('openCheckPage'))));
}

// ---------------------------------------------------------------------------------------------- check pages

function renderChallengeCheck(): void {
  const e = state.election;
  const fileInput = h('input', { type: 'file', accept: 'application/json,.json' });
  const text = h('textarea', { rows: 6, spellcheck: 'false' });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card' },
    field('challenge-file', t('challengeFile'), '', fileInput),
    h('div', { class: 'field' }, h('label', { for: 'challenge-text' }, t('challengePaste')), text),
    h('button', { type: 'submit', class: 'primary' }, t('check')));
  text.id = 'challenge-text';
  fileInput.addEventListener('change', () => {
    const f = fileInput.files?.[0];
    if (f !== undefined) void f.text().then((s) => { text.value = s; });
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (e === undefined) return;
    try {
      const report = checkChallenge(JSON.parse(text.value) as unknown, e.info.manifest, e.codec.publicKey);
      out.replaceChildren(challengeReportView(report, e));
    } catch (err) {
      out.replaceChildren(alert('error', errorText(err)));
    }
  });
  show(main, h('h1', {}, t('checkChallengeTitle')), h('p', {}, t('checkChallengeIntro')), form, out);
}

/**
 * The witnesses' verdict on the checkpoint a receipt was checked against. A short quorum is a warning, not an
 * error: the ballot is in the log either way; what is not yet confirmed is that everyone was shown that log.
 */
function witnessesView(w: WitnessVerdict): HTMLElement {
  const attrs = { 'data-testid': 'receipt-witnesses', 'data-quorum': w.met ? 'met' : 'short', role: 'status' };
  if (w.met) {
    const text = t('receiptWitnessesMet', { signed: w.signed.length, declared: w.signed.length + w.missing.length, quorum: w.quorum, names: w.signed.join(', ') });
    return h('div', { ...attrs, class: 'msg msg-info' }, h('p', {}, text));
  }
  return h('div', { ...attrs, class: 'msg msg-warn' },
    h('p', {}, t('receiptWitnessesShort', { signed: w.signed.length, quorum: w.quorum })),
    w.missing.length === 0 ? null : h('p', {}, t('receiptWitnessesAwaited', { names: w.missing.join(', ') })));
}

function renderReceiptCheck(params: URLSearchParams): void {
  const anon = h('input', { type: 'text', name: 'anon', spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off', value: params.get('anon') ?? '' });
  const index = h('input', { type: 'text', name: 'index', inputmode: 'numeric', value: params.get('index') ?? '' });
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'receipt-check' });
  const button = h('button', { type: 'submit', class: 'primary' }, t('check'));
  const form = h('form', { class: 'card' },
    field('anon', t('anonId'), t('invalidAnonId'), anon),
    field('index', t('logIndex'), '', index),
    button);
  const run = async (): Promise<void> => {
    const a = anon.value.replace(/\s/g, '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(a)) {
      out.replaceChildren(alert('error', t('invalidAnonId')));
      return;
    }
    const given = index.value.trim() === '' ? undefined : Number(index.value.trim());
    button.disabled = true;
    try {
      await electionLoaded;
      const e = state.election;
      const source = {
        checkpoint: () => api.checkpoint(),
        inclusion: async (leaf: string, size: number) => {
          try {
            return await api.inclusion(leaf, size);
          } catch (err) {
            if (err instanceof ApiError && err.status > 0 && err.status < 500) throw new LogAnswerError(err.code, err.message);
            throw err;
          }
        },
      };
      // An election that declares no witnesses gets no witness verdict, rather than a vacuous "0 of 0".
      const policy = e?.info.witnesses;
      const r = await checkReceipt(source, a, given, e?.info.auditLog, policy !== undefined && policy.witnesses.length > 0 ? policy : undefined);
      out.dataset.result = r.kind;
      if (r.kind === 'included') {
        const time = new Date(r.checkpoint.timestamp * 1000).toLocaleString(lang() === 'es' ? 'es-MX' : 'en-US', { timeZone: 'UTC', timeZoneName: 'short' });
        out.replaceChildren(alert('info', t('receiptOk', { index: r.index })),
          h('p', {}, t('receiptOkDetail', { size: r.checkpoint.size, origin: r.checkpoint.origin, time })),
          ...(r.witnesses === undefined ? [] : [witnessesView(r.witnesses)]),
          h('p', { class: 'code small' }, t(r.pinned ? 'logKeyPinned' : 'logKeyUnpinned', { key: grouped(r.keyHex) })));
      } else if (r.kind === 'missing') out.replaceChildren(alert('error', t('receiptMissing')));
      else if (r.kind === 'pending') out.replaceChildren(alert('info', t('receiptPending')));
      else if (r.kind === 'wrongIndex') out.replaceChildren(alert('error', t('receiptWrongIndex', { actual: r.actual, given: r.given })));
      else out.replaceChildren(alert('error', t('receiptBadProof', { reason: r.reason })));
    } catch (err) {
      out.dataset.result = 'error';
      out.replaceChildren(alert('error', errorText(err)));
    } finally {
      button.disabled = false;
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void run();
  });
  show(main, h('h1', {}, t('receiptCheckTitle')), h('p', {}, t('receiptCheckIntro')), form, out);
  // Before the election has loaded, start() renders this page again once it has: the check runs then, once.
  if (params.has('anon') && (state.election !== undefined || state.loadError !== undefined)) void run();
}

// ---------------------------------------------------------------------------------------------- shell

function route(): void {
  const [path = '', query = ''] = location.hash.replace(/^#/, '').split('?');
  document.querySelectorAll('nav a').forEach((a) => {
    if (a.getAttribute('href') === `#${path || '/'}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  if (path === '/challenge') renderChallengeCheck();
  else if (path === '/receipt') renderReceiptCheck(new URLSearchParams(query));
  else renderVote();
}

function renderShell(): void {
  document.title = t('appName');
  const switcher = h('button', { type: 'button', class: 'lang', lang: other(), 'aria-label': t('langSwitchLabel') }, t('langSwitch'));
  switcher.addEventListener('click', () => {
    toggleLang();
    renderShell();
    route();
  });
  const header = document.getElementById('header');
  header?.replaceChildren(
    h('a', { class: 'skip', href: '#main', onclick: (ev: Event) => { ev.preventDefault(); main.focus(); } }, t('skip')),
    h('div', { class: 'bar' }, h('span', { class: 'brand' }, t('appName')), switcher),
    h('nav', { 'aria-label': t('appName') }, h('a', { href: '#/' }, t('navVote')), h('a', { href: '#/receipt' }, t('navReceipt')), h('a', { href: '#/challenge' }, t('navChallenge'))));
}

async function loadElection(): Promise<void> {
  try {
    if (typeof BigInt === 'undefined' || typeof crypto.subtle === 'undefined') throw new Error('BigInt / WebCrypto');
    const info = await api.election();
    const pk = PublicKey.fromJson(info.publicKey);
    state.election = { info, codec: new BallotCodec(info.manifest, pk), blindKey: rsaPublicKeyFromSpkiHex(info.blindKey) };
  } catch (err) {
    state.loadError = err instanceof ApiError ? errorText(err) : t('errBrowser', { detail: err instanceof Error ? err.message : String(err) });
  }
}

export async function start(root: HTMLElement): Promise<void> {
  main = root;
  renderShell();
  window.addEventListener('hashchange', route);
  electionLoaded = loadElection();
  route();
  await electionLoaded;
  route();
}
