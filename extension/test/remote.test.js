import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as frames from '../lib/frames.js';
import { MAX_UNACKNOWLEDGED, MIN_INTERVAL_MS, RemoteView, VIEW_ONLY_REASON, changedTiles, packTiles, tileGrid } from '../lib/remote.js';

const SESSION = '0190f5c2-7a1b-7c3d-8e4f-0123456789ab';

function jpeg(length = 16, fill = 1) {
  const bytes = new Uint8Array(length).fill(fill);
  bytes.set([0xff, 0xd8], 0);
  bytes.set([0xff, 0xd9], length - 2);
  return bytes;
}

/** Reads a kind 4 update back, as the server's RemoteScreenFrame.TryDecode does. */
function decode(frame) {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const hex = [...frame.subarray(1, 17)].map((b) => b.toString(16).padStart(2, '0')).join('');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const count = view.getUint16(29);
  const tiles = [];
  let at = frames.REMOTE_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const length = view.getInt32(at + 8);
    tiles.push({ x: view.getUint16(at), y: view.getUint16(at + 2), width: view.getUint16(at + 4), height: view.getUint16(at + 6), length });
    at += frames.REMOTE_TILE_HEADER_BYTES + length;
  }

  return { kind: frame[0], id, sequence: Number(view.getBigInt64(17)), width: view.getUint16(25), height: view.getUint16(27), tiles, end: at };
}

/** A session driven by hand: frames sent, the prompt's answer, the banner, and a timer that ticks when told. */
function harness({ answer = true, online = true, screens } = {}) {
  const sent = [];
  const shown = [];
  const timers = [];
  let resets = 0;
  let asked = 0;
  const queue = screens ?? [];
  const view = new RemoteView({
    connection: { send: (frame) => (online ? (sent.push(frame), true) : false) },
    capture: async () => queue.shift() ?? { width: 1366, height: 768, tiles: [] },
    reset: () => { resets += 1; },
    ask: async () => { asked += 1; return typeof answer === 'function' ? answer() : answer; },
    show: async (session) => { shown.push(session ? session.technician : null); },
    setInterval: (handler, ms) => { timers.push({ handler, ms }); return timers.length; },
    clearInterval: () => {},
  });
  return { view, sent, shown, timers, get resets() { return resets; }, get asked() { return asked; } };
}

const statuses = (sent) => sent.filter((f) => !(f instanceof Uint8Array));
const updates = (sent) => sent.filter((f) => f instanceof Uint8Array).map(decode);
const start = (extra = {}) => ({ type: 'remoteSession', sessionId: SESSION, active: true, technicianName: 'Sam Tech', mode: 'view', consentRequired: true, maxFramesPerSecond: 10, ...extra });
const fullScreen = () => ({ width: 1366, height: 768, tiles: tileGrid(1366, 768).map((t) => ({ ...t, jpeg: jpeg() })) });

test('remoteScreen_EncodesTheDesktopAgentsKind4Layout', () => {
  const frame = frames.remoteScreen(SESSION, 7, 1366, 768, [{ x: 256, y: 512, width: 256, height: 256, jpeg: jpeg(20) }, { x: 1280, y: 512, width: 86, height: 256, jpeg: jpeg(30) }]);
  const read = decode(frame);
  assert.equal(read.kind, 4);
  assert.equal(read.id, SESSION);
  assert.equal(read.sequence, 7);
  assert.deepEqual([read.width, read.height], [1366, 768]);
  assert.deepEqual(read.tiles, [{ x: 256, y: 512, width: 256, height: 256, length: 20 }, { x: 1280, y: 512, width: 86, height: 256, length: 30 }]);
  assert.equal(read.end, frame.length);
  assert.throws(() => frames.remoteScreen('not-a-guid', 1, 10, 10, [{ x: 0, y: 0, width: 10, height: 10, jpeg: jpeg() }]));
  assert.throws(() => frames.remoteScreen(SESSION, 1, 10, 10, []));
});

test('tileGrid_CoversTheScreenWithTilesOfAtMost256', () => {
  const grid = tileGrid(1366, 768);
  assert.equal(grid.length, 6 * 3);
  assert.ok(grid.every((t) => t.width >= 1 && t.width <= 256 && t.height >= 1 && t.height <= 256 && t.x + t.width <= 1366 && t.y + t.height <= 768));
  assert.equal(grid.reduce((sum, t) => sum + t.width * t.height, 0), 1366 * 768);
  assert.deepEqual(grid.at(-1), { x: 1280, y: 512, width: 86, height: 256 });
});

test('changedTiles_OnlyTilesWhosePixelsDiffer_AllWithoutAPrevious', () => {
  const width = 600;
  const height = 300;
  const grid = tileGrid(width, height);
  const before = new Uint8ClampedArray(width * height * 4);
  assert.equal(changedTiles(null, before, width, grid).length, grid.length);
  assert.deepEqual(changedTiles(before, before.slice(), width, grid), []);
  const after = before.slice();
  after[(280 * width + 590) * 4 + 2] = 9; // one pixel in the bottom-right tile
  after[(10 * width + 300) * 4] = 1; // one in the top-middle tile
  assert.deepEqual(changedTiles(before, after, width, grid).map((t) => [t.x, t.y]), [[256, 0], [512, 256]]);
  assert.equal(changedTiles(before, new Uint8ClampedArray(4), width, grid).length, grid.length);
});

test('packTiles_SplitsAtTheBinaryFrameLimit_AndDropsATileTooLargeAlone', () => {
  const tile = (length) => ({ x: 0, y: 0, width: 1, height: 1, jpeg: jpeg(length) });
  const limit = 1000;
  const groups = packTiles([tile(400), tile(400), tile(400), tile(2000), tile(10)], limit);
  assert.deepEqual(groups.map((g) => g.map((t) => t.jpeg.length)), [[400, 400], [400, 10]]);
  for (const group of groups) {
    assert.ok(frames.remoteScreen(SESSION, 1, 10, 10, group).length <= limit);
  }

  assert.deepEqual(packTiles([]), []);
});

test('handle_ControlMode_DeclinedAsViewOnly_NothingCaptured', async () => {
  const h = harness();
  await h.view.handle(start({ mode: 'control' }));
  assert.deepEqual(statuses(h.sent), [{ type: 'remoteSessionStatus', sessionId: SESSION, status: 'declined', reason: VIEW_ONLY_REASON }]);
  assert.equal(h.asked, 0);
  assert.equal(h.view.session, null);
  assert.deepEqual(h.timers, []);
});

test('handle_ConsentDeclined_NothingSentButTheDecline', async () => {
  const h = harness({ answer: false, screens: [fullScreen()] });
  await h.view.handle(start());
  assert.equal(h.asked, 1);
  assert.deepEqual(h.sent, [{ type: 'remoteSessionStatus', sessionId: SESSION, status: 'declined', reason: 'the student declined' }]);
  assert.deepEqual(h.shown, []);
  assert.equal(await h.view.captureOnce(), 0);
  assert.equal(h.sent.length, 1);
});

test('handle_Accepted_BannerNamesTheTechnician_ThenTheWholeScreenThenOnlyChanges', async () => {
  const changed = { width: 1366, height: 768, tiles: [{ x: 256, y: 0, width: 256, height: 256, jpeg: jpeg(40) }] };
  const h = harness({ screens: [fullScreen(), changed] });
  await h.view.handle(start());
  assert.deepEqual(h.shown, ['Sam Tech']);
  assert.equal(h.resets, 1);
  assert.deepEqual(statuses(h.sent), [{ type: 'remoteSessionStatus', sessionId: SESSION, status: 'accepted' }]);
  // As fast as captureVisibleTab's quota allows, even when the server allows more.
  assert.deepEqual(h.timers.map((t) => t.ms), [MIN_INTERVAL_MS]);
  assert.equal(h.sent[0].type, 'remoteSessionStatus'); // the answer goes before any update
  let sent = updates(h.sent);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].sequence, 1);
  assert.equal(sent[0].tiles.length, 18);

  h.view.acknowledged({ sessionId: SESSION, sequence: 1 });
  await h.timers[0].handler();
  sent = updates(h.sent);
  assert.deepEqual(sent.map((u) => u.sequence), [1, 2]);
  assert.deepEqual(sent[1].tiles, [{ x: 256, y: 0, width: 256, height: 256, length: 40 }]);
});

test('handle_NoticeOnly_NoPrompt_StreamsAtOnce', async () => {
  const h = harness({ answer: false, screens: [fullScreen()] });
  await h.view.handle(start({ consentRequired: false, maxFramesPerSecond: 1 }));
  assert.equal(h.asked, 0);
  assert.deepEqual(h.shown, ['Sam Tech']);
  assert.deepEqual(h.timers.map((t) => t.ms), [1000]);
  assert.equal(updates(h.sent).length, 1);
});

test('captureOnce_PausesWhileTheConsoleIsBehind', async () => {
  const h = harness({ screens: Array.from({ length: 10 }, fullScreen) });
  await h.view.handle(start({ consentRequired: false }));
  for (let i = 0; i < 5; i++) await h.view.captureOnce();
  assert.equal(updates(h.sent).length, MAX_UNACKNOWLEDGED);
  h.view.acknowledged({ sessionId: '00000000-0000-0000-0000-000000000001', sequence: 3 }); // another session's ack
  assert.equal(await h.view.captureOnce(), 0);
  h.view.acknowledged({ sessionId: SESSION, sequence: 2 });
  assert.equal(await h.view.captureOnce(), 1);
  assert.deepEqual(updates(h.sent).map((u) => u.sequence), [1, 2, 3, 4]);
});

test('end_ByTheStudent_TellsTheServer_HidesTheBanner_StopsCapturing', async () => {
  const h = harness({ screens: [fullScreen(), fullScreen()] });
  await h.view.handle(start({ consentRequired: false }));
  assert.equal(await h.view.end(), true);
  assert.deepEqual(statuses(h.sent).at(-1), { type: 'remoteSessionStatus', sessionId: SESSION, status: 'ended', reason: 'the student ended it' });
  assert.deepEqual(h.shown, ['Sam Tech', null]);
  const before = h.sent.length;
  assert.equal(await h.view.captureOnce(), 0);
  assert.equal(h.sent.length, before);
  assert.equal(await h.view.end(), false);
});

test('handle_StopFromTheServer_EndsQuietly_AndAnOldSessionsStopIsIgnored', async () => {
  const h = harness({ screens: [fullScreen()] });
  await h.view.handle(start({ consentRequired: false }));
  await h.view.handle({ type: 'remoteSession', sessionId: '00000000-0000-0000-0000-000000000001', active: false });
  assert.ok(h.view.active);
  const before = h.sent.length;
  await h.view.handle({ type: 'remoteSession', sessionId: SESSION, active: false });
  assert.equal(h.view.active, false);
  assert.equal(h.sent.length, before); // the server ended it: no status back
  assert.deepEqual(h.shown, ['Sam Tech', null]);
});

test('handle_TechnicianEndsWhileTheStudentDecides_NoAnswerSent', async () => {
  let view;
  const h = harness({
    answer: async () => {
      await view.handle({ type: 'remoteSession', sessionId: SESSION, active: false });
      return true;
    },
  });
  view = h.view;
  await h.view.handle(start());
  assert.deepEqual(h.sent, []);
  assert.equal(h.view.session, null);
});

test('captureOnce_Offline_EndsTheSessionOnTheDevice', async () => {
  const h = harness({ online: false, screens: [fullScreen()] });
  await h.view.handle(start({ consentRequired: false }));
  assert.equal(h.view.session, null);
  assert.deepEqual(h.shown, ['Sam Tech', null]);
});

test('handle_MalformedFrames_Ignored', async () => {
  const h = harness();
  await h.view.handle(null);
  await h.view.handle({ type: 'remoteSession', sessionId: 'x', active: true, mode: 'view' });
  assert.deepEqual(h.sent, []);
  assert.equal(h.view.session, null);
});

test('inventory_ReportsTheViewOnlyCapability', async () => {
  const { CAPABILITIES } = await import('../lib/remote.js');
  const inventory = frames.inventory({ osName: 'ChromeOS', capabilities: CAPABILITIES });
  assert.deepEqual(inventory.capabilities, [{ name: 'remote.view', available: true }]);
  assert.equal('capabilities' in frames.inventory({ osName: 'ChromeOS' }), false);
});
