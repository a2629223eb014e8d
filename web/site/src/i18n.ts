/**
 * The site's words in Spanish and English. The manifest's own titles and names are shown as the election
 * gives them. Every key exists in both languages (a test checks it).
 */

export type Lang = 'es' | 'en';
export const LANGS: readonly Lang[] = ['es', 'en'];

const en = {
  siteName: 'Urna: public results',
  skip: 'Skip to content',
  langSwitch: 'Español',
  langSwitchLabel: 'Cambiar a español',
  navTurnout: 'Turnout',
  navResults: 'Results',
  navReceipt: 'Check a receipt',
  navKeys: 'Keys',
  navRecord: 'Record',
  loading: 'Loading the election record…',
  loadFailed: 'The election record could not be read: {reason}',
  intro: 'Every figure on this page is read from the election record and links to the file that proves it. Download the record and check it yourself with `urna verify record`.',
  exportedAt: 'Record exported {time}',
  navPrep: 'Preliminary count',
  prepTitle: 'Preliminary results (PREP)',
  prepIntro: 'From the tally sheets of the polling stations, each typed in by two capturists: snapshot {sequence} ({time}). Not the official count, which is the decrypted result below.',
  prepFailed: 'The preliminary results could not be read: {reason}',
  prepActasCounted: 'Tally sheets counted',
  prepShareCounted: 'Of the expected sheets',
  prepVoted: 'Voted (counted sheets)',
  prepByDistrict: 'Tally sheets per district',
  prepExpected: 'Expected',
  prepCaptured: 'Captured',
  prepCounted: 'Counted',
  prepChartLabel: 'Line chart of the tally sheets counted over time, of {expected} expected: {summary}',
  prepVerify: 'Each snapshot is signed and chained to the one before; check the whole chain, and that every figure follows from the captured sheets, with:',
  recordPending: 'The election record is not published yet: the final results appear here once voting has closed and the record is exported.',
  turnoutTitle: 'Turnout',
  ballots: 'Ballots',
  census: 'Voters in the census',
  rightsIssued: 'Voting rights issued',
  turnoutRate: 'Turnout',
  modality: 'Modality',
  modality_remote: 'Remote',
  modality_booth: 'Polling station',
  total: 'Total',
  sourceOf: 'Proof: {file} {pointers}',
  resultsTitle: 'Results',
  resultsPending: 'The results are not decrypted yet: the trustees have not combined their partial decryptions. Turnout above is final.',
  resultsTrustees: 'Decrypted by trustees {trustees}, each proving their share.',
  ballotsWord: 'ballots',
  choice: 'Option',
  votes: 'Votes',
  share: '% of ballots',
  chartLabel: 'Bar chart of the votes in {contest}: {summary}',
  byDistrict: 'By district',
  byModality: 'By modality',
  district: 'District',
  receiptTitle: 'Check your receipt',
  receiptIntro: 'Enter the receipt code (AnonID) the voter app gave you. This page checks, in your browser, that your ballot is in the election\'s audit log: it verifies the log\'s signed checkpoint under the published log key (below) and the inclusion proof of your ballot.',
  anonId: 'Receipt code (AnonID)',
  anonIdHint: '64 hexadecimal characters; spaces are ignored.',
  logIndex: 'Position in the audit log (optional)',
  check: 'Check',
  checking: 'Checking…',
  badAnonId: 'A receipt code has 64 hexadecimal characters (0-9, a-f).',
  badIndex: 'The position is a whole number.',
  receiptOk: 'Your ballot is in the audit log at position {index}.',
  receiptOkDetail: 'Verified here: the inclusion proof (RFC 6962) against the checkpoint of {size} entries signed by the log "{origin}" at {time}, under the published key {key}.',
  receiptMissing: 'This receipt code is not in the audit log. Check that you typed it exactly; if it is right, report it: a ballot you cast with this receipt should be there.',
  receiptPending: 'The log has not yet signed a checkpoint that includes this ballot. Try again in a few minutes.',
  receiptWrongIndex: 'The ballot is in the log, but at position {actual}, not {given}. Check the position you typed.',
  receiptBad: 'The check failed: {reason}. Do not trust this server\'s answer; report it.',
  receiptNoLog: 'This record has no signed checkpoint of the audit log yet.',
  keysTitle: 'Key fingerprints',
  keysIntro: 'The election\'s keys, by fingerprint. Keep this file: `urna verify record DIR --trust trust.json` refuses any copy of the record whose threshold, audit-log or voting-right keys differ from it.',
  keysPublished: 'This file is the one the election authority published before the count.',
  keysFromRecord: 'This file was computed from the record itself: compare it with the fingerprints the election authority published before the count.',
  keysMismatch: 'The record\'s keys are NOT the ones the election published: {reason}. Do not trust these results; report it.',
  thresholdKey: 'Threshold decryption key',
  auditLogKey: 'Audit log "{origin}"',
  votingRightKey: 'Voting rights ({modality})',
  witnesses: 'Witnesses (at least {quorum})',
  downloadTrust: 'Download trust.json',
  recordTitle: 'The election record',
  recordIntro: 'Everything needed to check the result, file by file, with each file\'s SHA-256. Download them into one directory and run:',
  file: 'File',
  size: 'Size',
  sha256: 'SHA-256',
  electionId: 'Election {id}, manifest {hash}',
} as const;

export type Key = keyof typeof en;

const es: Record<Key, string> = {
  siteName: 'Urna: resultados públicos',
  skip: 'Ir al contenido',
  langSwitch: 'English',
  langSwitchLabel: 'Switch to English',
  navTurnout: 'Participación',
  navResults: 'Resultados',
  navReceipt: 'Verificar un comprobante',
  navKeys: 'Claves',
  navRecord: 'Registro',
  loading: 'Cargando el registro de la elección…',
  loadFailed: 'No se pudo leer el registro de la elección: {reason}',
  intro: 'Cada cifra de esta página se lee del registro de la elección y enlaza al archivo que la prueba. Descargue el registro y verifíquelo usted con `urna verify record`.',
  exportedAt: 'Registro exportado el {time}',
  navPrep: 'Conteo preliminar',
  prepTitle: 'Resultados preliminares (PREP)',
  prepIntro: 'A partir de las actas de escrutinio de las casillas, cada una capturada por dos personas: corte {sequence} ({time}). No es el cómputo oficial, que es el resultado descifrado de abajo.',
  prepFailed: 'No se pudieron leer los resultados preliminares: {reason}',
  prepActasCounted: 'Actas contabilizadas',
  prepShareCounted: 'De las actas esperadas',
  prepVoted: 'Votaron (actas contabilizadas)',
  prepByDistrict: 'Actas por distrito',
  prepExpected: 'Esperadas',
  prepCaptured: 'Capturadas',
  prepCounted: 'Contabilizadas',
  prepChartLabel: 'Gráfica de líneas de las actas contabilizadas en el tiempo, de {expected} esperadas: {summary}',
  prepVerify: 'Cada corte está firmado y encadenado al anterior; verifique toda la cadena, y que cada cifra se sigue de las actas capturadas, con:',
  recordPending: 'El registro de la elección aún no está publicado: los resultados definitivos aparecen aquí una vez cerrada la votación y exportado el registro.',
  turnoutTitle: 'Participación',
  ballots: 'Boletas',
  census: 'Personas en el padrón',
  rightsIssued: 'Derechos de voto emitidos',
  turnoutRate: 'Participación',
  modality: 'Modalidad',
  modality_remote: 'Remota',
  modality_booth: 'Casilla',
  total: 'Total',
  sourceOf: 'Prueba: {file} {pointers}',
  resultsTitle: 'Resultados',
  resultsPending: 'Los resultados aún no están descifrados: las personas custodias no han combinado sus descifrados parciales. La participación de arriba es definitiva.',
  resultsTrustees: 'Descifrados por las personas custodias {trustees}, cada una con la prueba de su parte.',
  ballotsWord: 'boletas',
  choice: 'Opción',
  votes: 'Votos',
  share: '% de las boletas',
  chartLabel: 'Gráfica de barras de los votos en {contest}: {summary}',
  byDistrict: 'Por distrito',
  byModality: 'Por modalidad',
  district: 'Distrito',
  receiptTitle: 'Verifique su comprobante',
  receiptIntro: 'Escriba el código de comprobante (AnonID) que le dio la aplicación de voto. Esta página verifica, en su navegador, que su boleta está en el registro de auditoría de la elección: comprueba el punto de control firmado del registro con la clave publicada (abajo) y la prueba de inclusión de su boleta.',
  anonId: 'Código de comprobante (AnonID)',
  anonIdHint: '64 caracteres hexadecimales; los espacios se ignoran.',
  logIndex: 'Posición en el registro de auditoría (opcional)',
  check: 'Verificar',
  checking: 'Verificando…',
  badAnonId: 'Un código de comprobante tiene 64 caracteres hexadecimales (0-9, a-f).',
  badIndex: 'La posición es un número entero.',
  receiptOk: 'Su boleta está en el registro de auditoría, en la posición {index}.',
  receiptOkDetail: 'Verificado aquí: la prueba de inclusión (RFC 6962) contra el punto de control de {size} entradas firmado por el registro «{origin}» el {time}, con la clave publicada {key}.',
  receiptMissing: 'Este código de comprobante no está en el registro de auditoría. Revise que lo escribió exactamente; si es correcto, denúncielo: una boleta emitida con este comprobante debería estar ahí.',
  receiptPending: 'El registro aún no ha firmado un punto de control que incluya esta boleta. Inténtelo de nuevo en unos minutos.',
  receiptWrongIndex: 'La boleta está en el registro, pero en la posición {actual}, no en la {given}. Revise la posición que escribió.',
  receiptBad: 'La verificación falló: {reason}. No confíe en la respuesta de este servidor; denúncielo.',
  receiptNoLog: 'Este registro aún no tiene un punto de control firmado del registro de auditoría.',
  keysTitle: 'Huellas de las claves',
  keysIntro: 'Las claves de la elección, por su huella. Guarde este archivo: `urna verify record DIR --trust trust.json` rechaza cualquier copia del registro cuyas claves de umbral, de auditoría o de derechos de voto difieran de él.',
  keysPublished: 'Este archivo es el que la autoridad electoral publicó antes del cómputo.',
  keysFromRecord: 'Este archivo se calculó a partir del propio registro: compárelo con las huellas que la autoridad electoral publicó antes del cómputo.',
  keysMismatch: 'Las claves del registro NO son las que publicó la elección: {reason}. No confíe en estos resultados; denúncielo.',
  thresholdKey: 'Clave de descifrado por umbral',
  auditLogKey: 'Registro de auditoría «{origin}»',
  votingRightKey: 'Derechos de voto ({modality})',
  witnesses: 'Testigos (al menos {quorum})',
  downloadTrust: 'Descargar trust.json',
  recordTitle: 'El registro de la elección',
  recordIntro: 'Todo lo necesario para verificar el resultado, archivo por archivo, con el SHA-256 de cada uno. Descárguelos en un directorio y ejecute:',
  file: 'Archivo',
  size: 'Tamaño',
  sha256: 'SHA-256',
  electionId: 'Elección {id}, manifiesto {hash}',
};

export const STRINGS: Record<Lang, Record<Key, string>> = { en, es };

let current: Lang = 'es';

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
}

/** The language to start in: `?lang=` in the URL, a saved choice, else the browser's, else Spanish. */
export function initialLang(query: string | null, saved: string | null, browser: readonly string[]): Lang {
  for (const s of [query, saved]) if (s === 'es' || s === 'en') return s;
  for (const b of browser) {
    const base = b.toLowerCase().split('-')[0];
    if (base === 'es' || base === 'en') return base;
  }
  return 'es';
}

/** The string `key` in the current language, with `{name}` placeholders filled. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  return STRINGS[current][key].replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** A modality's name, or the modality itself when the site does not know it. */
export function modalityName(m: string): string {
  return m === 'remote' ? t('modality_remote') : m === 'booth' ? t('modality_booth') : m;
}

/** A count in the current language's digits and grouping. */
export function num(n: number): string {
  return new Intl.NumberFormat(current === 'es' ? 'es-MX' : 'en-US').format(n);
}
