// Location reporting rules, pure (no chrome.* calls) so node tests can run them: whether the
// policy lets the device report now (monitoring.location and location.reportingHours, read in the
// school's time zone that the server adds as geo.timeZone), how long to wait for the next fix, and
// how far a fix is from the boundary of an allowed zone (geo.zones). docs/agent-protocol.md.

export const MIN_INTERVAL_SECONDS = 15;
export const MAX_INTERVAL_SECONDS = 3600;
export const DEFAULT_INTERVAL_SECONDS = 60;
export const DEFAULT_HOURS = 'Mon-Fri 07:00-17:00';
/** Closer than this to a boundary (allowing for the fix's accuracy) counts as near it. */
export const NEAR_BOUNDARY_METERS = 250;
/** Faster than this (or further than the fixes' accuracy between two fixes) counts as moving. */
export const MOVING_METERS_PER_SECOND = 0.5;
export const LOW_BATTERY_LEVEL = 0.2;
const EARTH_RADIUS_METERS = 6_371_008.8;
const METERS_PER_DEGREE = (EARTH_RADIUS_METERS * Math.PI) / 180;
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MAX_WINDOWS = 20;

/**
 * Reads reporting hours ("Mon-Fri 07:00-17:00; Sat 09:00-12:00", "always", "" for never), the same
 * form the server checks (src/Homeroom.Rules/Policies/ScheduleText.cs). Returns the windows, each
 * { days: Set of 0 (Sunday) to 6, start, end } in minutes after midnight, or null when the text is not valid.
 */
export function parseHours(text) {
  const trimmed = typeof text === 'string' ? text.trim() : '';
  if (trimmed === '') return [];
  if (trimmed.toLowerCase() === 'always') return [{ days: new Set([0, 1, 2, 3, 4, 5, 6]), start: 0, end: 0 }];
  const parts = trimmed.split(';').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length > MAX_WINDOWS) return null;
  const windows = [];
  for (const part of parts) {
    const space = part.lastIndexOf(' ');
    if (space <= 0) return null;
    const days = parseDays(part.slice(0, space).replaceAll(' ', ''));
    const range = part.slice(space + 1).split('-');
    if (!days || range.length !== 2) return null;
    const start = parseTime(range[0]);
    const end = parseTime(range[1]);
    if (start === null || end === null) return null;
    windows.push({ days, start, end });
  }
  return windows;
}

function parseDays(text) {
  const days = new Set();
  for (const item of text.split(',')) {
    const ends = item.split('-');
    if (ends.length > 2) return null;
    const first = DAY_NAMES.indexOf(ends[0].toLowerCase());
    const last = ends.length === 2 ? DAY_NAMES.indexOf(ends[1].toLowerCase()) : first;
    if (first < 0 || last < 0) return null;
    for (let day = first; ; day = (day + 1) % 7) {
      days.add(day);
      if (day === last) break;
    }
  }
  return days;
}

function parseTime(text) {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}

/**
 * The weekday (0 Sunday … 6) and minutes after midnight of an instant in an IANA time zone; an
 * unknown zone reads as UTC.
 */
export function localTime(date, timeZone) {
  let parts;
  try {
    parts = new Intl.DateTimeFormat('en-US', { timeZone: timeZone || 'UTC', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(date);
  } catch {
    parts = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(date);
  }
  const get = (type) => parts.find((p) => p.type === type)?.value ?? '';
  return { day: DAY_NAMES.indexOf(get('weekday').toLowerCase()), minutes: (Number(get('hour')) % 24) * 60 + Number(get('minute')) };
}

/** Whether any window covers a local time; a window whose end is not after its start runs past midnight. */
export function covers(windows, { day, minutes }) {
  return windows.some((w) => {
    if (w.end > w.start) return w.days.has(day) && minutes >= w.start && minutes < w.end;
    return (w.days.has(day) && minutes >= w.start) || (w.days.has((day + 6) % 7) && minutes < w.end);
  });
}

/**
 * What the policy document allows now: { reporting, reason, intervalSeconds, hours, timeZone }.
 * reason is 'on', 'off' (monitoring.location is false), 'outside-hours' or 'bad-hours' (a text
 * the agent cannot read: nothing is reported rather than guessing).
 */
export function reportingState(document, now = new Date()) {
  const location = document?.location ?? {};
  const hours = typeof location.reportingHours === 'string' ? location.reportingHours : DEFAULT_HOURS;
  const timeZone = document?.geo?.timeZone ?? 'UTC';
  const intervalSeconds = clampInterval(location.reportIntervalSeconds);
  const base = { hours, timeZone, intervalSeconds };
  if (document?.monitoring?.location === false) return { ...base, reporting: false, reason: 'off' };
  const windows = parseHours(hours);
  if (windows === null) return { ...base, reporting: false, reason: 'bad-hours' };
  if (!covers(windows, localTime(now, timeZone))) return { ...base, reporting: false, reason: 'outside-hours' };
  return { ...base, reporting: true, reason: 'on' };
}

export function clampInterval(seconds) {
  if (!Number.isFinite(seconds)) return DEFAULT_INTERVAL_SECONDS;
  return Math.min(MAX_INTERVAL_SECONDS, Math.max(MIN_INTERVAL_SECONDS, Math.round(seconds)));
}

/** Low battery: not charging and below 20%. Unknown battery state is not low. */
export function isLowBattery(battery) {
  return Boolean(battery) && battery.charging === false && Number.isFinite(battery.level) && battery.level < LOW_BATTERY_LEVEL;
}

/**
 * Seconds until the next fix: the policy's interval; a quarter of it (never under 15 s) while moving
 * near a boundary; twice it (at most an hour) on low battery, which also applies near a boundary.
 */
export function nextIntervalSeconds({ intervalSeconds, nearBoundary = false, moving = false, lowBattery = false }) {
  let seconds = clampInterval(intervalSeconds);
  if (nearBoundary && moving) seconds = Math.max(MIN_INTERVAL_SECONDS, Math.round(seconds / 4));
  if (lowBattery) seconds = Math.min(MAX_INTERVAL_SECONDS, seconds * 2);
  return seconds;
}

/** Great-circle distance in meters. */
export function haversineMeters(lat1, lon1, lat2, lon2) {
  const toRad = Math.PI / 180;
  const dLat = (lat2 - lat1) * toRad;
  const dLon = (lon2 - lon1) * toRad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * toRad) * Math.cos(lat2 * toRad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_METERS * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Meters from a point to the nearest boundary of any zone in geo.zones ({ circle: [lon, lat, radius] }
 * or { rings: [[lon, lat, lon, lat, …], …] }), inside or out; Infinity when there are none.
 */
export function distanceToBoundary(zones, latitude, longitude) {
  let best = Infinity;
  for (const zone of Array.isArray(zones) ? zones : []) {
    if (Array.isArray(zone?.circle) && zone.circle.length === 3) {
      const [lon, lat, radius] = zone.circle;
      best = Math.min(best, Math.abs(haversineMeters(latitude, longitude, lat, lon) - radius));
    } else if (Array.isArray(zone?.rings)) {
      for (const ring of zone.rings) best = Math.min(best, distanceToRing(ring, latitude, longitude));
    }
  }
  return best;
}

// Nearest edge of a ring in an equirectangular projection centred on the point: good to about 1% at city scale.
function distanceToRing(ring, latitude, longitude) {
  if (!Array.isArray(ring) || ring.length < 4) return Infinity;
  const xScale = METERS_PER_DEGREE * Math.cos((latitude * Math.PI) / 180);
  const x = (i) => wrap(ring[i] - longitude) * xScale;
  const y = (i) => (ring[i + 1] - latitude) * METERS_PER_DEGREE;
  let best = Infinity;
  let ax = x(0);
  let ay = y(0);
  for (let i = 2; i + 1 < ring.length; i += 2) {
    const bx = x(i);
    const by = y(i);
    const dx = bx - ax;
    const dy = by - ay;
    const lengthSquared = dx * dx + dy * dy;
    const t = lengthSquared > 0 ? Math.min(1, Math.max(0, -(ax * dx + ay * dy) / lengthSquared)) : 0;
    const cx = ax + t * dx;
    const cy = ay + t * dy;
    best = Math.min(best, cx * cx + cy * cy);
    ax = bx;
    ay = by;
  }
  return Math.sqrt(best);
}

function wrap(degrees) {
  return degrees > 180 ? degrees - 360 : degrees < -180 ? degrees + 360 : degrees;
}

/** Near a boundary: within 250 m of it, allowing for the fix's accuracy (capped at 1 km). */
export function isNearBoundary(zones, fix) {
  const distance = distanceToBoundary(zones, fix.latitude, fix.longitude);
  return distance - Math.min(1000, fix.accuracyMeters ?? 0) <= NEAR_BOUNDARY_METERS;
}

/**
 * Moving: the fix reports a speed over 0.5 m/s, or it is further from the previous fix than both
 * fixes' accuracy and at over 0.5 m/s on average.
 */
export function isMoving(previous, fix) {
  if (Number.isFinite(fix.speed) && fix.speed > MOVING_METERS_PER_SECOND) return true;
  if (!previous) return false;
  const meters = haversineMeters(previous.latitude, previous.longitude, fix.latitude, fix.longitude);
  const seconds = (Date.parse(fix.capturedAt) - Date.parse(previous.capturedAt)) / 1000;
  if (!(seconds > 0)) return false;
  return meters > Math.max(previous.accuracyMeters ?? 0, fix.accuracyMeters ?? 0) && meters / seconds > MOVING_METERS_PER_SECOND;
}

/**
 * The student-facing sentences of the extension's page: { now, last }. `state` is what the
 * reporter stored (lastSentAt, currentSeconds, reason); `queued` the fixes waiting to be sent.
 */
export function describeLocation(document, state, queued, now = new Date()) {
  const allowed = reportingState(document, now);
  let text;
  if (allowed.reporting) {
    const seconds = state?.currentSeconds ?? allowed.intervalSeconds;
    text = `Location is being reported to your school now, about every ${formatSeconds(seconds)}`
      + ` (every ${formatSeconds(allowed.intervalSeconds)} normally; more often near the edge of an allowed area, less often on low battery).`;
  } else if (allowed.reason === 'off') {
    text = 'Location is not being reported: your school has switched location reporting off for this device.';
  } else {
    text = `Location is not being reported now: only during ${allowed.hours || 'no hours at all'} (${allowed.timeZone} time).`;
  }
  const sent = state?.lastSentAt ? `The last location was sent at ${new Date(state.lastSentAt).toLocaleString()}.` : 'No location has been sent yet.';
  const waiting = queued > 0 ? ` ${queued} waiting to be sent when the connection is back.` : '';
  return { now: text, last: sent + waiting };
}

function formatSeconds(seconds) {
  if (seconds < 120) return `${seconds} seconds`;
  return seconds % 60 === 0 ? `${seconds / 60} minutes` : `${Math.round(seconds / 6) / 10} minutes`;
}
