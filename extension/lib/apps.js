// The installed extensions and apps (chrome.management.getAll) as an `app.inventory` snapshot: one
// event per item, all with the snapshot's time. Sent at start and when the list changes, otherwise
// at most once an hour. Pure logic; the service worker reads chrome.management and queues the events.

export const SNAPSHOT_MIN_INTERVAL_MS = 60 * 60_000;
export const MAX_SNAPSHOT_ITEMS = 2000;

/** The snapshot's items, sorted by id: `{ appId, title, detail }` with detail "version state". */
export function snapshotItems(infos) {
  if (!Array.isArray(infos)) return [];
  return infos
    .filter((info) => typeof info?.id === 'string' && info.id.length > 0 && info.id.length <= 256)
    .map((info) => ({
      appId: info.id,
      title: clip(typeof info.name === 'string' ? info.name : undefined),
      detail: clip(`${info.version ?? ''} ${info.enabled ? 'enabled' : 'disabled'}`.trim()),
    }))
    .sort((a, b) => (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0))
    .slice(0, MAX_SNAPSHOT_ITEMS);
}

/** A short text that changes when any item's id, name, version or state changes. */
export function fingerprint(items) {
  let hash = 2166136261;
  const text = JSON.stringify(items);
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return `${items.length}:${hash.toString(16)}`;
}

/** Whether to send now: the list changed since the last snapshot sent, or that one is an hour old. */
export function snapshotDue(last, print, now) {
  if (!last || last.fingerprint !== print) return true;
  return !Number.isFinite(last.sentAt) || now - last.sentAt >= SNAPSHOT_MIN_INTERVAL_MS || now < last.sentAt;
}

/** The snapshot as app.inventory events (without seq), all dated `at`. */
export function snapshotEvents(items, at) {
  const occurredAt = new Date(at).toISOString();
  return items.map((item) => ({ kind: 'app.inventory', occurredAt, appId: item.appId, title: item.title, detail: item.detail }));
}

function clip(text) {
  if (typeof text !== 'string' || text.length === 0) return undefined;
  return text.length > 256 ? text.slice(0, 256) : text;
}

// The catalog part of the policy document (docs/agent-protocol.md, "catalog"): Chrome extension ids
// the district blocks or disables, and those it requires (installed by Google Admin's force-install
// list, which the extension cannot do itself). Pure logic; the policy applies the plan through
// chrome.management.setEnabled.

export const MAX_CATALOG_IDS = 1000;
const EXTENSION_ID = /^[a-p]{32}$/;

/** The catalog's id lists, each kept to valid extension ids, without duplicates, at most MAX_CATALOG_IDS. */
export function catalogLists(catalog) {
  const list = (value) => [...new Set(Array.isArray(value) ? value.filter((id) => typeof id === 'string' && EXTENSION_ID.test(id)) : [])].slice(0, MAX_CATALOG_IDS);
  return {
    blocked: list(catalog?.blockedExtensions),
    disabled: list(catalog?.disabledExtensions),
    required: list(catalog?.requiredExtensions),
  };
}

/**
 * What to do with the installed extensions: turn off the blocked and disabled ones that are on (never
 * this extension itself), turn back on the ones this extension turned off that are no longer blocked
 * or disabled, and name the required ones that are not installed.
 * @param {{ blocked: string[], disabled: string[], required: string[] }} lists from catalogLists
 * @param {{ id: string, enabled: boolean }[]} installed chrome.management.getAll()
 * @param {string[]} turnedOff ids this extension turned off earlier (kept in storage)
 * @param {string} selfId this extension's id
 */
export function catalogPlan(lists, installed, turnedOff, selfId) {
  const off = new Set([...lists.blocked, ...lists.disabled]);
  off.delete(selfId);
  const byId = new Map((Array.isArray(installed) ? installed : []).filter((info) => typeof info?.id === 'string').map((info) => [info.id, info]));
  const disable = [...off].filter((id) => byId.get(id)?.enabled === true).sort();
  const enable = (Array.isArray(turnedOff) ? turnedOff : []).filter((id) => !off.has(id) && byId.get(id)?.enabled === false).sort();
  const stillOff = [...off].filter((id) => byId.has(id)).sort();
  const missing = lists.required.filter((id) => !byId.has(id)).sort();
  return { disable, enable, stillOff, missing };
}
