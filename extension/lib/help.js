// "I need help": a student's request, kept until the server acknowledges it (sent again, unchanged,
// after every reconnect: the server stores a request id once), and the latest status of each recent
// request for the popup ("sent", "your teacher has it", "resolved"). Pure logic; storage and the
// socket are the caller's. Protocol: docs/agent-protocol.md, helpRequest.

export const MAX_NOTE_LENGTH = 500;
// The server's limit (HelpRequestLimits.MaxScreenshotBytes): its base64 fits the 64 KiB text frame.
export const MAX_SCREENSHOT_BYTES = 40_000;
// Screenshots are scaled to at most this width before encoding.
export const SCREENSHOT_MAX_WIDTH = 800;
// Requests kept for the popup; the server allows 5 open ones per device.
export const MAX_KEPT = 10;

/** The note as sent: trimmed, cut to 500 characters, no NUL; null when empty. */
export function cleanNote(text) {
  if (typeof text !== 'string') return null;
  const cleaned = text.replace(/\u0000/g, '\uFFFD').trim();
  return cleaned.length === 0 ? null : Array.from(cleaned).slice(0, MAX_NOTE_LENGTH).join('').slice(0, MAX_NOTE_LENGTH);
}

/** True for bytes that start with a JPEG start-of-image and frame marker and end with end-of-image (the server's check). */
export function isJpeg(bytes) {
  return bytes instanceof Uint8Array && bytes.length >= 8
    && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff
    && bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9;
}

/** Standard base64 of bytes (what System.Text.Json reads for a byte array). */
export function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * The helpRequest frame. A screenshot is attached only when it is a JPEG within the limit (the server
 * would close the connection otherwise); `screenshotDropped` says one was left out.
 */
export function helpRequestFrame({ requestId, createdAt, note, screenshot }) {
  const frame = { type: 'helpRequest', requestId, createdAt: new Date(createdAt).toISOString() };
  const text = cleanNote(note);
  if (text) frame.note = text;
  if (screenshot && isJpeg(screenshot) && screenshot.length <= MAX_SCREENSHOT_BYTES) frame.screenshot = toBase64(screenshot);
  return frame;
}

/** What the student reads about a request. */
export function describe(request) {
  if (request.refused === 'tooManyOpen') return 'Not sent: you already have several requests waiting. Ask your teacher.';
  switch (request.status) {
    case 'withTeacher': return request.taken ? 'Your teacher is on it.' : 'Sent to your teacher.';
    case 'escalated': return request.taken ? 'IT is on it.' : 'Your teacher passed it to IT.';
    case 'itQueue': return request.taken ? 'IT is on it.' : 'Sent to IT.';
    case 'resolved': return 'Resolved.';
    default: return 'Waiting to send (offline).';
  }
}

export class HelpRequests {
  /** @param {{ requests?: object[] }} [state] what `toJSON` stored */
  constructor(state) {
    this.requests = Array.isArray(state?.requests)
      ? state.requests.filter((r) => typeof r?.requestId === 'string' && r.frame?.type === 'helpRequest').slice(-MAX_KEPT)
      : [];
  }

  /** Adds a new request (not yet acknowledged); returns it. */
  add(frame) {
    const request = { requestId: frame.requestId, frame, createdAt: frame.createdAt, note: frame.note ?? null, screenshot: Boolean(frame.screenshot), status: null, taken: false, refused: null };
    this.requests.push(request);
    while (this.requests.length > MAX_KEPT) {
      const index = this.requests.findIndex((r) => r.status !== null || r.refused !== null);
      this.requests.splice(index < 0 ? 0 : index, 1);
    }
    return request;
  }

  /** Frames still waiting for their ack, oldest first (send them after every welcome). */
  unacknowledged() {
    return this.requests.filter((r) => r.status === null && r.refused === null).map((r) => r.frame);
  }

  /** Applies helpRequestAck; once acknowledged the screenshot is forgotten. True when it concerned a kept request. */
  acknowledged(frame) {
    const request = this.requests.find((r) => r.requestId === frame.requestId);
    if (!request) return false;
    request.status = frame.status ?? null;
    request.refused = frame.refused ?? null;
    request.frame = { type: 'helpRequest', requestId: request.requestId, createdAt: request.createdAt };
    return true;
  }

  /** Applies helpStatus (taken, escalated, resolved). */
  changed(frame) {
    const request = this.requests.find((r) => r.requestId === frame.requestId);
    if (!request) return false;
    request.status = frame.status;
    request.taken = Boolean(frame.taken);
    request.refused = null;
    return true;
  }

  /** The requests as the popup lists them, newest first. */
  view() {
    return this.requests.slice().reverse().map((r) => ({ requestId: r.requestId, createdAt: r.createdAt, note: r.note, screenshot: r.screenshot, status: r.status, text: describe(r) }));
  }

  toJSON() {
    return { requests: this.requests };
  }
}
