import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HelpRequests, MAX_KEPT, MAX_NOTE_LENGTH, MAX_SCREENSHOT_BYTES, cleanNote, describe, helpRequestFrame, isJpeg, toBase64,
} from '../lib/help.js';

function jpeg(length = 100) {
  const bytes = new Uint8Array(length).map((_, i) => (i * 37) & 0xff);
  bytes.set([0xff, 0xd8, 0xff, 0xe0], 0);
  bytes.set([0xff, 0xd9], length - 2);
  return bytes;
}

test('cleanNote_TrimsCutsAndReplacesNul', () => {
  assert.equal(cleanNote('   '), null);
  assert.equal(cleanNote(undefined), null);
  assert.equal(cleanNote('  my screen is frozen \n'), 'my screen is frozen');
  assert.equal(cleanNote('a\u0000b'), 'a\uFFFDb');
  assert.equal(cleanNote('x'.repeat(MAX_NOTE_LENGTH + 20)).length, MAX_NOTE_LENGTH);
  // Never longer than the server's limit in UTF-16 units, even with characters outside the BMP.
  assert.ok(cleanNote('😀'.repeat(400)).length <= MAX_NOTE_LENGTH);
});

test('isJpeg_ChecksStartAndEndMarkers', () => {
  assert.equal(isJpeg(jpeg()), true);
  const png = jpeg();
  png.set([0x89, 0x50], 0);
  assert.equal(isJpeg(png), false);
  assert.equal(isJpeg(jpeg().subarray(0, 50)), false);
  assert.equal(isJpeg(new Uint8Array(4)), false);
  assert.equal(isJpeg('not bytes'), false);
});

test('toBase64_MatchesNodeBase64_OnRandomInputs', () => {
  for (let i = 0; i < 200; i++) {
    const bytes = new Uint8Array(Math.floor(Math.random() * 70_000)).map(() => Math.floor(Math.random() * 256));
    assert.equal(toBase64(bytes), Buffer.from(bytes).toString('base64'));
  }
});

test('helpRequestFrame_AttachesOnlyAJpegWithinTheLimit', () => {
  const id = '7b0c2a3e-0000-4000-8000-000000000001';
  const withShot = helpRequestFrame({ requestId: id, createdAt: Date.UTC(2026, 8, 2, 10), note: ' help ', screenshot: jpeg(2000) });
  assert.deepEqual(Object.keys(withShot).sort(), ['createdAt', 'note', 'requestId', 'screenshot', 'type']);
  assert.equal(withShot.type, 'helpRequest');
  assert.equal(withShot.note, 'help');
  assert.equal(withShot.createdAt, '2026-09-02T10:00:00.000Z');
  assert.deepEqual(new Uint8Array(Buffer.from(withShot.screenshot, 'base64')), jpeg(2000));

  assert.equal(helpRequestFrame({ requestId: id, createdAt: 0, screenshot: jpeg(MAX_SCREENSHOT_BYTES + 1) }).screenshot, undefined);
  const png = jpeg();
  png[0] = 0x89;
  assert.equal(helpRequestFrame({ requestId: id, createdAt: 0, screenshot: png }).screenshot, undefined);
  const bare = helpRequestFrame({ requestId: id, createdAt: 0, note: '' });
  assert.equal(bare.note, undefined);
  assert.equal(bare.screenshot, undefined);
  // The largest screenshot still fits the server's 64 KiB text frame.
  const largest = JSON.stringify(helpRequestFrame({ requestId: id, createdAt: 0, note: 'x'.repeat(MAX_NOTE_LENGTH), screenshot: jpeg(MAX_SCREENSHOT_BYTES) }));
  assert.ok(new TextEncoder().encode(largest).length < 64 * 1024);
});

test('HelpRequests_KeepsUntilAcked_ThenFollowsStatus_AndSurvivesStorage', () => {
  const help = new HelpRequests();
  const a = help.add(helpRequestFrame({ requestId: 'a', createdAt: 0, note: 'one', screenshot: jpeg() }));
  help.add(helpRequestFrame({ requestId: 'b', createdAt: 1000, note: 'two' }));
  assert.deepEqual(help.unacknowledged().map((f) => f.requestId), ['a', 'b']);
  assert.equal(describe(a), 'Waiting to send (offline).');

  // A service-worker restart before the ack: still waiting, unchanged (the same request id is resent).
  const restored = new HelpRequests(JSON.parse(JSON.stringify(help.toJSON())));
  assert.deepEqual(restored.unacknowledged(), help.unacknowledged());

  assert.equal(restored.acknowledged({ type: 'helpRequestAck', requestId: 'a', status: 'withTeacher' }), true);
  assert.deepEqual(restored.unacknowledged().map((f) => f.requestId), ['b']);
  assert.equal(restored.requests[0].frame.screenshot, undefined, 'the picture is forgotten once stored');
  assert.equal(restored.view().find((r) => r.requestId === 'a').text, 'Sent to your teacher.');

  restored.changed({ type: 'helpStatus', requestId: 'a', status: 'escalated', taken: false });
  assert.equal(restored.view().find((r) => r.requestId === 'a').text, 'Your teacher passed it to IT.');
  restored.changed({ type: 'helpStatus', requestId: 'a', status: 'escalated', taken: true });
  assert.equal(restored.view().find((r) => r.requestId === 'a').text, 'IT is on it.');
  restored.changed({ type: 'helpStatus', requestId: 'a', status: 'resolved', taken: true });
  assert.equal(restored.view().find((r) => r.requestId === 'a').text, 'Resolved.');

  restored.acknowledged({ type: 'helpRequestAck', requestId: 'b', refused: 'tooManyOpen' });
  assert.deepEqual(restored.unacknowledged(), []);
  assert.match(restored.view()[0].text, /already have several/);
  assert.equal(restored.acknowledged({ type: 'helpRequestAck', requestId: 'unknown', status: 'itQueue' }), false);
});

test('HelpRequests_KeepsAtMostTen_DroppingSettledOnesFirst', () => {
  const help = new HelpRequests();
  help.add(helpRequestFrame({ requestId: 'waiting', createdAt: 0 }));
  for (let i = 0; i < MAX_KEPT + 5; i++) {
    help.add(helpRequestFrame({ requestId: `r${i}`, createdAt: i }));
    help.acknowledged({ type: 'helpRequestAck', requestId: `r${i}`, status: 'itQueue' });
  }
  assert.equal(help.requests.length, MAX_KEPT);
  assert.deepEqual(help.unacknowledged().map((f) => f.requestId), ['waiting']);
  assert.equal(new HelpRequests({ requests: [{ nonsense: true }, null] }).requests.length, 0);
});
