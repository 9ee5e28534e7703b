// Time on each site in the active tab, as `web.usage` events: the site is the origin only
// (`https://host/`, never a path or query), the seconds since the last report, and whether the
// browser window had focus. A stretch ends at a change of site, of window focus, at idle or lock,
// and at every periodic flush (a chrome.alarms alarm: nothing here keeps the service worker alive).
// The open stretch lives in chrome.storage.session (toJSON), so a restarted worker carries it on.
// Pure logic: the service worker tells it what it sees and when; it answers with the events to queue.

export const USAGE_ALARM = 'homeroom-usage';
export const FLUSH_MINUTES = 5;
/** The protocol's ceiling for one web.usage event (ProtocolLimits.MaxWebUsageSeconds). */
export const MAX_EVENT_SECONDS = 3600;
/**
 * No look for this long means the device slept without an idle or lock event reaching the worker
 * (alarms do not fire while it sleeps): the time after the last look is not counted.
 */
export const ASLEEP_AFTER_MS = (FLUSH_MINUTES * 2 + 1) * 60_000;

/** `https://Example.org:443/a?b` → `https://example.org/`; null for anything but http(s). */
export function siteOf(url) {
  if (typeof url !== 'string') return null;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
    return `${parsed.origin}/`;
  } catch {
    return null;
  }
}

export class UsageTracker {
  /** @param {{ current?: { site: string, focused: boolean, since: number } | null, checkedAt?: number | null }} [state] */
  constructor(state) {
    const current = state?.current;
    this.current = current && typeof current.site === 'string' && Number.isFinite(current.since) ? { site: current.site, focused: Boolean(current.focused), since: current.since } : null;
    this.checkedAt = Number.isFinite(state?.checkedAt) ? state.checkedAt : null;
  }

  /**
   * What the worker sees now: the active tab's site and whether its window has focus, or null (no
   * web page in front, idle, locked, or activity reporting off).
   * @param {{ site: string | null, focused: boolean } | null} seen
   * @param {number} now milliseconds
   * @param {{ flush?: boolean }} [options] flush: report the open stretch even if nothing changed
   * @returns {object[]} web.usage events (without seq) to queue
   */
  observe(seen, now, { flush = false } = {}) {
    const next = seen?.site ? { site: seen.site, focused: Boolean(seen.focused) } : null;
    const events = [];
    if (this.current) {
      const asleep = this.checkedAt !== null && now - this.checkedAt > ASLEEP_AFTER_MS;
      const end = asleep ? this.checkedAt : now;
      const same = next && next.site === this.current.site && next.focused === this.current.focused;
      if (!same || flush || asleep) {
        events.push(...stretchEvents(this.current, end));
        this.current = null;
      }
    }
    if (next && !this.current) this.current = { ...next, since: now };
    this.checkedAt = now;
    return events;
  }

  toJSON() {
    return { current: this.current, checkedAt: this.checkedAt };
  }
}

/** The stretch from `since` to `end` as events of at most MAX_EVENT_SECONDS, each dated at its start; none under a second. */
export function stretchEvents(stretch, end) {
  const total = Math.round((end - stretch.since) / 1000);
  const events = [];
  for (let offset = 0; offset < total; offset += MAX_EVENT_SECONDS) {
    events.push({
      kind: 'web.usage',
      occurredAt: new Date(stretch.since + offset * 1000).toISOString(),
      url: stretch.site,
      durationSeconds: Math.min(MAX_EVENT_SECONDS, total - offset),
      detail: stretch.focused ? 'focused' : 'unfocused',
    });
  }
  return events;
}
