import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import {
  MAX_TEXT, RepeatFilter, cleanText, cut, decodeComponent, describeSafety, isSearchEngine, makeSignal, navigationSignal,
  pageSignals, pathWords, queryParameters, safetySettings, searchQuery, signalUrl, usableTitle,
} from '../lib/signals.js';
import { SignalQueue } from '../lib/signalqueue.js';
import * as frames from '../lib/frames.js';

// The typing rules are a classic content script (not a module): run them as Chrome would, in a context of their own.
const fieldsContext = {};
runInNewContext(readFileSync(new URL('../content/fields.js', import.meta.url), 'utf8'), fieldsContext);
const { reportable, changedPhrase } = fieldsContext.homeroomFields;

const PHRASE = 'how to tie a noose';

test('searchQuery_EveryEngine_GivesTheQuery', () => {
  const cases = [
    ['google', 'https://www.google.com/search?q=how+to+tie+a+noose&safe=active'],
    ['google', 'https://www.google.co.uk/search?client=firefox&q=how%20to%20tie%20a%20noose'],
    ['google', 'https://www.google.com.au/search?q=how+to+tie+a+noose&start=10'],
    ['google', 'https://www.google.de/webhp#q=how+to+tie+a+noose'],
    ['google', 'https://google.fr/?q=how+to+tie+a+noose'],
    ['google', 'https://news.google.com/search?q=how%20to%20tie%20a%20noose&hl=en-US'],
    ['bing', 'https://www.bing.com/search?q=how+to+tie+a+noose&form=QBLH'],
    ['bing', 'https://www.bing.com/images/search?q=how+to+tie+a+noose'],
    ['duckduckgo', 'https://duckduckgo.com/?q=how+to+tie+a+noose&ia=web'],
    ['duckduckgo', 'https://html.duckduckgo.com/html/?q=how+to+tie+a+noose'],
    ['yahoo', 'https://search.yahoo.com/search?p=how+to+tie+a+noose&fr=yfp-t'],
    ['yahoo', 'https://search.yahoo.com/search;_ylt=AwrFQ;_ylu=Y29sbwM?p=how+to+tie+a+noose'],
    ['yahoo', 'https://uk.images.search.yahoo.com/search/images?p=how+to+tie+a+noose'],
    ['ecosia', 'https://www.ecosia.org/search?method=index&q=how+to+tie+a+noose'],
    ['brave', 'https://search.brave.com/search?q=how+to+tie+a+noose&source=web'],
    ['youtube', 'https://www.youtube.com/results?search_query=how+to+tie+a+noose'],
    ['youtube', 'https://m.youtube.com/results?search_query=how+to+tie+a+noose&sp=EgIQAQ%253D%253D'],
    ['youtube', 'https://music.youtube.com/search?q=how+to+tie+a+noose'],
    ['wikipedia', 'https://en.wikipedia.org/w/index.php?search=how+to+tie+a+noose&title=Special%3ASearch'],
    ['wikipedia', 'https://en.wikipedia.org/wiki/Special:Search?search=how+to+tie+a+noose'],
    ['wikipedia', 'https://en.m.wikipedia.org/wiki/Special:Search/how_to_tie_a_noose'],
    ['startpage', 'https://www.startpage.com/sp/search?query=how+to+tie+a+noose'],
    ['startpage', 'https://www.startpage.com/do/dsearch?q=how+to+tie+a+noose&cat=web'],
    ['baidu', 'https://www.baidu.com/s?ie=utf-8&wd=how%20to%20tie%20a%20noose'],
    ['yandex', 'https://yandex.com/search/?text=how+to+tie+a+noose&lr=87'],
    ['qwant', 'https://www.qwant.com/?q=how+to+tie+a+noose&t=web'],
    ['ask', 'https://www.ask.com/web?q=how+to+tie+a+noose'],
    ['aol', 'https://search.aol.com/aol/search?q=how+to+tie+a+noose'],
    ['kiddle', 'https://www.kiddle.co/s.php?q=how+to+tie+a+noose'],
    ['swisscows', 'https://swisscows.com/en/web?query=how+to+tie+a+noose'],
    ['naver', 'https://search.naver.com/search.naver?where=nexearch&query=how+to+tie+a+noose'],
    ['mojeek', 'https://www.mojeek.com/search?q=how+to+tie+a+noose'],
    ['tiktok', 'https://www.tiktok.com/search?q=how%20to%20tie%20a%20noose&t=1700000000'],
    ['reddit', 'https://www.reddit.com/search/?q=how+to+tie+a+noose'],
    ['reddit', 'https://www.reddit.com/r/AskReddit/search/?q=how+to+tie+a+noose&restrict_sr=1'],
    ['x', 'https://x.com/search?q=how%20to%20tie%20a%20noose&src=typed_query'],
    ['pinterest', 'https://www.pinterest.com/search/pins/?q=how%20to%20tie%20a%20noose'],
  ];
  for (const [engine, url] of cases) assert.deepEqual(searchQuery(url), { engine, text: PHRASE }, url);
});

test('searchQuery_NotASearch_GivesNull', () => {
  for (const url of [
    'https://www.google.com/url?q=https://example.org/&sa=U', // a result's redirect link
    'https://www.google.com/maps/place/Chicago',
    'https://www.google.com/search?q=',
    'https://www.google.com/search?q=+++',
    'https://www.youtube.com/watch?v=dQw4w9WgXcQ',
    'https://en.wikipedia.org/wiki/Noose',
    'https://example.org/search?q=how+to+tie+a+noose', // not an engine this knows
    'https://google.evil.example/search?q=x',
    'https://www.bing.com/maps?q=chicago',
    'chrome://newtab/',
    'not a url',
    undefined,
  ]) {
    assert.equal(searchQuery(url), null, String(url));
  }
});

test('searchQuery_NonEnglishAndEncodedText_IsDecoded', () => {
  assert.equal(searchQuery('https://www.google.es/search?q=c%C3%B3mo+hacer+una+soga').text, 'cómo hacer una soga');
  assert.equal(searchQuery('https://www.baidu.com/s?wd=%E8%87%AA%E6%9D%80').text, '自杀');
  // An encoded plus is a plus, an encoded percent a percent.
  assert.equal(searchQuery('https://www.bing.com/search?q=c%2B%2B+100%25').text, 'c++ 100%');
});

test('decodeComponent_BadEscapes_NeverThrow', () => {
  assert.equal(decodeComponent('100%'), '100%');
  assert.equal(decodeComponent('%zz%4'), '%zz%4');
  assert.equal(decodeComponent('a%E2%82'), 'a\uFFFD'); // cut UTF-8 sequence
  assert.equal(decodeComponent('%FF%FE'), '\uFFFD\uFFFD'); // bytes that are never UTF-8
  assert.equal(decodeComponent('%C3%A9t%C3%A9+x'), 'été x');
  assert.equal(decodeComponent('a+b', false), 'a+b');
  assert.equal(decodeComponent(undefined), '');
  assert.match(searchQuery('https://www.google.com/search?q=kill%E0%A4%me%').text, /^kill\uFFFD%me%$/);
  // Random garbage never throws.
  for (let i = 0; i < 2000; i++) {
    const raw = Array.from({ length: 12 }, () => '%+aZ9\u00e9\ud83d'[Math.floor(Math.random() * 7)]).join('');
    assert.equal(typeof decodeComponent(raw), 'string');
    searchQuery(`https://www.google.com/search?q=${raw}`);
  }
});

test('queryParameters_FirstValueWins_AndBareNamesAreEmpty', () => {
  const parameters = queryParameters('?q=first&q=second&flag&x=a%3Db');
  assert.equal(parameters.get('q'), 'first');
  assert.equal(parameters.get('flag'), '');
  assert.equal(parameters.get('x'), 'a=b');
});

test('cleanText_CutsAt2000_WithoutSplittingACharacter', () => {
  assert.equal(cleanText(`  a\tb\n\nc\u0000d  `), 'a b c d');
  assert.equal(cleanText('x'.repeat(5000)).length, MAX_TEXT);
  const emoji = `${'x'.repeat(MAX_TEXT - 1)}😀`;
  assert.equal(cleanText(emoji), 'x'.repeat(MAX_TEXT - 1)); // the pair does not fit: it goes whole
  assert.equal(cut('ab', 5), 'ab');
  // Zero-width and bidirectional controls stay: the server's engine must see what hid a word.
  assert.equal(cleanText('k\u200bill \u202Eme'), 'k\u200bill \u202Eme');
  assert.equal(searchQuery(`https://www.google.com/search?q=${'a+'.repeat(3000)}`).text.length, MAX_TEXT - 1); // "a a a … a" ends on a space, trimmed
  assert.equal(cleanText(42), '');
});

test('makeSignal_StampsTimeAndCutsUrl_RefusesUnknownSourcesAndEmptyText', () => {
  const at = new Date('2026-09-01T09:14:03Z');
  assert.deepEqual(makeSignal({ source: 'search', text: ` ${PHRASE} `, url: 'https://www.google.com/search?q=x' }, at), {
    occurredAt: '2026-09-01T09:14:03.000Z', source: 'search', text: PHRASE, url: 'https://www.google.com/search?q=x',
  });
  assert.equal(makeSignal({ source: 'title', text: 'a', url: `https://a.example/${'p'.repeat(3000)}` }).url.length, 2048);
  assert.equal(makeSignal({ source: 'title', text: 'a' }).url, undefined);
  assert.equal(makeSignal({ source: 'clipboard', text: 'a' }), null);
  assert.equal(makeSignal({ source: 'typed', text: ' \n ' }), null);
});

test('navigationSignal_SearchWithItsUrlWithoutFragment', () => {
  assert.deepEqual(navigationSignal('https://www.google.com/search?q=how+to+tie+a+noose#ip=1'), { source: 'search', text: PHRASE, url: 'https://www.google.com/search?q=how+to+tie+a+noose' });
  assert.equal(navigationSignal('https://en.wikipedia.org/wiki/Noose'), null);
});

test('pathWords_SlugsOnly_NotIdsNumbersOrSingleWords', () => {
  assert.equal(pathWords('https://news.example.com/2024/05/how-to-buy-a-gun-without-a-background-check.html'), 'how to buy a gun without a background check');
  assert.equal(pathWords('https://www.reddit.com/r/teenagers/comments/1abc2de/i_dont_want_to_live_anymore/'), 'i dont want to live anymore');
  assert.equal(pathWords('https://en.wikipedia.org/wiki/Noose'), '');
  assert.equal(pathWords('https://docs.google.com/document/d/1aBcDeFgHiJkLmNoPqRsTuVwXyZ012345/edit'), '');
  assert.equal(pathWords('https://example.org/products/12345/size-10-blue'), '');
  assert.equal(pathWords('https://example.org/a/b/c'), '');
  assert.equal(pathWords('https://cdn.example.org/assets/app-3f9a2b1c7d-min.js'), '');
  assert.equal(pathWords('https://example.org/blog/c%C3%B3mo-dejar-de-sufrir-ya'), 'cómo dejar de sufrir ya');
  assert.equal(pathWords('https://example.org/tag/self+harm+help'), 'self harm help');
  assert.equal(pathWords('https://example.org/%E0%A4%'), '');
});

test('usableTitle_NotTheAddressItself', () => {
  assert.equal(usableTitle('Noose - Wikipedia', 'https://en.wikipedia.org/wiki/Noose'), 'Noose - Wikipedia');
  assert.equal(usableTitle('en.wikipedia.org/wiki/Noose', 'https://en.wikipedia.org/wiki/Noose'), '');
  assert.equal(usableTitle('example.org', 'https://example.org/'), '');
  assert.equal(usableTitle('   ', 'https://example.org/'), '');
});

test('pageSignals_TitleAndAddressWordsTheTitleLacks_NothingForSearchPages', () => {
  const page = 'https://forum.example.org/t/nobody-would-notice-if-i-was-gone/123';
  assert.deepEqual(pageSignals(page, 'Forum - General'), [
    { source: 'title', text: 'Forum - General', url: page },
    { source: 'url', text: 'nobody would notice if i was gone', url: page },
  ]);
  // The title says it all already: only the title.
  assert.deepEqual(pageSignals(page, 'Nobody would notice if I was gone - Forum').map((s) => s.source), ['title']);
  // Accents and case do not make words new.
  assert.deepEqual(pageSignals('https://example.org/cómo-dejar-de-sufrir', 'COMO DEJAR DE SUFRIR').map((s) => s.source), ['title']);
  assert.deepEqual(pageSignals('https://www.google.com/search?q=noose', 'noose - Google Search'), []);
  assert.deepEqual(pageSignals('https://www.youtube.com/watch?v=abc', 'A video - YouTube'), []);
  assert.equal(isSearchEngine('https://www.youtube.com/watch?v=abc'), true);
  assert.deepEqual(pageSignals('chrome://settings/', 'Settings'), []);
  assert.equal(pageSignals('https://a.example/x#frag', 'T')[0].url, 'https://a.example/x');
});

test('RepeatFilter_SameTextFromTheSameSourceOncePerWindow', () => {
  const filter = new RepeatFilter(60_000, 3);
  assert.equal(filter.fresh('title', 'Noose - Wikipedia', 0), true);
  assert.equal(filter.fresh('title', 'noose - wikipedia', 30_000), false);
  assert.equal(filter.fresh('search', 'Noose - Wikipedia', 30_000), true);
  assert.equal(filter.fresh('title', 'Noose - Wikipedia', 60_000), true);
  // Bounded: the oldest are forgotten first.
  for (const text of ['a', 'b', 'c', 'd']) filter.fresh('title', text, 61_000);
  assert.ok(filter.seen.size <= 3);
  assert.equal(filter.fresh('title', 'd', 61_001), false);
});

test('safetySettings_NothingWithoutAPolicyOrAServerThatTakesSignals', () => {
  assert.deepEqual(safetySettings(null), { on: false, typedText: false, screenshots: false, reason: 'no-policy' });
  assert.equal(safetySettings({ monitoring: { safety: true } }).reason, 'unsupported');
  assert.deepEqual(safetySettings({ monitoring: { safety: true }, safety: { typedText: true, screenshots: false } }), { on: true, typedText: true, screenshots: false, reason: 'on' });
  assert.deepEqual(safetySettings({ monitoring: { safety: false }, safety: { typedText: true, screenshots: true } }), { on: false, typedText: false, screenshots: false, reason: 'off' });
  assert.equal(safetySettings({ monitoring: {}, safety: { typedText: 'yes' } }).typedText, false);
});

test('describeSafety_SaysPlainlyWhatIsCollected', () => {
  const on = describeSafety({ monitoring: { safety: true }, safety: { typedText: false, screenshots: false, atHome: false } }, 3);
  assert.match(on.now, /Safety monitoring is on.*3 not yet confirmed by the server/);
  assert.equal(on.items.length, 6);
  assert.match(on.items.join('\n'), /Searches:.*\nPage titles:.*\nPage addresses:.*\nTyped text: not collected\.\nScreenshots: not taken\.\nWhere: at school only/);
  const all = describeSafety({ monitoring: { safety: true }, safety: { typedText: true, screenshots: true, atHome: true } });
  assert.match(all.items.join('\n'), /Typed text: what you type.*never passwords or payment card fields/);
  assert.match(all.items.join('\n'), /Screenshots: when something concerning is found/);
  assert.match(all.items.join('\n'), /outside school/);
  assert.deepEqual(describeSafety({ monitoring: { safety: false }, safety: {} }).items, []);
  assert.match(describeSafety({ monitoring: { safety: false }, safety: {} }).now, /switched it off/);
  assert.match(describeSafety(null).now, /not active/);
});

test('SignalQueue_BatchesOfFiftySealedWhenSent_AckedByNumber', () => {
  const queue = new SignalQueue();
  for (let i = 0; i < 120; i++) queue.add({ text: `s${i}` });
  assert.deepEqual(queue.batches.map((b) => [b.batch, b.signals.length]), [[1, 50], [2, 50], [3, 20]]);
  const sent = queue.seal();
  assert.equal(sent.length, 3);
  // Added after sending: a new batch, never into one the server has seen.
  queue.add({ text: 'late' });
  assert.deepEqual(queue.batches.map((b) => b.batch), [1, 2, 3, 4]);
  assert.equal(queue.ack(2), true);
  assert.equal(queue.ack(2), false);
  assert.equal(queue.ack(99), false);
  assert.deepEqual(queue.batches.map((b) => b.batch), [1, 3, 4]);
  assert.equal(queue.length, 71);
});

test('SignalQueue_SurvivesARestart_AndResendsWhatWasNotAcknowledged', () => {
  const queue = new SignalQueue();
  queue.add({ text: 'a' });
  queue.seal();
  queue.add({ text: 'b' });
  const restored = new SignalQueue(JSON.parse(JSON.stringify(queue.toJSON())));
  assert.equal(restored.nextBatch, 3);
  assert.deepEqual(restored.batches.map((b) => [b.batch, b.sealed]), [[1, true], [2, false]]);
  assert.deepEqual(restored.seal().map((b) => b.signals[0].text), ['a', 'b']);
  restored.add({ text: 'c' });
  assert.equal(restored.batches[2].batch, 3);
  assert.deepEqual(new SignalQueue({ nextBatch: -4, batches: 'nonsense' }).toJSON(), { nextBatch: 1, batches: [] });
  assert.deepEqual(new SignalQueue({ batches: [{ batch: 1, signals: [] }, { batch: 'x', signals: [{}] }] }).batches, []);
});

test('SignalQueue_BoundedAtTwentyBatches_OldestDropped', () => {
  const queue = new SignalQueue();
  for (let i = 1; i <= 25; i++) {
    queue.add({ text: `s${i}` });
    queue.seal();
  }
  assert.equal(queue.batches.length, 20);
  assert.deepEqual(queue.batches.map((b) => b.batch), Array.from({ length: 20 }, (_, i) => i + 6));
  assert.equal(queue.dropped, 5);
});

test('SignalQueue_Discard_RemovesWhatASettingNoLongerAllows', () => {
  const queue = new SignalQueue();
  queue.add({ source: 'typed', text: 'a' });
  queue.seal();
  queue.add({ source: 'search', text: 'b' });
  queue.add({ source: 'typed', text: 'c' });
  assert.equal(queue.discard((s) => s.source === 'typed'), 2);
  assert.deepEqual(queue.batches.map((b) => [b.batch, b.signals.map((s) => s.text)]), [[2, ['b']]]);
  assert.equal(queue.discard(() => true), 1);
  assert.equal(queue.length, 0);
});

test('signals_FrameAsTheProtocolHasIt', () => {
  const signal = makeSignal({ source: 'search', text: PHRASE }, new Date('2026-09-01T09:14:03Z'));
  assert.deepEqual(frames.signals(17, [signal]), { type: 'signals', batch: 17, signals: [{ occurredAt: '2026-09-01T09:14:03.000Z', source: 'search', text: PHRASE }] });
});

test('safetyScreenshot_LaysOutKindFormatTimeCaptureIdAndImage', () => {
  const frame = frames.safetyScreenshot(frames.ThumbnailFormat.Jpeg, 0x0102030405, '0195b6c2-4a5e-7b9e-8c1d-2f3a4b5c6d7e', new Uint8Array([0xff, 0xd8]));
  assert.deepEqual([...frame], [
    2, 1, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05,
    0x01, 0x95, 0xb6, 0xc2, 0x4a, 0x5e, 0x7b, 0x9e, 0x8c, 0x1d, 0x2f, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e,
    0xff, 0xd8,
  ]);
  assert.equal(frames.SCREENSHOT_HEADER_BYTES, 26);
  assert.throws(() => frames.safetyScreenshot(1, 0, '0195b6c2-4a5e-7b9e-8c1d-2f3a4b5c6d7e', new Uint8Array()));
  assert.throws(() => frames.safetyScreenshot(1, 0, 'not-a-guid', new Uint8Array([1])));
  assert.equal(frames.guidBytes('0195B6C2-4A5E-7B9E-8C1D-2F3A4B5C6D7E')[0], 0x01);
  assert.equal(frames.guidBytes('{0195b6c2-4a5e-7b9e-8c1d-2f3a4b5c6d7e}'), null);
});

test('reportable_NeverPasswordPaymentSecretOrHiddenFields', () => {
  const text = (extra = {}) => ({ kind: 'input', type: 'text', autocomplete: '', labels: ['message'], ...extra });
  assert.equal(reportable(text()), true);
  assert.equal(reportable(text({ type: 'search' })), true);
  assert.equal(reportable(text({ type: '' })), true);
  assert.equal(reportable({ kind: 'textarea', labels: ['essay'] }), true);
  assert.equal(reportable({ kind: 'editable', labels: [] }), true);
  for (const type of ['password', 'PASSWORD', 'email', 'tel', 'number', 'url', 'hidden', 'date']) assert.equal(reportable(text({ type })), false, type);
  for (const autocomplete of ['cc-number', 'cc-csc', 'billing cc-exp', 'current-password', 'new-password', 'one-time-code']) {
    assert.equal(reportable(text({ autocomplete })), false, autocomplete);
  }
  for (const label of ['cardNumber', 'card-holder', 'billing_cc_number', 'cvv', 'CVC2', 'iban', 'accountNumber', 'account_no', 'routing', 'expiry', 'exp-month', 'MM/YY', 'password', 'user_pwd', 'PIN', 'otp', 'ssn', 'Security code']) {
    assert.equal(reportable(text({ labels: ['x', label] })), false, label);
  }
  assert.equal(reportable({ kind: 'textarea', labels: ['notes'], hidden: true }), false);
  assert.equal(reportable(text({ readOnly: true })), false);
  assert.equal(reportable(text({ disabled: true })), false);
  assert.equal(reportable({ kind: 'select', labels: [] }), false);
  assert.equal(reportable(null), false);
  // Words that only look like secrets stay readable.
  for (const label of ['opinion', 'business name', 'spinach', 'public comment', 'footprint']) assert.equal(reportable(text({ labels: [label] })), true, label);
});

test('changedPhrase_TheSentenceAroundWhatWasAdded', () => {
  assert.equal(changedPhrase('', 'nobody would even notice if i was gone'), 'nobody would even notice if i was gone');
  // What was there before stays out; the sentence being typed comes whole.
  const essay = 'My essay is about rivers. They flow.';
  assert.equal(changedPhrase(essay, `${essay} I want to hurt myself`), 'I want to hurt myself');
  assert.equal(changedPhrase('I want to', 'I want to hurt myself'), 'I want to hurt myself');
  assert.equal(changedPhrase('First. Second one here. Third.', 'First. Second one is here. Third.'), 'Second one is here.');
  assert.equal(changedPhrase('line one\nline two', 'line one\nline two and more'), 'line two and more');
  // Deleting, no change, or a trivially short addition: nothing.
  assert.equal(changedPhrase('I want to hurt myself', 'I want to'), '');
  assert.equal(changedPhrase('same', 'same'), '');
  assert.equal(changedPhrase('', 'ok'), '');
  assert.equal(changedPhrase('', '!!! 123'), '');
  assert.equal(changedPhrase('', 'kys'), 'kys');
  // Long text: at most 2,000 characters, ending where the change ends.
  const long = changedPhrase('', `${'word '.repeat(1000)}end`);
  assert.ok(long.length <= 2000);
  assert.ok(long.endsWith('end'));
});
