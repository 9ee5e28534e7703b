// The agent's link to the server: enrollment, the WebSocket with its auth/welcome handshake,
// heartbeats, the offline activity queue and reconnecting with back-off. Frames the server sends
// after welcome go to `onFrame`. MV3 stops idle service workers: the heartbeats keep the socket
// (and so the worker) busy while connected, and an alarm restarts everything after a stop.

import * as frames from './frames.js';
import { reconnectDelay } from './backoff.js';
import { APPROVAL_RETRY_MS, enrollRequest, enrollmentOutcome, enrollmentSecret, needsEnrollment } from './enrollment.js';
import { ActivityQueue } from './queue.js';
import { TokenBucket } from './ratelimit.js';
import { deviceFacts, signedInUser } from './device.js';
import { load, readConfig, save } from './store.js';
import { CAPABILITIES } from './remote.js';

// MV3 ends a worker after 30 s without events; a frame sent or received on a WebSocket counts.
const MAX_HEARTBEAT_SECONDS = 20;
const PERMANENT_STOP = new Set([4403, 4426]);

export class Connection {
  constructor({ onFrame, onStatus, onClosed }) {
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.onClosed = onClosed;
    this.socket = null;
    this.online = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.heartbeatTimer = null;
    this.stoppedReason = null;
    this.replacedUntil = 0;
    this.queue = null;
    this.sentThrough = 0;
    this.bucket = new TokenBucket();
    this.outbox = [];
    this.draining = false;
    this.enrollment = null;
    this.enrollRetryAt = 0;
    this.networkDetails = null;
  }

  async init() {
    const { queue, enrollment, stopped, enrollRetryAt } = await load(['queue', 'enrollment', 'stopped', 'enrollRetryAt']);
    this.queue = new ActivityQueue(queue);
    this.enrollment = enrollment ?? null;
    this.stoppedReason = stopped ?? null;
    this.enrollRetryAt = enrollRetryAt ?? 0;
  }

  get deviceId() {
    return this.enrollment?.deviceId ?? null;
  }

  /** Connects unless connected, connecting, waiting to retry or for an approval, or stopped for good. */
  async ensure() {
    if (this.socket || this.retryTimer || this.stoppedReason || Date.now() < this.replacedUntil || Date.now() < this.enrollRetryAt || this.busy) return;
    this.busy = true;
    try {
      await this.connect();
    } finally {
      this.busy = false;
    }
  }

  /** Forgets a stop and connects again (the configuration changed). */
  async restart() {
    this.stoppedReason = null;
    this.enrollRetryAt = 0;
    await save({ stopped: null, enrollRetryAt: 0 });
    this.close();
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.attempt = 0;
    await this.ensure();
  }

  async connect() {
    const config = await readConfig();
    if (!config.serverUrl) {
      this.status('unconfigured', 'No server address is configured.');
      return;
    }

    if (needsEnrollment(this.enrollment, config.serverUrl)) {
      if (!(await this.enroll(config))) return;
    }

    const { deviceId, credential } = this.enrollment;
    this.status('connecting', config.serverUrl);
    let socket;
    try {
      socket = new WebSocket(frames.webSocketUrl(config.serverUrl), [frames.SUBPROTOCOL]);
    } catch (error) {
      this.scheduleRetry(`The server address is not usable: ${error.message}`);
      return;
    }

    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify(frames.auth(deviceId, credential)));
    socket.onmessage = (event) => {
      if (this.socket === socket && typeof event.data === 'string') this.receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.closed(event.code, event.reason, config);
    };
  }

  async enroll(config) {
    const secret = enrollmentSecret(config);
    if (!secret) {
      this.status('unenrolled', 'No enrollment token is configured.');
      return false;
    }

    this.status('enrolling', config.serverUrl);
    const facts = await deviceFacts();
    // Enrolling again (the server refused the credential with 4401): the credential this agent has
    // goes along, so the server can tell the device itself from someone typing its serial number.
    const body = enrollRequest(secret, facts, config.serverUrl, this.enrollment);
    let response;
    try {
      response = await fetch(new URL('/agent/v1/enroll', `${config.serverUrl}/`), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (error) {
      this.scheduleRetry(`Enrollment failed: ${error.message}`);
      return false;
    }

    const outcome = enrollmentOutcome(response.status);
    if (outcome !== 'enrolled') {
      const problem = await response.json().catch(() => ({}));
      const why = `Enrollment answered ${response.status}: ${problem.detail ?? problem.title ?? ''}`.trim();
      if (outcome === 'stop') {
        // The token is wrong, revoked, used up or of another school: retrying changes nothing until the configuration does.
        await this.stop('enrollment-refused', why);
      } else if (outcome === 'await-approval') {
        // The device is enrolled already (or revoked) and this agent cannot prove it is that device:
        // an administrator has to approve. Ask again now and then; a restart of the worker waits too.
        this.enrollRetryAt = Date.now() + APPROVAL_RETRY_MS;
        await save({ enrollRetryAt: this.enrollRetryAt });
        this.status('awaiting-approval', `${why} Asking again in ${Math.round(APPROVAL_RETRY_MS / 60_000)} minutes.`);
      } else {
        this.scheduleRetry(why);
      }
      return false;
    }

    const answer = await response.json();
    this.enrollment = { serverUrl: config.serverUrl, deviceId: answer.deviceId, credential: answer.credential, serial: facts.serial };
    this.enrollRetryAt = 0;
    await save({ enrollment: this.enrollment, enrollRetryAt: 0 });
    return true;
  }

  receive(text) {
    const frame = frames.parse(text);
    if (!frame) return;
    if (frame.type === 'welcome') {
      this.welcome(frame).catch((error) => console.warn('Homeroom: welcome failed', error));
      return;
    }

    if (frame.type === 'activityAck') {
      // `dropped`: the device is over its activity budget and the server discarded that many events.
      if (frame.dropped) console.warn(`Homeroom: the server dropped ${frame.dropped} activity events over this device's budget`);
      this.queue.ack(frame.throughSeq);
      this.persistQueue();
      return;
    }

    this.onFrame(frame);
  }

  async welcome(frame) {
    this.online = true;
    this.attempt = 0;
    this.status('online', `Connected as ${frame.deviceId}`);
    this.queue.ack(frame.activityAckedSeq);
    this.sentThrough = frame.activityAckedSeq ?? 0;
    await this.persistQueue();

    const seconds = Math.max(5, Math.min(MAX_HEARTBEAT_SECONDS, frame.heartbeatIntervalSeconds ?? 30));
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), seconds * 1000);
    await this.refreshNetwork();
    this.send(frames.heartbeat(heartbeatFacts(this.networkDetails)));
    this.sendInventory().catch(() => {});
    this.flushActivity();
  }

  heartbeat() {
    this.send(frames.heartbeat(heartbeatFacts(this.networkDetails)));
    // Read for the next heartbeat: the answer is asynchronous and a heartbeat should not wait for it.
    this.refreshNetwork();
  }

  /**
   * On managed ChromeOS, the device's local addresses (chrome.enterprise.networkingAttributes, only
   * for force-installed extensions; absent elsewhere): the server may place the device on a school
   * network with them. Anywhere else this quietly stays empty.
   */
  async refreshNetwork() {
    try {
      const details = await chrome.enterprise?.networkingAttributes?.getNetworkDetails?.();
      this.networkDetails = details ?? null;
    } catch {
      this.networkDetails = null;
    }
  }

  async sendInventory() {
    const config = await readConfig();
    const facts = await deviceFacts();
    const user = config.reportSignedInUser ? await signedInUser() : undefined;
    this.send(frames.inventory({ ...facts, capabilities: CAPABILITIES, signedInUser: user }));
  }

  closed(code, reason, config) {
    this.socket = null;
    this.online = false;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.outbox = [];
    this.onClosed?.();
    console.info(`Homeroom: connection closed ${code} ${reason ?? ''}`);

    if (PERMANENT_STOP.has(code)) {
      this.stop(code === 4403 ? 'revoked' : 'unsupported', `The server closed with ${code}: ${reason}`);
      return;
    }

    if (code === 4401) {
      // The credential was refused: enroll again when a token is configured, presenting it (if it is
      // still the device's, it proves this agent is the device; if not, an administrator must approve).
      if (this.enrollment) {
        this.enrollment = { ...this.enrollment, stale: true };
        save({ enrollment: this.enrollment });
      }
      if (!enrollmentSecret(config)) {
        this.stop('unenrolled', 'The server no longer accepts this device and no enrollment token is configured.');
        return;
      }
    }

    if (code === 4409) {
      // Another connection for this device took over; do not fight it. The alarm tries again later.
      this.replacedUntil = Date.now() + 5 * 60_000;
      this.status('replaced', 'Another connection for this device took over.');
      return;
    }

    this.scheduleRetry(`Closed with ${code}${reason ? `: ${reason}` : ''}`);
  }

  scheduleRetry(why) {
    const delay = reconnectDelay(this.attempt++);
    this.status('offline', `${why}. Retrying in ${Math.round(delay / 1000)} s.`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.ensure();
    }, delay);
  }

  async stop(reason, detail) {
    this.stoppedReason = reason;
    await save({ stopped: reason });
    this.status('stopped', detail);
  }

  close() {
    const socket = this.socket;
    this.socket = null;
    this.online = false;
    clearInterval(this.heartbeatTimer);
    if (socket) {
      try {
        socket.close(1000, 'agent closing');
      } catch {
        // Already closed.
      }
    }
  }

  status(state, detail) {
    this.onStatus?.({ state, detail, deviceId: this.deviceId, at: new Date().toISOString() });
  }

  /** Sends a text frame (or a binary one) if online, pacing frames under the server's rate limit. */
  send(frame) {
    if (!this.online || !this.socket) return false;
    this.outbox.push(frame instanceof Uint8Array ? frame : JSON.stringify(frame));
    this.drain();
    return true;
  }

  drain() {
    if (this.draining) return;
    this.draining = true;
    const step = () => {
      while (this.outbox.length > 0 && this.socket && this.online) {
        const wait = this.bucket.take();
        if (wait > 0) {
          setTimeout(step, wait);
          return;
        }
        this.socket.send(this.outbox.shift());
      }
      this.draining = false;
    };
    step();
  }

  /** Queues an activity event (kept until acknowledged) and sends it when online. */
  async record(event) {
    this.queue.add(event);
    await this.persistQueue();
    this.flushActivity();
  }

  /** Queues several events with one write to storage (an app snapshot, the stretches one look ended). */
  async recordAll(events) {
    if (events.length === 0) return;
    for (const event of events) this.queue.add(event);
    await this.persistQueue();
    this.flushActivity();
  }

  flushActivity() {
    if (!this.online) return;
    for (const batch of this.queue.batchesAfter(this.sentThrough)) {
      if (!this.send(frames.activity(batch))) return;
      this.sentThrough = batch[batch.length - 1].seq;
    }
  }

  async persistQueue() {
    await save({ queue: this.queue.toJSON() });
  }
}

/** The heartbeat's network: its kind when the browser tells, and the local IPv4 address when ChromeOS does. */
export function heartbeatFacts(networkDetails) {
  const type = globalThis.navigator?.connection?.type;
  const kind = type === 'wifi' || type === 'ethernet' || type === 'cellular' ? type : undefined;
  const ip = typeof networkDetails?.ipv4 === 'string' && /^\d{1,3}(\.\d{1,3}){3}$/.test(networkDetails.ipv4) ? networkDetails.ipv4 : undefined;
  if (!kind && !ip) return {};
  return { network: ip ? { kind: kind ?? 'other', ipAddress: ip } : { kind } };
}
