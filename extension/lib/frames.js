// Agent protocol v1 frames (docs/agent-protocol.md; the C# types are in
// src/Homeroom.Contracts/Agents/Frames.cs). Builders drop absent values, since receivers treat an
// omitted property as null.

export const PROTOCOL_VERSION = 1;
export const AGENT_VERSION = 'homeroom-extension/1.0.0';
export const SUBPROTOCOL = 'homeroom.agent.v1';

export const ThumbnailFormat = Object.freeze({ Jpeg: 1, WebP: 2, Png: 3 });

const MAX_TEXT = 4096;
/** Bytes before the image in a safety screenshot frame. */
export const SCREENSHOT_HEADER_BYTES = 26;
/** The server's binary frame limit (MaxBinaryFrameBytes). */
export const MAX_BINARY_FRAME_BYTES = 256 * 1024;

function compact(object) {
  const out = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

function clip(text, max) {
  return typeof text === 'string' && text.length > max ? text.slice(0, max) : text;
}

export function auth(deviceId, credential) {
  return { type: 'auth', deviceId, credential, protocolVersion: PROTOCOL_VERSION, agentVersion: AGENT_VERSION };
}

export function heartbeat({ battery, network, location } = {}) {
  return compact({ type: 'heartbeat', battery, network, location });
}

export function inventory(facts) {
  return compact({
    type: 'inventory',
    osName: clip(facts.osName, 256),
    osVersion: clip(facts.osVersion, 256),
    model: clip(facts.model, 256),
    manufacturer: clip(facts.manufacturer, 256),
    apps: facts.apps,
    // What this agent offers (the server offers the console only these): the extension's view-only remote sessions.
    capabilities: facts.capabilities,
    // Who is signed in; absent means nobody (a shared cart device then returns to its own policy).
    signedInUser: signedInUser(facts.signedInUser),
  });
}

const MAX_SIGNED_IN = 256;

/**
 * The signed-in account as the server accepts it (docs/agent-protocol.md, signed-in user): an address-shaped
 * email and an id without spaces, each at most 256 characters. Anything else is left out rather than sent,
 * since the server closes the connection on a malformed one; leaving it out reads as nobody signed in.
 */
export function signedInUser(user) {
  if (!user) return undefined;
  const email = typeof user.email === 'string' && user.email.length <= MAX_SIGNED_IN && isEmailShaped(user.email) ? user.email : undefined;
  const id = typeof user.id === 'string' && user.id.length > 0 && user.id.length <= MAX_SIGNED_IN && !/[\s\p{Cc}]/u.test(user.id) ? user.id : undefined;
  return email || id ? compact({ email, id }) : undefined;
}

function isEmailShaped(value) {
  const at = value.indexOf('@');
  if (at <= 0 || at !== value.lastIndexOf('@') || at === value.length - 1) return false;
  const domain = value.slice(at + 1);
  return domain.includes('.') && !domain.startsWith('.') && !domain.endsWith('.') && !/[\s\p{Cc}]/u.test(value);
}

/** An activity event without its sequence number (the queue numbers it). */
export function activityEvent(kind, { url, title, appId, detail, durationSeconds, occurredAt } = {}) {
  return compact({
    occurredAt: occurredAt ?? new Date().toISOString(),
    kind,
    url: clip(url, 2048),
    title: clip(title, 256),
    appId: clip(appId, 256),
    detail: clip(detail, 256),
    durationSeconds: Number.isFinite(durationSeconds) ? Math.min(86_400, Math.max(0, Math.round(durationSeconds))) : undefined,
  });
}

export function activity(events) {
  return { type: 'activity', events };
}

export function commandStatus(commandId, status, { result, error } = {}) {
  return compact({ type: 'commandStatus', commandId, status, result: clip(result, MAX_TEXT), error: clip(error, MAX_TEXT) });
}

export function policyStatus(version, failures) {
  const list = (failures ?? []).slice(0, 64).map((f) => clip(f, 256));
  return { type: 'policyStatus', version, applied: list.length === 0, failures: list };
}

/** A batch of safety signals (extension/lib/signals.js builds them). */
export function signals(batch, list) {
  return { type: 'signals', batch, signals: list };
}

/** Parses a text frame; null when it is not a JSON object with a `type`. */
export function parse(text) {
  try {
    const frame = JSON.parse(text);
    return frame && typeof frame === 'object' && typeof frame.type === 'string' ? frame : null;
  } catch {
    return null;
  }
}

/**
 * The binary thumbnail frame: kind 1, image format, capture time (Unix ms, signed 64-bit
 * big-endian), then the encoded image.
 * @param {number} format one of ThumbnailFormat
 * @param {number} capturedAtMs
 * @param {Uint8Array} image
 */
export function thumbnail(format, capturedAtMs, image) {
  if (!(image instanceof Uint8Array) || image.length === 0) throw new Error('A thumbnail needs an image.');
  const frame = new Uint8Array(10 + image.length);
  const view = new DataView(frame.buffer);
  view.setUint8(0, 1);
  view.setUint8(1, format);
  view.setBigInt64(2, BigInt(Math.trunc(capturedAtMs)), false);
  frame.set(image, 10);
  return frame;
}

/**
 * A GUID's 16 bytes in RFC 4122 order (big-endian, as .NET's `Guid.ToByteArray(bigEndian: true)`):
 * the hex digits in the order they are written. Null when the text is not a GUID.
 */
export function guidBytes(text) {
  if (typeof text !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)) return null;
  const hex = text.replaceAll('-', '');
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/**
 * The binary safety screenshot frame: kind 2, image format, capture time (Unix ms, signed 64-bit
 * big-endian), the captureId's 16 bytes (RFC 4122 order), then the encoded image.
 * @param {number} format one of ThumbnailFormat
 * @param {number} capturedAtMs
 * @param {string} captureId the id from the server's safetyCapture frame
 * @param {Uint8Array} image
 */
export function safetyScreenshot(format, capturedAtMs, captureId, image) {
  if (!(image instanceof Uint8Array) || image.length === 0) throw new Error('A screenshot needs an image.');
  const id = guidBytes(captureId);
  if (!id) throw new Error('A screenshot needs the capture id the server sent.');
  const frame = new Uint8Array(SCREENSHOT_HEADER_BYTES + image.length);
  const view = new DataView(frame.buffer);
  view.setUint8(0, 2);
  view.setUint8(1, format);
  view.setBigInt64(2, BigInt(Math.trunc(capturedAtMs)), false);
  frame.set(id, 10);
  frame.set(image, SCREENSHOT_HEADER_BYTES);
  return frame;
}

/** Bytes before the first tile of a remote screen update, and before each tile's JPEG. */
export const REMOTE_HEADER_BYTES = 31;
export const REMOTE_TILE_HEADER_BYTES = 12;

/** The remote session's status frame (accepted, declined or ended, with a reason of at most 256 characters). */
export function remoteSessionStatus(sessionId, status, reason) {
  return compact({ type: 'remoteSessionStatus', sessionId, status, reason: clip(reason, 256) });
}

/**
 * The binary remote screen update (kind 4, as the desktop agent sends it): the session id (RFC 4122 order), the
 * sequence number (signed 64-bit), the screen's width and height and the tile count (16-bit), then per tile its
 * x, y, width, height (16-bit), the JPEG's length (32-bit) and the JPEG; all big-endian.
 * @param {string} sessionId
 * @param {number} sequence from 1
 * @param {number} width
 * @param {number} height
 * @param {{x:number,y:number,width:number,height:number,jpeg:Uint8Array}[]} tiles
 */
export function remoteScreen(sessionId, sequence, width, height, tiles) {
  const id = guidBytes(sessionId);
  if (!id) throw new Error('A screen update needs the session id the server sent.');
  if (tiles.length === 0) throw new Error('A screen update needs at least one tile.');
  const size = tiles.reduce((sum, t) => sum + REMOTE_TILE_HEADER_BYTES + t.jpeg.length, REMOTE_HEADER_BYTES);
  const frame = new Uint8Array(size);
  const view = new DataView(frame.buffer);
  view.setUint8(0, 4);
  frame.set(id, 1);
  view.setBigInt64(17, BigInt(sequence), false);
  view.setUint16(25, width, false);
  view.setUint16(27, height, false);
  view.setUint16(29, tiles.length, false);
  let at = REMOTE_HEADER_BYTES;
  for (const tile of tiles) {
    view.setUint16(at, tile.x, false);
    view.setUint16(at + 2, tile.y, false);
    view.setUint16(at + 4, tile.width, false);
    view.setUint16(at + 6, tile.height, false);
    view.setInt32(at + 8, tile.jpeg.length, false);
    frame.set(tile.jpeg, at + REMOTE_TILE_HEADER_BYTES);
    at += REMOTE_TILE_HEADER_BYTES + tile.jpeg.length;
  }

  return frame;
}

/** The WebSocket URL of the agent endpoint for a server address (http → ws, https → wss). */
export function webSocketUrl(serverUrl, path = '/agent/v1') {
  const url = new URL(path, serverUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
