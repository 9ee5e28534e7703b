// View-only remote support sessions (issue 21): while an IT technician watches, the visible tab is captured as fast as
// captureVisibleTab's quota allows (about twice a second, shared with the other captures), cut into tiles of at most
// 256 pixels, and only the tiles that changed since the last update are sent, as the desktop agent's binary kind 4
// screen update. An extension cannot inject input, so a control session is declined. The student is asked first when
// the server says consent is required, sees a banner naming the technician for the whole session, and can end it.
// Nothing here touches `chrome` directly: the service worker passes in the capture, prompt and banner, so node tests
// drive the whole session.

import * as frames from './frames.js';

/** The capability the extension reports in its inventory: view-only remote sessions. */
export const REMOTE_VIEW = 'remote.view';
export const CAPABILITIES = Object.freeze([{ name: REMOTE_VIEW, available: true }]);

/** The reason a control session is declined. */
export const VIEW_ONLY_REASON = 'view only on Chromebooks';

/** Largest tile side (the protocol's limit). */
export const TILE_SIDE = 256;

/** captureVisibleTab allows two calls a second per extension. */
export const MIN_INTERVAL_MS = 500;

/** Updates sent but not yet acknowledged before capturing pauses (the server acknowledges each delivery). */
export const MAX_UNACKNOWLEDGED = 3;

/** The tiles covering a width × height screen, row by row. */
export function tileGrid(width, height, side = TILE_SIDE) {
  const tiles = [];
  for (let y = 0; y < height; y += side) {
    for (let x = 0; x < width; x += side) tiles.push({ x, y, width: Math.min(side, width - x), height: Math.min(side, height - y) });
  }

  return tiles;
}

/**
 * The tiles of `grid` whose pixels differ between two RGBA buffers of a `width`-pixel-wide image; every tile when
 * there is no previous buffer or its size differs.
 */
export function changedTiles(previous, pixels, width, grid) {
  if (!previous || previous.length !== pixels.length) return [...grid];
  return grid.filter((tile) => {
    for (let row = tile.y; row < tile.y + tile.height; row++) {
      const start = (row * width + tile.x) * 4;
      const end = start + tile.width * 4;
      for (let i = start; i < end; i++) {
        if (previous[i] !== pixels[i]) return true;
      }
    }

    return false;
  });
}

/** Groups encoded tiles into as few updates as fit the binary frame limit (a tile too large on its own is dropped). */
export function packTiles(tiles, maxBytes = frames.MAX_BINARY_FRAME_BYTES) {
  const groups = [];
  let group = [];
  let size = frames.REMOTE_HEADER_BYTES;
  for (const tile of tiles) {
    const bytes = frames.REMOTE_TILE_HEADER_BYTES + tile.jpeg.length;
    if (frames.REMOTE_HEADER_BYTES + bytes > maxBytes) continue;
    if (size + bytes > maxBytes) {
      groups.push(group);
      group = [];
      size = frames.REMOTE_HEADER_BYTES;
    }

    group.push(tile);
    size += bytes;
  }

  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * One remote session at a time on this device.
 * @param {object} options
 * @param {{ send(frame): boolean }} options.connection
 * @param {() => Promise<{width:number,height:number,tiles:object[]}|null>} options.capture the changed tiles since the last call (all after `reset`)
 * @param {() => void} options.reset the next capture sends the whole screen
 * @param {(session) => Promise<boolean>} options.ask asks the student; true when they accept
 * @param {(session|null) => Promise<void>} options.show shows the banner for a session, or hides it (null)
 * @param {(handler, ms) => any} [options.setInterval]
 * @param {(timer) => void} [options.clearInterval]
 */
export class RemoteView {
  constructor({ connection, capture, reset, ask, show, report = () => {}, setInterval: every, clearInterval: cancel }) {
    Object.assign(this, { connection, capture, reset, ask, show, report });
    // Called as plain functions: the browser's timers refuse to run as a method of another object ("Illegal invocation").
    this.every = every ?? ((handler, ms) => setInterval(handler, ms));
    this.cancel = cancel ?? ((timer) => clearInterval(timer));
    this.session = null;
    this.timer = null;
    this.capturing = false;
  }

  get active() {
    return this.session?.state === 'streaming';
  }

  /** A `remoteSession` frame from the server. */
  async handle(frame) {
    if (!frames.guidBytes(frame?.sessionId)) return;
    if (!frame.active) {
      if (this.session?.id === frame.sessionId) await this.finish();
      return;
    }

    if (frame.mode !== 'view') {
      this.connection.send(frames.remoteSessionStatus(frame.sessionId, 'declined', VIEW_ONLY_REASON));
      return;
    }

    if (this.session) await this.end('another session started');
    const session = {
      id: frame.sessionId,
      technician: typeof frame.technicianName === 'string' && frame.technicianName ? frame.technicianName.slice(0, 256) : 'IT support',
      consentRequired: frame.consentRequired === true,
      intervalMs: Math.max(MIN_INTERVAL_MS, Math.round(1000 / Math.max(1, Math.min(30, frame.maxFramesPerSecond || 2)))),
      state: 'asking',
      sequence: 0,
      acknowledged: 0,
    };
    this.session = session;
    if (session.consentRequired) {
      let accepted = false;
      try {
        accepted = await this.ask(session);
      } catch {
        accepted = false;
      }

      // The technician may have ended it, or another session started, while the student was deciding.
      if (this.session !== session) return;
      if (!accepted) {
        this.session = null;
        this.connection.send(frames.remoteSessionStatus(session.id, 'declined', 'the student declined'));
        return;
      }
    }

    session.state = 'streaming';
    this.reset();
    await this.show(session);
    this.connection.send(frames.remoteSessionStatus(session.id, 'accepted'));
    this.timer = this.every(() => this.captureOnce(), session.intervalMs);
    await this.captureOnce();
  }

  /** A `remoteAck` frame: updates up to its sequence reached the technician. */
  acknowledged(frame) {
    if (this.session?.id === frame?.sessionId && Number.isFinite(frame.sequence)) {
      this.session.acknowledged = Math.max(this.session.acknowledged, frame.sequence);
    }
  }

  /** The student (or the extension) ends the session: the server is told why. */
  async end(reason = 'the student ended it') {
    const session = this.session;
    if (!session) return false;
    if (session.state === 'streaming' || session.state === 'asking') {
      this.connection.send(frames.remoteSessionStatus(session.id, session.state === 'asking' ? 'declined' : 'ended', reason));
    }

    await this.finish();
    return true;
  }

  /** The session is over without telling the server (it ended it, or the connection closed). */
  async finish() {
    this.cancel(this.timer);
    this.timer = null;
    this.session = null;
    await this.show(null);
  }

  async captureOnce() {
    const session = this.session;
    if (!session || session.state !== 'streaming' || this.capturing) return 0;
    // Flow control: while the technician's console is behind, capture nothing (the next capture sends everything changed).
    if (session.sequence - session.acknowledged >= MAX_UNACKNOWLEDGED) return 0;
    this.capturing = true;
    let sent = 0;
    try {
      const screen = await this.capture();
      if (!screen || this.session !== session) return 0;
      for (const tiles of packTiles(screen.tiles)) {
        session.sequence += 1;
        if (!this.connection.send(frames.remoteScreen(session.id, session.sequence, screen.width, screen.height, tiles))) {
          // Offline: the server ended the session when the connection went; so does the device.
          await this.finish();
          return sent;
        }

        sent += 1;
      }

      if (sent > 0) this.report({ sequence: session.sequence, tiles: screen.tiles.length, width: screen.width, height: screen.height, error: null });
    } catch (error) {
      this.report({ sequence: session.sequence, error: String(error?.message ?? error) });
      // The quota shared with other captures, or a page that cannot be captured: the next tick tries again.
      console.warn('Homeroom: remote capture failed', error?.message ?? error);
    } finally {
      this.capturing = false;
    }

    return sent;
  }
}

/**
 * Captures the visible tab and returns its changed tiles as JPEGs (service worker only: chrome.tabs, OffscreenCanvas).
 * Remembers the last sent pixels so the next call sends only what changed.
 */
export class TabTiler {
  constructor({ maxWidth = 1920, quality = 0.6 } = {}) {
    this.maxWidth = maxWidth;
    this.quality = quality;
    this.previous = null;
  }

  reset() {
    this.previous = null;
  }

  async capture() {
    // The student's browser window, not the remote support notice that may have the focus.
    this.stage = 'window';
    const window = await chrome.windows.getLastFocused({ windowTypes: ['normal'] }).catch(() => null);
    this.stage = 'captureVisibleTab';
    const dataUrl = window?.id !== undefined
      ? await chrome.tabs.captureVisibleTab(window.id, { format: 'jpeg', quality: 80 })
      : await chrome.tabs.captureVisibleTab({ format: 'jpeg', quality: 80 });
    this.stage = 'decode';
    const bitmap = await createImageBitmap(await (await fetch(dataUrl)).blob());
    const scale = Math.min(1, this.maxWidth / bitmap.width);
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0, width, height);
    bitmap.close();
    this.stage = 'pixels';
    const pixels = context.getImageData(0, 0, width, height).data;
    const changed = changedTiles(this.previous, pixels, width, tileGrid(width, height));
    this.previous = pixels;
    this.stage = 'encode';
    const tiles = [];
    for (const tile of changed) {
      const piece = new OffscreenCanvas(tile.width, tile.height);
      piece.getContext('2d').drawImage(canvas, tile.x, tile.y, tile.width, tile.height, 0, 0, tile.width, tile.height);
      const blob = await piece.convertToBlob({ type: 'image/jpeg', quality: this.quality });
      tiles.push({ ...tile, jpeg: new Uint8Array(await blob.arrayBuffer()) });
    }

    this.stage = 'done';
    return { width, height, tiles };
  }
}
