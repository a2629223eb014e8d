/** The console's words in Spanish and English. Every key exists in both languages (a test checks it). */

export type Lang = 'es' | 'en';

const en = {
  appName: 'Urna mesa console',
  skip: 'Skip to admitting a voter',
  langSwitch: 'Español',
  langSwitchLabel: 'Cambiar a español',
  signInTitle: 'Mesa member sign-in',
  signInIntro: 'Enter the mesa id and its console token, as the election authority gave them to the mesa.',
  mesaId: 'Mesa id',
  token: 'Console token',
  signIn: 'Sign in',
  signOut: 'Sign out',
  badToken: 'Refused: that is not this mesa\'s console token (or there is no such mesa).',
  code_not_in_mesa_census: 'Refused: this voter does not vote in this mesa\'s district (check the voter id).',
  code_right_already_issued: 'Refused: this voter has already voted (remotely or at another mesa).',
  code_election_closed: 'Refused: voting is closed.',
  code_mesa_not_closed: 'Refused: this acta is signed once voting closes.',
  unreachable: 'The vote service does not answer. Try again.',
  mesaOf: 'Mesa {mesa} · district {district}',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  figuresTitle: 'The mesa now',
  admitted: 'Voters admitted',
  ballotsCast: 'Ballots cast at the booths',
  waiting: 'Admitted, not yet voted',
  stateLabel: 'Voting',
  open: 'open',
  closed: 'closed',
  boothsTitle: 'Booths',
  booth: 'Booth',
  boothBallots: 'Ballots',
  noBooths: 'This mesa has no booths.',
  admitTitle: 'Admit a voter',
  admitIntro: 'Enter the voter id (64 hex characters) from the voter list. An admitted voter casts one ballot at any free booth of this mesa.',
  voterId: 'Voter id',
  admit: 'Admit',
  admittedOk: 'Admitted: the voter may go to a booth. {n} admitted at this mesa.',
  alreadyAdmitted: 'This voter was already admitted at this mesa and has not voted yet: they may go to a booth.',
  refused: 'Refused: {message}',
  actasTitle: 'Actas',
  actaPending: 'not signed yet',
  actaAccepted: 'accepted · signed by {signers} · SHA-256 {sha}',
  actaLogged: 'in the audit log at index {index}',
  actaNotLogged: 'waiting for the audit log',
  kind_constitution: 'Constitution',
  kind_results: 'Results',
  kind_participants: 'Participants',
  kind_auditCodes: 'Audit codes',
  constituteTitle: 'Constitute the mesa',
  constituteIntro: 'Tick the members present, draft the constitution acta, and have the members sign it.',
  membersPresent: 'Members present',
  role_president: 'president',
  role_secretary: 'secretary',
  role_scrutineer: 'scrutineer',
  role_observer: 'observer',
  draftConstitution: 'Draft the constitution acta',
  nobodyPresent: 'Tick at least one member present.',
  closeTitle: 'Close the mesa',
  closeIntro: 'Once voting has closed, the members sign the participants acta (how many voted) and the audit codes acta (the receipts of the ballots cast here), with the figures this service recorded.',
  closeNotYet: 'Voting is still open: these actas are signed once it closes.',
  draftParticipants: 'Draft the participants acta',
  draftAuditCodes: 'Draft the audit codes acta',
  resultsHint: 'The results acta (votes per choice) is drafted once the count is known, with the command below, and signed and submitted the same way:',
  constituted: 'The mesa is constituted: acta signed at {at} by {signers}.',
  mesaClosed: 'The mesa is closed: its participants and audit codes actas are accepted.',
  draftTitle: 'Acta to sign: {kind}',
  draftFacts: 'Signed at {at} · SHA-256 {sha}',
  signatures: 'Signatures: {list}',
  noSignatures: 'No signatures yet.',
  needPresident: 'The president must sign.',
  needSecond: 'A secretary or scrutineer must sign too.',
  quorumOk: 'Enough members have signed: it can be submitted.',
  signer: 'Signing member',
  keyFile: 'Member key file (from urna mesa keygen)',
  sign: 'Sign',
  signedBy: 'Signed by {member}.',
  noKey: 'Choose the member key file.',
  badKey: 'That file is not a member key.',
  wrongKey: 'That key is not {member}\'s key in this mesa.',
  noCrypto: 'This browser cannot sign here (WebCrypto Ed25519 needs a recent browser and HTTPS).',
  submit: 'Submit the acta',
  discard: 'Discard',
  submitted: 'Acta accepted: SHA-256 {sha}.',
};

export type Key = keyof typeof en;

const es: Record<Key, string> = {
  appName: 'Urna consola de mesa',
  skip: 'Ir a admitir un votante',
  langSwitch: 'English',
  langSwitchLabel: 'Switch to English',
  signInTitle: 'Acceso de integrantes de mesa',
  signInIntro: 'Escriba el identificador de la mesa y su token de consola, como la autoridad electoral los entregó a la mesa.',
  mesaId: 'Identificador de mesa',
  token: 'Token de consola',
  signIn: 'Entrar',
  signOut: 'Salir',
  badToken: 'Rechazado: ese no es el token de consola de esta mesa (o la mesa no existe).',
  code_not_in_mesa_census: 'Rechazado: este votante no vota en el distrito de esta mesa (revise el identificador).',
  code_right_already_issued: 'Rechazado: este votante ya votó (a distancia o en otra mesa).',
  code_election_closed: 'Rechazado: la votación está cerrada.',
  code_mesa_not_closed: 'Rechazado: esta acta se firma al cerrar la votación.',
  unreachable: 'El servicio de votación no responde. Intente de nuevo.',
  mesaOf: 'Mesa {mesa} · distrito {district}',
  live: 'En vivo',
  reconnecting: 'Reconectando…',
  figuresTitle: 'La mesa ahora',
  admitted: 'Votantes admitidos',
  ballotsCast: 'Votos emitidos en las urnas',
  waiting: 'Admitidos que aún no votan',
  stateLabel: 'Votación',
  open: 'abierta',
  closed: 'cerrada',
  boothsTitle: 'Urnas',
  booth: 'Urna',
  boothBallots: 'Votos',
  noBooths: 'Esta mesa no tiene urnas.',
  admitTitle: 'Admitir a un votante',
  admitIntro: 'Escriba el identificador del votante (64 caracteres hexadecimales) del padrón. Un votante admitido emite un voto en cualquier urna libre de esta mesa.',
  voterId: 'Identificador del votante',
  admit: 'Admitir',
  admittedOk: 'Admitido: el votante puede pasar a una urna. {n} admitidos en esta mesa.',
  alreadyAdmitted: 'Este votante ya fue admitido en esta mesa y aún no vota: puede pasar a una urna.',
  refused: 'Rechazado: {message}',
  actasTitle: 'Actas',
  actaPending: 'sin firmar',
  actaAccepted: 'aceptada · firmada por {signers} · SHA-256 {sha}',
  actaLogged: 'en el registro de auditoría, índice {index}',
  actaNotLogged: 'en espera del registro de auditoría',
  kind_constitution: 'Constitución',
  kind_results: 'Resultados',
  kind_participants: 'Participación',
  kind_auditCodes: 'Códigos de auditoría',
  constituteTitle: 'Constituir la mesa',
  constituteIntro: 'Marque a los integrantes presentes, prepare el acta de constitución y que la firmen los integrantes.',
  membersPresent: 'Integrantes presentes',
  role_president: 'presidencia',
  role_secretary: 'secretaría',
  role_scrutineer: 'escrutinio',
  role_observer: 'observación',
  draftConstitution: 'Preparar el acta de constitución',
  nobodyPresent: 'Marque al menos a un integrante presente.',
  closeTitle: 'Cerrar la mesa',
  closeIntro: 'Cerrada la votación, los integrantes firman el acta de participación (cuántos votaron) y el acta de códigos de auditoría (los recibos de los votos emitidos aquí), con las cifras que este servicio registró.',
  closeNotYet: 'La votación sigue abierta: estas actas se firman al cerrar.',
  draftParticipants: 'Preparar el acta de participación',
  draftAuditCodes: 'Preparar el acta de códigos de auditoría',
  resultsHint: 'El acta de resultados (votos por opción) se prepara cuando se conoce el cómputo, con la orden de abajo, y se firma y envía del mismo modo:',
  constituted: 'La mesa está constituida: acta firmada el {at} por {signers}.',
  mesaClosed: 'La mesa está cerrada: sus actas de participación y de códigos de auditoría fueron aceptadas.',
  draftTitle: 'Acta por firmar: {kind}',
  draftFacts: 'Firmada el {at} · SHA-256 {sha}',
  signatures: 'Firmas: {list}',
  noSignatures: 'Aún sin firmas.',
  needPresident: 'Falta la firma de la presidencia.',
  needSecond: 'Falta también la firma de secretaría o escrutinio.',
  quorumOk: 'Firmaron suficientes integrantes: puede enviarse.',
  signer: 'Integrante que firma',
  keyFile: 'Archivo de llave del integrante (de urna mesa keygen)',
  sign: 'Firmar',
  signedBy: 'Firmada por {member}.',
  noKey: 'Elija el archivo de llave del integrante.',
  badKey: 'Ese archivo no es una llave de integrante.',
  wrongKey: 'Esa llave no es la de {member} en esta mesa.',
  noCrypto: 'Este navegador no puede firmar aquí (WebCrypto Ed25519 necesita un navegador reciente y HTTPS).',
  submit: 'Enviar el acta',
  discard: 'Descartar',
  submitted: 'Acta aceptada: SHA-256 {sha}.',
};

export const DICTS: Record<Lang, Record<Key, string>> = { en, es };

let current: Lang = 'es';

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  document.documentElement.lang = l;
}

/** The stored choice, else the browser's first Spanish or English preference, else Spanish. */
export function initialLang(stored: string | null, preferred: readonly string[]): Lang {
  if (stored === 'es' || stored === 'en') return stored;
  for (const p of preferred) {
    const base = p.slice(0, 2).toLowerCase();
    if (base === 'es' || base === 'en') return base;
  }
  return 'es';
}

export function t(key: Key, vars: Record<string, string | number> = {}): string {
  return DICTS[current][key].replace(/\{(\w+)\}/g, (m, name: string) => {
    const v = vars[name];
    return v === undefined ? m : String(v);
  });
}
