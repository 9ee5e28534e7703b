import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as frames from '../lib/frames.js';
import { reconnectDelay } from '../lib/backoff.js';
import { ActivityQueue } from '../lib/queue.js';
import { classify, prune, record } from '../lib/ledger.js';
import { TokenBucket } from '../lib/ratelimit.js';
import { safetyRules, safetyRuleIdsToRemove } from '../lib/dnr.js';

test('auth_CarriesProtocolAndAgentVersion', () => {
  assert.deepEqual(frames.auth('id-1', 'hrd_x'), { type: 'auth', deviceId: 'id-1', credential: 'hrd_x', protocolVersion: 1, agentVersion: 'homeroom-extension/1.0.0' });
});

test('thumbnail_LaysOutKindFormatBigEndianTimeAndImage', () => {
  const frame = frames.thumbnail(frames.ThumbnailFormat.Jpeg, 0x0102030405, new Uint8Array([0xff, 0xd8]));
  assert.deepEqual([...frame], [1, 1, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0xff, 0xd8]);
  assert.throws(() => frames.thumbnail(1, 0, new Uint8Array()));
});

test('activityEvent_ClipsFieldsAndDropsAbsentOnes', () => {
  const event = frames.activityEvent('web.visit', { url: 'https://a.example/', title: 'x'.repeat(300), durationSeconds: 12.6, occurredAt: '2026-09-01T09:00:00.000Z' });
  assert.deepEqual(event, { occurredAt: '2026-09-01T09:00:00.000Z', kind: 'web.visit', url: 'https://a.example/', title: 'x'.repeat(256), durationSeconds: 13 });
});

test('inventory_SignedInUser_SentOnlyWhenTheServerWouldAcceptIt', () => {
  const facts = { osName: 'ChromeOS', osVersion: '131.0' };
  assert.deepEqual(frames.inventory({ ...facts, signedInUser: { email: 'ada@north.example.org', id: '1049' } }).signedInUser, { email: 'ada@north.example.org', id: '1049' });
  assert.deepEqual(frames.inventory({ ...facts, signedInUser: { email: 'ada@north.example.org' } }).signedInUser, { email: 'ada@north.example.org' });
  // Nobody signed in, or an account the server would refuse (closing the connection): left out, which reads as nobody.
  assert.equal('signedInUser' in frames.inventory(facts), false);
  assert.equal(frames.inventory({ ...facts, signedInUser: { email: '', id: '' } }).signedInUser, undefined);
  assert.equal(frames.inventory({ ...facts, signedInUser: { email: 'a'.repeat(250) + '@example.org' } }).signedInUser, undefined);
  assert.equal(frames.inventory({ ...facts, signedInUser: { email: 'no-at-sign' } }).signedInUser, undefined);
  assert.deepEqual(frames.inventory({ ...facts, signedInUser: { email: 'ada@localhost', id: 'g 1' } }).signedInUser, undefined);
  assert.deepEqual(frames.inventory({ ...facts, signedInUser: { email: 'bad@', id: '1049' } }).signedInUser, { id: '1049' });
});

test('policyStatus_AppliedOnlyWithoutFailures', () => {
  assert.deepEqual(frames.policyStatus(7, []), { type: 'policyStatus', version: 7, applied: true, failures: [] });
  assert.equal(frames.policyStatus(7, ['camera: not supported']).applied, false);
});

test('parse_RejectsNonObjectsAndFramesWithoutType', () => {
  assert.equal(frames.parse('nope'), null);
  assert.equal(frames.parse('[1]'), null);
  assert.equal(frames.parse('{"a":1}'), null);
  assert.equal(frames.parse('{"a":1,"type":"welcome"}').type, 'welcome');
});

test('webSocketUrl_FollowsTheServerScheme', () => {
  assert.equal(frames.webSocketUrl('https://homeroom.example.org/'), 'wss://homeroom.example.org/agent/v1');
  assert.equal(frames.webSocketUrl('http://127.0.0.1:5000'), 'ws://127.0.0.1:5000/agent/v1');
});

test('reconnectDelay_DoublesFromOneSecondToSixtyWithJitter', () => {
  assert.equal(reconnectDelay(0, () => 0), 1000);
  assert.equal(reconnectDelay(3, () => 0), 8000);
  assert.equal(reconnectDelay(10, () => 0), 60_000);
  assert.equal(reconnectDelay(10, () => 0.999), 74_985);
  assert.ok(reconnectDelay(1, () => 0.5) > 2000);
});

test('ActivityQueue_NumbersEventsAcrossRestarts_AndForgetsOnlyAcked', () => {
  const queue = new ActivityQueue();
  queue.add({ kind: 'web.visit' });
  queue.add({ kind: 'web.blocked' });
  const restored = new ActivityQueue(JSON.parse(JSON.stringify(queue)));
  assert.equal(restored.add({ kind: 'web.visit' }).seq, 3);
  restored.ack(2);
  assert.deepEqual(restored.events.map((e) => e.seq), [3]);
  assert.deepEqual(restored.batchesAfter(0).map((b) => b.map((e) => e.seq)), [[3]]);
  assert.deepEqual(restored.batchesAfter(3), []);
});

test('ActivityQueue_BeyondTheLimit_DropsTheOldest', () => {
  const queue = new ActivityQueue(undefined, 3);
  for (let i = 0; i < 5; i++) queue.add({ kind: 'web.visit' });
  assert.deepEqual(queue.events.map((e) => e.seq), [3, 4, 5]);
  assert.equal(queue.dropped, 2);
});

test('ActivityQueue_AckBeyondItsNumbers_NeverReusesAStoredNumber', () => {
  const queue = new ActivityQueue();
  queue.ack(41);
  assert.equal(queue.add({ kind: 'web.visit' }).seq, 42);
});

test('ActivityQueue_Batches_AreAtMost500', () => {
  const queue = new ActivityQueue();
  for (let i = 0; i < 1201; i++) queue.add({ kind: 'web.visit' });
  assert.deepEqual(queue.batchesAfter(0).map((b) => b.length), [500, 500, 201]);
});

test('ledger_RepeatOfAFinishedCommand_IsAnsweredNotRun', () => {
  const now = Date.parse('2026-09-01T09:00:00Z');
  const frame = { commandId: 'c1', kind: 'lock', expiresAt: '2026-09-02T09:00:00Z' };
  assert.equal(classify({}, frame, now).action, 'run');
  const ledger = record({}, frame, { status: 'succeeded', result: 'locked' }, now);
  const again = classify(ledger, frame, now + 1000);
  assert.deepEqual([again.action, again.entry.result], ['repeat', 'locked']);
});

test('ledger_ExpiredCommand_IsNotRun_AndExpiredEntriesArePruned', () => {
  const now = Date.parse('2026-09-03T09:00:00Z');
  assert.equal(classify({}, { commandId: 'c2', expiresAt: '2026-09-02T09:00:00Z' }, now).action, 'expired');
  const ledger = { old: { status: 'succeeded', keepUntil: now - 1 }, fresh: { status: 'failed', keepUntil: now + 1 } };
  assert.deepEqual(Object.keys(prune(ledger, now)), ['fresh']);
});

test('TokenBucket_AllowsABurstThenPaces', () => {
  const bucket = new TokenBucket(10, 3, 0);
  assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0)], [0, 0, 0]);
  assert.equal(bucket.take(0), 100);
  assert.equal(bucket.take(100), 0);
});

test('safetyRules_SafeSearchAndYouTube_GiveRedirectsAndHeader', () => {
  const rules = safetyRules({ safeSearch: true, youTube: 'strict' });
  const header = rules.find((r) => r.action.type === 'modifyHeaders');
  assert.deepEqual(header.action.requestHeaders, [{ header: 'YouTube-Restrict', operation: 'set', value: 'Strict' }]);
  const google = rules.find((r) => r.action.type === 'redirect' && r.condition.regexFilter.includes('google'));
  assert.deepEqual(google.action.redirect.transform.queryTransform.addOrReplaceParams, [{ key: 'safe', value: 'active' }]);
  assert.ok(new RegExp(google.condition.regexFilter).test('https://www.google.com/search?q=x'));
  const pass = rules.find((r) => r.action.type === 'allow' && r.condition.regexFilter.includes('google'));
  assert.ok(new RegExp(pass.condition.regexFilter).test('https://www.google.com/search?q=x&safe=active'));
  assert.ok(!new RegExp(pass.condition.regexFilter).test('https://www.google.com/search?q=x&safe=off'));
  assert.equal(new Set(rules.map((r) => r.id)).size, rules.length);
});

test('safetyRules_Off_GiveNothing_AndOnlySafetyIdsAreRemoved', () => {
  assert.deepEqual(safetyRules({ safeSearch: false, youTube: 'off' }), []);
  assert.equal(safetyRules({ youTube: 'moderate' })[0].action.requestHeaders[0].value, 'Moderate');
  assert.deepEqual(safetyRuleIdsToRemove([{ id: 5 }, { id: 1000 }, { id: 1099 }, { id: 1100 }]), [1000, 1099]);
});
