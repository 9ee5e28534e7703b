// Safety monitoring on the device: collects the signals of extension/lib/signals.js (searches,
// titles of the active tab, address words, and typed text from content/typing.js when the policy
// allows it), sends them in `signals` batches kept until `signalsAck` (signalqueue.js), and answers
// the server's `safetyCapture` with a screenshot of the visible tab when the policy allows it.
// Everything here is gated on the policy at the moment of collecting and again at sending:
// monitoring.safety, safety.typedText and safety.screenshots (signals.js: safetySettings).

import * as frames from './frames.js';
import { SignalQueue } from './signalqueue.js';
import { RepeatFilter, makeSignal, navigationSignal, pageSignals, safetySettings, signalUrl } from './signals.js';
import { load, save } from './store.js';

export const TYPING_SCRIPT_ID = 'homeroom-typing';
// Signals arriving together (a page's title and its address words, a burst of typing) go in one frame.
const GATHER_MS = 1000;
// The server discards a screenshot that comes later than 30 s after its safetyCapture.
const CAPTURE_DEADLINE_MS = 30_000;
// captureVisibleTab may run at most twice a second (shared with screen view): wait and try again.
const CAPTURE_RETRY_MS = 700;
export const SCREENSHOT_MAX_WIDTH = 1280;
const SCREENSHOT_QUALITIES = [0.6, 0.45, 0.3, 0.2];
// Payment pages of the common processors: the typing script is never even loaded there.
const PAYMENT_SITES = [
  '*://*.stripe.com/*', '*://*.paypal.com/*', '*://*.braintreegateway.com/*', '*://*.adyen.com/*',
  '*://*.squareup.com/*', '*://*.checkout.com/*', '*://pay.google.com/*', '*://*.klarna.com/*',
];

export class SafetyMonitor {
  /**
   * @param {{ connection: { online: boolean, send(frame: object | Uint8Array): boolean }, policy: { document: object | null } }} parts
   */
  constructor({ connection, policy }) {
    this.connection = connection;
    this.policy = policy;
    this.queue = new SignalQueue();
    this.repeats = new RepeatFilter();
    this.sent = new Set();
    this.timer = null;
    this.typingRegistered = null;
  }

  async init() {
    const { signalQueue } = await load('signalQueue');
    this.queue = new SignalQueue(signalQueue);
  }

  get settings() {
    return safetySettings(this.policy.document);
  }

  /** A navigation (any tab, blocked or not): its search, if it is one. */
  async navigated(url) {
    const signal = navigationSignal(url);
    if (signal) await this.observe(signal);
  }

  /** The active tab's page got a title or a new address. */
  async pageShown(tab) {
    for (const signal of pageSignals(tab?.url, tab?.title)) await this.observe(signal);
  }

  /** A phrase from content/typing.js; the tab's address is the browser's, not the message's. */
  async typed(message, sender) {
    if (!this.settings.typedText || !sender?.tab || typeof message?.text !== 'string') return;
    await this.observe({ source: 'typed', text: message.text, url: signalUrl(sender.tab.url) });
  }

  async observe(raw) {
    const settings = this.settings;
    if (!settings.on || (raw.source === 'typed' && !settings.typedText)) return;
    const signal = makeSignal(raw);
    if (!signal || !this.repeats.fresh(signal.source, signal.text)) return;
    this.queue.add(signal);
    await this.persist();
    this.schedule();
  }

  schedule() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, GATHER_MS);
  }

  /** Sends the batches not sent on this connection yet. */
  flush() {
    if (!this.connection.online || this.queue.length === 0 || !this.settings.on) return;
    for (const batch of this.queue.seal()) {
      if (this.sent.has(batch.batch)) continue;
      if (!this.connection.send(frames.signals(batch.batch, batch.signals))) break;
      this.sent.add(batch.batch);
    }
    this.persist().catch(() => {});
  }

  /** The connection came up: every unacknowledged batch goes again. */
  online() {
    this.sent.clear();
    this.flush();
  }

  async acknowledged(frame) {
    if (!Number.isSafeInteger(frame.batch)) return;
    // `dropped`: the device went over its signal budget and the server discarded that many.
    if (frame.dropped) console.warn(`Homeroom: the server dropped ${frame.dropped} safety signals over this device's budget`);
    this.sent.delete(frame.batch);
    if (this.queue.ack(frame.batch)) await this.persist();
  }

  /**
   * A new policy: what was collected under a setting now off never leaves the device, and the
   * typing script is loaded into pages only while typed text is on.
   */
  async policyChanged() {
    const settings = this.settings;
    let removed = 0;
    if (!settings.on) removed = this.queue.discard(() => true);
    else if (!settings.typedText) removed = this.queue.discard((s) => s.source === 'typed');
    if (removed > 0) await this.persist();
    await this.syncTyping(settings.typedText);
    this.flush();
  }

  async syncTyping(enabled) {
    if (this.typingRegistered === enabled) return;
    const existing = await chrome.scripting.getRegisteredContentScripts({ ids: [TYPING_SCRIPT_ID] });
    if (enabled && existing.length === 0) {
      await chrome.scripting.registerContentScripts([{
        id: TYPING_SCRIPT_ID,
        matches: ['http://*/*', 'https://*/*'],
        excludeMatches: PAYMENT_SITES,
        js: ['content/fields.js', 'content/typing.js'],
        runAt: 'document_idle',
        allFrames: true,
        persistAcrossSessions: true,
      }]);
    } else if (!enabled && existing.length > 0) {
      await chrome.scripting.unregisterContentScripts({ ids: [TYPING_SCRIPT_ID] });
    }
    // Scripts already running in open pages read this and stop listening when it goes off.
    await save({ safetyTyping: { enabled } });
    this.typingRegistered = enabled;
  }

  /** The server's safetyCapture: a screenshot of the visible tab within 30 s, if the policy allows. */
  async capture(frame) {
    const asked = Date.now();
    const settings = this.settings;
    if (!settings.on || !settings.screenshots || !frames.guidBytes(frame.captureId)) return;
    let image = null;
    while (!image && Date.now() - asked < CAPTURE_DEADLINE_MS - CAPTURE_RETRY_MS) {
      try {
        image = await captureScreenshot(SCREENSHOT_MAX_WIDTH);
        if (!image) return; // nothing small enough to send
      } catch (error) {
        // No capturable window (a chrome:// page, no focused window) or over the per-second quota.
        console.warn('Homeroom: safety screenshot failed', error?.message ?? error);
        await new Promise((resolve) => setTimeout(resolve, CAPTURE_RETRY_MS));
      }
    }
    if (!image || Date.now() - asked >= CAPTURE_DEADLINE_MS || !this.settings.screenshots) return;
    if (this.connection.send(frames.safetyScreenshot(image.format, image.capturedAt, frame.captureId, image.bytes))) {
      await chrome.storage.session.set({ safetyScreenshot: { bytes: image.bytes.length, width: image.width, at: new Date(image.capturedAt).toISOString() } });
    }
  }

  async persist() {
    await save({ signalQueue: this.queue.toJSON() });
  }
}

/**
 * The visible tab of the focused window as JPEG: taken at quality 60, scaled to at most `maxWidth`
 * pixels wide and re-encoded at falling quality only when it is wider or larger than a binary frame
 * may be. Null when even the lowest quality does not fit.
 */
export async function captureScreenshot(maxWidth, limit = frames.MAX_BINARY_FRAME_BYTES - frames.SCREENSHOT_HEADER_BYTES) {
  const capturedAt = Date.now();
  const dataUrl = await chrome.tabs.captureVisibleTab({ format: 'jpeg', quality: 60 });
  const source = await (await fetch(dataUrl)).blob();
  const bitmap = await createImageBitmap(source);
  try {
    if (bitmap.width <= maxWidth && source.size <= limit) {
      return { format: frames.ThumbnailFormat.Jpeg, bytes: new Uint8Array(await source.arrayBuffer()), width: bitmap.width, capturedAt };
    }
    let width = Math.min(maxWidth, bitmap.width);
    // Halve the width when even the lowest quality is too large (a very busy 1280 px screen).
    for (let attempt = 0; attempt < 3; attempt++, width = Math.round(width / 2)) {
      const height = Math.max(1, Math.round((bitmap.height * width) / bitmap.width));
      const canvas = new OffscreenCanvas(width, height);
      canvas.getContext('2d').drawImage(bitmap, 0, 0, width, height);
      for (const quality of SCREENSHOT_QUALITIES) {
        const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
        if (blob.size <= limit) return { format: frames.ThumbnailFormat.Jpeg, bytes: new Uint8Array(await blob.arrayBuffer()), width, capturedAt };
      }
    }
    return null;
  } finally {
    bitmap.close();
  }
}
