// Safety signals, pure (no chrome.* calls) so node tests can run them: the search query in a
// search engine's URL, the title of the page in the active tab, the words of a page address's
// path where they say more than the title, and the text limits of the `signals` frame
// (docs/agent-protocol.md, docs/chrome-extension.md). The server scans them; nothing is judged here.

export const MAX_TEXT = 2000;
export const MAX_URL = 2048;
export const SOURCES = Object.freeze(['search', 'title', 'url', 'typed', 'window']);
/** The same text from the same source within this long is sent once. */
export const REPEAT_WINDOW_MS = 5 * 60 * 1000;
const MAX_REMEMBERED = 500;
const MAX_SLUGS = 5;

// Search engines: the host, the paths where a query parameter is the student's search, and the
// parameters in the order they are tried. Google's `/url?q=` (a redirect link) is not a search,
// hence paths and not only hosts.
const ENGINES = [
  { name: 'google', host: /^(?:www\.|m\.)?google\.(?:[a-z]{2,3}|co\.[a-z]{2}|com\.[a-z]{2})$/, path: /^\/(?:search|webhp|m|m\/search)?\/?$/, params: ['q'], fragment: true },
  { name: 'google', host: /^(?:news|scholar|books)\.google\.(?:[a-z]{2,3}|co\.[a-z]{2}|com\.[a-z]{2})$/, path: /^\/(?:search|scholar|books)?\/?$/, params: ['q'] },
  { name: 'bing', host: /^(?:www\.|cn\.|m\.)?bing\.com$/, path: /^\/(?:search|images\/search|videos\/search|news\/search)\/?$/, params: ['q'] },
  { name: 'duckduckgo', host: /^(?:www\.|html\.|lite\.|start\.)?duckduckgo\.com$/, path: /^\/(?:html|lite)?\/?$/, params: ['q'] },
  { name: 'yahoo', host: /^(?:[a-z]{2}\.)?(?:images\.|video\.|news\.)?search\.yahoo\.(?:com|co\.[a-z]{2}|[a-z]{2})$/, path: /^\/(?:yhs\/)?search(?:\/[a-z]+)?\/?(?:;.*)?$/, params: ['p', 'q'] },
  { name: 'ecosia', host: /^(?:www\.)?ecosia\.org$/, path: /^\/(?:search|images|videos|news)\/?$/, params: ['q'] },
  { name: 'brave', host: /^search\.brave\.com$/, path: /^\/(?:search|images|videos|news)\/?$/, params: ['q'] },
  { name: 'youtube', host: /^(?:www\.|m\.)?youtube\.com$/, path: /^\/results\/?$/, params: ['search_query', 'q'] },
  { name: 'youtube', host: /^music\.youtube\.com$/, path: /^\/search\/?$/, params: ['q'] },
  { name: 'wikipedia', host: /^(?:[a-z][a-z-]{1,15}\.)?(?:m\.)?wikipedia\.org$/, path: /^\/(?:w\/index\.php|wiki\/.*)$/, params: ['search'], wikiPath: true },
  { name: 'startpage', host: /^(?:www\.|eu\.|us\.)?startpage\.com$/, path: /^\/(?:sp|do)\/(?:search|dsearch|asearch)\/?$|^\/search\/?$/, params: ['query', 'q'] },
  { name: 'baidu', host: /^(?:www\.|m\.)?baidu\.com$/, path: /^\/s\/?$/, params: ['wd', 'word'] },
  { name: 'yandex', host: /^(?:www\.)?yandex\.(?:ru|com|com\.tr|by|kz|uz)$/, path: /^\/(?:search|images\/search|video\/search)\/?$/, params: ['text'] },
  { name: 'qwant', host: /^(?:www\.|lite\.)?qwant\.com$/, path: /^\/?$/, params: ['q'] },
  { name: 'ask', host: /^(?:www\.)?ask\.com$/, path: /^\/(?:web|youtube)\/?$/, params: ['q'] },
  { name: 'aol', host: /^search\.aol\.com$/, path: /^\/aol\/(?:search|image|video)\/?$/, params: ['q'] },
  { name: 'kiddle', host: /^(?:www\.)?kiddle\.co$/, path: /^\/(?:s|i|v)\.php$/, params: ['q'] },
  { name: 'swisscows', host: /^(?:www\.)?swisscows\.com$/, path: /^\/(?:[a-z]{2}\/)?(?:web|images|video)\/?$/, params: ['query'] },
  { name: 'naver', host: /^(?:m\.)?search\.naver\.com$/, path: /^\/search\.naver$/, params: ['query'] },
  { name: 'mojeek', host: /^(?:www\.)?mojeek\.com$/, path: /^\/search\/?$/, params: ['q'] },
  { name: 'tiktok', host: /^(?:www\.|m\.)?tiktok\.com$/, path: /^\/search(?:\/[a-z]+)?\/?$/, params: ['q'] },
  { name: 'reddit', host: /^(?:www\.|old\.|new\.)?reddit\.com$/, path: /^(?:\/r\/[^/]+)?\/search\/?$/, params: ['q'] },
  { name: 'x', host: /^(?:www\.|mobile\.)?(?:x|twitter)\.com$/, path: /^\/search\/?$/, params: ['q'] },
  { name: 'pinterest', host: /^(?:[a-z]{2}\.|www\.)?pinterest\.(?:com|[a-z]{2}|co\.uk)$/, path: /^\/search\/(?:pins|boards|users)\/?$/, params: ['q'] },
];

/**
 * Decodes a URL component: `+` as a space (in query strings) and %xx escapes as UTF-8. A bad escape
 * stays as it is and bytes that are not UTF-8 become U+FFFD; it never throws.
 */
export function decodeComponent(raw, plusIsSpace = true) {
  if (typeof raw !== 'string') return '';
  const text = plusIsSpace ? raw.replaceAll('+', ' ') : raw;
  if (!text.includes('%')) return text;
  let out = '';
  let bytes = [];
  const flush = () => {
    if (bytes.length > 0) {
      out += new TextDecoder('utf-8', { fatal: false }).decode(new Uint8Array(bytes));
      bytes = [];
    }
  };
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      flush();
      out += text[i];
    }
  }
  flush();
  return out;
}

/** The first value of each parameter in a raw query string (`?a=1&b=2` or `a=1&b=2`). */
export function queryParameters(search) {
  const values = new Map();
  const text = typeof search === 'string' ? search.replace(/^[?#]/, '') : '';
  for (const pair of text.split('&')) {
    if (pair.length === 0) continue;
    const equals = pair.indexOf('=');
    const name = decodeComponent(equals < 0 ? pair : pair.slice(0, equals));
    if (!values.has(name)) values.set(name, decodeComponent(equals < 0 ? '' : pair.slice(equals + 1)));
  }
  return values;
}

/**
 * Text as the protocol takes it: control and format characters become spaces, runs of white space
 * one space, trimmed, at most 2,000 characters (never cutting a character in two). Empty → ''.
 */
export function cleanText(text) {
  if (typeof text !== 'string') return '';
  // Zero-width and bidirectional controls are kept (the server's engine needs to see what hid a
  // word); only what would break a line or a JSON reader's display goes.
  const cleaned = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim();
  return cut(cleaned, MAX_TEXT).trimEnd();
}

/** At most `max` UTF-16 units, not ending in half a surrogate pair. */
export function cut(text, max) {
  if (typeof text !== 'string' || text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

function parse(url) {
  if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) return null;
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * The search in a search engine's URL: { engine, text }, or null when the URL is not a search
 * (another site, another page of the engine, an empty query).
 */
export function searchQuery(url) {
  const parsed = parse(url);
  if (!parsed) return null;
  const host = parsed.hostname.toLowerCase().replace(/\.$/, '');
  for (const engine of ENGINES) {
    if (!engine.host.test(host)) continue;
    if (!engine.path.test(parsed.pathname)) continue;
    const sources = [parsed.search];
    if (engine.fragment) sources.push(parsed.hash);
    for (const source of sources) {
      const parameters = queryParameters(source);
      for (const name of engine.params) {
        const text = cleanText(parameters.get(name));
        if (text) return { engine: engine.name, text };
      }
    }
    if (engine.wikiPath) {
      const match = /^\/wiki\/(?:Special:Search|Especial:Buscar|Spezial:Suche|Sp%C3%A9cial:Recherche)\/(.+)$/i.exec(parsed.pathname);
      const text = match ? cleanText(decodeComponent(match[1], false).replaceAll('_', ' ')) : '';
      if (text) return { engine: engine.name, text };
    }
    return null;
  }
  return null;
}

/** Whether a host is one of the search engines above (their paths are never read as words). */
export function isSearchEngine(url) {
  const parsed = parse(url);
  return Boolean(parsed) && ENGINES.some((e) => e.host.test(parsed.hostname.toLowerCase()));
}

const WORD = /^\p{L}[\p{L}\p{M}']*$/u;
const FILE_EXTENSION = /\.(?:html?|php|aspx?|jsp|cfm|shtml)$/i;

/**
 * The words of a page address's path, where it has some: each path segment that reads as a phrase
 * (a "slug" such as `how-to-tie-a-noose` or `i_dont_want_to_live_anymore`: at least three parts,
 * at least three quarters of them words, at least two words of three letters or more, no part that
 * looks like an id). Single words (`/wiki/Noose`), ids and numbers say nothing the title does not,
 * so they are skipped. Segments joined with " / ", at most five; '' when there is none.
 */
export function pathWords(url) {
  const parsed = parse(url);
  if (!parsed) return '';
  const phrases = [];
  for (const segment of parsed.pathname.split('/')) {
    if (segment.length === 0 || phrases.length >= MAX_SLUGS) continue;
    const decoded = decodeComponent(segment).replace(FILE_EXTENSION, '');
    const parts = decoded.split(/[-_+\s.~]+/).filter((p) => p.length > 0);
    if (parts.length < 3) continue;
    if (parts.some((p) => looksLikeId(p))) continue;
    const words = parts.filter((p) => WORD.test(p));
    if (words.length * 4 < parts.length * 3) continue;
    if (words.filter((w) => w.length >= 3).length < 2) continue;
    phrases.push(words.join(' ').toLowerCase());
  }
  return cleanText(phrases.join(' / '));
}

// A part of 8 or more characters mixing letters and digits, or hexadecimal of 8 or more.
function looksLikeId(part) {
  if (part.length < 8) return false;
  return /^[0-9a-f]+$/i.test(part) || (/\d/.test(part) && /[a-z]/i.test(part));
}

/** A page's address for a signal: without its fragment, at most 2,048 characters. */
export function signalUrl(url) {
  const parsed = parse(url);
  if (!parsed) return undefined;
  parsed.hash = '';
  return cut(parsed.toString(), MAX_URL);
}

/**
 * A page title worth sending: not empty and not the address itself (Chrome shows the address until
 * a page has a title). '' otherwise.
 */
export function usableTitle(title, url) {
  const text = cleanText(title);
  if (!text) return '';
  const bare = (value) => String(value ?? '').replace(/^https?:\/\//i, '').replace(/\/$/, '').toLowerCase();
  if (bare(text) === bare(url) || bare(text) === bare(signalUrl(url))) return '';
  const parsed = parse(url);
  if (parsed && bare(text) === parsed.host.toLowerCase()) return '';
  return text;
}

const fold = (text) => text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();

/**
 * The signals of a page shown in the active tab: its title, and its path's words when they name
 * something the title does not. A search engine's page gives none here (its query is the search
 * signal; its title repeats it).
 * @returns {{ source: string, text: string, url?: string }[]}
 */
export function pageSignals(url, title) {
  if (!parse(url) || isSearchEngine(url)) return [];
  const signals = [];
  const address = signalUrl(url);
  const heading = usableTitle(title, url);
  if (heading) signals.push({ source: 'title', text: heading, url: address });
  const words = pathWords(url);
  if (words) {
    const titleWords = new Set(fold(heading).split(/[^\p{L}\p{M}']+/u));
    const news = fold(words).split(/[\s/]+/).filter((w) => w.length >= 3 && !titleWords.has(w));
    if (news.length > 0) signals.push({ source: 'url', text: words, url: address });
  }
  return signals;
}

/** The search signal of a navigation, or null. */
export function navigationSignal(url) {
  const search = searchQuery(url);
  return search ? { source: 'search', text: search.text, url: signalUrl(url) } : null;
}

/** A signal for the wire, stamped with its time; null when there is no text left. */
export function makeSignal({ source, text, url }, occurredAt = new Date()) {
  if (!SOURCES.includes(source)) return null;
  const cleaned = cleanText(text);
  if (!cleaned) return null;
  const signal = { occurredAt: new Date(occurredAt).toISOString(), source, text: cleaned };
  const address = typeof url === 'string' && url.length > 0 ? cut(url, MAX_URL) : undefined;
  if (address) signal.url = address;
  return signal;
}

/** Remembers what was sent lately, so the same text from the same source goes once per window. */
export class RepeatFilter {
  constructor(windowMs = REPEAT_WINDOW_MS, max = MAX_REMEMBERED) {
    this.windowMs = windowMs;
    this.max = max;
    this.seen = new Map();
  }

  /** True the first time a (source, text) is offered within the window; false for a repeat. */
  fresh(source, text, nowMs = Date.now()) {
    const key = `${source}\n${fold(text)}`;
    const last = this.seen.get(key);
    if (last !== undefined && nowMs - last < this.windowMs) return false;
    this.seen.delete(key);
    this.seen.set(key, nowMs);
    if (this.seen.size > this.max) {
      for (const [k, at] of this.seen) {
        if (this.seen.size <= this.max && nowMs - at < this.windowMs) break;
        this.seen.delete(k);
      }
    }
    return true;
  }
}

/**
 * The safety settings of a policy document. A document without a `safety` group comes from a
 * server that does not take `signals` frames (it would close the connection with 4415), and no
 * document at all means no policy has arrived yet: in both cases nothing is collected.
 * @returns {{ on: boolean, typedText: boolean, screenshots: boolean, reason: string }}
 */
export function safetySettings(document) {
  if (!document || typeof document !== 'object') return { on: false, typedText: false, screenshots: false, reason: 'no-policy' };
  const group = document.safety;
  if (!group || typeof group !== 'object') return { on: false, typedText: false, screenshots: false, reason: 'unsupported' };
  const on = document.monitoring?.safety !== false;
  if (!on) return { on: false, typedText: false, screenshots: false, reason: 'off' };
  return { on: true, typedText: group.typedText === true, screenshots: group.screenshots === true, reason: 'on' };
}

/** The student-facing sentences of the extension's page about safety monitoring: { now, items }. */
export function describeSafety(document, queued = 0) {
  const settings = safetySettings(document);
  if (!settings.on) {
    const now = settings.reason === 'off'
      ? 'Safety monitoring is off: your school has switched it off for this device. Nothing below is collected.'
      : 'Safety monitoring is not active on this device: nothing below is collected.';
    return { now, items: [] };
  }
  const items = [
    'Searches: the words you search for on Google, Bing, DuckDuckGo, YouTube, Yahoo, Wikipedia and other search sites.',
    'Page titles: the title of the page in the tab you are looking at.',
    'Page addresses: words in a page\'s address (such as "how-to-…" in a link) when the title does not already say them.',
    settings.typedText
      ? 'Typed text: what you type into text boxes on web pages (never passwords or payment card fields), a sentence at a time when you pause, press Enter or leave the box.'
      : 'Typed text: not collected.',
    settings.screenshots
      ? 'Screenshots: when something concerning is found, a picture of the tab you are looking at is sent with the alert.'
      : 'Screenshots: not taken.',
  ];
  if (document.safety?.atHome === true) items.push('Where: at school and outside school (your school has chosen both).');
  else items.push('Where: at school only; what is sent from outside school is not kept by your school\'s server.');
  const waiting = queued > 0 ? ` ${queued} not yet confirmed by the server (kept on this device until they are).` : '';
  return {
    now: 'Safety monitoring is on. Your school\'s server checks the following for signs that you or someone else may be at risk (self-harm, bullying, violence); '
      + 'only what matches a concern is kept, and only your school\'s safety leads can read it.' + waiting,
    items,
  };
}
