// Classroom tools: the lock screen over every tab, visible messages, and screen thumbnails while a
// teacher watches (with a badge and an in-page banner naming the viewer).

import * as frames from './frames.js';
import { isWebUrl } from './url.js';
import { load, save } from './store.js';

export const LOCK_PAGE = 'pages/lock.html';
export const TARGET_THUMBNAIL_BYTES = 20 * 1024;
const MAX_THUMBNAIL_BYTES = 256 * 1024 - 10;

export function lockUrl() {
  return chrome.runtime.getURL(LOCK_PAGE);
}

export function isLockUrl(url) {
  return typeof url === 'string' && url.startsWith(lockUrl());
}

function isBlank(url) {
  return !url || url === 'about:blank' || url.startsWith('chrome://newtab');
}

export class Lock {
  constructor() {
    this.state = { command: false, commandMessage: null, policy: false, policyMessage: null, tabs: {} };
  }

  async init() {
    const { lock } = await load('lock');
    if (lock) this.state = { ...this.state, ...lock };
  }

  get locked() {
    return this.state.command || this.state.policy;
  }

  get message() {
    return (this.state.command ? this.state.commandMessage : null) ?? this.state.policyMessage ?? 'This device is locked.';
  }

  async persist() {
    await save({ lock: this.state });
  }

  /** Locks by a command or by the policy (a curfew); both may hold at once. */
  async set(source, locked, message) {
    const wasLocked = this.locked;
    if (source === 'command') {
      this.state.command = locked;
      this.state.commandMessage = locked ? message || null : null;
    } else {
      this.state.policy = locked;
      this.state.policyMessage = message || null;
    }

    await this.persist();
    if (this.locked) await this.coverAll();
    else if (wasLocked) await this.restoreAll();
  }

  /** Puts the lock page over every tab, remembering each tab's page for the unlock. */
  async coverAll() {
    const tabs = await chrome.tabs.query({});
    if (tabs.length === 0) {
      await chrome.windows.create({ url: lockUrl(), focused: true });
      return;
    }

    for (const tab of tabs) await this.cover(tab.id, tab.pendingUrl || tab.url);
  }

  async cover(tabId, url) {
    if (isLockUrl(url)) return;
    // A new tab starts blank and then navigates: remember the page it was going to, not the blank.
    const saved = this.state.tabs[String(tabId)];
    if (url && (saved === undefined || isBlank(saved))) {
      this.state.tabs[String(tabId)] = url;
      await this.persist();
    }

    try {
      await chrome.tabs.update(tabId, { url: lockUrl() });
    } catch (error) {
      console.warn('Homeroom: could not lock a tab', error);
    }
  }

  /** A locked tab was closed: keep at least one lock page open while locked. */
  async tabRemoved(tabId) {
    if (String(tabId) in this.state.tabs) {
      delete this.state.tabs[String(tabId)];
      await this.persist();
    }

    if (!this.locked) return;
    const tabs = await chrome.tabs.query({});
    if (tabs.some((t) => isLockUrl(t.pendingUrl || t.url))) return;
    if (tabs.length === 0) await chrome.windows.create({ url: lockUrl(), focused: true });
    else await chrome.tabs.create({ url: lockUrl(), active: true });
  }

  async restoreAll() {
    const saved = this.state.tabs;
    this.state.tabs = {};
    await this.persist();
    const tabs = await chrome.tabs.query({});
    for (const tab of tabs) {
      if (!isLockUrl(tab.pendingUrl || tab.url)) continue;
      const url = saved[String(tab.id)];
      try {
        if (url) await chrome.tabs.update(tab.id, { url });
        else if (tabs.length > 1) await chrome.tabs.remove(tab.id);
        else await chrome.tabs.update(tab.id, { url: 'chrome://newtab/' });
      } catch (error) {
        console.warn('Homeroom: could not restore a tab', error);
      }
    }
  }
}

/** Shows a notice in the active page of every window; an extension window where no page can take it. */
export async function showMessage(title, text) {
  const tabs = await chrome.tabs.query({ active: true });
  let shown = 0;
  for (const tab of tabs) {
    if (!isWebUrl(tab.url)) continue;
    try {
      await chrome.scripting.executeScript({ target: { tabId: tab.id }, func: injectMessage, args: [title ?? 'Message from your teacher', text] });
      shown++;
    } catch {
      // A page the extension may not script (the Web Store, an error page): the window below shows it.
    }
  }

  if (shown === 0) {
    const url = new URL(chrome.runtime.getURL('pages/message.html'));
    url.searchParams.set('title', title ?? 'Message from your teacher');
    url.searchParams.set('text', text);
    await chrome.windows.create({ url: url.toString(), type: 'popup', width: 460, height: 280, focused: true });
  }
}

// Runs in the page: a dismissable notice above everything else, isolated from the page's styles.
function injectMessage(title, text) {
  document.getElementById('homeroom-message')?.remove();
  const host = document.createElement('div');
  host.id = 'homeroom-message';
  host.setAttribute('role', 'alertdialog');
  host.style.cssText = 'all:initial;position:fixed;inset:0;z-index:2147483647;display:flex;align-items:center;justify-content:center;background:rgba(15,23,42,.45)';
  const root = host.attachShadow({ mode: 'open' });
  const box = document.createElement('div');
  box.style.cssText = 'font:16px/1.5 system-ui,sans-serif;color:#0f172a;background:#fff;border-radius:12px;padding:24px 28px;max-width:440px;box-shadow:0 12px 40px rgba(0,0,0,.3)';
  const heading = document.createElement('h2');
  heading.style.cssText = 'margin:0 0 8px;font-size:20px';
  heading.textContent = title;
  const body = document.createElement('p');
  body.style.cssText = 'margin:0 0 16px;white-space:pre-wrap';
  body.textContent = text;
  const ok = document.createElement('button');
  ok.textContent = 'OK';
  ok.style.cssText = 'font:inherit;padding:6px 20px;border:0;border-radius:6px;background:#2563eb;color:#fff;cursor:pointer';
  ok.addEventListener('click', () => host.remove());
  box.append(heading, body, ok);
  root.append(box);
  document.documentElement.append(host);
}

/** Screen thumbnails while a teacher watches. */
export class ScreenView {
  constructor(connection) {
    this.connection = connection;
    this.timer = null;
    this.capturing = false;
    this.sent = 0;
    this.maxWidth = 400;
    this.allowed = () => true;
  }

  async start(frame) {
    this.maxWidth = Math.max(64, Math.min(1920, frame.maxWidth || 400));
    const interval = Math.max(500, Math.min(60_000, frame.intervalMilliseconds || 1000));
    const viewer = frame.viewerName || 'your teacher';
    await save({ viewing: { active: true, viewerName: viewer } });
    await chrome.action.setBadgeText({ text: 'VIEW' });
    await chrome.action.setBadgeBackgroundColor({ color: '#dc2626' });
    await chrome.action.setTitle({ title: `Homeroom: your screen is being viewed by ${viewer}` });
    clearInterval(this.timer);
    this.timer = setInterval(() => this.captureOnce(), interval);
    this.captureOnce();
  }

  async stop() {
    clearInterval(this.timer);
    this.timer = null;
    await save({ viewing: { active: false } });
    await chrome.action.setBadgeText({ text: '' });
    await chrome.action.setTitle({ title: 'Homeroom' });
  }

  get active() {
    return this.timer !== null;
  }

  async captureOnce() {
    if (this.capturing || !this.allowed()) return;
    this.capturing = true;
    try {
      const image = await captureThumbnail(this.maxWidth);
      if (image && this.timer && this.connection.send(frames.thumbnail(image.format, Date.now(), image.bytes))) {
        // Shown on the options page, so a technician can see thumbnails leave only while watched.
        this.sent += 1;
        await chrome.storage.session.set({ thumbnails: { sent: this.sent, bytes: image.bytes.length, width: image.width, at: new Date().toISOString() } });
      }
    } catch (error) {
      console.warn('Homeroom: capture failed', error?.message ?? error);
    } finally {
      this.capturing = false;
    }
  }
}

/**
 * The visible tab of the focused window, scaled to `maxWidth` and re-encoded as JPEG, lowering the
 * quality until it fits the 20 KB target (or giving up past the protocol's limit).
 */
export async function captureThumbnail(maxWidth) {
  const dataUrl = await chrome.tabs.captureVisibleTab({ format: 'jpeg', quality: 70 });
  const source = await (await fetch(dataUrl)).blob();
  const bitmap = await createImageBitmap(source);
  const scale = Math.min(1, maxWidth / bitmap.width);
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();

  let blob = null;
  for (const quality of [0.7, 0.5, 0.35, 0.2]) {
    blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
    if (blob.size <= TARGET_THUMBNAIL_BYTES) break;
  }

  if (!blob || blob.size > MAX_THUMBNAIL_BYTES) return null;
  return { format: frames.ThumbnailFormat.Jpeg, bytes: new Uint8Array(await blob.arrayBuffer()), width, height };
}
