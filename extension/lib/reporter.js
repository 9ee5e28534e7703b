// Reports location fixes by itself while the policy allows it (monitoring.location on, inside
// location.reportingHours in the school's time zone): at the policy's interval, faster while moving
// near an allowed zone's boundary, slower on low battery (rules in location.js). Service workers
// have no geolocation, so fixes come from the offscreen document (GEOLOCATION reason), which is
// open while reporting and closed when it stops. The schedule lives in storage and a chrome.alarms
// alarm, so it survives the worker being stopped; a timer gives the exact time while the worker is
// awake. Fixes go in a heartbeat's `location`; while offline they wait in storage (fixqueue.js).

import * as frames from './frames.js';
import { FixQueue } from './fixqueue.js';
import { isLowBattery, isMoving, isNearBoundary, nextIntervalSeconds, reportingState } from './location.js';
import { load, save } from './store.js';

export const LOCATION_ALARM = 'homeroom-location';
const OFFSCREEN_URL = 'pages/offscreen.html';
// Outside the reporting hours the agent looks again this often (a window may have begun).
const RECHECK_SECONDS = 5 * 60;
// A failed fix is tried again after this long (or the interval, when that is shorter).
const RETRY_SECONDS = 30;
// Alarms may fire a moment early or late; a fix due within this much is taken now.
const EARLY_MS = 1000;

export class LocationReporter {
  /**
   * @param {{ connection: { online: boolean, send(frame: object): boolean }, policy: { document: object | null } }} parts
   */
  constructor({ connection, policy }) {
    this.connection = connection;
    this.policy = policy;
    this.state = { nextAt: 0, lastFix: null, lastSentAt: null, intervalSeconds: null, reason: null, error: null };
    this.queue = new FixQueue();
    this.timer = null;
    this.running = null;
  }

  async init() {
    const { location, locationQueue } = await load(['location', 'locationQueue']);
    this.state = { ...this.state, ...(location ?? {}) };
    this.queue = new FixQueue(locationQueue);
  }

  /** What the policy allows now. */
  allowed(now = new Date()) {
    return reportingState(this.policy.document, now);
  }

  /** Takes a fix when one is due, then schedules the next look; safe to call from any event. */
  tick() {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async run() {
    const now = Date.now();
    const allowed = this.allowed(new Date(now));
    if (!allowed.reporting) {
      await this.stop(allowed);
      return;
    }

    if (now + EARLY_MS < this.state.nextAt) {
      await this.schedule(this.state.nextAt);
      return;
    }

    let waitSeconds;
    try {
      const { fix, battery } = await this.fix();
      const previous = this.state.lastFix;
      waitSeconds = nextIntervalSeconds({
        intervalSeconds: allowed.intervalSeconds,
        nearBoundary: isNearBoundary(this.policy.document?.geo?.zones, fix),
        moving: isMoving(previous, fix),
        lowBattery: isLowBattery(battery),
      });
      this.state.lastFix = fix;
      this.state.error = null;
      await this.deliver(fix, battery);
    } catch (error) {
      waitSeconds = Math.min(RETRY_SECONDS, allowed.intervalSeconds);
      this.state.error = String(error?.message ?? error);
    }

    this.state.intervalSeconds = allowed.intervalSeconds;
    this.state.currentSeconds = waitSeconds;
    this.state.reason = 'on';
    this.state.nextAt = Date.now() + waitSeconds * 1000;
    await this.schedule(this.state.nextAt);
  }

  /** One fix for the `locate` command, within the same limits; keeps the document if reporting goes on. */
  async locate() {
    const allowed = this.allowed();
    if (allowed.reason === 'off') throw new Error('Location is switched off by the policy.');
    if (!allowed.reporting) throw new Error('Location may not be reported now (outside the reporting hours the policy allows).');
    const { fix, battery } = await this.fix();
    this.state.lastFix = fix;
    await this.deliver(fix, battery);
    return fix;
  }

  async deliver(fix, battery) {
    const heartbeat = frames.heartbeat({ location: wire(fix), battery: batteryState(battery) });
    if (this.connection.online && this.queue.length === 0 && this.connection.send(heartbeat)) {
      this.state.lastSentAt = new Date().toISOString();
    } else {
      this.queue.add(fix);
      await save({ locationQueue: this.queue.toJSON() });
      this.flush();
    }
    await this.persist();
  }

  /** Sends the fixes taken offline, oldest first (called when the connection comes up). */
  flush() {
    if (!this.connection.online || this.queue.length === 0) return;
    const fixes = this.queue.take();
    let sent = 0;
    for (const fix of fixes) {
      if (!this.connection.send(frames.heartbeat({ location: wire(fix) }))) break;
      sent++;
    }
    for (const fix of fixes.slice(sent)) this.queue.add(fix);
    if (sent > 0) this.state.lastSentAt = new Date().toISOString();
    save({ locationQueue: this.queue.toJSON() }).then(() => this.persist()).catch(() => {});
  }

  async fix() {
    if (!(await chrome.offscreen.hasDocument?.())) {
      try {
        await chrome.offscreen.createDocument({ url: OFFSCREEN_URL, reasons: ['GEOLOCATION'], justification: 'Report the device location in the hours the school allows' });
      } catch (error) {
        // Created meanwhile by another event: only one offscreen document may exist.
        if (!String(error?.message).includes('single offscreen')) throw error;
      }
    }
    const answer = await chrome.runtime.sendMessage({ type: 'homeroom.locate' });
    if (!answer || answer.error) throw new Error(answer?.error ?? 'No location fix.');
    return answer;
  }

  async schedule(at) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), Math.max(0, at - Date.now()));
    await chrome.alarms.create(LOCATION_ALARM, { when: at });
    await this.persist();
  }

  async stop(allowed) {
    clearTimeout(this.timer);
    this.timer = null;
    const changed = this.state.reason !== allowed.reason || this.state.nextAt !== 0;
    this.state.reason = allowed.reason;
    this.state.intervalSeconds = allowed.intervalSeconds;
    this.state.nextAt = 0;
    if (await chrome.offscreen.hasDocument?.()) await chrome.offscreen.closeDocument().catch(() => {});
    if (allowed.reason === 'off') {
      // Switched off: fixes still waiting from before never leave the device either.
      if (this.queue.length > 0) {
        this.queue.take();
        await save({ locationQueue: this.queue.toJSON() });
      }
      // Only a new policy can switch it on again, and that calls tick().
      await chrome.alarms.clear(LOCATION_ALARM);
    } else {
      await chrome.alarms.create(LOCATION_ALARM, { when: Date.now() + RECHECK_SECONDS * 1000 });
    }
    if (changed) await this.persist();
  }

  async persist() {
    await save({ location: { ...this.state, hours: this.allowed().hours, timeZone: this.allowed().timeZone } });
  }
}

function wire(fix) {
  return { latitude: fix.latitude, longitude: fix.longitude, accuracyMeters: fix.accuracyMeters, capturedAt: fix.capturedAt };
}

function batteryState(battery) {
  if (!battery || !Number.isFinite(battery.level)) return undefined;
  return { level: Math.round(battery.level * 100), charging: Boolean(battery.charging) };
}
