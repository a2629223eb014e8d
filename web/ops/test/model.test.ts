import { describe, expect, it } from 'vitest';
import { addBallot, countByState, deskOrder, healthFields, parseSse, placeOf, turnoutSeries, upsertAction, upsertAlert, worstState, type Action, type Alert, type Device, type Mesa } from '../src/model.js';

function alert(id: number, priority: Alert['priority'], status: Alert['status'] = 'open', district = 'centro'): Alert {
  return { id, device: 'd', mesa: 'm', district, rule: 'sos', priority, evidence: {}, atMs: id, status, escalated: false, officers: [], history: [] };
}

function device(id: string, state: Device['state'], position: Device['position'] = null): Device {
  return { id, mesa: 'm1', district: 'centro', lastSeenMs: null, lastHeartbeatMs: null, position, health: null, connected: true, locked: false, blocked: false, ballots: 0, alerting: [], state };
}

function action(seq: number, logIndex?: number): Action {
  const a: Action = { seq, atMs: seq * 1000, officer: 'ana', action: 'lock', target: `device:b${String(seq)}`, district: 'centro', note: '' };
  return logIndex === undefined ? a : { ...a, logIndex };
}

describe('the record of actions', () => {
  it('adds a new action and replaces one the monitor sends again with its audit log position', () => {
    let actions = upsertAction([], action(1, 40));
    actions = upsertAction(actions, action(2));
    actions = upsertAction(actions, action(3));
    expect(actions.map((a) => [a.seq, a.logIndex])).toEqual([[1, 40], [2, undefined], [3, undefined]]);
    actions = upsertAction(actions, action(2, 41));
    expect(actions.map((a) => [a.seq, a.logIndex])).toEqual([[1, 40], [2, 41], [3, undefined]]);
  });

  it('keeps a known position when a copy without it comes later', () => {
    const before = [action(1, 40)];
    const after = upsertAction(before, { ...action(1), note: 'edited' });
    expect(after).toEqual([{ ...action(1, 40), note: 'edited' }]);
    expect(before).toEqual([action(1, 40)]);
  });

  it('reads the position from the monitor\'s JSON, absent until logged', () => {
    const pending = JSON.parse('{"seq":7,"atMs":1,"officer":"ana","action":"lock","target":"device:b1","district":"centro","note":""}') as Action;
    const logged = JSON.parse('{"seq":7,"atMs":1,"officer":"ana","action":"lock","target":"device:b1","district":"centro","note":"","logIndex":123}') as Action;
    expect(pending.logIndex).toBeUndefined();
    expect(upsertAction([pending], logged)[0]?.logIndex).toBe(123);
  });
});

describe('the desk', () => {
  it('puts unresolved, then critical, then newest first', () => {
    const sorted = [alert(1, 'normal'), alert(2, 'critical', 'resolved'), alert(3, 'high'), alert(4, 'critical'), alert(5, 'normal')].sort(deskOrder);
    expect(sorted.map((a) => a.id)).toEqual([4, 3, 5, 1, 2]);
  });

  it('keeps only the officer districts and replaces an alert by id', () => {
    let desk = upsertAlert([], alert(1, 'high'), ['centro']);
    desk = upsertAlert(desk, alert(2, 'critical', 'open', 'norte'), ['centro']);
    expect(desk.map((a) => a.id)).toEqual([1]);
    desk = upsertAlert(desk, alert(1, 'high', 'acknowledged'), ['centro']);
    expect(desk).toHaveLength(1);
    expect(desk[0]!.status).toBe('acknowledged');
  });
});

describe('the map', () => {
  it('colours clusters by their most urgent booth and counts states', () => {
    expect(worstState(['online', 'locked', 'offline'])).toBe('locked');
    expect(worstState(['online', 'alerting'])).toBe('alerting');
    expect(worstState([])).toBe('online');
    expect(countByState([device('a', 'online'), device('b', 'online'), device('c', 'blocked')])).toEqual({ online: 2, offline: 0, locked: 0, blocked: 1, alerting: 0 });
  });

  it('places a booth at its last position, else at its mesa', () => {
    const mesas = new Map<string, Mesa>([['m1', { id: 'm1', district: 'centro', geofence: { lat: 1, lon: 2, radiusM: 100 } }]]);
    expect(placeOf(device('a', 'online', { lat: 5, lon: 6, atMs: 0 }), mesas)).toEqual([5, 6]);
    expect(placeOf(device('a', 'online'), mesas)).toEqual([1, 2]);
    expect(placeOf({ ...device('a', 'online'), mesa: 'x' }, mesas)).toBeNull();
  });
});

describe('turnout', () => {
  it('aligns districts on one minute axis', () => {
    const turnout: Record<string, [number, number][]> = { sur: [[120_000, 2]], centro: [[60_000, 1]] };
    addBallot(turnout, 'centro', 125_000);
    addBallot(turnout, 'centro', 61_000);
    expect(turnoutSeries(turnout)).toEqual({ districts: ['centro', 'sur'], data: [[60, 120], [2, 1], [0, 2]] });
  });
});

describe('server-sent events', () => {
  it('splits complete events, skips comments and keeps the rest', () => {
    const { events, rest } = parseSse('event: alert\ndata: {"id":1}\n\n:keep-alive\n\nevent: device\r\ndata: {"a"\r\ndata: :2}\r\n\r\nevent: dev');
    expect(events).toEqual([{ event: 'alert', data: '{"id":1}' }, { event: 'device', data: '{"a"\n:2}' }]);
    expect(rest).toBe('event: dev');
  });
});

describe('a heartbeat', () => {
  it('reads as sorted fields, unknown ones as text, nothing from what is not an object', () => {
    expect(healthFields({ pending: 3, atMs: 5, radio: { dbm: -70 } })).toEqual([['atMs', '5'], ['pending', '3'], ['radio', '{"dbm":-70}']]);
    expect(healthFields(null)).toEqual([]);
    expect(healthFields([1, 2])).toEqual([]);
    expect(healthFields('ok')).toEqual([]);
  });
});
