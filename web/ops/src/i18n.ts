/** The dashboard's words in Spanish and English. Every key exists in both languages (a test checks it). */

export type Lang = 'es' | 'en';
export const LANGS: readonly Lang[] = ['es', 'en'];

const en = {
  appName: 'Urna operations centre',
  skip: 'Skip to the alert desk',
  langSwitch: 'Español',
  langSwitchLabel: 'Cambiar a español',
  signInTitle: 'Regional officer sign-in',
  signInIntro: 'Enter your officer token. You see the whole fleet and handle the alerts and booths of your districts.',
  token: 'Officer token',
  signIn: 'Sign in',
  signOut: 'Sign out',
  badToken: 'That token belongs to no officer of this fleet.',
  unreachable: 'The monitor does not answer. Retrying…',
  officerOf: '{name} · districts: {districts}',
  mapTitle: 'Fleet map',
  mapLabel: 'Map of the booths, coloured by state',
  legend: 'Legend',
  online: 'Online',
  offline: 'Offline',
  locked: 'Locked',
  blocked: 'Blocked',
  alerting: 'Alerting',
  counts: '{online} online · {offline} offline · {locked} locked · {blocked} blocked · {alerting} alerting',
  deskTitle: 'Alert desk',
  deskEmpty: 'No alerts in your districts.',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  acknowledge: 'Acknowledge',
  resolve: 'Resolve',
  escalate: 'Escalate',
  note: 'Note',
  noteRequired: 'Write a note to resolve or escalate.',
  statusOpen: 'Open',
  statusAcknowledged: 'Acknowledged',
  statusResolved: 'Resolved',
  escalated: 'Escalated',
  priorityCritical: 'Critical',
  priorityHigh: 'High',
  priorityNormal: 'Normal',
  alertAt: '{rule} · booth {device} · mesa {mesa} · {time}',
  devicesTitle: 'Booths of my districts',
  selectHint: 'Choose a booth on the map, the desk or the table to see it and act on it.',
  device: 'Booth',
  mesa: 'Mesa',
  district: 'District',
  state: 'State',
  lastSeen: 'Last seen',
  never: 'never',
  position: 'Position',
  health: 'Health',
  healthClock: 'booth clock {time}',
  healthPending: '{n} messages queued on the booth',
  actions: 'Actions',
  lock: 'Lock',
  unlock: 'Unlock',
  block: 'Block',
  unblock: 'Unblock',
  requestPosition: 'Request position',
  done: '{action}: done ({device}).',
  refused: 'Refused: {message}',
  notYours: 'Not in your districts: view only.',
  turnoutTitle: 'Turnout per district (booth ballots per minute)',
  turnoutEmpty: 'No booth ballots yet.',
  actionsTitle: 'Actions in my districts',
  actionLine: '{time} · {officer} · {action} · {target}',
  rule_offline: 'Offline',
  rule_outside_geofence: 'Outside its geofence',
  rule_vote_rate: 'Unusual vote rate',
  rule_outside_hours: 'Ballot out of hours',
  rule_auth_failure_burst: 'Authentication failures',
  rule_reconnect_flapping: 'Reconnecting repeatedly',
  rule_turnout_above_census: 'More ballots than census',
  rule_sos: 'SOS',
};

export type Key = keyof typeof en;

const es: Record<Key, string> = {
  appName: 'Urna: centro de operaciones',
  skip: 'Ir a la mesa de alertas',
  langSwitch: 'English',
  langSwitchLabel: 'Switch to English',
  signInTitle: 'Acceso de oficiales regionales',
  signInIntro: 'Ingrese su token de oficial. Verá toda la flota y atenderá las alertas y urnas de sus distritos.',
  token: 'Token de oficial',
  signIn: 'Entrar',
  signOut: 'Salir',
  badToken: 'Ese token no pertenece a ningún oficial de esta flota.',
  unreachable: 'El monitor no responde. Reintentando…',
  officerOf: '{name} · distritos: {districts}',
  mapTitle: 'Mapa de la flota',
  mapLabel: 'Mapa de las urnas, coloreadas por estado',
  legend: 'Leyenda',
  online: 'En línea',
  offline: 'Sin conexión',
  locked: 'Bloqueo temporal',
  blocked: 'Bloqueada',
  alerting: 'En alerta',
  counts: '{online} en línea · {offline} sin conexión · {locked} con bloqueo temporal · {blocked} bloqueadas · {alerting} en alerta',
  deskTitle: 'Mesa de alertas',
  deskEmpty: 'No hay alertas en sus distritos.',
  live: 'En vivo',
  reconnecting: 'Reconectando…',
  acknowledge: 'Reconocer',
  resolve: 'Resolver',
  escalate: 'Escalar',
  note: 'Nota',
  noteRequired: 'Escriba una nota para resolver o escalar.',
  statusOpen: 'Abierta',
  statusAcknowledged: 'Reconocida',
  statusResolved: 'Resuelta',
  escalated: 'Escalada',
  priorityCritical: 'Crítica',
  priorityHigh: 'Alta',
  priorityNormal: 'Normal',
  alertAt: '{rule} · urna {device} · mesa {mesa} · {time}',
  devicesTitle: 'Urnas de mis distritos',
  selectHint: 'Elija una urna en el mapa, la mesa de alertas o la tabla para verla y actuar sobre ella.',
  device: 'Urna',
  mesa: 'Mesa',
  district: 'Distrito',
  state: 'Estado',
  lastSeen: 'Última señal',
  never: 'nunca',
  position: 'Posición',
  health: 'Salud',
  healthClock: 'reloj de la urna {time}',
  healthPending: '{n} mensajes en cola en la urna',
  actions: 'Acciones',
  lock: 'Bloquear votación',
  unlock: 'Desbloquear votación',
  block: 'Bloquear urna',
  unblock: 'Desbloquear urna',
  requestPosition: 'Pedir posición',
  done: '{action}: hecho ({device}).',
  refused: 'Rechazado: {message}',
  notYours: 'Fuera de sus distritos: solo lectura.',
  turnoutTitle: 'Participación por distrito (boletas en urna por minuto)',
  turnoutEmpty: 'Aún no hay boletas en urna.',
  actionsTitle: 'Acciones en mis distritos',
  actionLine: '{time} · {officer} · {action} · {target}',
  rule_offline: 'Sin conexión',
  rule_outside_geofence: 'Fuera de su geocerca',
  rule_vote_rate: 'Ritmo de votación inusual',
  rule_outside_hours: 'Boleta fuera de horario',
  rule_auth_failure_burst: 'Fallos de autenticación',
  rule_reconnect_flapping: 'Reconexiones repetidas',
  rule_turnout_above_census: 'Más boletas que padrón',
  rule_sos: 'SOS',
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

/** A rule's name in the current language (the rule id itself if unknown). */
export function ruleName(rule: string): string {
  const key = `rule_${rule}`;
  return key in en ? t(key as Key) : rule;
}
