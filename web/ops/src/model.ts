/**
 * The dashboard's data and the decisions on it, as pure functions (unit-tested without a browser): the
 * monitor's JSON shapes, a change applied to the fleet, the desk's order, counts by state, the turnout
 * series for the chart, and the server-sent events parser.
 */

export type DeviceState = 'online' | 'offline' | 'locked' | 'blocked' | 'alerting';
export const STATES: readonly DeviceState[] = ['alerting', 'blocked', 'locked', 'offline', 'online'];

export interface Position { lat: number; lon: number; atMs: number }

export interface Device {
  id: string;
  mesa: string;
  district: string;
  lastSeenMs: number | null;
  lastHeartbeatMs: number | null;
  position: Position | null;
  health: unknown;
  connected: boolean;
  locked: boolean;
  blocked: boolean;
  ballots: number;
  alerting: string[];
  state: DeviceState;
}

export interface Geofence { lat: number; lon: number; radiusM: number }
export interface Mesa { id: string; district: string | null; geofence: Geofence | null }

export interface Note { officer: string; action: string; atMs: number; note: string }

export type Priority = 'critical' | 'high' | 'normal';
export type AlertStatus = 'open' | 'acknowledged' | 'resolved';

export interface Alert {
  id: number;
  device: string;
  mesa: string;
  district: string;
  rule: string;
  priority: Priority;
  evidence: unknown;
  atMs: number;
  status: AlertStatus;
  escalated: boolean;
  officers: string[];
  history: Note[];
}

export interface Action {
  seq: number;
  atMs: number;
  officer: string;
  action: string;
  target: string;
  district: string;
  note: string;
  /** Its position in the election's audit log (an `officer-action` event); absent until the monitor appends it. */
  logIndex?: number;
}

export interface Officer { id: string; name: string; districts: string[]; fleet: string }

export interface Fleet {
  fleet: string;
  tiles: string | null;
  offlineAfterMs: number;
  devices: Device[];
  mesas: Mesa[];
  turnout: Record<string, [number, number][]>;
}

export type Change =
  | ({ type: 'device' } & Device)
  | ({ type: 'alert' } & Alert)
  | ({ type: 'action' } & Action);

const PRIORITY_RANK: Record<Priority, number> = { critical: 2, high: 1, normal: 0 };

/** The desk's order: unresolved first, then the most urgent, then the newest. */
export function deskOrder(a: Alert, b: Alert): number {
  const ra = a.status === 'resolved' ? 1 : 0;
  const rb = b.status === 'resolved' ? 1 : 0;
  if (ra !== rb) return ra - rb;
  const p = PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority];
  if (p !== 0) return p;
  return b.id - a.id;
}

/** Inserts or replaces an alert, keeping only the officer's districts, in desk order. */
export function upsertAlert(desk: Alert[], alert: Alert, districts: readonly string[]): Alert[] {
  if (!districts.includes(alert.district)) return desk;
  const rest = desk.filter((a) => a.id !== alert.id);
  return [...rest, alert].sort(deskOrder);
}

/**
 * Adds an action, or replaces the one with its `seq`: the monitor sends an action again once the audit log
 * has taken it, with its `logIndex`. A position the page already has is kept, since the log never moves an
 * entry, even if a copy without it comes later.
 */
export function upsertAction(actions: readonly Action[], action: Action): Action[] {
  const i = actions.findIndex((a) => a.seq === action.seq);
  if (i < 0) return [...actions, action];
  const logIndex = action.logIndex ?? actions[i]?.logIndex;
  const merged: Action = logIndex === undefined ? action : { ...action, logIndex };
  return actions.map((a, j) => (j === i ? merged : a));
}

/** Devices by state. */
export function countByState(devices: Iterable<Device>): Record<DeviceState, number> {
  const out: Record<DeviceState, number> = { online: 0, offline: 0, locked: 0, blocked: 0, alerting: 0 };
  for (const d of devices) out[d.state] += 1;
  return out;
}

/** The most urgent state among `states` (a cluster's colour). */
export function worstState(states: Iterable<DeviceState>): DeviceState {
  let best = STATES.length - 1;
  for (const s of states) best = Math.min(best, STATES.indexOf(s));
  return STATES[best] ?? 'online';
}

/** Where to draw a device: its last position, else the centre of its Mesa's geofence, else nowhere. */
export function placeOf(d: Device, mesas: ReadonlyMap<string, Mesa>): [number, number] | null {
  if (d.position !== null) return [d.position.lat, d.position.lon];
  const g = mesas.get(d.mesa)?.geofence;
  return g ? [g.lat, g.lon] : null;
}

/**
 * The chart's data: one shared x axis (minutes, Unix seconds as uPlot wants) and one series per district, 0
 * where a district had no ballot that minute.
 */
export function turnoutSeries(turnout: Record<string, [number, number][]>): { districts: string[]; data: number[][] } {
  const districts = Object.keys(turnout).sort();
  const minutes = [...new Set(districts.flatMap((d) => (turnout[d] ?? []).map(([m]) => m)))].sort((a, b) => a - b);
  const data: number[][] = [minutes.map((m) => m / 1000)];
  for (const d of districts) {
    const byMinute = new Map(turnout[d] ?? []);
    data.push(minutes.map((m) => byMinute.get(m) ?? 0));
  }
  return { districts, data };
}

/** Adds one booth ballot at `atMs` to a district's per-minute series (in place, kept sorted). */
export function addBallot(turnout: Record<string, [number, number][]>, district: string, atMs: number): void {
  const minute = atMs - (atMs % 60_000);
  const series = (turnout[district] ??= []);
  const i = series.findIndex(([m]) => m === minute);
  if (i >= 0) {
    const entry = series[i];
    if (entry) entry[1] += 1;
  } else {
    series.push([minute, 1]);
    series.sort((a, b) => a[0] - b[0]);
  }
}

export interface SseEvent { event: string; data: string }

/**
 * Splits a server-sent events buffer into complete events and the incomplete rest (text/event-stream: fields
 * `event:` and `data:`, events separated by a blank line, comments starting with `:`).
 */
export function parseSse(buffer: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  const normalized = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalized.split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

/** A heartbeat's fields as (name, value) pairs, in a stable order, for a person to read: a booth reports
 * what it has (its clock, its queue), and fields this page does not know are still shown, as text. */
export function healthFields(health: unknown): Array<[string, string]> {
  if (health === null || typeof health !== 'object' || Array.isArray(health)) return [];
  return Object.entries(health as Record<string, unknown>)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
}
