import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clampInterval, covers, describeLocation, distanceToBoundary, haversineMeters, isLowBattery, isMoving, isNearBoundary,
  localTime, nextIntervalSeconds, parseHours, reportingState,
} from '../lib/location.js';
import { FixQueue } from '../lib/fixqueue.js';
import { heartbeatFacts } from '../lib/connection.js';

// A 1 km square around (lon 10, lat 50) and a 500 m circle centred 3 km east of it.
const SQUARE = { rings: [[9.993, 49.9955, 10.007, 49.9955, 10.007, 50.0045, 9.993, 50.0045, 9.993, 49.9955]] };
const CIRCLE = { circle: [10.042, 50, 500] };

test('parseHours_ReadsDaysRangesListsAndCase', () => {
  const [a, b, c] = parseHours(' mon,WED-thu 08:00-12:00 ;Sat 09:30-11:45; Fri-Mon 22:00-06:00 ');
  assert.deepEqual([...a.days], [1, 3, 4]);
  assert.deepEqual([a.start, a.end], [480, 720]);
  assert.deepEqual([...b.days], [6]);
  assert.deepEqual([b.start, b.end], [570, 705]);
  assert.deepEqual([...c.days], [5, 6, 0, 1]);
  assert.deepEqual(parseHours(''), []);
  assert.equal(parseHours('always').length, 1);
});

test('parseHours_RefusesWhatTheServerRefuses', () => {
  for (const bad of ['Mon-Fri 25:00-17:00', 'Mon-Fri', 'Someday 07:00-17:00', 'Mon-Fri 7-17', 'Mon-Fri 07:00', 'Mon-Fri 07:00-17:00-18:00', Array(21).fill('Mon 07:00-08:00').join(';')]) {
    assert.equal(parseHours(bad), null, bad);
  }
});

test('localTime_ReadsTheInstantInTheSchoolsZone', () => {
  // 2026-12-02 (a Wednesday) 14:30 UTC is 08:30 in Chicago (UTC-6) and 03:30 Thursday in Auckland (UTC+13 in summer).
  const at = new Date('2026-12-02T14:30:00Z');
  assert.deepEqual(localTime(at, 'America/Chicago'), { day: 3, minutes: 510 });
  assert.deepEqual(localTime(at, 'Pacific/Auckland'), { day: 4, minutes: 210 });
  assert.deepEqual(localTime(at, 'Not/AZone'), { day: 3, minutes: 870 });
});

test('covers_SchoolHours_AndPastMidnight', () => {
  const school = parseHours('Mon-Fri 07:00-17:00');
  assert.equal(covers(school, { day: 3, minutes: 420 }), true);
  assert.equal(covers(school, { day: 3, minutes: 1019 }), true);
  assert.equal(covers(school, { day: 3, minutes: 1020 }), false);
  assert.equal(covers(school, { day: 6, minutes: 600 }), false);
  const night = parseHours('Fri 22:00-06:00');
  assert.equal(covers(night, { day: 5, minutes: 23 * 60 }), true);
  assert.equal(covers(night, { day: 6, minutes: 359 }), true);
  assert.equal(covers(night, { day: 6, minutes: 360 }), false);
  assert.equal(covers(night, { day: 4, minutes: 23 * 60 }), false);
});

test('reportingState_UsesTheSchoolsZoneForTheHours', () => {
  const document = { monitoring: { location: true }, location: { reportingHours: 'Mon-Fri 07:00-17:00', reportIntervalSeconds: 30 }, geo: { timeZone: 'America/Chicago' } };
  // 12:30 UTC is 06:30 in Chicago: not yet; 13:30 UTC is 07:30: reporting.
  assert.equal(reportingState(document, new Date('2026-12-02T12:30:00Z')).reason, 'outside-hours');
  const on = reportingState(document, new Date('2026-12-02T13:30:00Z'));
  assert.equal(on.reporting, true);
  assert.equal(on.intervalSeconds, 30);
  // The same instant read in UTC would be inside the window: the zone decides.
  assert.equal(reportingState({ ...document, geo: { timeZone: 'UTC' } }, new Date('2026-12-02T12:30:00Z')).reporting, true);
});

test('reportingState_OffOrUnreadableHours_ReportsNothing', () => {
  const at = new Date('2026-12-02T13:30:00Z');
  assert.equal(reportingState({ monitoring: { location: false }, location: { reportingHours: 'always' } }, at).reason, 'off');
  assert.equal(reportingState({ location: { reportingHours: 'whenever' } }, at).reason, 'bad-hours');
  assert.equal(reportingState({ location: { reportingHours: '' } }, at).reason, 'outside-hours');
  // No policy yet: the defaults (on, school hours, in UTC when no zone came).
  assert.equal(reportingState(null, at).reporting, true);
  assert.equal(reportingState(null, new Date('2026-12-05T13:30:00Z')).reporting, false);
});

test('nextIntervalSeconds_QuarterNearABoundaryWhileMoving_DoubleOnLowBattery', () => {
  assert.equal(nextIntervalSeconds({ intervalSeconds: 60 }), 60);
  assert.equal(nextIntervalSeconds({ intervalSeconds: 60, nearBoundary: true }), 60);
  assert.equal(nextIntervalSeconds({ intervalSeconds: 60, moving: true }), 60);
  assert.equal(nextIntervalSeconds({ intervalSeconds: 60, nearBoundary: true, moving: true }), 15);
  assert.equal(nextIntervalSeconds({ intervalSeconds: 40, nearBoundary: true, moving: true }), 15);
  assert.equal(nextIntervalSeconds({ intervalSeconds: 600, nearBoundary: true, moving: true }), 150);
  assert.equal(nextIntervalSeconds({ intervalSeconds: 60, lowBattery: true }), 120);
  assert.equal(nextIntervalSeconds({ intervalSeconds: 3000, lowBattery: true }), 3600);
  assert.equal(nextIntervalSeconds({ intervalSeconds: 60, nearBoundary: true, moving: true, lowBattery: true }), 30);
  assert.equal(clampInterval(5), 15);
  assert.equal(clampInterval(undefined), 60);
});

test('isLowBattery_OnlyWhenNotChargingAndUnderTwentyPercent', () => {
  assert.equal(isLowBattery({ level: 0.19, charging: false }), true);
  assert.equal(isLowBattery({ level: 0.2, charging: false }), false);
  assert.equal(isLowBattery({ level: 0.05, charging: true }), false);
  assert.equal(isLowBattery(null), false);
  assert.equal(isLowBattery({ charging: false }), false);
});

test('distanceToBoundary_PolygonInsideAndOutside_AndCircle', () => {
  // Centre of the square: 500 m from its nearest edge (lat ± 0.0045° ≈ 500 m).
  const centre = distanceToBoundary([SQUARE], 50, 10);
  assert.ok(Math.abs(centre - 500) < 5, String(centre));
  // 1 km north of the square's north edge.
  const north = distanceToBoundary([SQUARE], 50.0045 + 1000 / 111_195, 10);
  assert.ok(Math.abs(north - 1000) < 10, String(north));
  // The circle's centre is 500 m from its edge; the square's centre is nearer its own edge.
  assert.ok(Math.abs(distanceToBoundary([CIRCLE], 50, 10.042) - 500) < 1);
  assert.ok(Math.abs(distanceToBoundary([SQUARE, CIRCLE], 50, 10) - centre) < 1e-6);
  assert.equal(distanceToBoundary([], 50, 10), Infinity);
  assert.equal(distanceToBoundary(undefined, 50, 10), Infinity);
});

test('distanceToBoundary_MatchesBruteForceOverTheEdges', () => {
  // Differential: the projection against the haversine distance to many points along each edge.
  const ring = SQUARE.rings[0];
  for (let i = 0; i < 200; i++) {
    const lat = 49.99 + Math.random() * 0.02;
    const lon = 9.985 + Math.random() * 0.03;
    let brute = Infinity;
    for (let k = 0; k + 3 < ring.length; k += 2) {
      for (let s = 0; s <= 400; s++) {
        const t = s / 400;
        brute = Math.min(brute, haversineMeters(lat, lon, ring[k + 1] + t * (ring[k + 3] - ring[k + 1]), ring[k] + t * (ring[k + 2] - ring[k])));
      }
    }
    const fast = distanceToBoundary([SQUARE], lat, lon);
    assert.ok(Math.abs(fast - brute) <= Math.max(3, brute * 0.01), `${lat},${lon}: ${fast} vs ${brute}`);
  }
});

test('isNearBoundary_AllowsForAccuracy_AndIsMovingNeedsRealDisplacement', () => {
  assert.equal(isNearBoundary([SQUARE], { latitude: 50, longitude: 10, accuracyMeters: 10 }), false);
  assert.equal(isNearBoundary([SQUARE], { latitude: 50, longitude: 10, accuracyMeters: 300 }), true);
  assert.equal(isNearBoundary([SQUARE], { latitude: 50.0040, longitude: 10, accuracyMeters: 10 }), true);
  const a = { latitude: 50, longitude: 10, accuracyMeters: 20, capturedAt: '2026-12-02T10:00:00Z' };
  assert.equal(isMoving(null, a), false);
  assert.equal(isMoving(a, { ...a, latitude: 50.0001, capturedAt: '2026-12-02T10:00:15Z' }), false); // 11 m: within accuracy
  assert.equal(isMoving(a, { ...a, latitude: 50.001, capturedAt: '2026-12-02T10:00:15Z' }), true); // 111 m in 15 s
  assert.equal(isMoving(a, { ...a, latitude: 50.001, capturedAt: '2026-12-02T11:00:00Z' }), false); // 111 m in an hour
  assert.equal(isMoving(null, { ...a, speed: 1.4 }), true);
});

test('FixQueue_KeepsTheNewestInOrder_AndDrainsOldestFirst', () => {
  const queue = new FixQueue(undefined, 3);
  for (let i = 1; i <= 5; i++) queue.add({ latitude: i, longitude: 0, accuracyMeters: 5, capturedAt: `2026-12-02T10:00:0${i}Z` });
  assert.deepEqual(queue.fixes.map((f) => f.latitude), [3, 4, 5]);
  assert.equal(queue.dropped, 2);
  const restored = new FixQueue(queue.toJSON(), 3);
  assert.deepEqual(restored.take().map((f) => f.latitude), [3, 4, 5]);
  assert.equal(restored.length, 0);
  assert.deepEqual(new FixQueue({ fixes: 'nonsense' }).fixes, []);
});

test('describeLocation_SaysWhetherHowOftenAndWhen', () => {
  const at = new Date('2026-12-02T13:30:00Z');
  const document = { monitoring: { location: true }, location: { reportingHours: 'Mon-Fri 07:00-17:00', reportIntervalSeconds: 60 }, geo: { timeZone: 'America/Chicago' } };
  const on = describeLocation(document, { lastSentAt: '2026-12-02T13:29:00Z', currentSeconds: 15 }, 0, at);
  assert.match(on.now, /being reported to your school now, about every 15 seconds \(every 60 seconds normally/);
  assert.match(on.last, /last location was sent at/);
  assert.match(describeLocation(document, {}, 2, at).last, /No location has been sent yet\. 2 waiting/);
  assert.match(describeLocation(document, {}, 0, new Date('2026-12-02T12:30:00Z')).now, /not being reported now: only during Mon-Fri 07:00-17:00 \(America\/Chicago time\)/);
  assert.match(describeLocation({ ...document, monitoring: { location: false } }, {}, 0, at).now, /switched location reporting off/);
});

test('heartbeatFacts_SendsTheLocalIPv4OnlyWhenChromeOSGivesOne', () => {
  assert.deepEqual(heartbeatFacts({ ipv4: '10.20.30.40', macAddress: 'aa:bb' }).network.ipAddress, '10.20.30.40');
  assert.equal(heartbeatFacts({ ipv4: '10.20.30.40' }).network.kind.length > 0, true);
  assert.equal(heartbeatFacts({ ipv4: 'not an address' }).network?.ipAddress, undefined);
  assert.equal(heartbeatFacts(null).network?.ipAddress, undefined);
});
