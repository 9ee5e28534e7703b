import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ASLEEP_AFTER_MS, MAX_EVENT_SECONDS, siteOf, stretchEvents, UsageTracker } from '../lib/usage.js';
import { fingerprint, SNAPSHOT_MIN_INTERVAL_MS, snapshotDue, snapshotEvents, snapshotItems } from '../lib/apps.js';
import * as frames from '../lib/frames.js';

const T0 = Date.parse('2026-09-01T09:00:00.000Z');
const KHAN = { site: 'https://www.khanacademy.org/', focused: true };
const DOCS = { site: 'https://docs.google.com/', focused: true };
const sec = (s) => T0 + s * 1000;
const brief = (events) => events.map((e) => [e.url, e.durationSeconds, e.detail, e.occurredAt]);

test('siteOf_KeepsTheOriginOnly', () => {
  assert.equal(siteOf('https://www.Khanacademy.org:443/math/algebra?q=1#top'), 'https://www.khanacademy.org/');
  assert.equal(siteOf('http://intranet.school.example:8080/grades?student=42'), 'http://intranet.school.example:8080/');
  assert.equal(siteOf('https://user:secret@example.org/x'), 'https://example.org/');
  assert.equal(siteOf('https://bücher.example/'), 'https://xn--bcher-kva.example/');
  assert.equal(siteOf('chrome://settings/'), null);
  assert.equal(siteOf('chrome-extension://abc/pages/blocked.html'), null);
  assert.equal(siteOf('not a url'), null);
  assert.equal(siteOf(undefined), null);
});

test('observe_SplitsAtSiteChangeFocusChangeAndIdle', () => {
  const tracker = new UsageTracker();
  assert.deepEqual(tracker.observe(KHAN, sec(0)), []);
  assert.deepEqual(tracker.observe(KHAN, sec(30)), [], 'the same site, still focused: nothing ends');
  const toDocs = tracker.observe(DOCS, sec(95));
  const unfocused = tracker.observe({ ...DOCS, focused: false }, sec(125));
  const idle = tracker.observe(null, sec(185));
  assert.deepEqual(tracker.observe(null, sec(300)), [], 'nothing open while idle');

  assert.deepEqual(brief(toDocs), [['https://www.khanacademy.org/', 95, 'focused', '2026-09-01T09:00:00.000Z']]);
  assert.deepEqual(brief(unfocused), [['https://docs.google.com/', 30, 'focused', '2026-09-01T09:01:35.000Z']]);
  assert.deepEqual(brief(idle), [['https://docs.google.com/', 60, 'unfocused', '2026-09-01T09:02:05.000Z']]);
});

test('observe_Flush_ReportsTheOpenStretchAndCarriesOn', () => {
  const tracker = new UsageTracker();
  tracker.observe(KHAN, sec(0));
  assert.deepEqual(brief(tracker.observe(KHAN, sec(300), { flush: true })), [['https://www.khanacademy.org/', 300, 'focused', '2026-09-01T09:00:00.000Z']]);
  assert.deepEqual(brief(tracker.observe(KHAN, sec(600), { flush: true })), [['https://www.khanacademy.org/', 300, 'focused', '2026-09-01T09:05:00.000Z']]);
});

test('observe_SurvivesAWorkerRestartThroughItsStoredState', () => {
  const before = new UsageTracker();
  before.observe(KHAN, sec(0));
  const stored = JSON.parse(JSON.stringify(before));
  const after = new UsageTracker(stored);
  assert.deepEqual(brief(after.observe(DOCS, sec(240))), [['https://www.khanacademy.org/', 240, 'focused', '2026-09-01T09:00:00.000Z']]);
});

test('observe_AfterTheDeviceSlept_CountsOnlyUpToTheLastLook', () => {
  const tracker = new UsageTracker();
  tracker.observe(KHAN, sec(0));
  tracker.observe(KHAN, sec(120));
  // The lid was closed for hours without an idle event reaching the worker.
  const woke = sec(120) + ASLEEP_AFTER_MS + 3 * 3600_000;
  assert.deepEqual(brief(tracker.observe(KHAN, woke)), [['https://www.khanacademy.org/', 120, 'focused', '2026-09-01T09:00:00.000Z']]);
  assert.equal(tracker.current.since, woke, 'a new stretch starts when it wakes');
});

test('stretchEvents_LongStretchesAreCutIntoHours_AndShortOnesDropped', () => {
  const events = stretchEvents({ site: KHAN.site, focused: false, since: T0 }, sec(2 * MAX_EVENT_SECONDS + 17));
  assert.deepEqual(events.map((e) => e.durationSeconds), [3600, 3600, 17]);
  assert.deepEqual(events.map((e) => e.occurredAt), ['2026-09-01T09:00:00.000Z', '2026-09-01T10:00:00.000Z', '2026-09-01T11:00:00.000Z']);
  assert.ok(events.every((e) => e.detail === 'unfocused' && e.kind === 'web.usage'));
  assert.deepEqual(stretchEvents({ site: KHAN.site, focused: true, since: T0 }, T0 + 400), []);
});

test('observe_RandomSequences_NeverLoseOrInventTime', () => {
  // Differential: the events add up to the seconds a straightforward reference counts per site and focus.
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const sites = [null, KHAN, DOCS, { ...KHAN, focused: false }];
  for (let run = 0; run < 200; run++) {
    const tracker = new UsageTracker();
    const expected = new Map();
    const actual = new Map();
    let now = T0;
    let shown = null;
    for (let step = 0; step < 40; step++) {
      const seen = sites[Math.floor(random() * sites.length)];
      const flush = random() < 0.2;
      for (const e of tracker.observe(seen, now, { flush })) {
        assert.ok(e.durationSeconds >= 1 && e.durationSeconds <= MAX_EVENT_SECONDS);
        const key = `${e.url} ${e.detail}`;
        actual.set(key, (actual.get(key) ?? 0) + e.durationSeconds);
      }
      shown = seen;
      const wait = Math.floor(random() * 600) * 1000;
      if (shown) {
        const key = `${shown.site} ${shown.focused ? 'focused' : 'unfocused'}`;
        expected.set(key, (expected.get(key) ?? 0) + wait / 1000);
      }
      now += wait;
    }
    for (const e of tracker.observe(null, now)) actual.set(`${e.url} ${e.detail}`, (actual.get(`${e.url} ${e.detail}`) ?? 0) + e.durationSeconds);
    // A split stretch of the same site adds up exactly (whole seconds here); drop the zero entries of the reference.
    assert.deepEqual(new Map([...actual].sort()), new Map([...expected].filter(([, v]) => v > 0).sort()), `run ${run}`);
  }
});

test('activityEvent_CarriesUsageAndInventoryFields', () => {
  const [usage] = stretchEvents({ site: KHAN.site, focused: true, since: T0 }, sec(42));
  assert.deepEqual(frames.activityEvent(usage.kind, usage), { occurredAt: '2026-09-01T09:00:00.000Z', kind: 'web.usage', url: 'https://www.khanacademy.org/', detail: 'focused', durationSeconds: 42 });
  const [app] = snapshotEvents([{ appId: 'abc', title: 'Kami', detail: '3.1.0 enabled' }], T0);
  assert.deepEqual(frames.activityEvent(app.kind, app), { occurredAt: '2026-09-01T09:00:00.000Z', kind: 'app.inventory', title: 'Kami', appId: 'abc', detail: '3.1.0 enabled' });
});

test('snapshotItems_ListsEveryItemWithVersionAndState_SortedById', () => {
  const items = snapshotItems([
    { id: 'kami', name: 'Kami', version: '3.1.0', enabled: true, type: 'extension' },
    { id: 'homeroom', name: 'Homeroom', version: '1.0.0', enabled: true, type: 'extension' },
    { id: 'game', name: 'Some game', version: '2', enabled: false, type: 'hosted_app' },
    { name: 'no id' },
    null,
  ]);
  assert.deepEqual(items, [
    { appId: 'game', title: 'Some game', detail: '2 disabled' },
    { appId: 'homeroom', title: 'Homeroom', detail: '1.0.0 enabled' },
    { appId: 'kami', title: 'Kami', detail: '3.1.0 enabled' },
  ]);
  assert.deepEqual(snapshotItems(undefined), []);
});

test('snapshotDue_OnChange_OtherwiseAtMostHourly', () => {
  const items = snapshotItems([{ id: 'kami', name: 'Kami', version: '3.1.0', enabled: true }]);
  const print = fingerprint(items);
  assert.equal(snapshotDue(undefined, print, T0), true, 'the first one');
  const sent = { fingerprint: print, sentAt: T0 };
  assert.equal(snapshotDue(sent, print, T0 + 10 * 60_000), false, 'unchanged, within the hour');
  assert.equal(snapshotDue(sent, print, T0 + SNAPSHOT_MIN_INTERVAL_MS), true, 'unchanged, an hour later');
  const disabled = fingerprint(snapshotItems([{ id: 'kami', name: 'Kami', version: '3.1.0', enabled: false }]));
  assert.notEqual(disabled, print);
  assert.equal(snapshotDue(sent, disabled, T0 + 60_000), true, 'disabled: changed');
  assert.equal(snapshotDue(sent, fingerprint(snapshotItems([{ id: 'kami', name: 'Kami', version: '3.2.0', enabled: true }])), T0 + 60_000), true, 'updated: changed');
});
