// Web filter decisions, matching Homeroom.Rules.Filtering.WebFilter: an allowed site allows; a
// blocked site blocks; a category the policy allows allows; a category it blocks blocks; in
// allow-only mode anything else is blocked, otherwise allowed. Every category listing a URL counts
// (the host, a parent domain, or one of those with a path prefix of the URL's path). Within each
// step the most specific listed host wins, and a category step names the policy's first category
// (in the policy's order) listing that host. Focus mode sits on top: the policy still blocks, and anything it allows must
// also be on the focus list.

import { canonicalize, hostSuffixes, pathStartsWith } from './url.js';

/** Why a URL was decided the way it was (the names of Homeroom.Rules' FilterReason). */
export const Reason = Object.freeze({
  NoRule: 'NoRule',
  AllowedSite: 'AllowedSite',
  BlockedSite: 'BlockedSite',
  AllowedCategory: 'AllowedCategory',
  BlockedCategory: 'BlockedCategory',
  NotAllowed: 'NotAllowed',
  InvalidUrl: 'InvalidUrl',
  Focus: 'Focus',
});

/** Parses one site rule: a host or host/path, with an optional leading `*.`. */
export function parseSite(site) {
  if (typeof site !== 'string') return null;
  let text = site.trim();
  if (text.length === 0) return null;
  if (text.startsWith('*.')) text = text.slice(2);
  if (text.includes('*')) return null;
  return canonicalize(text);
}

/**
 * An index of host rules (covering subdomains) and host+path-prefix rules, each with a payload.
 * Path rules of one host are kept longest first, so the first match is the most specific.
 */
class RuleIndex {
  constructor() {
    this.hosts = new Map();
    this.paths = new Map();
  }

  get isEmpty() {
    return this.hosts.size === 0 && this.paths.size === 0;
  }

  add(parsed, payload, merge) {
    const path = parsed.path;
    if (path === '' || path === '/') {
      const existing = this.hosts.get(parsed.host);
      this.hosts.set(parsed.host, existing === undefined ? payload : merge(existing, payload));
      return;
    }

    const prefix = path[0] === '/' ? path : `/${path}`;
    let group = this.paths.get(parsed.host);
    if (!group) {
      group = [];
      this.paths.set(parsed.host, group);
    }

    const same = group.find((r) => r.prefix.toLowerCase() === prefix.toLowerCase());
    if (same) same.payload = merge(same.payload, payload);
    else group.push({ prefix, payload });
    group.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The payload for one host suffix: its most specific matching path rule, else its host rule. */
  find(suffix, path) {
    const group = this.paths.get(suffix);
    if (group) {
      for (const rule of group) {
        if (pathStartsWith(path, rule.prefix)) return { payload: rule.payload };
      }
    }

    return this.hosts.has(suffix) ? { payload: this.hosts.get(suffix) } : null;
  }

  /**
   * Every payload listing a URL at one host suffix: the host rule's and every matching path
   * rule's (a path rule does not hide the host's own rule, nor a shorter path's).
   */
  findAll(suffix, path) {
    const found = [];
    if (this.hosts.has(suffix)) found.push(this.hosts.get(suffix));
    for (const rule of this.paths.get(suffix) ?? []) {
      if (pathStartsWith(path, rule.prefix)) found.push(rule.payload);
    }
    return found;
  }

  /** The first match walking from the whole host to its shortest suffix. */
  match(url) {
    for (const suffix of hostSuffixes(url.host, url.isIp)) {
      const found = this.find(suffix, url.path);
      if (found) return { payload: found.payload, matchedHost: suffix };
    }

    return null;
  }
}

function compileSites(sites) {
  const index = new RuleIndex();
  (sites ?? []).forEach((site, i) => {
    const parsed = parseSite(site);
    if (parsed) index.add(parsed, i, (first) => first);
  });
  return index;
}

/**
 * Parses the text of `GET /agent/v1/filter-list`: a `# homeroom filter list <version>` line,
 * then for each category a `# <category>` line followed by one host or host/path per line.
 * @returns {{ version: string | null, categories: Map<string, string[]> }}
 */
export function parseFilterList(text) {
  const categories = new Map();
  let version = null;
  let current = null;
  for (const raw of String(text ?? '').split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length === 0) continue;
    if (line.startsWith('#')) {
      const name = line.slice(1).trim();
      const header = /^homeroom filter list\s+(\S+)/i.exec(name);
      if (header) {
        version = header[1];
        current = null;
      } else if (/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
        current = categories.get(name) ?? [];
        categories.set(name, current);
      } else {
        current = null;
      }
      continue;
    }

    if (current) current.push(line);
  }

  return { version, categories };
}

/** Compiles category lists into one index whose payload is the set of categories listing an entry. */
export function compileCategories(categories) {
  const index = new RuleIndex();
  const union = (a, b) => new Set([...a, ...b]);
  for (const [name, entries] of categories ?? new Map()) {
    for (const entry of entries) {
      if (entry.includes('://')) continue;
      const parsed = canonicalize(entry);
      if (parsed) index.add(parsed, new Set([name]), union);
    }
  }
  return index;
}

/**
 * Parses a focus command's `sites` argument (separated by spaces, commas or line breaks), the
 * way Homeroom.Rules.Commands.FocusSites does.
 */
export function parseFocusSites(value) {
  const sites = [];
  for (const raw of String(value ?? '').split(/[ ,\n\r\t]+/)) {
    let site = raw.trim().toLowerCase();
    if (site.length === 0) continue;
    if (site.startsWith('https://')) site = site.slice(8);
    else if (site.startsWith('http://')) site = site.slice(7);
    site = site.replace(/\/+$/, '');
    if (site.length > 0 && parseSite(site) && !sites.includes(site)) sites.push(site);
  }
  return sites;
}

/**
 * A compiled web filter.
 * @param {object} webFilter the policy's `webFilter` group
 * @param {Map<string, string[]>} [categories] the downloaded category lists
 */
export function compileFilter(webFilter, categories) {
  const settings = {
    allowOnly: Boolean(webFilter?.allowOnly),
    allowedSites: arrayOf(webFilter?.allowedSites),
    blockedSites: arrayOf(webFilter?.blockedSites),
    allowedCategories: arrayOf(webFilter?.allowedCategories),
    blockedCategories: arrayOf(webFilter?.blockedCategories),
  };
  return {
    settings,
    allowed: compileSites(settings.allowedSites),
    blocked: compileSites(settings.blockedSites),
    categories: compileCategories(categories),
  };
}

function arrayOf(value) {
  return Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [];
}

/**
 * Decides a URL.
 * @returns {{ blocked: boolean, reason: string, rule?: string, category?: string, matchedHost?: string }}
 */
export function decide(filter, url, focus) {
  const parsed = canonicalize(url);
  if (!parsed) return { blocked: true, reason: Reason.InvalidUrl };

  const policy = decidePolicy(filter, parsed);
  if (policy.blocked || !focus || focus.sites.length === 0) return policy;

  let focusIndex = focusIndexes.get(focus);
  if (!focusIndex) {
    focusIndex = compileSites(focus.sites);
    focusIndexes.set(focus, focusIndex);
  }

  const match = focusIndex.match(parsed);
  return match ? policy : { blocked: true, reason: Reason.Focus };
}

const focusIndexes = new WeakMap();

function decidePolicy(filter, url) {
  if (!filter) return { blocked: false, reason: Reason.NoRule };

  if (!filter.allowed.isEmpty) {
    const m = filter.allowed.match(url);
    if (m) return { blocked: false, reason: Reason.AllowedSite, rule: filter.settings.allowedSites[m.payload], matchedHost: m.matchedHost };
  }

  if (!filter.blocked.isEmpty) {
    const m = filter.blocked.match(url);
    if (m) return { blocked: true, reason: Reason.BlockedSite, rule: filter.settings.blockedSites[m.payload], matchedHost: m.matchedHost };
  }

  const { allowedCategories, blockedCategories } = filter.settings;
  if (!filter.categories.isEmpty && (allowedCategories.length > 0 || blockedCategories.length > 0)) {
    let blocked = null;
    for (const suffix of hostSuffixes(url.host, url.isIp)) {
      const listing = filter.categories.findAll(suffix, url.path);
      if (listing.length === 0) continue;
      const lists = (c) => listing.some((set) => set.has(c));
      const allowedBy = allowedCategories.find(lists);
      if (allowedBy) return { blocked: false, reason: Reason.AllowedCategory, category: allowedBy, matchedHost: suffix };
      const blockedBy = blockedCategories.find(lists);
      if (!blocked && blockedBy) blocked = { blocked: true, reason: Reason.BlockedCategory, category: blockedBy, matchedHost: suffix };
    }

    if (blocked) return blocked;
  }

  return filter.settings.allowOnly ? { blocked: true, reason: Reason.NotAllowed } : { blocked: false, reason: Reason.NoRule };
}

/** The `detail` of a `web.blocked` event: `category:<name>`, `rule:<site rule>`, `rule:NotAllowed` or `rule:focus`. */
export function blockedDetail(decision) {
  if (decision.category) return `category:${decision.category}`;
  if (decision.rule) return `rule:${decision.rule}`;
  if (decision.reason === Reason.Focus) return 'rule:focus';
  return `rule:${decision.reason}`;
}
