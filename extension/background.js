// Homeroom's Chromebook agent: the service worker. Listeners are registered synchronously at the
// top level (MV3 only delivers events to listeners present when the worker starts); each one
// waits for the state to load from storage first, since the worker may have just been started.

import * as frames from './lib/frames.js';
import { Connection } from './lib/connection.js';
import { PolicyState } from './lib/policy.js';
import { Lock, ScreenView, isLockUrl, showMessage } from './lib/classroom.js';
import { blockedDetail, decide, parseFocusSites, Reason } from './lib/filter.js';
import { classify, record } from './lib/ledger.js';
import { isWebUrl } from './lib/url.js';
import { load, loadSession, readConfig, save, saveSession } from './lib/store.js';
import { LOCATION_ALARM, LocationReporter } from './lib/reporter.js';
import { SafetyMonitor, captureScreenshot } from './lib/safety.js';
import { HelpRequests, MAX_SCREENSHOT_BYTES, SCREENSHOT_MAX_WIDTH, describe, helpRequestFrame } from './lib/help.js';
import { FLUSH_MINUTES, siteOf, USAGE_ALARM, UsageTracker } from './lib/usage.js';
import { fingerprint, snapshotDue, snapshotEvents, snapshotItems } from './lib/apps.js';
import { diagnoseResult, diagnosticsFrame, gatherReport, parseSites } from './lib/diagnostics.js';
import { RemoteView, TabTiler } from './lib/remote.js';

const KEEPALIVE_ALARM = 'homeroom-keepalive';
// A tab is counted only while someone used the device within this long (chrome.idle).
const IDLE_SECONDS = 60;
const FOCUS_ALARM = 'homeroom-focus-end';
const BLOCK_PAGE = chrome.runtime.getURL('pages/blocked.html');

const policy = new PolicyState();
const lock = new Lock();
const connection = new Connection({
  onFrame: (frame) => handleFrame(frame).catch((error) => console.warn('Homeroom: frame failed', frame.type, error)),
  onStatus: (status) => {
    if (status.state === 'online') {
      reporter.flush();
      safety.online();
      sendHelp();
    }
    return save({ status });
  },
  onClosed: () => {
    screenView.stop();
    remote.finish().catch(() => {});
  },
});
const reporter = new LocationReporter({ connection, policy });
const safety = new SafetyMonitor({ connection, policy });
const screenView = new ScreenView(connection);
screenView.allowed = () => policy.monitoring.classroomViewing !== false;

// View-only remote support (lib/remote.js): the consent prompt and the notice are an extension window
// (pages/remote.html), the banner in every page is content/banner.js following `remoteViewing`.
const REMOTE_PAGE = 'pages/remote.html';
const tiler = new TabTiler();
const answers = new Map(); // session id -> resolve(accepted)
let remoteWindowId = null;

async function openRemoteWindow(session, ask) {
  await closeRemoteWindow();
  const url = new URL(chrome.runtime.getURL(REMOTE_PAGE));
  url.searchParams.set('session', session.id);
  url.searchParams.set('technician', session.technician);
  if (ask) url.searchParams.set('ask', '1');
  const created = await chrome.windows.create({ url: url.toString(), type: 'popup', width: 480, height: 320, focused: true });
  remoteWindowId = created?.id ?? null;
}

async function closeRemoteWindow() {
  const id = remoteWindowId;
  remoteWindowId = null;
  if (id !== null) await chrome.windows.remove(id).catch(() => {});
}

const remote = new RemoteView({
  connection,
  capture: () => tiler.capture(),
  reset: () => tiler.reset(),
  // Shown to whoever debugs the extension (like `thumbnails`): what the last capture sent, or why it failed.
  report: (state) => chrome.storage.session.set({ remoteView: { ...state, stage: tiler.stage, at: new Date().toISOString() } }).catch(() => {}),
  ask: (session) => new Promise((resolve) => {
    answers.set(session.id, resolve);
    openRemoteWindow(session, true).catch(() => resolve(false));
  }),
  show: async (session) => {
    for (const [id, resolve] of answers) {
      if (id !== session?.id) {
        answers.delete(id);
        resolve(false);
      }
    }

    if (session) {
      await save({ remoteViewing: { active: true, viewerName: `${session.technician} (IT support)` } });
      await chrome.action.setBadgeText({ text: 'IT' });
      await chrome.action.setBadgeBackgroundColor({ color: '#dc2626' });
      await chrome.action.setTitle({ title: `Homeroom: ${session.technician} from IT support is viewing your screen` });
      if (!session.consentRequired) await openRemoteWindow(session, false);
    } else {
      await save({ remoteViewing: { active: false } });
      await closeRemoteWindow();
      await chrome.action.setBadgeText({ text: screenView.active ? 'VIEW' : '' });
      await chrome.action.setTitle({ title: 'Homeroom' });
    }
  },
});

// Only pages/remote.html answers and ends sessions: it opens in a tab of its own window, so unlike the action popup
// its sender has a tab, and its address (never a web page's) is what tells it from a content script.
function fromRemotePage(sender) {
  return sender?.id === chrome.runtime.id && typeof sender.url === 'string' && sender.url.startsWith(chrome.runtime.getURL(REMOTE_PAGE));
}

chrome.windows.onRemoved.addListener((windowId) => {
  if (windowId !== remoteWindowId) return;
  remoteWindowId = null;
  // Closing the prompt declines; closing the notice ends the session.
  const session = remote.session;
  if (session && answers.has(session.id)) {
    answers.get(session.id)(false);
    answers.delete(session.id);
  } else if (session) {
    remote.end('the student closed the notice').catch(() => {});
  }
});

let ledger = {};
let help = new HelpRequests();
let focus = null;
const running = new Set();
const recentBlocks = new Map();

const ready = (async () => {
  await Promise.all([connection.init(), policy.init(), lock.init(), reporter.init(), safety.init()]);
  const stored = await load(['ledger', 'focus', 'help']);
  ledger = stored.ledger ?? {};
  help = new HelpRequests(stored.help);
  focus = stored.focus ?? null;
  await save({ viewing: { active: false }, remoteViewing: { active: false } });
  await chrome.alarms.create(KEEPALIVE_ALARM, { periodInMinutes: 0.5 });
  if (!(await chrome.alarms.get(USAGE_ALARM))) await chrome.alarms.create(USAGE_ALARM, { periodInMinutes: FLUSH_MINUTES });
  chrome.idle.setDetectionInterval(IDLE_SECONDS);
})();

function whenReady(handler) {
  return (...args) => {
    ready.then(() => handler(...args)).catch((error) => console.warn('Homeroom:', error));
  };
}

// Every start of the worker (browser start, install, an event, an alarm) reconnects, and picks up
// the location schedule where the stopped worker left it.
ready.then(() => connection.ensure());
ready.then(() => reporter.tick());
ready.then(() => safety.policyChanged()).catch((error) => console.warn('Homeroom: safety', error));
ready.then(() => usageChanged()).then(() => appsChanged()).catch((error) => console.warn('Homeroom: usage', error));

chrome.runtime.onInstalled.addListener(whenReady(() => connection.ensure()));
chrome.runtime.onStartup.addListener(whenReady(() => connection.ensure()));
chrome.alarms.onAlarm.addListener(whenReady(async (alarm) => {
  if (alarm.name === FOCUS_ALARM) await endFocusIfDue();
  await connection.ensure();
  if (alarm.name === LOCATION_ALARM) await reporter.tick();
  if (alarm.name === USAGE_ALARM) {
    await usageChanged({ flush: true });
    await appsChanged();
  }
}));

chrome.storage.onChanged.addListener(whenReady((changes, area) => {
  if ((area === 'local' && 'config' in changes) || area === 'managed') connection.restart();
}));

chrome.runtime.onMessage.addListener((message, sender, reply) => {
  if (message?.type === 'homeroom.status') {
    ready.then(async () => reply({ ...(await load('status')).status, online: connection.online, deviceId: connection.deviceId }));
    return true;
  }

  if (message?.type === 'homeroom.typed') {
    // From content/typing.js in a page; only a tab's content script has a sender.tab.
    if (sender?.id === chrome.runtime.id && sender.tab) ready.then(() => safety.typed(message, sender)).catch(() => {});
    return false;
  }

  if (message?.type === 'homeroom.help' && !sender?.tab) {
    // From the action popup (an extension page, never a web page's content script).
    ready.then(() => askForHelp(message)).then(reply, () => reply({ ok: false, text: 'Could not send.' }));
    return true;
  }

  if (message?.type === 'homeroom.help.list' && !sender?.tab) {
    ready.then(() => reply({ requests: help.view() }));
    return true;
  }

  if (message?.type === 'homeroom.remote.answer' && fromRemotePage(sender)) {
    const resolve = answers.get(message.sessionId);
    answers.delete(message.sessionId);
    resolve?.(message.accepted === true);
    return false;
  }

  if (message?.type === 'homeroom.remote.end' && fromRemotePage(sender)) {
    ready.then(() => (remote.session?.id === message.sessionId ? remote.end() : false)).then((ended) => reply({ ok: ended }));
    return true;
  }

  if (message?.type === 'homeroom.reconnect') {
    ready.then(() => connection.restart()).then(() => reply({ ok: true }));
    return true;
  }

  return false;
});

// --- navigation: lock first, then the web filter and focus mode ---

chrome.webNavigation.onBeforeNavigate.addListener(whenReady((details) => {
  if (details.frameId !== 0) return;
  safety.navigated(details.url);
  checkNavigation(details.tabId, details.url);
}));
chrome.webNavigation.onCommitted.addListener(whenReady((details) => {
  if (details.frameId !== 0) return;
  safety.navigated(details.url);
  checkNavigation(details.tabId, details.url);
}));
chrome.tabs.onCreated.addListener(whenReady((tab) => {
  if (lock.locked) lock.cover(tab.id, tab.pendingUrl || tab.url);
}));
chrome.tabs.onUpdated.addListener(whenReady((tabId, change, tab) => {
  if (change.url) {
    // A page changing its own address (YouTube's search) raises no navigation event.
    safety.navigated(change.url);
    checkNavigation(tabId, change.url);
  }
  if (tab.active && (change.url || change.title || change.status === 'complete')) visitChanged(tab);
  if (tab.active && change.url) usageChanged();
  if (tab.active && !lock.locked && (change.title || change.status === 'complete')) safety.pageShown(tab);
}));
chrome.tabs.onRemoved.addListener(whenReady((tabId) => {
  usageChanged();
  recentBlocks.delete(tabId);
  if (lock.locked || String(tabId) in lock.state.tabs) lock.tabRemoved(tabId);
  endVisitIf((v) => v.tabId === tabId);
}));
chrome.tabs.onActivated.addListener(whenReady(async ({ tabId }) => {
  const tab = await chrome.tabs.get(tabId);
  usageChanged();
  visitChanged(tab);
  if (!lock.locked) safety.pageShown(tab);
}));
chrome.windows.onFocusChanged.addListener(whenReady(async (windowId) => {
  await usageChanged();
  if (windowId === chrome.windows.WINDOW_ID_NONE) {
    await endVisitIf(() => true);
    return;
  }
  const [tab] = await chrome.tabs.query({ active: true, windowId });
  if (tab) visitChanged(tab);
}));
chrome.idle.onStateChanged.addListener(whenReady(() => usageChanged()));
// A shared device follows its signed-in student: say at once when the account changes (the inventory carries it).
chrome.identity?.onSignInChanged?.addListener(whenReady(() => connection.sendInventory().catch(() => {})));
for (const event of [chrome.management?.onInstalled, chrome.management?.onUninstalled, chrome.management?.onEnabled, chrome.management?.onDisabled]) {
  event?.addListener(whenReady(() => appsChanged()));
}
// A blocked extension installed or turned back on after the policy arrived is turned off again at once.
for (const event of [chrome.management?.onInstalled, chrome.management?.onEnabled]) {
  event?.addListener(whenReady(() => policy.applyCatalog()));
}

async function checkNavigation(tabId, url) {
  if (lock.locked) {
    if (!isLockUrl(url)) await lock.cover(tabId, url);
    return;
  }

  if (!isWebUrl(url)) return;
  const decision = decide(policy.filter, url, activeFocus());
  if (!decision.blocked) return;

  // One navigation raises several events (before navigate, commit, tab update). A late one must not
  // pull the tab back to the block page after it has moved on.
  const previous = recentBlocks.get(tabId);
  const repeat = previous && previous.url === url && Date.now() - previous.at < 5000;
  if (repeat) {
    const tab = await chrome.tabs.get(tabId).catch(() => null);
    const now = tab?.pendingUrl || tab?.url;
    if (!tab || now !== url) return;
  }

  recentBlocks.set(tabId, { url, at: Date.now() });
  const page = new URL(BLOCK_PAGE);
  page.searchParams.set('url', url);
  page.searchParams.set('reason', decision.reason);
  page.searchParams.set('detail', blockedDetail(decision));
  if (decision.matchedHost) page.searchParams.set('host', decision.matchedHost);
  if (decision.reason === Reason.Focus) page.searchParams.set('sites', activeFocus().sites.join(' '));
  try {
    await chrome.tabs.update(tabId, { url: page.toString() });
  } catch (error) {
    console.warn('Homeroom: could not show the block page', error);
  }

  if (!repeat) await connection.record(frames.activityEvent('web.blocked', { url, detail: blockedDetail(decision) }));
}

/** Re-decides every open tab (the policy or focus list changed). */
async function recheckTabs() {
  for (const tab of await chrome.tabs.query({})) {
    const url = tab.pendingUrl || tab.url;
    if (isWebUrl(url)) await checkNavigation(tab.id, url);
  }
}

// --- tab activity: web.visit with the seconds a page was the active tab ---

async function visitChanged(tab) {
  const current = await loadSession('visit');
  if (current && current.tabId === tab.id && current.url === tab.url) {
    if (tab.title && tab.title !== current.title) await saveSession('visit', { ...current, title: tab.title });
    return;
  }

  await endVisitIf(() => true);
  if (isWebUrl(tab.url) && !lock.locked) {
    await saveSession('visit', { tabId: tab.id, url: tab.url, title: tab.title, since: Date.now() });
  }
}

async function endVisitIf(predicate) {
  const current = await loadSession('visit');
  if (!current || !predicate(current)) return;
  await saveSession('visit', null);
  const seconds = (Date.now() - current.since) / 1000;
  if (seconds < 1 || policy.monitoring.activity === false) return;
  if (decide(policy.filter, current.url, activeFocus()).blocked) return;
  await connection.record(frames.activityEvent('web.visit', {
    url: current.url,
    title: current.title,
    durationSeconds: seconds,
    occurredAt: new Date(current.since).toISOString(),
  }));
}

// --- web.usage: seconds per site (origin only) in the active tab, focused or not ---

let usageRunning = Promise.resolve();

/** Looks at what is in front now and queues the stretches that ended; serialised, since events overlap. */
function usageChanged(options) {
  usageRunning = usageRunning.then(() => observeUsage(options)).catch((error) => console.warn('Homeroom: usage', error));
  return usageRunning;
}

async function observeUsage(options) {
  const tracker = new UsageTracker(await loadSession('usage'));
  const seen = await siteInFront();
  const events = tracker.observe(seen, Date.now(), options);
  await saveSession('usage', tracker.toJSON());
  // Switched off by the policy: what was open is dropped, never sent.
  if (!usageAllowed()) return;
  await connection.recordAll(events.map((event) => frames.activityEvent(event.kind, event)));
}

/**
 * Usage data only under a policy that leaves monitoring.activity on: before the first policy arrives
 * (a new enrollment) nothing is known, so nothing is collected.
 */
function usageAllowed() {
  return policy.document != null && policy.monitoring.activity !== false;
}

async function siteInFront() {
  if (!usageAllowed() || lock.locked) return null;
  if ((await chrome.idle.queryState(IDLE_SECONDS)) !== 'active') return null;
  let win;
  try {
    win = await chrome.windows.getLastFocused();
  } catch {
    return null; // No browser window.
  }
  const [tab] = await chrome.tabs.query({ active: true, windowId: win.id });
  const site = siteOf(tab?.url);
  return site ? { site, focused: Boolean(win.focused) } : null;
}

// --- app.inventory: the installed extensions and apps, at start, on a change, else at most hourly ---

let appsRunning = Promise.resolve();

function appsChanged() {
  appsRunning = appsRunning.then(sendAppsIfDue).catch((error) => console.warn('Homeroom: apps', error));
  return appsRunning;
}

async function sendAppsIfDue() {
  if (!usageAllowed() || !chrome.management?.getAll) return;
  const items = snapshotItems(await chrome.management.getAll());
  const print = fingerprint(items);
  const now = Date.now();
  const { appsSnapshot } = await load('appsSnapshot');
  if (items.length === 0 || !snapshotDue(appsSnapshot, print, now)) return;
  await connection.recordAll(snapshotEvents(items, now).map((event) => frames.activityEvent(event.kind, event)));
  await save({ appsSnapshot: { fingerprint: print, sentAt: now } });
}

// --- "I need help" (pages/help.html) ---

async function askForHelp(message) {
  let screenshot = null;
  if (message.screenshot === true) {
    // Only when the student ticked it; scaled and re-encoded to fit the protocol's limit.
    try {
      screenshot = (await captureScreenshot(SCREENSHOT_MAX_WIDTH, MAX_SCREENSHOT_BYTES))?.bytes ?? null;
    } catch (error) {
      console.warn('Homeroom: help screenshot', error);
    }
  }
  const request = help.add(helpRequestFrame({ requestId: crypto.randomUUID(), createdAt: Date.now(), note: message.note, screenshot }));
  await save({ help: help.toJSON() });
  const sent = connection.send(request.frame);
  const missing = message.screenshot === true && !request.screenshot ? ' (the picture could not be taken)' : '';
  return { ok: true, text: (sent ? 'Sent' : 'Saved: it goes as soon as this device is back online') + missing + '.', requests: help.view(), describe: describe(request) };
}

function sendHelp() {
  for (const frame of help.unacknowledged()) connection.send(frame);
}

// --- frames from the server ---

async function handleFrame(frame) {
  switch (frame.type) {
    case 'command':
      await handleCommand(frame);
      break;
    case 'policy':
      await handlePolicy(frame);
      break;
    case 'signalsAck':
      await safety.acknowledged(frame);
      break;
    case 'safetyCapture':
      await safety.capture(frame);
      break;
    case 'helpRequestAck':
      if (help.acknowledged(frame)) await save({ help: help.toJSON() });
      break;
    case 'helpStatus':
      if (help.changed(frame)) await save({ help: help.toJSON() });
      break;
    case 'screenView':
      if (frame.active) await screenView.start(frame);
      else await screenView.stop();
      break;
    case 'remoteSession':
      await remote.handle(frame);
      break;
    case 'remoteAck':
      remote.acknowledged(frame);
      break;
    default:
      break;
  }
}

async function handlePolicy(frame) {
  const failures = await policy.apply(frame, connection.enrollment);
  const device = policy.device;
  if (Boolean(device.locked) !== lock.state.policy || (device.locked && device.lockMessage !== lock.state.policyMessage)) {
    await lock.set('policy', Boolean(device.locked), device.lockMessage);
  }

  await recheckTabs();
  // monitoring.activity may have changed: close or open the usage stretch, send apps if now allowed.
  usageChanged();
  appsChanged();
  try {
    await safety.policyChanged();
  } catch (error) {
    failures.push(`safety.typedText: the typing script could not be ${policy.document?.safety?.typedText ? 'loaded' : 'removed'} (${error.message})`);
  }
  connection.send(frames.policyStatus(frame.version, failures));
  // Kept for a diagnostics report: the worker may restart before staff ask for one.
  await save({ policyFailures: { version: frame.version, failures } });
  reporter.tick().catch((error) => console.warn('Homeroom: location', error));
}

async function handleCommand(frame) {
  const id = frame.commandId;
  if (running.has(id)) return;
  const verdict = classify(ledger, frame, Date.now());
  if (verdict.action === 'repeat') {
    // Delivered again (the server did not hear the final status): answer, do not carry it out twice.
    const { status, result, error } = verdict.entry;
    connection.send(frames.commandStatus(id, status, { result, error }));
    return;
  }

  if (verdict.action === 'expired') {
    await finish(frame, { status: 'failed', error: 'The command expired before it could be carried out.' });
    return;
  }

  running.add(id);
  try {
    connection.send(frames.commandStatus(id, 'acknowledged'));
    let outcome;
    try {
      outcome = { status: 'succeeded', result: await carryOut(frame.kind, frame.arguments ?? {}, id) };
    } catch (error) {
      outcome = { status: 'failed', error: String(error?.message ?? error) };
    }
    await finish(frame, outcome);
  } finally {
    running.delete(id);
  }
}

async function finish(frame, outcome) {
  ledger = record(ledger, frame, outcome, Date.now());
  await save({ ledger });
  connection.send(frames.commandStatus(frame.commandId, outcome.status, outcome));
}

async function carryOut(kind, args, commandId) {
  switch (kind) {
    case 'ping':
      return 'pong';
    case 'lock':
      await lock.set('command', true, args.message);
      return 'locked';
    case 'unlock':
      await lock.set('command', false);
      return lock.locked ? 'unlocked (the policy still locks this device)' : 'unlocked';
    case 'message':
      if (!args.text) throw new Error('A message needs text.');
      await showMessage(args.title, args.text);
      return 'shown';
    case 'openUrl': {
      if (!isWebUrl(args.url)) throw new Error('openUrl needs an absolute http or https URL.');
      await chrome.tabs.create({ url: new URL(args.url).toString(), active: true });
      return 'opened';
    }
    case 'closeTab':
      return closeTabs(args);
    case 'focus':
      return startFocus(args);
    case 'endFocus':
      await setFocus(null);
      return 'unfocused';
    case 'locate': {
      const fix = await reporter.locate();
      return `${fix.latitude},${fix.longitude}`;
    }
    case 'diagnose':
      return diagnose(args, commandId);
    default:
      throw new Error(`The Chrome extension does not support "${kind}" commands.`);
  }
}

// The report goes before the command's final status, as the desktop agent sends it.
async function diagnose(args, commandId) {
  const config = await readConfig();
  const { policyFailures, status } = await load(['policyFailures', 'status']);
  const report = await gatherReport({
    chrome,
    navigator,
    fetch: (url, init) => fetch(url, init),
    serverUrl: config.serverUrl,
    sites: parseSites(args.urls),
    policy: { version: policy.version, failures: policyFailures?.version === policy.version ? policyFailures.failures : [] },
    config: { managed: config.managed, state: status?.state },
  });
  const frame = diagnosticsFrame(commandId, report);
  if (!frame) throw new Error('The report did not fit one frame.');
  if (!connection.send(frame)) throw new Error('The report could not be sent: the connection closed.');
  return diagnoseResult(report);
}

async function closeTabs(args) {
  const tabs = await chrome.tabs.query({});
  let matching;
  if (args.tabId) matching = tabs.filter((t) => String(t.id) === String(args.tabId));
  else if (args.url) matching = tabs.filter((t) => (t.url ?? '').startsWith(args.url) || (t.pendingUrl ?? '').startsWith(args.url));
  else throw new Error('closeTab needs a url prefix or a tabId.');
  if (matching.length > 0) await chrome.tabs.remove(matching.map((t) => t.id));
  return `closed ${matching.length} tab${matching.length === 1 ? '' : 's'}`;
}

// --- focus mode ---

function activeFocus() {
  if (!focus) return null;
  if (focus.until && Date.parse(focus.until) <= Date.now()) return null;
  return focus;
}

async function startFocus(args) {
  const sites = parseFocusSites(args.sites);
  if (sites.length === 0) throw new Error('focus needs at least one site.');
  let until = null;
  if (args.until) {
    const at = Date.parse(args.until);
    if (!Number.isFinite(at)) throw new Error('until is not an ISO 8601 time.');
    until = new Date(at).toISOString();
  }
  await setFocus({ sites, until });
  return 'focused';
}

async function setFocus(value) {
  focus = value;
  await save({ focus });
  await chrome.alarms.clear(FOCUS_ALARM);
  if (focus?.until) await chrome.alarms.create(FOCUS_ALARM, { when: Date.parse(focus.until) });
  if (focus) await recheckTabs();
}

async function endFocusIfDue() {
  if (focus?.until && Date.parse(focus.until) <= Date.now()) await setFocus(null);
}
