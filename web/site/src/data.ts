/**
 * What `urna site` serves (workloads/urna/src/cmd/site.rs): `data/site.json`, built from the record by
 * `urna_record::site` (docs/site.md lists every field), and `data/trust.json`, the record's key fingerprints
 * (docs/record.md "Pinned keys"). URLs are relative to the page, so the site works under any path prefix.
 */

/** A number and where it comes from: the record file and the JSON pointers of the values it sums. */
export interface Figure {
  value: number;
  file: string;
  pointers: string[];
}

export interface SiteCount {
  choice: string;
  label: string;
  votes: Figure;
}

export interface ContestPart {
  key: string;
  ballots: Figure;
  counts: SiteCount[];
}

export interface SiteContest {
  contestId: string;
  title: string;
  ballots: Figure;
  counts: SiteCount[];
  byDistrict: ContestPart[];
  byModality: ContestPart[];
}

export interface ModalityTurnout {
  modality: string;
  census: Figure;
  rightsIssued: Figure;
  ballots: Figure;
}

export interface SiteData {
  format: string;
  electionId: string;
  title: string;
  manifestHash: string;
  exportedAt: string;
  districts: { id: string; name: string; parent?: string }[];
  turnout: { census: Figure; rightsIssued: Figure; ballots: Figure; byModality: ModalityTurnout[] };
  results: { trustees: number[]; contests: SiteContest[] } | null;
  log: { origin: string; publicKey: string; size: number; closed: boolean; timestamp: number; file: string; line: number } | null;
  files: { path: string; bytes: number; sha256: string }[];
}

/** `data/trust.json`: the trust file `urna verify record --trust` reads. */
export interface TrustFile {
  format: string;
  electionId: string;
  manifestHash: string;
  thresholdKey: string;
  auditLog: { origin: string; publicKey: string };
  votingRightKeys: { modality: string; fingerprint: string }[];
  witnesses?: { quorum: number; witnesses: { name: string; publicKey: string }[] };
}

/** `data/status.json`: where the trust file came from (`published`: as the election published it, `record`: recomputed). */
export interface SiteStatus {
  /** Whether the record can be read (`data/site.json` answers), and if not, why. */
  record: boolean;
  recordError?: string;
  /** Whether the site serves PREP snapshots (`snapshots/`). */
  snapshots: boolean;
  /** Absent when there is neither a published trust file nor a readable record. */
  trustSource?: 'published' | 'record';
  /** With a published trust file: whether the record's keys are the published ones, and if not, which differ. */
  keysMatch?: boolean;
  keysMismatch?: string | null;
}

export class FetchError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'FetchError';
  }
}

export function url(path: string): string {
  return new URL(path, document.baseURI).toString();
}

export async function getJson(path: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url(path), { headers: { accept: 'application/json' }, cache: 'no-cache' });
  } catch (e) {
    throw new FetchError(0, 'network', e instanceof Error ? e.message : String(e));
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new FetchError(response.status, err?.code ?? `http_${String(response.status)}`, err?.message ?? text.slice(0, 200));
  }
  return json;
}

/** The link a figure carries: the record file (or PREP snapshot file, `snapshots/...`) it is read from. */
export function figureHref(f: Figure): string {
  return f.file.startsWith('snapshots/') ? f.file : `record/${f.file}`;
}

/** Percentage of `part` in `whole` with one decimal, or undefined when `whole` is 0. */
export function percent(part: number, whole: number): number | undefined {
  if (whole <= 0) return undefined;
  return Math.round((part / whole) * 1000) / 10;
}
